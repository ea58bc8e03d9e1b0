"""Build the fixture site in tmp_path and check the HTML, as a user would see it."""

from __future__ import annotations

import json
import posixpath
import re
from pathlib import Path
from urllib.parse import unquote

from click.testing import CliRunner

from tilsite.cli import cli

from .conftest import FakeEmbedder

ASIDE = re.compile(r'<aside class="tilsite-related" data-search-exclude>(.*?)</aside>', re.DOTALL)
HREF = re.compile(r'<a href="([^"]+)"')
ID = re.compile(r'\sid="([^"]+)"')


def _build(site: Path, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["build", "-f", str(site / "mkdocs.yml"), *extra], catch_exceptions=False)
    return result.exit_code, result.output


def _html_file(site_dir: Path, url: str) -> Path:
    path = unquote(url.split("#", 1)[0])
    target = site_dir / path
    return target / "index.html" if path.endswith("/") or path == "" else target


def _resolve(page_url: str, href: str) -> str:
    """Resolve a relative href against a page URL, site-relative, keeping a trailing slash and anchor."""
    path, _, anchor = href.partition("#")
    joined = posixpath.normpath(posixpath.join(page_url, path)) if path else page_url.rstrip("/")
    joined = "" if joined == "." else joined + ("/" if path.endswith("/") or not path else "")
    return f"{joined}#{anchor}" if anchor else joined


WHY = re.compile(r'<a class="tilsite-why" href="#([^"]+)">')


def _related_links(site_dir: Path) -> dict[str, list[str]]:
    """The other notes each page's related block links to (its links to its own sections are checked here)."""
    links: dict[str, list[str]] = {}
    for page in sorted(site_dir.rglob("index.html")):
        html = page.read_text(encoding="utf-8")
        match = ASIDE.search(html)
        if match:
            page_url = page.parent.relative_to(site_dir).as_posix() + "/"
            page_url = "" if page_url == "./" else page_url
            block = match.group(1)
            for anchor in WHY.findall(block):  # "§ this note's section →": a section of this very page
                assert unquote(anchor) in ID.findall(html), f"{page_url} names its missing section #{anchor}"
            links[page_url] = [_resolve(page_url, href) for href in HREF.findall(WHY.sub("", block))]
    return links


def test_every_note_page_ends_with_related_notes_whose_anchors_exist(site: Path, fake_model: FakeEmbedder) -> None:
    code, output = _build(site, "--strict")
    assert code == 0, output
    site_dir = site / "site"
    links = _related_links(site_dir)
    assert set(links) >= {"ml/overfitting/", "ml/regularization/", "web/django/"}
    overfitting = (site_dir / "ml/overfitting/index.html").read_text(encoding="utf-8")
    assert WHY.search(overfitting), "each entry names the section of this note it matches"
    for page, targets in links.items():
        assert targets, page
        for target in targets:
            assert posixpath.normpath(target) != posixpath.normpath(page or "."), "a note is never related to itself"
            path, _, anchor = target.partition("#")
            html = _html_file(site_dir, path).read_text(encoding="utf-8")
            if anchor:
                assert unquote(anchor) in ID.findall(html), f"{page} links to missing {target}"


def test_related_block_is_styled_and_escaped(site: Path, fake_model: FakeEmbedder) -> None:
    note = site / "docs/ml/regularization.md"
    note.write_text(
        note.read_text(encoding="utf-8") + "\n## <script>alert(1)</script> & [x](y) 과적합 드롭아웃\n"
        "Dropout 과적합 <b>bold</b> **strong** :smile:\n",
        encoding="utf-8",
    )
    code, output = _build(site)
    assert code == 0, output
    html = (site / "site/ml/overfitting/index.html").read_text(encoding="utf-8")
    block = ASIDE.search(html)
    assert block is not None
    assert "<script>" not in block.group(1) and "<b>" not in block.group(1) and "<strong>" not in block.group(1)
    assert "assets/tilsite/related.css" in html
    assert (site / "site/assets/tilsite/related.css").is_file()
    # No note draws a diagram, so no page loads mermaid's script (3.6 MB) and the site does not publish it.
    assert "mermaid" not in html and not (site / "site/assets/tilsite/diagrams").exists()


