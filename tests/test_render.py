"""HTML that tilsite adds or repairs in pages."""

from __future__ import annotations

import datetime as dt

import pytest

from tilsite.site.render import balance_html, filtered_tags, note_tags


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ('<p>a</p><div align="center"><p>b</p>', '<p>a</p><div align="center"><p>b</p></div>'),
        ("<p>a</p></div></div><p>b</p>", "<p>a</p><p>b</p>"),  # would close the theme's own layout
        ("<details><summary>x</summary><p>y</p>", "<details><summary>x</summary><p>y</p></details>"),
        ("<div><span>x</div>", "<div><span>x</div>"),  # closed with its parent, as a browser does
        ('<div title="a>b"><br><img src="x.png"/>', '<div title="a>b"><br><img src="x.png"/></div>'),
        ("<script>if (a < b) { '</div>' }</script>", "<script>if (a < b) { '</div>' }</script>"),
        ("<!-- <div> --><pre><code>&lt;div&gt;</code></pre>", "<!-- <div> --><pre><code>&lt;div&gt;</code></pre>"),
        ("<p>plain</p>", "<p>plain</p>"),
    ],
)
def test_balance_html(html: str, expected: str) -> None:
    assert balance_html(html) == expected


def test_the_site_speaks_the_notes_language() -> None:
    """`tilsite init` sets the theme's language from the notes, and what tilsite writes follows it."""
    from tilsite.site.archive import ArchiveEntry, archive_markdown, home_markdown
    from tilsite.site.scaffold import mkdocs_yml, notes_language
    from tilsite.site.topics import topic_line
    from tilsite.site.words import words_for

    assert notes_language(["# 과적합\n\ndropout"]) == "ko"
    assert notes_language(["# ブロック\n\nRubyのブロック", "# Ruby\n\nblocks"]) == "ja"
    assert notes_language(["# CSS 单位指南\n\n许多 CSS 属性"]) == "zh"
    assert notes_language(["# Git\n\nrebase vs merge, 一 note"]) == "en"
    assert "  language: zh  #" in mkdocs_yml("t", False, language="zh")
    assert "  language: ko  #" in mkdocs_yml("t", True)
    assert words_for("zh-TW").related == "相关笔记" and words_for("fr").related == "Related notes"
    entries = [ArchiveEntry("a/x.md", "X", None), ArchiveEntry("y.md", "Y", None)]
    korean = words_for("ko")
    assert "노트 2개 중 0개에 날짜가 있습니다." in archive_markdown(entries, "archive.md", korean)
    assert "노트 2개, 폴더 1개." in home_markdown(entries, "TIL", [], korean)
    assert "## 노트" in home_markdown(entries, "TIL", [], korean)  # none dated: not "latest"
    line = topic_line("Git · 브랜치", "../topics/#topic-1", words_for("ja"))
    assert line.startswith('<p class="tilsite-topic">トピック: ')
    assert "2 notes in 1 folder." in home_markdown(entries, "TIL", [])  # English when no language is given


def test_the_date_goes_under_the_title_heading_only() -> None:
    import datetime as dt

    from tilsite.site.render import insert_date

    day = dt.date(2024, 1, 2)
    stamp = '<p class="tilsite-date"><time datetime="2024-01-02">2024-01-02</time></p>'
    title = '<h1 id="t">Date 객체의 타입<a class="headerlink" href="#t">&para;</a></h1>'
    several = f'{title}\n<p>x</p>\n<h1 id="u">5.3 Date 타입</h1>'
    expected = f'{title}\n{stamp}\n<p>x</p>\n<h1 id="u">5.3 Date 타입</h1>'
    assert insert_date(several, day, "Date 객체의 타입") == expected
    assert insert_date(several, day, "date-type").startswith(stamp)  # the first H1 is a section's: date on top
    assert insert_date("<h1>One</h1><p>y</p>", day).startswith("<h1>One</h1>\n" + stamp)  # the only H1
    assert insert_date("<p>text first</p><h1>Later</h1>", day).startswith(stamp)


