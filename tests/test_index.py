from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tilsite.errors import IndexLoadError
from tilsite.index.store import SectionIndex, SectionRecord, load_index, write_index


def _index(count: int = 3, model_id: str = "m") -> SectionIndex:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(count, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    records = [
        SectionRecord(f"n{i}.md", f"T{i}", f"H{i}", f"h{i}", f"n{i}/#h{i}", "s", "text", f"{i}") for i in range(count)
    ]
    return SectionIndex(model_id, records, vectors)


def test_round_trip(tmp_path: Path) -> None:
    written = _index()
    write_index(written, tmp_path)
    loaded = load_index(tmp_path, model_id="m")
    assert loaded.records == written.records
    np.testing.assert_allclose(loaded.vectors, written.vectors)


def test_round_trip_with_passages(tmp_path: Path) -> None:
    plain = _index(4)
    rng = np.random.default_rng(1)
    passages = rng.normal(size=(3, 8)).astype(np.float32)
    passages /= np.linalg.norm(passages, axis=1, keepdims=True)
    owners = np.array([1, 1, 3])
    written = SectionIndex("m", plain.records, plain.vectors, passages=(passages, owners), passage_counts=[0, 2, 0, 1])
    write_index(written, tmp_path)
    loaded = load_index(tmp_path, model_id="m")
    assert loaded.passage_counts == [0, 2, 0, 1]
    np.testing.assert_allclose(loaded.vectors, plain.vectors)
    np.testing.assert_allclose(loaded.passages[0], passages)
    assert loaded.passages[1].tolist() == [1, 1, 3]
    # Passages are part of what the index holds: the same records with other passages are another index.
    assert loaded.content != (write_index(plain, tmp_path), load_index(tmp_path).content)[1]


def _current(index_dir: Path) -> Path:
    """The generation folder the index's pointer names."""
    return index_dir / (index_dir / "CURRENT").read_text(encoding="utf-8").strip()


def test_rewrite_keeps_one_generation(tmp_path: Path) -> None:
    write_index(_index(2), tmp_path)
    write_index(_index(3), tmp_path)
    assert len(list(tmp_path.glob("gen-*"))) == 1
    assert len(load_index(tmp_path).records) == 3


def _written_by_an_exited_process(index_dir: Path) -> Path:
    """Rename the live generation as a build that has exited would have left it (named after its pid)."""
    import subprocess
    import sys

    exited = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    renamed = index_dir / f"gen-{int(exited.stdout)}-abcd1234"
    _current(index_dir).rename(renamed)
    (index_dir / "CURRENT").write_text(renamed.name, encoding="utf-8")
    return renamed


def test_an_unchanged_index_written_by_an_earlier_build_stays(tmp_path: Path) -> None:
    write_index(_index(3), tmp_path)
    live = _written_by_an_exited_process(tmp_path)
    assert write_index(_index(3), tmp_path) is False  # unchanged: reused, and not taken for abandoned work
    assert live.is_dir()
    assert len(load_index(tmp_path).records) == 3


def test_an_interrupted_rewrite_leaves_the_earlier_builds_index(tmp_path: Path, monkeypatch) -> None:
    import faiss

    write_index(_index(3), tmp_path)
    live = _written_by_an_exited_process(tmp_path)

    def interrupted(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(faiss, "write_index", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_index(_index(4), tmp_path)
    assert live.is_dir()
    assert len(load_index(tmp_path).records) == 3
    monkeypatch.undo()
    assert write_index(_index(4), tmp_path) is True
    assert not live.exists()  # replaced
    assert len(load_index(tmp_path).records) == 4


def test_missing_index_says_how_to_rebuild(tmp_path: Path) -> None:
    with pytest.raises(IndexLoadError, match="tilsite index"):
        load_index(tmp_path / "nothing")


def test_other_model_is_refused(tmp_path: Path) -> None:
    write_index(_index(), tmp_path)
    with pytest.raises(IndexLoadError, match="built with model 'm'"):
        load_index(tmp_path, model_id="other")


@pytest.mark.parametrize("name", ["sections.faiss", "sections.json", "passages.json"])
def test_corrupt_files_are_detected(tmp_path: Path, name: str) -> None:
    write_index(_index(), tmp_path)
    generation = _current(tmp_path)
    target = generation / name
    target.write_bytes(target.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(IndexLoadError, match="corrupt"):
        load_index(tmp_path)


def test_unreadable_manifest(tmp_path: Path) -> None:
    write_index(_index(), tmp_path)
    generation = _current(tmp_path)
    (generation / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(IndexLoadError, match="manifest"):
        load_index(tmp_path)


def test_old_format_is_refused(tmp_path: Path) -> None:
    write_index(_index(), tmp_path)
    generation = _current(tmp_path)
    manifest = json.loads((generation / "manifest.json").read_text())
    manifest["format_version"] = 0
    (generation / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexLoadError, match="format"):
        load_index(tmp_path)


def test_unchanged_index_is_not_rewritten_but_a_corrupt_one_is(tmp_path: Path) -> None:
    assert write_index(_index(), tmp_path)
    first = _current(tmp_path)
    assert not write_index(_index(), tmp_path) and _current(tmp_path) == first
    (first / "sections.json").write_text("[]", encoding="utf-8")
    assert write_index(_index(), tmp_path)
    assert _current(tmp_path) != first
    assert len(load_index(tmp_path).records) == 3


def test_vectors_given_as_a_function_are_made_only_when_used(tmp_path: Path) -> None:
    made: list[int] = []
    vectors = _index().vectors

    def make() -> np.ndarray:
        made.append(1)
        return vectors

    written = _index()
    write_index(written, tmp_path)
    lazy = SectionIndex("m", written.records, make)
    write_index(lazy, tmp_path)  # the same records and model: the index on disk stays as it is
    assert not made and lazy.content == written.content == load_index(tmp_path).content != ""
    assert lazy.vectors is vectors and lazy.vectors is vectors and made == [1]
