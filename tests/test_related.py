from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from tilsite.index.store import SectionIndex, SectionRecord
from tilsite.results.related import compute_related, related_notes


def _record(path: str, anchor: str) -> SectionRecord:
    return SectionRecord(path, path, anchor, anchor, f"{path}#{anchor}", "", "", anchor)


def _index(rows: list[tuple[str, str, list[float]]]) -> SectionIndex:
    vectors = np.array([vector for _, _, vector in rows], dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return SectionIndex("m", [_record(path, anchor) for path, anchor, _ in rows], vectors)


def test_best_section_pair_decides_and_points_at_the_section() -> None:
    index = _index(
        [
            ("a.md", "a1", [1, 0, 0]),
            ("a.md", "a2", [0, 1, 0]),
            ("b.md", "b1", [0.1, 1, 0]),
            ("b.md", "b2", [0, 0, 1]),
            ("c.md", "c1", [1, 0.5, 0]),
        ]
    )
    related = compute_related(index, count=5, threshold=0.5)
    a = related["a.md"]
    assert [item.target.path for item in a] == ["b.md", "c.md"]
    assert a[0].target.anchor == "b1" and a[0].source_anchor == "a2"
    assert a[0].score > a[1].score
    assert all(item.target.path != path for path, items in related.items() for item in items)


def test_never_itself_threshold_and_count() -> None:
    index = _index([("a.md", "x", [1, 0]), ("a.md", "y", [1, 0.01]), ("b.md", "z", [0, 1]), ("c.md", "w", [1, 0.2])])
    related = compute_related(index, count=1, threshold=0.9)
    assert [item.target.path for item in related["a.md"]] == ["c.md"]
    assert related.get("b.md", []) == []


def test_empty_index() -> None:
    assert compute_related(SectionIndex("m", [], np.zeros((0, 0), np.float32))) == {}


def test_related_notes_are_cached_for_the_index_content_and_settings(tmp_path: Path, monkeypatch) -> None:
    from tilsite.index.cache import EmbeddingCache
    from tilsite.results import related as related_module

    index = _index([("a.md", "x", [1, 0]), ("b.md", "y", [1, 0.1]), ("c.md", "z", [0.2, 1])])
    index.content = "content-1"
    cache = EmbeddingCache(tmp_path / "cache.sqlite")
    computed: list[tuple] = []

    def counting(*args):  # type: ignore[no-untyped-def]
        computed.append(args[1:])
        return compute_related(*args)

    monkeypatch.setattr(related_module, "compute_related", counting)
    first = related_notes(index, 2, 0.1, cache=cache)
    assert first == compute_related(index, 2, 0.1) and len(computed) == 1
    assert related_notes(index, 2, 0.1, cache=cache) == first and len(computed) == 1  # from the cache
    assert related_notes(index, 1, 0.1, cache=cache) == compute_related(index, 1, 0.1)
    assert len(computed) == 2  # other settings
    index.content = "content-2"
    related_notes(index, 1, 0.1, cache=cache)
    assert len(computed) == 3  # another index
    # What does not fit the index is not trusted.
    source = hashlib.sha256(
        json.dumps([related_module.RELATED_VERSION, "content-2", 1, 0.1, ["README.md", "index.md"]]).encode()
    ).hexdigest()
    assert cache.get_derived("related", source) is not None
    cache.put_derived("related", source, json.dumps({"a.md": [[99, "x", 1.0]]}).encode())
    assert related_notes(index, 1, 0.1, cache=cache) == compute_related(index, 1, 0.1)
    assert len(computed) == 4
    # Without a content hash (an index never written), nothing is cached.
    index.content = ""
    related_notes(index, 1, 0.1, cache=cache)
    related_notes(index, 1, 0.1, cache=cache)
    assert len(computed) == 6
    cache.close()
