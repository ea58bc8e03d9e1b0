"""Long sections' passages: the prose beyond the model's window, embedded, cached, indexed, searched and published."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tilsite.cli import cli
from tilsite.index.passages import MOST, passage_texts
from tilsite.index.pipeline import IndexBuild, notes_below
from tilsite.index.store import load_index
from tilsite.notes.reading import Note
from tilsite.notes.sections import split_sections
from tilsite.notes.slugs import SlugSettings
from tilsite.results.search import Searcher

from .conftest import FakeEmbedder

WINDOW = 24


class WindowedEmbedder(FakeEmbedder):
    """The fake model with a window of ``WINDOW`` pieces, one piece per word: it reads no further."""

    def embed_batch(self, texts: list[str], kind: str) -> np.ndarray:  # type: ignore[override]
        vectors = super().embed_batch([" ".join(text.split()[:WINDOW]) for text in texts], kind)  # type: ignore[arg-type]
        self.calls[-1] = list(texts)
        return vectors

    def window(self) -> int:
        return WINDOW

    def piece_spans(self, texts: list[str]) -> list[list[tuple[int, int]]]:
        return [[match.span() for match in re.finditer(r"\S+", text)] for text in texts]


def _words(prefix: str, count: int) -> str:
    return " ".join(f"{prefix}{number}" for number in range(count))


LONG_NOTE = f"""# Long

## Lecture

{_words("early", 30)}

```python
{_words("codeword", 40)}
```

{_words("later", 50)}

