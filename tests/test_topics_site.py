"""The topics page, its map and each note's topic line, built from the fixture site as a user sees them."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner

from tilsite.cli import cli

from .conftest import FakeEmbedder

DOT = re.compile(
    r'<a href="([^"]+)" class="tilsite-dot(?: tilsite-dot--right)? tilsite-t(\d+)"'
    r' style="left: ([\d.]+)%; top: ([\d.]+)%" aria-label="([^"]*)">'
)
TOPIC_LINE = re.compile(r'<p class="tilsite-topic">Topic: <a href="([^"]+)">([^<]*)</a></p>')
NOTES = {"ml/overfitting/", "ml/regularization/", "web/django/", "web/tricky/"}

EXTRA_NOTES = {
    "git/rebase.md": "# git rebase\n\n## 충돌 해결\n\n충돌이 나면 고치고 git add 후 git rebase --continue.\n",
    "git/merge.md": "# git merge\n\n## 병합\n\ngit merge 로 브랜치를 합친다. 충돌이 나면 git status 로 확인한다.\n",
    "git/stash.md": "# git stash\n\n## 임시 저장\n\ngit stash 로 작업을 잠시 치우고 git stash pop 으로 되돌린다.\n",
}


def _build(site: Path, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["build", "-f", str(site / "mkdocs.yml"), *extra], catch_exceptions=False)
    return result.exit_code, result.output


def _add_notes(site: Path, notes: dict[str, str]) -> None:
    for path, text in notes.items():
        (site / "docs" / path).parent.mkdir(parents=True, exist_ok=True)
        (site / "docs" / path).write_text(text, encoding="utf-8")


def test_topics_page_maps_every_note_and_each_note_names_its_topic(site: Path, fake_model: FakeEmbedder) -> None:
    _add_notes(site, EXTRA_NOTES)
    code, output = _build(site, "--strict")  # the topics page's and topic lines' links are anchor-checked
    assert code == 0, output
    page = (site / "site/topics/index.html").read_text(encoding="utf-8")
    assert "assets/tilsite/topics.css" in page
    assert (site / "site/assets/tilsite/topics.css").is_file()
    dots = DOT.findall(page)
    expected = NOTES | {"git/rebase/", "git/merge/", "git/stash/"}
    assert {href.removeprefix("../") for href, *_ in dots} == expected
    for _, _, x, y, label in dots:
        assert label and 0 <= float(x) <= 100 and 0 <= float(y) <= 100
    headings = re.findall(r'<h2 id="(topic-\d+)">', page)
    assert headings and headings[0] == "topic-1"
    assert 'href="#topic-1"' in page  # in the table of contents
    for note in expected:
        html = (site / "site" / note / "index.html").read_text(encoding="utf-8")
        line = TOPIC_LINE.search(html)
        assert line, note
        href, label = line.groups()
        assert href.endswith("topics/#" + href.split("#")[1]) and href.split("#")[1] in headings
        assert label.strip()
    counts = [int(count) for count in re.findall(r"<small>(\d+) notes?</small></h2>", page)]
    assert sum(counts) == len(expected) and all(counts)
    nav = (site / "site/index.html").read_text(encoding="utf-8")
    assert 'href="topics/"' in nav


def test_topics_page_escapes_note_text_and_can_be_renamed_or_turned_off(site: Path, fake_model: FakeEmbedder) -> None:
    _add_notes(
        site,
        {"x/evil.md": '# Using `<script>alert(1)</script>` & "quoted"\n\n본문 `<img src=x onerror=alert(2)>` 예시\n'},
    )
    config = site / "mkdocs.yml"
    config.write_text(
        config.read_text(encoding="utf-8") + "      topics_page: themes/all.md\n      topics_title: 주제별 <노트>\n",
        encoding="utf-8",
    )
    code, output = _build(site)
    assert code == 0, output
    page = (site / "site/themes/all/index.html").read_text(encoding="utf-8")
    assert "주제별 &#60;노트&#62;</h1>" in page
    ours = page[page.index('<p class="tilsite-topics-intro">') : page.index("</article>")]  # (not the theme's)
    assert "<script>alert(1)" not in ours and "<img" not in ours
    assert 'aria-label="Using &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quoted&quot;"' in page
    assert not (site / "site/topics").exists()

    config.write_text(config.read_text(encoding="utf-8").replace("topics_page: themes/all.md", 'topics_page: ""'))
    code, output = _build(site)
    assert code == 0, output
    assert not (site / "site/themes/all").exists()
    html = (site / "site/ml/overfitting/index.html").read_text(encoding="utf-8")
    assert "tilsite-topic" not in html and "topics.css" not in html


def test_a_note_named_like_the_topics_page_is_kept(site: Path, fake_model: FakeEmbedder) -> None:
    _add_notes(site, {"topics.md": "# 내가 쓴 주제 목록\n\n직접 정리한 목록.\n"})
    code, output = _build(site)
    assert code == 0, output
    assert "topics.md is one of your notes, so no topics page is generated there." in output
    assert "직접 정리한 목록" in (site / "site/topics/index.html").read_text(encoding="utf-8")


def test_near_copies_are_reported_by_the_build_and_marked_by_related(site: Path, fake_model: FakeEmbedder) -> None:
    copied = (
        "docker run -d -p 8000:8000 django-app 으로 컨테이너를 백그라운드에서 실행한다. -d 옵션은 터미널과 떨어져서"
        " 동작하게 하고 -p 옵션은 호스트의 포트와 컨테이너의 포트를 연결한다."
    )
    _add_notes(
        site,
        {
            "docker/day54.md": f"# DAY 54\n\n## 컨테이너 실행 (RUN)\n\n{copied}\n\n## 이미지\n\ndocker build .\n",
            "docker/day58.md": f"# DAY 58\n\n## 4. RUN\n\n{copied} 끝에 한 줄.\n\n## 정리\n\n오늘은 배포를 했다.\n",
        },
    )
    code, output = _build(site)
    assert code == 0, output
    lines = [line for line in output.splitlines() if line.startswith("near-copy:")]
    assert lines == [
        "near-copy: docker/day54.md § 컨테이너 실행 (RUN) ≈ docker/day58.md § 4. RUN (100% of the shorter one's text"
        " is in the other)"
    ], output
    result = CliRunner().invoke(cli, ["related", "-f", str(site / "mkdocs.yml"), "docker/day54.md", "--json"])
    assert result.exit_code == 0, result.output
    entries = {entry["path"]: entry for entry in json.loads(result.output)}
    assert entries["docker/day58.md"]["near_copies"] == [
        {
            "from_anchor": "컨테이너-실행-run",
            "from_heading": "컨테이너 실행 (RUN)",
            "anchor": "4-run",
            "heading": "4. RUN",
            "overlap": 1.0,
        }
    ]
    assert all(entry["near_copies"] == [] for path, entry in entries.items() if path != "docker/day58.md")
    text = CliRunner().invoke(cli, ["related", "-f", str(site / "mkdocs.yml"), "docker/day54.md"]).output
    assert "near-copy: § 컨테이너 실행 (RUN) ≈ § 4. RUN" in text

    config = site / "mkdocs.yml"
    config.write_text(config.read_text(encoding="utf-8") + "      near_copies: false\n", encoding="utf-8")
    code, output = _build(site)
    assert code == 0 and "near-copy" not in output, output


def test_topics_command_lists_what_the_page_shows(site: Path, fake_model: FakeEmbedder) -> None:
    _add_notes(site, EXTRA_NOTES)
    assert _build(site)[0] == 0
    result = CliRunner().invoke(cli, ["topics", "-f", str(site / "mkdocs.yml"), "--json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)
    page = (site / "site/topics/index.html").read_text(encoding="utf-8")
    shown = re.findall(r'<h2 id="topic-\d+"><span class="tilsite-swatch tilsite-t\d+"></span>([^<]*) <small>', page)
    assert [topic["label"] for topic in listed] == shown
    assert sorted(note["path"] for topic in listed for note in topic["notes"]) == sorted(
        ["ml/overfitting.md", "ml/regularization.md", "web/django.md", "web/tricky.md", *EXTRA_NOTES]
    )
    text = CliRunner().invoke(cli, ["topics", "-f", str(site / "mkdocs.yml")]).output
    assert text.startswith(f" 1. {listed[0]['label']}  ({len(listed[0]['notes'])} notes)")


def test_the_map_reads_in_both_palettes_and_works_by_keyboard(site: Path, fake_model: FakeEmbedder) -> None:
    from .helpers import browse, serving

    _add_notes(site, EXTRA_NOTES)
    config = site / "mkdocs.yml"
    palettes = (
        "  palette:\n"
        '    - {media: "(prefers-color-scheme: light)", scheme: default}\n'
        '    - {media: "(prefers-color-scheme: dark)", scheme: slate}\n'
    )
    config.write_text(config.read_text(encoding="utf-8").replace("  name: material\n", f"  name: material\n{palettes}"))
    assert _build(site)[0] == 0
    with serving(site / "site") as url:
        output = browse("topics_map.mjs", {"url": f"{url}topics/", "wait_ms": 60_000})
    light, dark = output["schemes"]["light"], output["schemes"]["dark"]
    assert light["scheme"] == "default" and dark["scheme"] == "slate"
    for look in (light, dark):
        assert look["dots"] == 7 and look["colours"] >= 2, look
        assert look["mapWidth"] > 300
        assert look["dotContrast"] >= 1.5 and look["labelContrast"] >= 4.5, look  # text: WCAG AA
        assert look["titlesShown"] == 0 and look["mapHeight"] > 150, look  # no title until hover or focus
        # The focused note's title is shown beside its dot (with its topic's name).
        assert look["focused"] and look["tip"] and look["tip"].startswith(look["focused"]), look
        assert look["opened"] == look["href"] and look["opened"].startswith(url), look
