from __future__ import annotations

import re
from pathlib import Path

import markdown
import pytest
from markdown.extensions.toc import slugify_unicode
from mkdocs.config import load_config

from tilsite.notes.reading import Note, iter_note_paths, read_note
from tilsite.notes.sections import parse_headings, split_sections
from tilsite.notes.slugs import SlugSettings

from .conftest import FIXTURES

SITE = FIXTURES / "site"
HEADING_ID = re.compile(r"<h([1-6])[^>]*\sid=\"([^\"]*)\"")


def _site_settings() -> tuple[SlugSettings, markdown.Markdown]:
    config = load_config(config_file=str(SITE / "mkdocs.yml"))
    slugs = SlugSettings.from_markdown_config(list(config.markdown_extensions), dict(config.mdx_configs))
    renderer = markdown.Markdown(extensions=config.markdown_extensions, extension_configs=config.mdx_configs)
    return slugs, renderer


def _note(text: str, path: str = "note.md") -> Note:
    return Note(path, text, 0, {})


@pytest.mark.parametrize("path", [p.relative_to(SITE / "docs").as_posix() for p in iter_note_paths(SITE / "docs")])
def test_anchors_match_the_ids_mkdocs_renders(path: str) -> None:
    slugs, renderer = _site_settings()
    note = read_note(SITE / "docs" / path, SITE / "docs", [])
    assert note is not None
    rendered = [anchor for _level, anchor in HEADING_ID.findall(renderer.reset().convert(note.text))]
    _, _, headings = parse_headings(note, slugs)
    assert [heading.anchor for heading in headings] == rendered


def test_tricky_headings_get_readable_korean_ids() -> None:
    slugs, _ = _site_settings()
    note = read_note(SITE / "docs/web/tricky.md", SITE / "docs", [])
    assert note is not None
    anchors = [heading.anchor for heading in parse_headings(note, slugs)[2]]
    assert anchors[:2] == ["프로젝트-생성하기", "프로젝트-생성하기_1"]
    assert "git-rebase-i-로-커밋-정리" in anchors
    assert "custom-id" in anchors
    assert "붙여쓴-제목" in anchors
    assert "프로젝트-생성하기_2" in anchors


def test_code_comment_lines_are_not_headings() -> None:
    text = "# Title\n\n## Real\n\n```bash\n# make a venv\npython -m venv .venv\n## still code\n```\n"
    sections = split_sections(_note(text), SlugSettings(slugify_unicode))
    assert [section.heading for section in sections] == ["Real"]
    assert "# make a venv" in sections[0].text


def test_sections_carry_title_path_and_text() -> None:
    text = "# 노트 제목\n\n## 상위\n내용 A\n\n### 하위\n내용 B\n\n## 다음\n내용 C\n"
    sections = split_sections(_note(text), SlugSettings(slugify_unicode))
    assert [(s.heading, s.anchor, s.level) for s in sections] == [
        ("상위", "상위", 2),
        ("하위", "하위", 3),
        ("다음", "다음", 2),
    ]
    assert sections[1].heading_path == ("노트 제목", "상위", "하위")
    assert sections[1].embedding_text == "노트 제목 > 상위 > 하위\n내용 B"


def test_preamble_and_front_matter_title() -> None:
    note = Note("a.md", "Intro text.\n\n## Part\nBody\n", 3, {"title": "From meta"})
    sections = split_sections(note)
    assert sections[0].anchor == "" and sections[0].text == "Intro text."
    assert sections[0].note_title == "From meta"
    assert sections[1].line == 5


def test_link_and_image_markup_is_removed_from_text() -> None:
    text = "## Links\nSee [the docs](https://example.com) and ![a chart](/img/x.png) and `code`.\n"
    (section,) = split_sections(_note(text))
    assert section.text == "See the docs and a chart and code."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", []),
        ("# Only a title\n", ["Only a title"]),
        ("##\n\n##\n", []),
        ("## A\n\n## A\n", ["A"]),
    ],
)
def test_degenerate_notes_do_not_fail(text: str, expected: list[str]) -> None:
    sections = split_sections(_note(text))
    assert [section.heading for section in sections][: len(expected)] == expected
    if not expected:
        assert all(not section.text for section in sections)


def test_title_falls_back_to_file_name() -> None:
    (section,) = split_sections(_note("just text", "daily/my_first-note.md"))
    assert section.note_title == "My first note"