def test_related_links_are_anchor_checked_by_mkdocs_and_listed_in_the_toc(
    site: Path, fake_model: FakeEmbedder, monkeypatch
) -> None:
    from dataclasses import replace

    from tilsite.site import build as plugin_module

    real = plugin_module.related_notes

    def with_a_stale(side: str, anchor: str):  # type: ignore[no-untyped-def]
        """``related_notes`` whose first entry of ml/overfitting.md has ``anchor`` on its ``side`` section."""

        def stale(*args: object, **kwargs: object) -> dict:
            related = real(*args, **kwargs)
            first = related["ml/overfitting.md"][0]
            related["ml/overfitting.md"][0] = replace(first, **{side: replace(getattr(first, side), anchor=anchor)})
            return related

        return stale

    monkeypatch.setattr(plugin_module, "related_notes", with_a_stale("target", "no-such-section"))
    code, output = _build(site, "--strict", "--verbose")
    assert code != 0
    assert "'ml/overfitting.md' contains a link" in output and "'#no-such-section'" in output, output
    code, output = _build(site, "--strict")  # grouped by kind, naming the note and the link
    assert code != 0
    assert "1 link to a heading that does not exist, in 1 note: ml/overfitting.md (" in output, output
    assert "#no-such-section" in output

    monkeypatch.setattr(plugin_module, "related_notes", with_a_stale("source", "no-such-own-section"))
    code, output = _build(site, "--strict", "--verbose")  # "§ this note's section" is checked too
    assert code != 0 and "'#no-such-own-section'" in output, output

    monkeypatch.setattr(plugin_module, "related_notes", real)
    assert _build(site, "--strict")[0] == 0
    html = (site / "site/ml/overfitting/index.html").read_text(encoding="utf-8")
    assert 'href="#related-notes"' in html  # the table of contents
    assert '<h2 id="related-notes">Related notes</h2>' in html

    note = site / "docs/ml/overfitting.md"
    note.write_text(note.read_text(encoding="utf-8") + "\n## Related notes\n내가 쓴 관련 링크\n", encoding="utf-8")
    assert _build(site, "--strict")[0] == 0
    html = (site / "site/ml/overfitting/index.html").read_text(encoding="utf-8")
    assert ID.findall(html).count("related-notes") == 1  # the note's own heading keeps its id
    assert '<h2 id="related-notes_1">Related notes</h2>' in html


def test_repository_root_images_are_published(site: Path, fake_model: FakeEmbedder) -> None:
    code, output = _build(site)
    assert code == 0, output
    html = (site / "site/ml/overfitting/index.html").read_text(encoding="utf-8")
    assert 'src="../../img/curve.png"' in html
    assert (site / "site/img/curve.png").is_file()


