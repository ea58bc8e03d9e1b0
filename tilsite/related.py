"""Related notes: section-to-section similarities aggregated into the best other notes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tilsite.index import SectionIndex, SectionRecord

DEFAULT_COUNT = 5
DEFAULT_THRESHOLD = 0.8
"""multilingual-e5 puts unrelated texts near 0.7 and related ones above 0.8."""
NEIGHBOURS = 32


@dataclass(slots=True, frozen=True)
class RelatedNote:
    """Another note related to a note, through its best-matching section."""

    target: SectionRecord
    """The section of the other note that matched best."""
    source_anchor: str
    """The section of this note that matched it."""
    score: float
    """Cosine similarity of that best section pair."""


def compute_related(
    index: SectionIndex, count: int = DEFAULT_COUNT, threshold: float = DEFAULT_THRESHOLD
) -> dict[str, list[RelatedNote]]:
    """For every note, the ``count`` other notes with the highest section-pair similarity.

    One FAISS k-NN query of all section vectors at once; each note's score for
    another note is its best section pair, ties broken by how many section
    pairs pass the threshold. A note is never related to itself.
    """
    import numpy as np

    records = index.records
    if not records or count <= 0:
        return {}
    depth = min(len(records), NEIGHBOURS + count * 4)
    similarities, positions = index.faiss_index().search(np.ascontiguousarray(index.vectors), depth)

    best: dict[str, dict[str, tuple[float, int, int]]] = {}
    support: dict[str, dict[str, int]] = {}
    for source, (row_scores, row_positions) in enumerate(zip(similarities, positions, strict=True)):
        source_path = records[source].path
        candidates = best.setdefault(source_path, {})
        counts = support.setdefault(source_path, {})
        for score, target in zip(row_scores, row_positions, strict=True):
            if target < 0 or score < threshold:
                continue
            target_path = records[target].path
            if target_path == source_path:
                continue
            counts[target_path] = counts.get(target_path, 0) + 1
            current = candidates.get(target_path)
            if current is None or score > current[0]:
                candidates[target_path] = (float(score), int(target), source)

    related: dict[str, list[RelatedNote]] = {}
    for source_path, candidates in best.items():
        ranked = sorted(
            candidates.items(),
            key=lambda item: (-item[1][0], -support[source_path][item[0]], item[0]),
        )
        related[source_path] = [
            RelatedNote(records[target], records[source].anchor, score)
            for _path, (score, target, source) in ranked[:count]
        ]
    return related
