from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner

from tilsite.cli import cli

from .conftest import FakeEmbedder


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_help_lists_every_command() -> None:
    code, output = _run("--help")
    assert code == 0, output
    for command in ("build", "index", "search", "related", "serve"):
        assert command in output


def test_index_twice_embeds_only_the_changed_note(site: Path, fake_model: FakeEmbedder) -> None:
    config = str(site / "mkdocs.yml")
    code, output = _run("index", "-f", config)
    assert code == 0, output
    first = len(fake_model.embedded_texts)
    assert first > 0 and "reused 0 from the cache" in output

    fake_model.calls.clear()
    code, output = _run("index", "-f", config)
    assert code == 0, output
    assert fake_model.embedded_texts == []
    assert "embedded 0 new or changed sections" in output

    note = site / "docs/ml/regularization.md"
    note.write_text(note.read_text(encoding="utf-8") + "\nElastic net mixes L1 and L2.\n", encoding="utf-8")
    code, output = _run("index", "-f", config)
    assert code == 0, output
    assert fake_model.embedded_texts and all("Regularization" in text for text in fake_model.embedded_texts)
    assert "embedded 1 new or changed section in 1 note (ml/regularization.md)" in output


def test_search_json_fields_and_notes(site: Path, fake_model: FakeEmbedder) -> None:
    config = str(site / "mkdocs.yml")
    assert _run("index", "-f", config)[0] == 0
    code, output = _run("search", "-f", config, "드롭아웃 과적합", "--json", "--top", "3")
    assert code == 0, output
    results = json.loads(output)
    assert len(results) == 3
    for result in results:
        assert {"path", "title", "heading", "anchor", "url", "score"} <= set(result)
    assert results[0]["path"] == "ml/overfitting.md"
    assert results[0]["url"] == "ml/overfitting/#" + results[0]["anchor"]

    code, output = _run("search", "-f", config, "드롭아웃 과적합", "--json", "--notes")
    paths = [result["path"] for result in json.loads(output)]
    assert len(paths) == len(set(paths))


def test_related_json(site: Path, fake_model: FakeEmbedder) -> None:
    config = str(site / "mkdocs.yml")
    assert _run("index", "-f", config)[0] == 0
    code, output = _run("related", "-f", config, "ml/overfitting.md", "--json")
    assert code == 0, output
    results = json.loads(output)
    assert results and results[0]["path"] != "ml/overfitting.md"
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)


def test_search_without_index_is_one_clear_line(site: Path, fake_model: FakeEmbedder) -> None:
    code, output = _run("search", "-f", str(site / "mkdocs.yml"), "x")
    assert code == 1
    assert re.fullmatch(
        r"Error: .*no index found; run `tilsite index` \(or `tilsite build`\) to rebuild it\.\n", output
    )


def test_missing_config_and_missing_plugin(tmp_path: Path) -> None:
    code, output = _run("index", "-f", str(tmp_path / "mkdocs.yml"))
    assert code == 1 and "not found" in output
    (tmp_path / "mkdocs.yml").write_text("site_name: x\n", encoding="utf-8")
    (tmp_path / "docs").mkdir()
    code, output = _run("index", "-f", str(tmp_path / "mkdocs.yml"))
    assert code == 1 and "add `- tilsite` under `plugins:`" in output


def test_related_for_unknown_note(site: Path, fake_model: FakeEmbedder) -> None:
    config = str(site / "mkdocs.yml")
    assert _run("index", "-f", config)[0] == 0
    code, output = _run("related", "-f", config, "nope.md")
    assert code == 1 and "not an indexed note" in output


def test_readme_documents_every_command() -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    for command in cli.commands:
        assert f"tilsite {command}" in readme, command


def test_invalid_plugin_settings_are_reported(site: Path, fake_model: FakeEmbedder) -> None:
    config = site / "mkdocs.yml"
    config.write_text(config.read_text(encoding="utf-8").replace("related_count: 3", "related_count: -1"), "utf-8")
    code, output = _run("index", "-f", str(config))
    assert code == 1 and "`related_count` must be 0 or more" in output


def test_site_without_notes_indexes_and_builds(tmp_path: Path, fake_model: FakeEmbedder) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "mkdocs.yml").write_text("site_name: empty\nplugins:\n  - tilsite\n", encoding="utf-8")
    code, output = _run("build", "-f", str(tmp_path / "mkdocs.yml"))
    assert code == 0, output
    assert "Indexed 0 notes, 0 sections" in output
    code, output = _run("search", "-f", str(tmp_path / "mkdocs.yml"), "anything", "--json")
    assert code == 0 and output.strip() == "[]"


def test_unchanged_notes_are_not_parsed_again(site: Path, fake_model: FakeEmbedder, monkeypatch) -> None:
    from tilsite.index import pipeline

    config = str(site / "mkdocs.yml")
    assert _run("index", "-f", config)[0] == 0
    parsed: list[str] = []
    real_split = pipeline.split_note
    monkeypatch.setattr(pipeline, "split_note", lambda note, slugs: parsed.append(note.path) or real_split(note, slugs))
    note = site / "docs/ml/regularization.md"
    note.write_text(note.read_text(encoding="utf-8") + "\nMore.\n", encoding="utf-8")
    code, output = _run("index", "-f", config)
    assert code == 0, output
    assert parsed == ["ml/regularization.md"]
    assert "Indexed 5 notes, " in output