TITLED = {
    "README.md": "Home page text\n",
    "Linux Tool.md": "text first\n\n# 제한사항\n\nthen a heading\n",  # not the first thing: the file's name
    "NoSQL.md": "## only a subheading\n",
    "git-rebase_vs_merge.md": "plain\n",
    "DAY30_241110.md": "# DAY30 `git` 정리 {#day30}\n\ntext\n",
    "meta.md": "---\ntitle: From meta\n---\n# Heading\n",
}
"""Notes that MkDocs titles as tilsite does (the adapter tells MkDocs the title of the others)."""
OWN_TITLES = {
    "sub/README.md": ("no heading\n", "Sub", "Index"),  # a folder's README by the folder's name
    "ch06.md": ("# 6.1 중첩 분기\n\nx\n\n# 6.2 조기 반환\n\ny\n", "Ch06", "6.1 중첩 분기"),  # numbered: sections
    "1-4 스프링 핵심 원리.md": ("text\n", "1-4 스프링 핵심 원리", "1 4 스프링 핵심 원리"),  # as written
    "05-01.md": ("text\n", "05-01", "05 01"),
}
"""Notes tilsite titles otherwise than MkDocs would: (text, tilsite's title, MkDocs' own)."""


def test_titles_are_the_ones_mkdocs_gives_the_pages_or_tells_it(tmp_path: Path) -> None:
    from mkdocs.structure.files import File, Files
    from mkdocs.structure.pages import Page

    texts = {**TITLED, **{name: text for name, (text, _, _) in OWN_TITLES.items()}}
    for name, text in texts.items():
        (tmp_path / "docs" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "docs" / name).write_text(text, encoding="utf-8")
    (tmp_path / "mkdocs.yml").write_text("site_name: t\nmarkdown_extensions: [attr_list]\n", encoding="utf-8")
    config = load_config(str(tmp_path / "mkdocs.yml"))
    files = Files([File(name, config.docs_dir, config.site_dir, True) for name in texts])
    titles = {}
    for file in files:
        page = Page(None, file, config)
        page.read_source(config)
        page.render(config, files)
        note = read_note(Path(file.abs_src_path or ""), Path(config.docs_dir), [])
        assert note is not None
        slugs = SlugSettings.from_markdown_config(config.markdown_extensions, config.mdx_configs)
        titles[file.src_uri] = split_sections(note, slugs)[0].note_title
        expected = OWN_TITLES[file.src_uri][2] if file.src_uri in OWN_TITLES else titles[file.src_uri]
        assert page.title == expected, file.src_uri
    assert [titles[name] for name in TITLED] == [
        "Home",
        "Linux Tool",
        "NoSQL",
        "Git rebase vs merge",
        "DAY30 git 정리",
        "From meta",
    ]
    assert {name: titles[name] for name in OWN_TITLES} == {name: own for name, (_, own, _) in OWN_TITLES.items()}


def test_the_seed_note_splits_into_its_sections() -> None:
    seed = Path(__file__).resolve().parents[2] / "shared/seed/DAY22_241031.md"
    if not seed.exists():
        pytest.skip("../shared/seed is not beside this checkout")
    note = read_note(seed, seed.parent, [])
    assert note is not None
    sections = split_sections(note, SlugSettings(slugify_unicode))
    assert sections[0].note_title == "내일배움캠프 22일차 TIL"
    assert "다양한-언어-모델-실습" in [section.anchor for section in sections]


INLINE_FORMS = {
    "javascript link": "Click me [closures](javascript:alert(8)) now",
    "file link": "File [link](file:///etc/passwd) x",
    "data link": "Data [img](data:text/html,hi) y",
    "vbscript link": "VB [x](vbscript:msgbox) z",
    "link": "Read [the docs](other.md#x) first",
    "link with code and emphasis": "Nested [**bold** `code`](x.md) link",
    "reference link": "Ref [link][r] here",
    "image": "Image ![alt text](a.png) here",
    "autolink": "Autolink <https://example.com/a?b=c> a",
    "email autolink": "Mail <me@example.com> b",
    "bare url": "Bare https://example.com url",
    "inline html": 'Html <b>bold</b> and <span class="x">span</span>',
    "raw img with handler": "Raw <img src=x onerror=alert(1)> img",
    "emphasis": "Emph *a* **b** _c_ ***d***",
    "code": "Code `x<y>` and `` a`b ``",
    "strikethrough": "Strike ~~gone~~ now",
    "escapes": "Escaped \\*star\\* and \\# hash \\[x\\]",
    "entities": "Entity &amp; &lt;tag&gt; &#x41; &copy;",
    "closing hashes": "Trailing hashes ##",
    "footnote reference": "Footnote[^1] here",
    "undefined footnote": "Not a footnote [^nope] here",
    "emoji and korean": "이모지 🎉 파티 Party",
    "angle bracket": "Angle <not a tag",
    "attribute list": "Custom {: #my-id }",
}


