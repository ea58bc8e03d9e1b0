from __future__ import annotations

import json
import posixpath
import re
from pathlib import Path
from urllib.parse import unquote

import pytest
from click.testing import CliRunner

from tilsite.cli import cli
from tilsite.results.evaluate import QueriesError, Scores, first_rank, folder_scores, read_queries, shared_folder

from .conftest import FakeEmbedder


def _run(*args: str) -> tuple[int, str]:
    """Exit code and output; with ``--json``, standard output only (progress goes to standard error)."""
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout if "--json" in args and result.exit_code == 0 else result.output


def test_scores_are_hits_and_reciprocal_ranks() -> None:
    scores = Scores()
    for rank in (1, 3, 7, None, 12):
        scores.add(rank)
    assert scores.as_dict() == {"hit@1": 0.2, "hit@5": 0.4, "mrr@10": round((1 + 1 / 3 + 1 / 7) / 5, 4)}
    assert first_rank(["a.md", "b.md", "c.md"], ["c.md", "b.md"]) == 2
    assert first_rank(["a.md"], ["z.md"]) is None


def test_folder_precision_counts_only_notes_with_folder_mates() -> None:
    paths = ["git/a.md", "git/b.md", "git/c.md", "web/d.md", "web/e.md", "solo/f.md", "top.md"]
    lists = {
        "git/a.md": ["git/b.md", "web/d.md"],  # 1 of 2
        "git/b.md": ["git/a.md", "git/c.md"],  # 2 of 2
        "git/c.md": [],  # lists nothing: not in precision, empty places in strict
        "web/d.md": ["web/e.md", "git/a.md", "git/b.md", "git/c.md"],  # 1 of 4
        "web/e.md": ["solo/f.md"],  # 0 of 1
        "solo/f.md": ["git/a.md"],  # alone in its folder: not scored
    }
    scores = folder_scores(lists, paths, count=4)
    assert (scores.notes, scores.folders) == (5, 2)
    assert scores.precision == pytest.approx((0.5 + 1 + 0.25 + 0) / 4)
    assert scores.filled == pytest.approx((2 + 2 + 0 + 4 + 1) / 4 / 5)
    assert scores.strict == pytest.approx((1 + 2 + 0 + 1 + 0) / 4 / 5)


def test_notes_all_kept_in_one_folder_are_scored_against_the_folders_inside_it() -> None:
    assert shared_folder(["documents/git/a.md", "documents/web/b.md"]) == "documents/"
    assert shared_folder(["notes/til/git/a.md", "notes/til/web/b.md", "notes/til/c.md"]) == "notes/til/"
    assert shared_folder(["git/a.md", "web/b.md"]) == shared_folder(["top.md", "git/a.md"]) == ""
    assert shared_folder(["docsx/a.md", "docs/b.md"]) == "" and shared_folder([]) == ""
    paths = ["documents/git/a.md", "documents/git/b.md", "documents/web/c.md", "documents/web/d.md"]
    lists = {
        "documents/git/a.md": ["documents/git/b.md", "documents/web/c.md"],
        "documents/web/d.md": ["documents/web/c.md"],
    }
    scores = folder_scores(lists, paths, count=2)
    assert (scores.notes, scores.folders) == (4, 2)  # git and web, not "documents" alone
    assert scores.precision == pytest.approx((0.5 + 1) / 2)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", r"q\.jsonl:2: not a JSON object"),
        ('["a"]', r"q\.jsonl:2: expected an object"),
        ('{"query": "", "expect": ["a.md"]}', r'q\.jsonl:2: "query" must be a non-empty string'),
        ('{"query": "x", "expect": []}', r'q\.jsonl:2: "expect" must list'),
        ('{"query": "x", "expect": ["missing.md"]}', r"q\.jsonl:2: missing\.md is not an indexed note"),
    ],
)
def test_a_bad_queries_line_is_one_error_naming_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text('{"query": "fine", "expect": "a.md", "lang": "en"}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(QueriesError, match=message):
        read_queries(path, {"a.md"})


def test_queries_file_reads_strings_groups_and_skips_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    lines = [
        '{"query": "과적합", "expect": ["./ml/a.md", "ml\\\\b.md"], "lang": "ko"}',
        "",
        '{"query": "x", "expect": "c.md"}',
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    queries = read_queries(path)
    assert [(q.query, q.expect, q.group) for q in queries] == [
        ("과적합", ("ml/a.md", "ml/b.md"), "ko"),
        ("x", ("c.md",), ""),
    ]
    (tmp_path / "empty.jsonl").write_text("\n", encoding="utf-8")
    with pytest.raises(QueriesError, match="no queries"):
        read_queries(tmp_path / "empty.jsonl")


def test_eval_scores_each_ranking_and_hybrid_is_what_search_lists(site: Path, fake_model: FakeEmbedder) -> None:
    config = str(site / "mkdocs.yml")
    assert _run("index", "-f", config)[0] == 0
    queries = [
        {"query": "드롭아웃 과적합", "expect": ["ml/overfitting.md"], "lang": "ko"},
        {"query": "django project", "expect": ["web/django.md"], "lang": "en"},
        {"query": "zzzz nothing matches qqqq", "expect": ["ml/overfitting.md"], "lang": "en"},
    ]
    path = site / "queries.jsonl"
    path.write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in queries) + "\n", encoding="utf-8")
    code, output = _run("eval", "-f", config, str(path), "--json")
    assert code == 0, output
    results = json.loads(output)["search"]
    assert results["queries"] == 3 and set(results["methods"]) == {"hybrid", "dense", "keyword"}
    assert set(results["groups"]) == {"en", "ko"} and results["groups"]["ko"]["keyword"]["hit@1"] == 1.0
    # The hybrid ranking scored is exactly `tilsite search --notes`.
    for query in queries:
        code, listed = _run("search", "-f", config, query["query"], "--notes", "--json")
        notes = [hit["path"] for hit in json.loads(listed)]
        rank = notes.index(query["expect"][0]) + 1 if query["expect"][0] in notes else None
        missed = [miss for miss in results["misses"] if miss["query"] == query["query"]]
        assert bool(missed) == (rank is None or rank > 5)
        if missed:
            assert missed[0]["rank"] == rank and missed[0]["got"] == notes[:3]

    code, text = _run("eval", "-f", config, str(path))
    assert code == 0, text
    assert re.search(r"^  hybrid +[01]\.\d\d +[01]\.\d\d +[01]\.\d\d$", text, re.MULTILINE)
    assert "keyword (ko)" in text


