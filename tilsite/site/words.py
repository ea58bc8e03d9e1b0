"""What tilsite writes into the site in the reader's language: the theme's (Material's ``theme.language``).

English, Korean, Japanese and Chinese; any other language reads English. Each text is short and says one thing,
so that a reader of a Korean site does not meet "Related notes" under a Korean note.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Words:
    """The texts of one language. Those with ``{…}`` are formats."""

    related: str
    """Heading of a note's related notes."""
    topics: str
    """Title of the topics page."""
    archive: str
    """Title of the page of notes by date."""
    topic: str
    """Label of the line that names a note's topic."""
    note: str
    notes: str
    """``{count}`` notes (``note``: one)."""
    in_folder: str
    in_folders: str
    """After the notes' count on the home page: ``{count}`` folders (``in_folder``: one)."""
    notes_dated: str
    """``{notes}`` notes, ``{dated}`` of them dated (the archive page's first line)."""
    by_date: str
    undated: str
    by_folder: str
    top_level: str
    """The folder of notes at the top of the repository."""
    latest: str
    """Heading of the home page's list of the latest notes (``all_notes`` when none has a date)."""
    all_notes: str
    topics_intro: str
    """First line of the topics page: ``{notes}`` notes (``notes`` formatted) in ``{topics}`` topics."""
    map_label: str
    map_caption: str
    search_ready: str
    search_loading: str
    search_idle: str
    search_unavailable: str
    """How the site's search found its results (``{reason}``: why search by meaning is off)."""
    search_found: str
    """``{count}`` sections found, ``{how}`` (one of the four above)."""
    search_none: str
    """No section found (``{how}``)."""

    def count_notes(self, count: int) -> str:
        return self.note if count == 1 else self.notes.format(count=count)

    def count_folders(self, count: int) -> str:
        return self.in_folder if count == 1 else self.in_folders.format(count=count)

    def search_texts(self) -> dict[str, str]:
        """The texts the site's search box shows, for its settings file."""
        return {
            "ready": self.search_ready,
            "loading": self.search_loading,
            "idle": self.search_idle,
            "unavailable": self.search_unavailable,
            "found": self.search_found,
            "none": self.search_none,
        }


ENGLISH = Words(
    related="Related notes",
    topics="Topics",
    archive="Notes by date",
    topic="Topic",
    note="1 note",
    notes="{count} notes",
    in_folder=" in 1 folder",
    in_folders=" in {count} folders",
    notes_dated="{notes} notes, {dated} with a date.",
    by_date="By date",
    undated="Undated",
    by_folder="By folder",
    top_level="(top level)",
    latest="Latest notes",
    all_notes="Notes",
    topics_intro="{notes} in {topics} topics, grouped by what they say. On the map, each dot is a note: notes close"
    " together are close in meaning.",
    map_label="Map of the notes by meaning",
    map_caption="Colours are topics; a topic's first word sits in its middle. Hover over a dot or move to it with the"
    " Tab key to see the note; click or press Enter to open it.",
    search_ready="by meaning and keywords",
    search_loading="by keywords — results by meaning are loading …",
    search_idle="by keywords",
    search_unavailable="by keywords — search by meaning is unavailable: {reason}",
    search_found="{count} sections {how}",
    search_none="No sections match ({how})",
)