@pytest.mark.parametrize("form", INLINE_FORMS)
def test_every_inline_form_gets_the_id_mkdocs_renders(form: str) -> None:
    """Each heading next to a plain one, as in a note; the ids are compared with Python-Markdown's own."""
    text = f"# Note\n\n## {INLINE_FORMS[form]}\n\nbody\n\n## Plain\n\n[r]: x.md\n[^1]: a footnote\n"
    extensions = ["toc", "attr_list", "footnotes", "pymdownx.tilde", "pymdownx.magiclink"]
    renderer = markdown.Markdown(extensions=extensions, extension_configs={"toc": {"slugify": slugify_unicode}})
    rendered = [anchor for _level, anchor in HEADING_ID.findall(renderer.convert(text))]
    slugs = SlugSettings.from_markdown_config(extensions, {"toc": {"slugify": slugify_unicode}})
    assert [heading.anchor for heading in parse_headings(_note(text), slugs)[2]] == rendered


def test_the_sections_markdown_is_embedded_and_its_plain_text_shown() -> None:
    text = (
        "## Running async code\n"
        "Read [the asyncio docs](https://docs.python.org/3/library/asyncio-task.html) and `asyncio.run`.\n\n"
        '```python title="a.py"\nasyncio.run(main())\n```\n\n\n\n'
        "![a chart](https://user-images.githubusercontent.com/1/0f3c-9d2e.png) <!-- hidden note -->\n"
        "![inline](data:image/png;base64,iVBORw0KGgo=)\n\n"
        "<details><summary>Why <b>not</b> threads?</summary><!-- hidden -->\n"
        "The GIL &amp; blocking calls</details>\n\n"
        "<script>var tracked = 1;</script>\n"
        "## Next\nMore.\n"
    )
    first, second = split_sections(_note(text))
    # What is embedded: the Markdown as written (fence language, link address, backticks), less images'
    # addresses, data: URLs, comments and runs of blank lines.
    assert first.embedding_text.startswith(
        "Note > Running async code\n"
        "Read [the asyncio docs](https://docs.python.org/3/library/asyncio-task.html) and `asyncio.run`.\n\n"
        '```python title="a.py"\nasyncio.run(main())\n```\n\n![a chart] \n![inline]\n\n<details>'
    )
    assert "githubusercontent" not in first.embedding_text and "iVBOR" not in first.embedding_text
    assert "hidden" not in first.embedding_text and "## Next" not in first.embedding_text
    assert second.embedding_text == "Note > Next\nMore."
    # What is shown and searched by keywords: plain text, with the HTML block's text (not its comments or scripts).
    assert "Why not threads? The GIL & blocking calls" in first.text
    assert "hidden" not in first.text and "tracked" not in first.text and "```" not in first.text
    assert first.snippet.startswith("Read the asyncio docs and asyncio.run.")


def test_a_note_without_headings_embeds_all_its_markdown() -> None:
    (section,) = split_sections(_note("Just *text* here.\n\n- a list\n"))
    assert section.embedding_text == "Note\nJust *text* here.\n\n- a list"


def test_embedded_markdown_keeps_text_after_a_data_url_and_old_mac_line_ends() -> None:
    (section,) = split_sections(_note("## A\n[logo]: data:image/png;base64,iVBO=\n\nThe rebase command, carefully.\n"))
    assert "The rebase command, carefully." in section.embedding_text and "iVBO" not in section.embedding_text
    (section,) = split_sections(_note("## B\n<div>\na < b and c > d\n</div>\n"))
    assert "a < b and c > d" in section.text


def test_lone_carriage_returns_end_lines(tmp_path: Path) -> None:
    path = tmp_path / "mac.md"
    path.write_bytes(b"# T\r\r```\ra\rb\r```\r## B\rbee text\r")
    note = read_note(path, tmp_path, [])
    assert note is not None and "\r" not in note.text
    sections = split_sections(note)
    assert [(s.heading, s.line) for s in sections] == [("T", 0), ("B", 6)]
    assert "## B" not in sections[0].embedding_text and sections[1].embedding_text.endswith("bee text")