- {_words("item", 10)}
"""


def _section(text: str, heading: str = "Lecture"):
    note = Note(path="long.md", text=text, body_line=0)
    return next(section for section in split_sections(note, SlugSettings()) if section.heading == heading)


def test_passages_cover_the_prose_after_the_window_without_its_code() -> None:
    section = _section(LONG_NOTE)
    found = passage_texts([section], WindowedEmbedder())[0]
    assert found and all(text.startswith(f"{section.header}\n") for text in found)
    bodies = [text.split("\n", 1)[1] for text in found]
    words = " ".join(bodies).split()
    # Everything after where the model stopped, in order, once: the prose and the list, not the code.
    window_end = section.embedding_text.split()[WINDOW - 1]
    assert window_end.startswith("early")
    after = int(window_end.removeprefix("early")) + 1
    expected = (
        [f"early{n}" for n in range(after, 30)] + _words("later", 50).split() + ["-", *_words("item", 10).split()]
    )
    assert words == expected
    assert not any("codeword" in body for body in bodies)
    header_pieces = len(section.header.split())
    assert all(len(body.split()) <= WINDOW - header_pieces for body in bodies)


def test_short_sections_and_models_without_a_window_get_no_passages() -> None:
    short = _section("# Short\n\n## Lecture\n\nA few words only.\n")
    assert passage_texts([short], WindowedEmbedder()) == [[]]
    assert passage_texts([_section(LONG_NOTE)], FakeEmbedder()) == [[]]


def test_code_the_window_ends_in_is_left_out_and_passages_have_a_limit() -> None:
    inside_code = _section(f"# T\n\n## Lecture\n\n```\n{_words('code', 60)}\n```\n\n{_words('after', 10)}\n")
    found = passage_texts([inside_code], WindowedEmbedder())[0]
    assert [text.split("\n", 1)[1] for text in found] == [_words("after", 10)]
    huge = _section(f"# T\n\n## Lecture\n\n{_words('w', 30 * WINDOW * MOST)}\n")
    assert len(passage_texts([huge], WindowedEmbedder())[0]) == MOST


def _build(folder: Path, model: FakeEmbedder, passages: bool = True) -> IndexBuild:
    build = IndexBuild(
        notes_below(folder / "docs"),
        slugs=SlugSettings(),
        model=model,
        cache_path=folder / "cache.sqlite",
        index_dir=folder / "index",
        passages=passages,
    )
    build.vectors.embed(folder / "cache.sqlite")
    build.finish()
    return build


def test_a_fact_deep_in_a_long_section_is_found_and_its_passages_are_cached(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    deep = f"# Long\n\n## Lecture\n\n{_words('filler', 80)} kubernetes autoscaling {_words('more', 20)}\n"
    (docs / "long.md").write_text(deep, encoding="utf-8")
    (docs / "other.md").write_text("# Other\n\n## Notes\n\nkubernetes pods\n", encoding="utf-8")
    model = WindowedEmbedder()
    build = _build(tmp_path, model)
    assert any("autoscaling" in text for text in model.embedded_texts)
    assert (
        build.report.passages >= 3
        and f"and {build.report.passages} passages of long sections" in build.report.summary()
    )
    index = load_index(tmp_path / "index", model_id=model.model_id)
    counts = dict(zip([r.path for r in index.records], index.passage_counts, strict=True))
    assert counts["long.md"] >= 3 and counts["other.md"] == 0
    assert len(index.passages[1]) == sum(index.passage_counts) == sum(build.vectors.passage_counts())
    hits = Searcher(index, model).search("autoscaling", 5, method="dense")
    own = float(index.vectors[0] @ model.embed_batch(["autoscaling"], "query")[0])
    assert hits[0].record.path == "long.md" and hits[0].similarity > 0.2 and own < 0.05  # its own vector: no

    # A second build embeds nothing: the sections' vectors and their passages' come from the cache.
    model.calls.clear()
    again = _build(tmp_path, model)
    assert model.calls == [] and not again.vectors.pending
    assert load_index(tmp_path / "index").passage_counts == index.passage_counts

    # Turned off, long sections are known by their beginning only (and nothing is embedded for that).
    plain = _build(tmp_path, model, passages=False)
    assert model.calls == [] and not any(plain.vectors.passage_counts())
    assert not any(load_index(tmp_path / "index").passage_counts)


def test_the_site_publishes_passages_and_search_uses_them(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tilsite.model import models

    model = WindowedEmbedder()
    monkeypatch.setattr(models, "load_model", lambda spec="default", **options: model)
    note = site / "docs" / "long-note.md"
    note.write_text(f"# Long note\n\n## Day\n\n{_words('filler', 60)} zeppelin {_words('more', 10)}\n", "utf-8")
    result = CliRunner().invoke(cli, ["build", "-f", str(site / "mkdocs.yml")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    search_dir = site / "site" / "assets" / "tilsite" / "search"
    settings = json.loads((search_dir / "index.json").read_text("utf-8"))
    sections = json.loads((search_dir / settings["sections"]).read_text("utf-8"))
    passages = {s["url"]: s.get("passages", 0) for s in sections}
    assert passages["long-note/#day"] >= 2
    rows = len(sections) + sum(passages.values())
    assert len((search_dir / settings["vectors"]).read_bytes()) == rows * (settings["dimension"] + 4)
    result = CliRunner().invoke(cli, ["search", "-f", str(site / "mkdocs.yml"), "zeppelin", "--json"])
    assert json.loads(result.output)[0]["path"] == "long-note.md"


def test_stored_passages_that_are_damaged_are_embedded_again(tmp_path: Path) -> None:
    import sqlite3

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "long.md").write_text(f"# Long\n\n## Lecture\n\n{_words('w', 100)}\n", encoding="utf-8")
    model = WindowedEmbedder()
    _build(tmp_path, model)
    with sqlite3.connect(tmp_path / "cache.sqlite") as db:
        query = "SELECT text_hash, vector FROM vectors WHERE text_hash LIKE 'passages-%' AND dimension > 0"
        (key, blob) = db.execute(query).fetchone()
        damaged = np.frombuffer(blob, dtype="<f4").copy()
        damaged[3] = np.nan
        db.execute("UPDATE vectors SET vector = ? WHERE text_hash = ?", [damaged.tobytes(), key])
    (docs / "new.md").write_text("# New\n\nA new note changes the index, which is then written again.\n", "utf-8")
    model.calls.clear()
    build = _build(tmp_path, model)
    assert len(model.calls) == 2, "the new note, then the damaged passages again"
    vectors, _ = load_index(tmp_path / "index").passages
    assert np.isfinite(vectors).all() and len(vectors) == sum(build.vectors.passage_counts())


def test_a_stored_passage_row_cut_short_is_embedded_again_at_once(tmp_path: Path) -> None:
    import sqlite3

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "long.md").write_text(f"# Long\n\n## Lecture\n\n{_words('w', 100)}\n", encoding="utf-8")
    model = WindowedEmbedder()
    first = _build(tmp_path, model)
    with sqlite3.connect(tmp_path / "cache.sqlite") as db:
        query = "SELECT text_hash, vector FROM vectors WHERE text_hash LIKE 'passages-%' AND dimension > 0"
        (key, blob) = db.execute(query).fetchone()
        db.execute(
            "UPDATE vectors SET vector = ?, dimension = ? WHERE text_hash = ?", [blob[:-4], len(blob) // 4 - 1, key]
        )
    model.calls.clear()
    again = _build(tmp_path, model)
    assert len(model.calls) == 1 and again.vectors.passage_counts() == first.vectors.passage_counts()
    assert load_index(tmp_path / "index").passage_counts == first.vectors.passage_counts()


def test_embedding_runs_short_and_long_chunks_in_turn_and_reports_progress_by_sections(tmp_path: Path) -> None:
    """Sections are embedded in chunks of similar lengths, shortest and longest chunk in turn (so the share
    done tracks the time spent); each text once, and progress climbs to the total."""
    from tilsite.index.pipeline import EMBED_CHUNK

    docs = tmp_path / "docs"
    docs.mkdir()
    for number in range(5 * EMBED_CHUNK):  # a section each, of 1 to 320 words
        (docs / f"n{number:03}.md").write_text(f"# N{number}\n\n{_words(f'w{number}x', number + 1)}\n", "utf-8")
    model = FakeEmbedder()
    build = IndexBuild(
        notes_below(docs),
        slugs=SlugSettings(),
        model=model,
        cache_path=tmp_path / "cache.sqlite",
        index_dir=tmp_path / "index",
        passages=False,
    )
    reported: list[tuple[int, int]] = []
    build.vectors.embed(tmp_path / "cache.sqlite", lambda done, total: reported.append((done, total)))
    lengths = [sorted(len(text) for text in call) for call in model.calls]
    assert sorted(len(call) for call in model.calls) == [EMBED_CHUNK] * 5
    assert sorted(text for call in model.calls for text in call) == sorted(set(model.embedded_texts))
    longest = sorted(range(5), key=lambda number: lengths[number][-1])
    assert longest == [0, 2, 4, 3, 1]  # shortest, longest, second shortest, second longest, the middle one
    assert reported == [(0, 5 * EMBED_CHUNK)] + [(EMBED_CHUNK * turn, 5 * EMBED_CHUNK) for turn in range(1, 6)]
