"""The build cache: vectors and parsed notes kept between builds, derived results, and pruning."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from tilsite.errors import CacheError
from tilsite.index.cache import HISTORY, EmbeddingCache


def test_cache_round_trip_and_model_separation(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path / "c.sqlite")
    vectors = np.eye(3, dtype=np.float32)
    cache.put_many("a", ["x", "y", "z"], vectors)
    found = cache.get_raw("a", ["x", "z", "missing"])
    assert set(found) == {"x", "z"}
    np.testing.assert_array_equal(np.frombuffer(found["z"], "<f4"), vectors[2])
    assert cache.get_raw("b", ["x"]) == {}
    assert cache.count("a") == 3
    cache.close()


def test_corrupt_cache_file_gives_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(CacheError, match="delete the file"):
        EmbeddingCache(path)


def test_derived_results_are_kept_for_their_source_only(tmp_path: Path) -> None:
    with EmbeddingCache(tmp_path / "c.sqlite") as cache:
        assert cache.get_derived("related", "one") is None
        cache.put_derived("related", "one", b"first")
        assert cache.get_derived("related", "one") == b"first"
        cache.put_derived("related", "two", b"second")  # one kept per kind: the last
        assert cache.get_derived("related", "one") is None and cache.get_derived("related", "two") == b"second"


def test_rows_no_build_used_for_a_while_are_pruned(tmp_path: Path) -> None:
    with EmbeddingCache(tmp_path / "c.sqlite") as cache:
        cache.put_many("m", ["kept", "edited away"], np.eye(2, dtype=np.float32))
        cache.put_sections([("note", "[]"), ("old note", "[]")])
        for _ in range(HISTORY):
            assert cache.keep_only("m", ["kept"], ["note"]) == 0  # unused for fewer builds than HISTORY: kept
        assert cache.keep_only("m", ["kept"], ["note"]) == 2
        assert set(cache.get_raw("m", ["kept", "edited away"])) == {"kept"}
        assert set(cache.get_sections(["note", "old note"])) == {"note"}


def test_a_cache_of_an_earlier_version_keeps_its_vectors(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    old = sqlite3.connect(path)
    old.execute(
        "CREATE TABLE vectors (model TEXT NOT NULL, text_hash TEXT NOT NULL, dimension INTEGER NOT NULL,"
        " vector BLOB NOT NULL, PRIMARY KEY (model, text_hash)) WITHOUT ROWID"
    )
    old.execute("INSERT INTO vectors VALUES ('m', 'h', 2, ?)", [np.array([0.6, 0.8], "<f4").tobytes()])
    old.commit()
    old.close()
    with EmbeddingCache(path) as cache:
        assert set(cache.get_raw("m", ["h"])) == {"h"}
