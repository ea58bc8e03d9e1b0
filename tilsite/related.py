"""Related notes: section-to-section similarities aggregated into the best other notes."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy

    from tilsite.index import SectionIndex, SectionRecord

DEFAULT_COUNT = 5
DEFAULT_THRESHOLD = 0.25
"""On centred vectors (see ``centred``), unrelated sections score near or below 0 and related ones above ~0.3."""
NEIGHBOURS = 32
DEFAULT_EXCLUDE = ("index.md", "README.md")
"""Home pages list every note, so they resemble everything without being about anything."""


@dataclass(slots=True, frozen=True)
class RelatedNote:
    """Another note related to a note, through its best-matching section."""

    target: SectionRecord
    """The section of the other note that matched best."""
    source_anchor: str
    """The section of this note that matched it."""
    score: float
    """Cosine similarity of that best section pair."""


def centred(vectors: numpy.ndarray) -> numpy.ndarray:
    """Unit vectors with the corpus mean removed.

    Sentence embeddings share a common direction (multilingual-e5 puts almost any
    two texts above 0.7), so short or generic sections look similar to everything
    and crowd out real matches. Removing the mean spreads similarities out and
    takes away that advantage; cosine similarity is then computed as usual.
    """
    import numpy as np

    shifted = vectors - vectors.mean(axis=0, keepdims=True)
    norms = np.linalg.norm(shifted, axis=1, keepdims=True)
    return np.ascontiguousarray(shifted / np.maximum(norms, 1e-12), dtype=np.float32)


def compute_related(
    index: SectionIndex,
    count: int = DEFAULT_COUNT,
    threshold: float = DEFAULT_THRESHOLD,
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE,
) -> dict[str, list[RelatedNote]]:
    """For every note, the ``count`` other notes with the highest section-pair similarity.

    One FAISS k-NN query of all (centred) section vectors at once; each note's
    score for another note is its best section pair, ties broken by how many
    section pairs pass the threshold. A note is never related to itself, and
    notes matching an ``exclude`` glob (index pages that only list other notes)
    neither get nor appear in related lists.
    """
    import faiss

    records = index.records
    if not records or count <= 0:
        return {}
    depth = min(len(records), NEIGHBOURS + count * 4)
    skipped = [any(fnmatch.fnmatchcase(record.path, pattern) for pattern in exclude) for record in records]
    vectors = centred(index.vectors)
    search = faiss.IndexFlatIP(vectors.shape[1])
    search.add(vectors)
    similarities, positions = search.search(vectors, depth)

    best: dict[str, dict[str, tuple[float, int, int]]] = {}
    support: dict[str, dict[str, int]] = {}
    for source, (row_scores, row_positions) in enumerate(zip(similarities, positions, strict=True)):
        source_path = records[source].path
        if skipped[source]:
            continue
        candidates = best.setdefault(source_path, {})
        counts = support.setdefault(source_path, {})
        for score, target in zip(row_scores, row_positions, strict=True):
            if target < 0 or score < threshold or skipped[target]:
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