def test_eval_related_and_usage_errors(site: Path, fake_model: FakeEmbedder) -> None:
    config = str(site / "mkdocs.yml")
    assert _run("index", "-f", config)[0] == 0
    code, output = _run("eval", "-f", config, "--related", "--json")
    assert code == 0, output
    scores = json.loads(output)["related"]
    assert set(scores) == {"tilsite", "tfidf"}
    assert scores["tilsite"]["notes"] == scores["tfidf"]["notes"] > 0
    assert 0 <= scores["tilsite"]["precision"] <= 1 and scores["tfidf"]["filled"] == 1.0
    code, output = _run("eval", "-f", config, "--related")
    assert code == 0 and "precision" in output and "TF-IDF" in output

    code, output = _run("eval", "-f", config)
    assert code == 2 and "give a QUERIES file, --related, or both" in output
    bad = site / "bad.jsonl"
    bad.write_text('{"query": "x", "expect": ["nope.md"]}\n', encoding="utf-8")
    code, output = _run("eval", "-f", config, str(bad))
    assert code == 1
    assert (
        output.strip()
        .splitlines()[-1]
        .endswith("bad.jsonl:1: nope.md is not an indexed note (paths are relative to the notes folder).")
    )


def test_search_and_related_print_the_same_fields_and_the_score_they_are_sorted_by(
    site: Path, fake_model: FakeEmbedder
) -> None:
    config = str(site / "mkdocs.yml")
    assert _run("index", "-f", config)[0] == 0
    for command in (["search", "드롭아웃 과적합", "-n", "4"], ["related", "ml/overfitting.md"]):
        code, text = _run(command[0], "-f", config, *command[1:], "--json")
        assert code == 0, text
        results = json.loads(text)
        assert results, command
        assert {"path", "title", "heading", "anchor", "url", "score", "snippet"} <= set(results[0])
        assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)
        code, text = _run(command[0], "-f", config, *command[1:])
        assert code == 0, text
        shown = [float(score) for score in re.findall(r"\(score (-?[0-9.]+)\)$", text, re.MULTILINE)]
        assert shown == sorted(shown, reverse=True) and len(shown) == len(results), text
        first = results[0]
        place = f"{first['path']}#{first['anchor']}" if first["anchor"] else first["path"]
        assert f"    {place}  {first['url']}" in text
    related = json.loads(_run("related", "-f", config, "ml/overfitting.md", "--json")[1])
    assert {"from_anchor", "from_heading"} <= set(related[0])


def test_related_in_the_cli_are_the_related_on_the_page(site: Path, fake_model: FakeEmbedder) -> None:
    """`tilsite related` lists the notes and sections the page's related block links to, in its order."""
    config = str(site / "mkdocs.yml")
    code, output = _run("build", "-f", config)
    assert code == 0, output
    for note in ("ml/overfitting.md", "web/django.md"):
        code, text = _run("related", "-f", config, note, "--json")
        assert code == 0, text
        listed = [f"{item['url']}" for item in json.loads(text)]
        page = (site / "site" / note.removesuffix(".md") / "index.html").read_text(encoding="utf-8")
        block = page.split('<aside class="tilsite-related"', 1)[1].split("</aside>", 1)[0]
        links = re.findall(r'<li><a href="([^"]+)"', block)
        assert listed and links
        base = note.removesuffix(".md").rsplit("/", 1)[0] + "/"
        resolved = [
            unquote(posixpath.normpath(base + note.rsplit("/", 1)[1].removesuffix(".md") + "/" + href))
            for href in links
        ]
        assert [posixpath.normpath(unquote(url)) for url in listed] == resolved, (note, listed, links)
        whys = re.findall(r'<a class="tilsite-why" href="#([^"]+)">§ ([^<]+)</a>', block)
        from_json = [(item["from_anchor"], item["from_heading"]) for item in json.loads(text) if item["from_anchor"]]
        assert [(unquote(anchor), heading) for anchor, heading in whys] == from_json


def test_eval_related_without_topic_folders_says_so(tmp_path: Path, fake_model: FakeEmbedder) -> None:
    (tmp_path / "docs").mkdir()
    for name, text in (("a.md", "# A\n\n## x\ngit rebase\n"), ("b.md", "# B\n\n## y\ngit merge\n")):
        (tmp_path / "docs" / name).write_text(text, encoding="utf-8")
    (tmp_path / "mkdocs.yml").write_text("site_name: t\nplugins:\n  - tilsite\n", encoding="utf-8")
    config = str(tmp_path / "mkdocs.yml")
    assert _run("index", "-f", config)[0] == 0
    code, output = _run("eval", "-f", config, "--related")
    assert code == 0 and "no topic folder holds two notes" in output
