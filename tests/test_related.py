from __future__ import annotations

import numpy as np

from tilsite.index import SectionIndex, SectionRecord
from tilsite.related import compute_related


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
