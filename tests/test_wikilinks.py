"""Obsidian's wiki links and callouts, as the Markdown and admonitions they stand for."""

from __future__ import annotations

from pathlib import Path

from tilsite.notes.github import github_blocks
from tilsite.notes.reading import Note, read_note, with_wiki_links
from tilsite.notes.sections import split_sections
from tilsite.notes.targets import RepositoryFiles, link_targets
from tilsite.notes.wikilinks import obsidian_vault, uses_wiki_links, wiki_markdown


def _stash(html: str) -> str:
    return "@@stash@@"


def test_wiki_links_become_links_to_the_files_they_name() -> None:
    assert wiki_markdown("See [[Java MOC]].") == "See [Java MOC](<Java MOC.md>)."
    assert wiki_markdown("[[Java day09 MVC|the MVC day]]") == "[the MVC day](<Java day09 MVC.md>)"
    # A heading: the id GitHub gives it (the site maps it to the id MkDocs gives it); in the same note too.
    assert wiki_markdown("[[Arrays#Two Arrays]]") == "[Arrays > Two Arrays](<Arrays.md#two-arrays>)"
    assert wiki_markdown("[[#장고 설치|설치]]") == "[설치](<#장고-설치>)"
    assert wiki_markdown("[[Note#Part#Sub part]]") == "[Note > Sub part](<Note.md#sub-part>)"
    assert wiki_markdown("[[Note#^block1]]") == "[Note](<Note.md>)"  # a block reference leads to the note
    # A name with a dot is a note's name unless it ends in a file's extension.
    assert wiki_markdown("[[Node.js]] [[slides.pdf]]") == "[Node.js](<Node.js.md>) [slides.pdf](<slides.pdf>)"
    assert wiki_markdown("[[03 - Tags/Network]]") == "[03 - Tags/Network](<03 - Tags/Network.md>)"
    # What Markdown would read otherwise is escaped in the label; what cannot stand in <...> is encoded.
    assert wiki_markdown("[[<언어> MOC]]") == "[&lt;언어> MOC](<%3C%EC%96%B8%EC%96%B4%3E MOC.md>)"
    assert wiki_markdown("[[a_b*c]]") == r"[a\_b\*c](<a_b*c.md>)"
    assert wiki_markdown("[[#The `x` option|The `x` option]]") == "[The `x` option](<#the-x-option>)"
    assert wiki_markdown("[[ ]] [[#]]") == "[[ ]] [[#]]"  # names nothing
    # Never a scheme or a query: a name's : and ? stay part of the file's path (johnson434 has SAML이란?.md).
    assert wiki_markdown("[[javascript:alert(1)]] [[Why?]]") == (
        "[javascript:alert(1)](<./javascript:alert(1).md>) [Why?](<Why%3F.md>)"
    )


def test_embeds_become_images_and_links() -> None:
    assert wiki_markdown("![[Pasted image 2024.png]]") == "![](<Pasted image 2024.png>)"
    assert wiki_markdown("![[diagram.svg|the flow]]") == "![the flow](<diagram.svg>)"
    assert wiki_markdown("![[shot.png|300]]") == '<img src="shot.png" alt="" width="300">'
    assert wiki_markdown("![[shot.png|300x200]]") == '<img src="shot.png" alt="" width="300" height="200">'
    # A note or another file shown in place is linked (its text is not copied into this page).
    assert wiki_markdown("![[Other note#Part]]") == "[Other note > Part](<Other note.md#part>)"
    assert wiki_markdown("![[talk.mp3]]") == "[talk.mp3](<talk.mp3>)"


def test_code_and_table_cells_and_comments() -> None:
    text = "`[[1, 2]]` and\n\n```python\nx = [[1, 2]]\n```\n\n    [[indented code]]\n\n[[Real]]\n"
    assert wiki_markdown(text) == text.replace("[[Real]]", "[Real](<Real.md>)")
    # In a table a wiki link's | is written \| (a bare one would end the cell).
    row = "| [[Arrays\\|배열]] | ![[x.png\\|200]] |"
    assert wiki_markdown(row) == '| [배열](<Arrays.md>) | <img src="x.png" alt="" width="200"> |'
    # Obsidian's comments are hidden, as Obsidian hides them; in code they are code.
    assert wiki_markdown("a %%private\nnote%% b `%%kept%%`") == "a  b `%%kept%%`"
    assert wiki_markdown("no links here") == "no links here"
    # The backticks of a fence are not a code span's ends (dowrave/TIL-Obsidian).
    between = "```ts\nx\n```\n- `<>` 는 [[TS]] 참고\n## `<>`\n```ts\ny\n```\n"
    assert wiki_markdown(between) == between.replace("[[TS]]", "[TS](<TS.md>)")


def test_a_link_that_leads_nowhere_shows_its_text() -> None:
    text = "[[Written]] [[Not yet|later]] ![[gone.png]] <!-- [[[end]]] -->"

    def leads(url: str) -> bool:
        return url == "Written.md"

    assert wiki_markdown(text, leads) == "[Written](<Written.md>) later gone.png <!-- [[[end]]] -->"
    urls: list[str] = []
    wiki_markdown(text, urls=urls)
    assert urls == ["Written.md", "Not yet.md", "gone.png"]
    # A heading path's end may hold # itself; a heading renamed since leads to the note, as Obsidian opens it.
    found = {"Note.md", "Note.md#c-basics"}
    assert wiki_markdown("[[Note#Part#C# basics]]", found.__contains__) == "[Note > C# basics](<Note.md#c-basics>)"
    assert wiki_markdown("[[Note#Old name]]", found.__contains__) == "[Note > Old name](<Note.md>)"
    assert wiki_markdown("[[#Old name]]", found.__contains__) == "Old name"


