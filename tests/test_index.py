from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tilsite.cache import EmbeddingCache
from tilsite.errors import CacheError, IndexLoadError
from tilsite.index import SectionIndex, SectionRecord, load_index, write_index


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


def test_rewrite_keeps_one_generation(tmp_path: Path) -> None:
    write_index(_index(2), tmp_path)
    write_index(_index(3), tmp_path)
    assert len(list(tmp_path.glob("gen-*"))) == 1
    assert len(load_index(tmp_path).records) == 3


def test_missing_index_says_how_to_rebuild(tmp_path: Path) -> None:
    with pytest.raises(IndexLoadError, match="tilsite index"):
        load_index(tmp_path / "nothing")


def test_other_model_is_refused(tmp_path: Path) -> None:
    write_index(_index(), tmp_path)
    with pytest.raises(IndexLoadError, match="built with model 'm'"):
        load_index(tmp_path, model_id="other")


@pytest.mark.parametrize("name", ["sections.faiss", "sections.json"])
def test_corrupt_files_are_detected(tmp_path: Path, name: str) -> None:
    generation = write_index(_index(), tmp_path)
    target = generation / name
    target.write_bytes(target.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(IndexLoadError, match="corrupt"):
        load_index(tmp_path)


def test_unreadable_manifest(tmp_path: Path) -> None:
    generation = write_index(_index(), tmp_path)
    (generation / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(IndexLoadError, match="manifest"):
        load_index(tmp_path)


def test_old_format_is_refused(tmp_path: Path) -> None:
    generation = write_index(_index(), tmp_path)
    manifest = json.loads((generation / "manifest.json").read_text())
    manifest["format_version"] = 0
    (generation / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexLoadError, match="format"):
        load_index(tmp_path)


def test_cache_round_trip_and_model_separation(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path / "c.sqlite")
    vectors = np.eye(3, dtype=np.float32)
    cache.put_many("a", ["x", "y", "z"], vectors)
    found = cache.get_many("a", ["x", "z", "missing"])
    assert set(found) == {"x", "z"}
    np.testing.assert_array_equal(found["z"], vectors[2])
    assert cache.get_many("b", ["x"]) == {}
    assert cache.count("a") == 3
    cache.close()


def test_corrupt_cache_file_gives_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(CacheError, match="delete the file"):
        EmbeddingCache(path)


def test_unchanged_index_is_not_rewritten_but_a_corrupt_one_is(tmp_path: Path) -> None:
    first = write_index(_index(), tmp_path)
    assert write_index(_index(), tmp_path) == first
    (first / "sections.json").write_text("[]", encoding="utf-8")
    repaired = write_index(_index(), tmp_path)
    assert repaired != first
    assert len(load_index(tmp_path).records) == 3


def test_recorded_hashes_are_reused_only_while_the_file_is_unchanged(tmp_path: Path, monkeypatch) -> None:
    import hashlib

    from tilsite import converter

    weights, records = tmp_path / "weights.bin", tmp_path / "models" / converter.HASH_RECORDS
    weights.write_bytes(b"a" * 4096)
    hashed: list[Path] = []
    real = converter.file_sha256

    def counting(path: Path) -> str:
        hashed.append(path)
        return real(path)

    monkeypatch.setattr(converter, "file_sha256", counting)
    # Just written: hashed every time and not recorded, since a second write could keep its times.
    assert converter.recorded_sha256(weights, records) == hashlib.sha256(b"a" * 4096).hexdigest()
    assert not records.exists()
    monkeypatch.setattr(converter, "_RACY_SECONDS", -1.0)
    converter.recorded_sha256(weights, records)
    assert converter.recorded_sha256(weights, records) == hashlib.sha256(b"a" * 4096).hexdigest()
    assert len(hashed) == 2  # the second check read the record, not the file
    weights.write_bytes(b"b" * 4096)  # same size
    assert converter.recorded_sha256(weights, records) == hashlib.sha256(b"b" * 4096).hexdigest()
    assert len(hashed) == 3
    records.write_text("not json", encoding="utf-8")
    assert converter.recorded_sha256(weights, records) == hashlib.sha256(b"b" * 4096).hexdigest()


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