KOREAN = Words(
    related="관련 노트",
    topics="주제",
    archive="날짜별 노트",
    topic="주제",
    note="노트 1개",
    notes="노트 {count}개",
    in_folder=", 폴더 1개",
    in_folders=", 폴더 {count}개",
    notes_dated="노트 {notes}개 중 {dated}개에 날짜가 있습니다.",
    by_date="날짜별",
    undated="날짜 없음",
    by_folder="폴더별",
    top_level="(최상위)",
    latest="최근 노트",
    all_notes="노트",
    topics_intro="{notes}를 내용에 따라 {topics}개 주제로 묶었습니다. 지도에서 점 하나가 노트 하나이며, 가까이 있는"
    " 노트일수록 내용이 비슷합니다.",
    map_label="의미로 배치한 노트 지도",
    map_caption="색은 주제를, 가운데 단어는 그 주제의 첫 단어를 나타냅니다. 점에 마우스를 올리거나 Tab 키로 옮겨 가면"
    " 노트 제목이 보이고, 클릭하거나 Enter 키를 누르면 열립니다.",
    search_ready="의미와 키워드로 찾음",
    search_loading="키워드로 찾음 — 의미 검색을 불러오는 중 …",
    search_idle="키워드로 찾음",
    search_unavailable="키워드로 찾음 — 의미 검색을 쓸 수 없음: {reason}",
    search_found="섹션 {count}개, {how}",
    search_none="맞는 섹션이 없습니다 ({how})",
)

JAPANESE = Words(
    related="関連ノート",
    topics="トピック",
    archive="日付順のノート",
    topic="トピック",
    note="ノート 1 件",
    notes="ノート {count} 件",
    in_folder="、フォルダ 1 個",
    in_folders="、フォルダ {count} 個",
    notes_dated="ノート {notes} 件、うち日付のあるもの {dated} 件。",
    by_date="日付別",
    undated="日付なし",
    by_folder="フォルダ別",
    top_level="（トップ）",
    latest="最近のノート",
    all_notes="ノート",
    topics_intro="{notes}を内容ごとに {topics} のトピックにまとめました。地図の点がそれぞれノートで、近い点ほど内容が"
    "近いノートです。",
    map_label="意味で配置したノートの地図",
    map_caption="色はトピックを表し、トピックの最初の語をその中央に置いています。点にカーソルを合わせるか Tab キーで"
    "移動するとノートの題名が表示され、クリックか Enter キーで開きます。",
    search_ready="意味とキーワードで検索",
    search_loading="キーワードで検索 — 意味での検索を読み込み中 …",
    search_idle="キーワードで検索",
    search_unavailable="キーワードで検索 — 意味での検索は使えません: {reason}",
    search_found="セクション {count} 件、{how}",
    search_none="一致するセクションはありません（{how}）",
)

CHINESE = Words(
    related="相关笔记",
    topics="主题",
    archive="按日期的笔记",
    topic="主题",
    note="1 篇笔记",
    notes="{count} 篇笔记",
    in_folder="，1 个文件夹",
    in_folders="，{count} 个文件夹",
    notes_dated="共 {notes} 篇笔记，其中 {dated} 篇有日期。",
    by_date="按日期",
    undated="无日期",
    by_folder="按文件夹",
    top_level="（顶层）",
    latest="最新笔记",
    all_notes="笔记",
    topics_intro="{notes}按内容分为 {topics} 个主题。地图上每个点是一篇笔记，点越近，内容越相近。",
    map_label="按语义排列的笔记地图",
    map_caption="颜色代表主题，主题的第一个词位于其中央。将鼠标悬停在点上或用 Tab 键移到点上可看到笔记标题，点击或按"
    " Enter 键打开。",
    search_ready="按语义和关键词搜索",
    search_loading="按关键词搜索 — 语义搜索正在加载 …",
    search_idle="按关键词搜索",
    search_unavailable="按关键词搜索 — 语义搜索不可用：{reason}",
    search_found="{count} 个章节，{how}",
    search_none="没有匹配的章节（{how}）",
)

LANGUAGES = {"en": ENGLISH, "ko": KOREAN, "ja": JAPANESE, "zh": CHINESE}


def words_for(language: str | None) -> Words:
    """The texts for a theme's ``language`` (``ko``, ``ja``, ``zh``, ``zh-TW`` ...; English otherwise)."""
    return LANGUAGES.get((language or "en").split("-")[0].split("_")[0].lower(), ENGLISH)