def test_bad_input_never_crashes_the_build(site: Path, fake_model: FakeEmbedder) -> None:
    docs = site / "docs" / "bad"
    docs.mkdir()
    (docs / "empty.md").write_text("", encoding="utf-8")
    (docs / "title-only.md").write_text("# 제목만 있는 노트\n", encoding="utf-8")
    (docs / "no-text-headings.md").write_text("##\n\n###\n\n## 같은 제목\n\n## 같은 제목\n", encoding="utf-8")
    (docs / "legacy.md").write_bytes("# 옛날 노트\n\n## 과적합\n드롭아웃 정리\n".encode("cp949"))
    (docs / "junk.md").write_bytes(bytes(range(256)) * 64)
    (docs / "huge.md").write_text(("## 섹션\n" + "긴 본문 " * 300 + "\n") * 2200, encoding="utf-8")
    for name in ["with space.md", "colon:name.md", "less<than.md", "hash#name.md"]:
        (docs / name).write_text(f"# {name}\n\n## 과적합\n드롭아웃 과적합 정규화\n", encoding="utf-8")

    code, output = _build(site)
    assert code == 0, output
    warnings = [line for line in output.splitlines() if "bad/" in line]
    assert len([line for line in warnings if "bad/junk.md" in line]) == 1, output
    assert any("bad/junk.md" in line and "not text" in line for line in warnings), output
    assert any("bad/legacy.md" in line and "cp949" in line for line in warnings), output
    assert any("bad/huge.md" in line and "MB" in line for line in warnings), output
    legacy = (site / "site/bad/legacy/index.html").read_text(encoding="utf-8")
    assert "드롭아웃 정리" in legacy
    assert not (site / "site/bad/junk/index.html").exists()
    assert (site / "site/bad/with space/index.html").is_file()
    links = _related_links(site / "site")
    for targets in links.values():
        for target in targets:
            assert _html_file(site / "site", target).is_file(), target