def test_emoji_shortcodes_in_headings_get_the_ids_mkdocs_renders() -> None:
    """With ``pymdownx.emoji`` (which ``tilsite init`` writes), ``:tada:`` in a heading is the emoji, as on
    GitHub: its id and the heading's text are those of the emoji, not of the shortcode."""
    import pymdownx.emoji

    text = "# Note\n\n## 배포 :rocket: 하기\n\nx\n\n## :tada: Party\n\nx\n\n## :+1: :nope: :thumbsup: ok\n\nx\n"
    extensions = ["toc", "pymdownx.emoji"]
    configs = {
        "toc": {"slugify": slugify_unicode},
        "pymdownx.emoji": {"emoji_index": pymdownx.emoji.gemoji, "emoji_generator": pymdownx.emoji.to_alt},
    }
    rendered = [
        anchor
        for _level, anchor in HEADING_ID.findall(
            markdown.Markdown(extensions=extensions, extension_configs=configs).convert(text)
        )
    ]
    headings = parse_headings(_note(text), SlugSettings.from_markdown_config(extensions, configs))[2]
    assert [heading.anchor for heading in headings] == rendered == ["note", "배포-하기", "party", "nope-ok"]
    assert [heading.text for heading in headings][1:3] == ["배포 🚀 하기", "🎉 Party"]
    plain = parse_headings(_note(text), SlugSettings.from_markdown_config(["toc"], configs))[2]
    assert plain[2].anchor == "tada-party"  # without the extension, the shortcode is text


def test_vault_notes_are_titled_as_obsidian_shows_them_unless_the_name_says_less() -> None:
    """Obsidian titles a note by its file's name; a README by its heading (it names a folder, not a note), and a
    name that its opening heading starts with (``146`` and ``# 146. LRU 缓存``) by that heading."""

    def title(path: str, text: str) -> str:
        return split_sections(Note(path, text, 0, {}, named=True))[0].note_title

    assert title("Java/단서 질문 노트.md", "# 단서 질문\n\nx\n") == "단서 질문 노트"
    assert title("leetcode/146.md", "# 146. LRU 缓存\n\nx\n") == "146. LRU 缓存"
    assert title("css/README.md", "# CSS 单位指南\n\nx\n") == "CSS 单位指南"
    assert title("css/README.md", "text only\n") == "Css"
    assert title("css/units.md", "x\n") == "units"


def test_a_first_h1_that_other_notes_have_as_a_heading_names_a_section_not_the_note() -> None:
    """`# 참고` above `# JWT` is the note's references, not its title, when other notes have a `참고` too; a
    first H1 no other note has (`# 린 분석` above `# Part 1`) stays the title, and so does one the file is named
    after (`14_Collection.md`), though two other notes have a section of that name."""
    from tilsite.index.pipeline import collect_sections

    notes = [
        Note("Security/JWT.md", "# 참고\n\n- links\n\n# JWT\n\ntext\n", 0, {}),
        Note("Security/OAuth.md", "# OAuth\n\ntext\n\n## 참고\n\n- links\n", 0, {}),
        Note("Security/CORS.md", "# CORS\n\ntext\n\n## 참고\n\n- links\n", 0, {}),
        Note("Books/lean-analytics.md", "# 린 분석\n\n# Part 1\n\n지표\n\n# Part 2\n\n단계\n", 0, {}),
        Note("daily/DAY12.md", "# 내일배움캠프 12일차 TIL\n\n오늘\n\n# Week3\n\n회귀\n", 0, {}),
        Note("coding/14_Collection.md", "# Collection\n\nlist\n\n# 2차원 배열\n\ngrid\n", 0, {}),
        Note("python/10_Library.md", "# Standard Library\n\nmodules\n\n# Collection\n\ndeque\n", 0, {}),
        Note("coding/12_Library.md", "# Library\n\nmodules\n\n# Collection\n\ndeque\n", 0, {}),
        Note("Security/JWT참고.md", "# 참고\n\n- links\n\n# JWT\n\ntext\n", 0, {}),
    ]
    sections = collect_sections(notes, SlugSettings()).sections
    titles = {section.path: section.note_title for section in sections}
    assert titles == {
        "Security/JWT.md": "JWT",
        "Security/OAuth.md": "OAuth",
        "Security/CORS.md": "CORS",
        "Books/lean-analytics.md": "린 분석",
        "daily/DAY12.md": "내일배움캠프 12일차 TIL",
        "coding/14_Collection.md": "Collection",
        "python/10_Library.md": "Standard Library",
        "coding/12_Library.md": "Library",
        "Security/JWT참고.md": "JWT참고",  # named after more than the section: the file's name
    }
    jwt = [section for section in sections if section.path == "Security/JWT.md"]
    assert jwt[0].header == "JWT > 참고"  # what is embedded says so too
