"""Near-copies: a section of one note that nearly repeats a section of another.

Candidates are each section's ``NEIGHBOURS`` nearest sections by meaning (cosine of their vectors at
least ``MIN_COSINE``); a candidate is a near-copy when most of the shorter section's text is in the
other one, word for word: ``MIN_OVERLAP`` of its runs of ``SHINGLE_WORDS`` words. Meaning alone does not
tell a copy from two notes on one subject (two Django ``urls.py`` sections, two GitHub Actions workflows
reach 0.97), and words alone would flag shared boilerplate; both together did not, on the repositories
of bench/topics.md (see there for the calibration).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tilsite.index.cache import EmbeddingCache
    from tilsite.index.store import SectionIndex, SectionRecord

NEIGHBOURS = 8
"""Nearest sections looked at for each section."""
MIN_COSINE = 0.9
"""Sections less similar in meaning than this are never near-copies."""
MIN_OVERLAP = 0.7
"""Share of the shorter section's word runs that the other must hold (copies measured 0.76-1.0, sections
that share a list or a code block with another 0.6 at most)."""
SHINGLE_WORDS = 5
MIN_CHARS = 100
"""Sections with less text than this (a heading and a link) are never reported."""
COPIES_VERSION = 1
_WORD = re.compile(r"\w+")


@dataclass(slots=True, frozen=True)
class NearCopy:
    """Two sections of different notes, one nearly repeating the other."""

    first: SectionRecord
    """The section that comes first in the index (notes in path order)."""
    second: SectionRecord
    """The other."""
    cosine: float
    """Cosine of their vectors."""
    overlap: float
    """Share of the shorter section's runs of words that the other holds."""


def _shingles(text: str) -> set[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    return {tuple(words[start : start + SHINGLE_WORDS]) for start in range(max(1, len(words) - SHINGLE_WORDS + 1))}


def find_near_copies(index: SectionIndex) -> list[NearCopy]:
    """Every pair of sections of different notes that are near-copies, most alike first."""
    import faiss
    import numpy as np

    records = index.records
    long_enough = np.array([len(record.text) >= MIN_CHARS for record in records], dtype=bool)
    if long_enough.sum() < 2:
        return []
    places = np.flatnonzero(long_enough)
    vectors = np.ascontiguousarray(index.vectors[places], dtype=np.float32)
    search = faiss.IndexFlatIP(vectors.shape[1])
    search.add(vectors)
    cosines, neighbours = search.search(vectors, min(len(places), NEIGHBOURS + 1))
    shingles: dict[int, set[tuple[str, ...]]] = {}
    found = []
    for row, first in enumerate(places.tolist()):
        for cosine, column in zip(cosines[row].tolist(), neighbours[row].tolist(), strict=True):
            second = int(places[column]) if column >= 0 else -1
            if second <= first or cosine < MIN_COSINE or records[second].path == records[first].path:
                continue
            for place in (first, second):
                if place not in shingles:
                    shingles[place] = _shingles(records[place].text)
            mine, theirs = shingles[first], shingles[second]
            overlap = len(mine & theirs) / max(1, min(len(mine), len(theirs)))
            if overlap >= MIN_OVERLAP:
                found.append(NearCopy(records[first], records[second], cosine, overlap))
    found.sort(key=lambda pair: (-pair.overlap, -pair.cosine, pair.first.path, pair.second.path))
    return found


def near_copies(index: SectionIndex, *, cache: EmbeddingCache | None = None) -> list[NearCopy]:
    """``find_near_copies``, kept in ``cache`` for the index's content."""
    if cache is None or not index.content:
        return find_near_copies(index)
    source = hashlib.sha256(json.dumps([COPIES_VERSION, index.content]).encode("utf-8")).hexdigest()
    stored = cache.get_derived("near copies", source)
    records = index.records
    if stored is not None:
        try:
            return [NearCopy(records[a], records[b], float(c), float(o)) for a, b, c, o in json.loads(stored)]
        except (TypeError, ValueError, IndexError):
            pass  # not what this function writes: find them again
    found = find_near_copies(index)
    position = {id(record): number for number, record in enumerate(records)}
    kept = [[position[id(pair.first)], position[id(pair.second)], pair.cosine, pair.overlap] for pair in found]
    cache.put_derived("near copies", source, json.dumps(kept).encode("utf-8"))
    return found