def test_interrupted_build_keeps_the_old_site(site: Path, fake_model: FakeEmbedder, monkeypatch) -> None:
    assert _build(site)[0] == 0
    marker = site / "site/ml/overfitting/index.html"
    before = marker.read_text(encoding="utf-8")

    def explode(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("mkdocs.commands.build.build", explode)
    result = CliRunner().invoke(cli, ["build", "-f", str(site / "mkdocs.yml")])
    assert result.exit_code != 0
    assert marker.read_text(encoding="utf-8") == before
    assert not [path for path in site.iterdir() if path.name.startswith(".site-")]


def test_rebuild_embeds_only_the_edited_note_and_says_so(site: Path, fake_model: FakeEmbedder) -> None:
    assert _build(site)[0] == 0
    fake_model.calls.clear()
    note = site / "docs/web/django.md"
    note.write_text(note.read_text(encoding="utf-8").replace("앱을 만든다", "앱을 새로 만든다"), encoding="utf-8")
    code, output = _build(site)
    assert code == 0, output
    assert len(fake_model.embedded_texts) == 1 and "앱을 새로 만든다" in fake_model.embedded_texts[0]
    assert "embedded 1 new or changed section in 1 note (web/django.md)" in output


def test_plain_mkdocs_build_uses_the_plugin(site: Path, fake_model: FakeEmbedder) -> None:
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    config = load_config(config_file=str(site / "mkdocs.yml"))
    config.plugins.on_startup(command="build", dirty=False)
    build(config)
    config.plugins.on_shutdown()
    assert ASIDE.search((site / "site/ml/overfitting/index.html").read_text(encoding="utf-8"))


def test_the_repository_sample_site_builds_strictly(sample_project: Path, fake_model: FakeEmbedder) -> None:
    project = sample_project
    code, output = _build(project, "--strict")
    assert code == 0, output
    notes = list((project / "docs").rglob("*.md"))
    assert len(notes) >= 21
    # The fake model's vectors pass the threshold for fewer notes than the real model's (21 of the 23).
    assert len(_related_links(project / "site")) >= 12


def test_pages_mkdocs_excludes_are_not_indexed(site: Path, fake_model: FakeEmbedder) -> None:
    config = site / "mkdocs.yml"
    config.write_text(config.read_text(encoding="utf-8") + "exclude_docs: |\n  drafts/\n", encoding="utf-8")
    (site / "docs/drafts").mkdir()
    (site / "docs/drafts/secret.md").write_text("# 비밀\n\n## 과적합\n드롭아웃 과적합 정규화\n", encoding="utf-8")
    code, output = _build(site, "--strict")
    assert code == 0, output
    assert fake_model.embedded_texts and all("비밀" not in text for text in fake_model.embedded_texts)
    assert not (site / "site/drafts").exists()


def test_search_never_indexes_the_related_block_whatever_the_plugin_order(site: Path, fake_model: FakeEmbedder) -> None:
    import json

    config = site / "mkdocs.yml"
    text = config.read_text(encoding="utf-8")
    assert text.endswith("      related_threshold: -0.5\n")  # tilsite's options end the file
    config.write_text(text.replace("plugins:\n  - search\n", "plugins:\n") + "  - search\n", encoding="utf-8")
    code, output = _build(site)
    assert code == 0, output
    assert _related_links(site / "site")  # the pages have related notes ...
    index = json.loads((site / "site/search/search_index.json").read_text(encoding="utf-8"))
    assert not [doc for doc in index["docs"] if "Related notes" in doc["title"] + doc["text"]]  # ... search has none


def test_core_messages_reach_mkdocs_log_under_plain_mkdocs() -> None:
    import logging

    from tilsite.plugin.plugin import TilsitePlugin

    core = logging.getLogger("tilsite")
    saved = (core.handlers[:], core.level, core.propagate)
    core.handlers.clear()
    received: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: received.append(record.getMessage())  # type: ignore[method-assign]
    logging.getLogger("mkdocs.plugins.tilsite").addHandler(handler)
    try:
        TilsitePlugin().on_startup(command="build", dirty=False)
        core.info("Model ready in /somewhere")
    finally:
        logging.getLogger("mkdocs.plugins.tilsite").removeHandler(handler)
        core.handlers[:], core.level, core.propagate = saved
    assert received == ["Model ready in /somewhere"]


def test_sections_are_linked_only_at_ids_their_page_renders(site: Path, fake_model: FakeEmbedder) -> None:
    # Python-Markdown keeps this whole <div> as raw HTML (its heading gets no id), where CommonMark,
    # and so tilsite's parser, reads a heading after the blank line.
    hidden = "\n<div>\n\n## 숨은 과적합 정리\n\n과적합 dropout 정규화 검증 손실 early stopping\n\n</div>\n"
    note = site / "docs/ml/regularization.md"
    note.write_text(note.read_text(encoding="utf-8") + hidden, encoding="utf-8")
    code, output = _build(site, "--strict")
    assert code == 0, output
    site_dir = site / "site"
    assert 'id="숨은-과적합-정리"' not in (site_dir / "ml/regularization/index.html").read_text(encoding="utf-8")
    for page, targets in _related_links(site_dir).items():
        assert not [target for target in targets if "숨은" in unquote(target)], page
    search = next((site_dir / "assets/tilsite/search").glob("sections-*.json")).read_text(encoding="utf-8")
    records = [record for record in json.loads(search) if record["path"] == "ml/regularization.md"]
    hidden_record = next(record for record in records if record["heading"] == "숨은 과적합 정리")
    assert hidden_record["anchor"] != "숨은-과적합-정리"
    assert hidden_record["anchor"] in {record["anchor"] for record in records if record is not hidden_record}


def test_an_empty_folder_readme_lists_the_folders_notes(site: Path, fake_model: FakeEmbedder) -> None:
    """GitHub shows a folder's files above its README; an empty README page shows the folder's notes instead of
    nothing (a README with text of its own stays as written)."""
    (site / "docs" / "ml" / "README.md").write_text("# ML\n", encoding="utf-8")
    (site / "docs" / "ml" / "deep").mkdir()
    (site / "docs" / "ml" / "deep" / "cnn.md").write_text("# CNN\n\n합성곱.\n", encoding="utf-8")
    (site / "docs" / "web" / "README.md").write_text("# Web\n\n웹 정리.\n", encoding="utf-8")
    code, output = _build(site)
    assert code == 0, output
    ml = (site / "site/ml/index.html").read_text(encoding="utf-8")
    article = ml[ml.index("<article") : ml.index("</article>")]
    for page in ("overfitting/", "regularization/", "deep/cnn/"):
        assert f'href="{page}"' in article, page
    web = (site / "site/web/index.html").read_text(encoding="utf-8")
    assert 'href="django/"' not in web[web.index("<article") : web.index("</article>")]