def test_only_notes_that_use_wiki_links_get_them() -> None:
    # Ruby's NEWS (shioimm/til) and SQL logs (jbranchaud/til) write [[...]] that names no note: text, as on GitHub.
    assert not uses_wiki_links({"ruby/news.md": "[[Feature #20108]]", "rails/log.md": 'LIMIT $1  [["LIMIT", 1]]'})
    assert uses_wiki_links({"Java/Java MOC.md": "[[Arrays|배열]]", "Arrays.md": "# Arrays"})
    assert uses_wiki_links({"a.md": "no links"}, vault=True)


def test_a_notes_text_and_links_read_its_wiki_links(tmp_path: Path) -> None:
    (tmp_path / "Java").mkdir()
    note = tmp_path / "Java" / "MOC.md"
    note.write_text("---\ntags: [java]\n---\n# MOC\n\n[[Arrays|배열]] ![[shot one.png]]\n", encoding="utf-8")
    (tmp_path / "Arrays.md").write_text("# Arrays\n", encoding="utf-8")
    notes = [read_note(path, tmp_path, []) for path in (note, tmp_path / "Arrays.md")]
    assert notes[0] is not None and notes[0].text == "# MOC\n\n[[Arrays|배열]] ![[shot one.png]]\n"
    read, _ = with_wiki_links([note for note in notes if note is not None])
    assert read.text == "# MOC\n\n[배열](<Arrays.md>) ![](<shot one.png>)\n"
    assert read.wiki_urls == ("Arrays.md", "shot one.png")
    assert link_targets(read.text) == ["Arrays.md", "shot one.png"]
    # Found by name anywhere, as Obsidian finds them; in other capitals when none has the name as written.
    files = RepositoryFiles(["Java/MOC.md", "Arrays.md", "attachments/Shot One.png"])
    assert files.find("Java/MOC.md", "Arrays.md") == ("Arrays.md", "folder")
    assert files.find("Java/MOC.md", "shot one.png") == ("attachments/Shot One.png", "name")


def test_an_obsidian_vault_is_known_by_its_settings_folder(tmp_path: Path) -> None:
    (tmp_path / "vault" / "notes").mkdir(parents=True)
    assert not obsidian_vault(tmp_path / "vault" / "notes")
    (tmp_path / "vault" / ".obsidian").mkdir()
    assert obsidian_vault(tmp_path / "vault" / "notes")
    (tmp_path / "vault" / "notes" / ".git").mkdir()  # a repository of its own inside: the vault is not its
    assert not obsidian_vault(tmp_path / "vault" / "notes")


def test_obsidian_callouts_become_admonitions_that_fold_with_details() -> None:
    text = "> [!done]- 끝낸 일\n> 모두\n\n> [!wip]\n> 진행 중\n\n> [!Question]+\n> 왜?\n\n> [!NOTE]\n> 그대로\n"
    assert github_blocks(text, _stash, details=True, callouts=True).split("\n\n") == [
        '??? done "끝낸 일"\n    모두',
        '!!! note "Wip"\n    진행 중',  # a type of one's own shows as a note, titled by its name
        '???+ question "Question"\n    왜?',
        '!!! note "Note"\n    그대로\n',
    ]
    folded = github_blocks("> [!tip]- Hint\n> body\n", _stash, callouts=True)
    assert folded.startswith('!!! tip "Hint"')  # without pymdownx.details it shows open
    # GitHub's own alerts keep their colours; with a title written, that title.
    assert github_blocks("> [!IMPORTANT] 꼭\n> 읽기\n", _stash, callouts=True).startswith('!!! info "꼭"')
    # Elsewhere, as on GitHub: a quote (an alert is its kind alone on its line).
    assert github_blocks("> [!done] 끝\n> 모두\n", _stash).startswith("> [!done] 끝")
    assert github_blocks("> [!IMPORTANT] 꼭\n> 읽기\n", _stash).startswith("> [!IMPORTANT] 꼭")
    # The kind is the admonition's colour, not text to search or show in a related note's passage.
    (section,) = split_sections(Note("a.md", "# A\n\n> [!important]\n> 요약\n\n> [!tip]- 제목\n> 본문\n", 0))
    assert section.text == "요약\n제목 본문"


def test_obsidian_tags_show_as_tags_outside_code_links_and_html() -> None:
    from tilsite.notes.wikilinks import tag_markdown

    assert tag_markdown("#leetcode/union-find #前端/JavaScript") == (
        '<span class="tilsite-tag">#leetcode/union-find</span> <span class="tilsite-tag">#前端/JavaScript</span>'
    )
    kept = "# 제목\n\nC# and #1 and `#code` and [x](a.md#anchor) and https://x.y/#frag and <a href='#x'>\n"
    assert tag_markdown(kept) == kept
    assert (
        tag_markdown("```\n#include <x>\n```\n(#tag)")
        == '```\n#include <x>\n```\n(<span class="tilsite-tag">#tag</span>)'
    )
    assert tag_markdown("#<b>") == "#<b>" and "&lt;" not in tag_markdown("#a<b>")


def test_tags_are_never_read_in_html_css_attribute_lists_or_math() -> None:
    from tilsite.notes.wikilinks import tag_markdown

    text = (
        '<div\n  style="color: #fff; background: #abc">white</div>\n\n<style>\n.note { color: #fff; }\n</style>\n\n'
        "## H {: #custom}\n\n$c #d$ and #real\n"
    )
    assert tag_markdown(text) == text.replace("#real", '<span class="tilsite-tag">#real</span>')