def test_the_page_shows_its_title_above_a_heading_of_another_name() -> None:
    from tilsite.site.render import with_title

    assert with_title("<p>no heading</p>", "T") == "<p>no heading</p>"  # Material shows the title itself
    same = '<h1 id="t">Title<a class="headerlink" href="#t">&para;</a></h1><p>x</p>'
    assert with_title(same, "Title") == same
    other = '<h1 id="minikube">Minikube</h1><p>x</p>'
    assert with_title(other, "Minikube <설치>") == f'<h1 class="tilsite-title">Minikube &lt;설치&gt;</h1>\n{other}'
    later = "<ul><li>목차</li></ul><h1 id='a'>참고</h1>"
    assert with_title(later, "JWT").startswith('<h1 class="tilsite-title">JWT</h1>')


def test_a_footnote_mark_in_the_title_heading_is_no_other_title() -> None:
    from tilsite.notes.reading import Note
    from tilsite.notes.sections import split_sections
    from tilsite.notes.slugs import SlugSettings
    from tilsite.site.render import with_title

    note = Note("n/foot.md", "# Footnoted[^1]\n\nbody\n\n[^1]: the note\n", 0, {})
    assert split_sections(note, SlugSettings(footnotes=True))[0].note_title == "Footnoted"
    rendered = '<h1 id="footnoted">Footnoted<sup id="fnref:1"><a class="footnote-ref" href="#fn:1">1</a></sup></h1>'
    assert with_title(rendered + "<p>body</p>", "Footnoted").startswith('<h1 id="footnoted">')


def test_raw_tags_github_shows_as_text_or_drops_are_so_on_the_site() -> None:
    """GitHub's Markdown shows `<script>`, `<style>` and a few more as text and its sanitiser drops a document's
    head tags and embedded objects; the site does both, keeping `<iframe>` and arithmatex's own math scripts."""
    html = (
        "<li><script async> 与 <script defer></li><STYLE>body{}</STYLE><textarea>x</textarea>"
        '<h2>of object \'#<Object>\' (mix)</h2><p>a<meta http-equiv="refresh" content="0;url=x">b'
        '<link rel="stylesheet" href="x.css"><base href="https://example.com/"></p><embed src="a.swf">'
        '<script type="math/tex">x^2</script><iframe src="https://www.youtube.com/embed/x"></iframe>'
        "<pre><code>&lt;script&gt;</code></pre><scripts><metadata>"
    )
    filtered = (
        "<li>&lt;script async> 与 &lt;script defer></li>&lt;STYLE>body{}&lt;/STYLE>&lt;textarea>x&lt;/textarea>"
        "<h2>of object '#' (mix)</h2><p>ab</p>"
        '<script type="math/tex">x^2</script><iframe src="https://www.youtube.com/embed/x"></iframe>'
        "<pre><code>&lt;script&gt;</code></pre><scripts><metadata>"
    )
    assert filtered_tags(html, math_scripts=True) == filtered  # a site with arithmatex keeps its math scripts
    assert filtered_tags(html) == filtered.replace(
        '<script type="math/tex">x^2</script>', '&lt;script type="math/tex">x^2&lt;/script>'
    )
    # Nothing ends a kept math script early: `</script >` closes a script for the browser, so the next one runs.
    sneaky = '<script type="math/tex">x</script ><script>document.title="PWNED"</script>'
    assert "<script" not in filtered_tags(sneaky, math_scripts=True)


def test_front_matter_tags_in_the_forms_blogs_and_vaults_write_them() -> None:
    assert note_tags(["docker", "#k8s", 2024, "docker", None]) == ["docker", "k8s", "2024"]
    assert note_tags("docker, k8s") == ["docker", "k8s"] and note_tags("docker k8s") == ["docker", "k8s"]
    assert note_tags(None) == [] and note_tags({"a": 1}) == [] and note_tags("") == []


def test_the_archive_names_the_folders_of_notes_that_share_a_title() -> None:
    from tilsite.site.archive import ArchiveEntry, archive_markdown

    day = dt.date(2024, 6, 20)
    entries = [
        ArchiveEntry("Python/Basic/README.md", "Basic", day),
        ArchiveEntry("JAVA/Basic/README.md", "Basic", day),
        ArchiveEntry("git.md", "Git", day),
    ]
    by_date = archive_markdown(entries, "archive.md").split("## By folder")[0]
    assert "[Basic](Python/Basic/README.md) · Python&#47;Basic" in by_date  # the folder, escaped
    assert "[Basic](JAVA/Basic/README.md) · JAVA&#47;Basic" in by_date
    assert by_date.count("[Git](git.md)\n") == 1  # a title of its own: no folder
