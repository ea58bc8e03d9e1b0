"""Keyword ranking that works for Korean: Hangul as character bigrams, ASCII identifiers whole.

Korean attaches particles to words (``과적합을``, ``과적합이``), so whole-word
matching misses most hits; overlapping character bigrams (``과적``, ``적합``)
match across those endings. English and code keep whole tokens such as
``state_dict`` or ``gpt-4o``. Scores are BM25.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy

# Runs of Hangul syllables / CJK ideographs / kana, and ASCII word tokens (disjoint, so found apart).
_CJK = "\uac00-\ud7a3\u3131-\u318e\u4e00-\u9fff\u3040-\u30ff"
_CJK_BIGRAM = re.compile(f"(?=([{_CJK}]{{2}}))")
_CJK_SINGLE = re.compile(f"(?<![{_CJK}])[{_CJK}](?![{_CJK}])")
_ASCII_TOKEN = re.compile(r"[0-9a-z]+(?:[_.+#-][0-9a-z]+)*")
_ASCII_PART = re.compile(r"[0-9a-z]+")
_JOINED_TOKEN = re.compile(r"[0-9a-z]+(?:[_.+#-][0-9a-z]+)+")

BM25_K1 = 1.2
BM25_B = 0.75


def tokenize(text: str) -> list[str]:
    """Return keyword terms: Hangul/CJK character bigrams, ASCII tokens and their parts (as a bag: the
    order is not the text's)."""
    lowered = text.lower()
    terms = _ASCII_TOKEN.findall(lowered)
    joined = _JOINED_TOKEN.findall(lowered)  # the tokens above that hold a separator
    if joined:
        terms.extend(_ASCII_PART.findall(" ".join(joined)))
    terms.extend(_CJK_BIGRAM.findall(lowered))  # every overlapping pair of a run, in one pass
    terms.extend(_CJK_SINGLE.findall(lowered))  # a run of one character is a term itself
    return terms


class KeywordRanker:
    """BM25 over a fixed list of documents."""

    def __init__(self, documents: Sequence[str]) -> None:
        self._counts = [Counter(tokenize(document)) for document in documents]
        self._lengths = [sum(counts.values()) for counts in self._counts]
        self._average = (sum(self._lengths) / len(self._lengths)) if self._lengths else 0.0
        frequency: Counter[str] = Counter()
        for counts in self._counts:
            frequency.update(counts.keys())
        total = len(documents)
        self._idf = {term: math.log(1 + (total - seen + 0.5) / (seen + 0.5)) for term, seen in frequency.items()}

    def scores(self, query: str) -> list[float]:
        """BM25 score of every document for ``query`` (0.0 where no term matches)."""
        terms = [term for term in dict.fromkeys(tokenize(query)) if term in self._idf]
        results = [0.0] * len(self._counts)
        if not terms:
            return results
        average = self._average or 1.0
        for position, counts in enumerate(self._counts):
            norm = BM25_K1 * (1 - BM25_B + BM25_B * self._lengths[position] / average)
            score = 0.0
            for term in terms:
                seen = counts.get(term)
                if seen:
                    score += self._idf[term] * seen * (BM25_K1 + 1) / (seen + norm)
            results[position] = score
        return results

    def known_share(self, query: str) -> float:
        """The share of the query's distinct terms that occur in the documents (0.0 for a query without terms).

        An English question about notes written in Korean shares few terms with them; the few it shares
        (``the``, ``api``) make a keyword ranking that is mostly chance, and the hybrid ranking trusts it less.
        """
        terms = set(tokenize(query))
        return sum(term in self._idf for term in terms) / len(terms) if terms else 0.0

    def rank(self, query: str, limit: int) -> list[tuple[int, float]]:
        """The ``limit`` best (document position, score) pairs with a positive score."""
        scored = [(position, score) for position, score in enumerate(self.scores(query)) if score > 0]
        scored.sort(key=lambda item: (-item[1], item[0]))
        return scored[:limit]


KEYWORD_DIMENSIONS = 8192
"""Width of the hashed TF-IDF vectors of whole notes (see ``keyword_vectors``)."""
KEYWORD_TERMS = 160
"""A note's vector keeps only its heaviest terms: enough to say what it is about, and rare collisions."""


def _bucket(term: str) -> int:
    """A stable bucket for ``term`` (``hash`` changes from run to run)."""
    import zlib

    return zlib.crc32(term.encode("utf-8")) % KEYWORD_DIMENSIONS


def keyword_terms(documents: Sequence[str]) -> tuple[numpy.ndarray, numpy.ndarray]:
    """Sparse unit TF-IDF vectors of ``documents`` (sublinear term counts, smoothed IDF), hashed into
    ``KEYWORD_DIMENSIONS`` columns: each row's ``KEYWORD_TERMS`` heaviest columns (each once) and their
    weights; unused places hold column ``KEYWORD_DIMENSIONS`` (one past the last) and weight 0.

    The inner product of two such vectors is (up to rare collisions) the TF-IDF cosine of the two
    documents, the classic keyword similarity of whole texts.
    """
    import numpy as np

    vocabulary: dict[str, int] = {}
    rows: list[int] = []
    terms: list[int] = []
    seen: list[int] = []
    for row, document in enumerate(documents):
        for term, times in Counter(tokenize(document)).items():
            rows.append(row)
            terms.append(vocabulary.setdefault(term, len(vocabulary)))
            seen.append(times)
    total = len(documents)
    columns = np.full((total, KEYWORD_TERMS), KEYWORD_DIMENSIONS, dtype=np.int64)  # padding: one past the end
    weights = np.zeros((total, KEYWORD_TERMS), dtype=np.float32)
    if not rows:
        return columns, weights
    row_of, term_of = np.array(rows), np.array(terms)
    frequency = np.bincount(term_of, minlength=len(vocabulary))
    idf = 1.0 + np.log((1 + total) / (1 + frequency))
    weight = (1.0 + np.log(np.array(seen, dtype=np.float64))) * idf[term_of]
    buckets = np.array([_bucket(term) for term in vocabulary], dtype=np.int64)
    # Terms of one row that share a column add up, so that every (row, column) is listed once.
    keys, inverse = np.unique(row_of * KEYWORD_DIMENSIONS + buckets[term_of], return_inverse=True)
    weight = np.bincount(inverse.reshape(-1), weights=weight)
    row_of, column_of = np.divmod(keys, KEYWORD_DIMENSIONS)
    # The KEYWORD_TERMS heaviest columns of each row: sort by row, then weight (heaviest first), then column.
    order = np.lexsort((column_of, -weight, row_of))
    row_of, column_of, weight = row_of[order], column_of[order], weight[order]
    place = np.arange(len(order)) - np.searchsorted(row_of, row_of, side="left")
    kept = place < KEYWORD_TERMS
    columns[row_of[kept], place[kept]] = column_of[kept]
    weights[row_of[kept], place[kept]] = weight[kept]
    norms = np.linalg.norm(weights, axis=1, keepdims=True)
    return columns, weights / np.maximum(norms, 1e-12)


def keyword_rows(columns: numpy.ndarray, weights: numpy.ndarray) -> numpy.ndarray:
    """``keyword_terms``' sparse rows as dense ones, with one more column (the padding's, always 0)."""
    import numpy as np

    matrix = np.zeros((len(columns), KEYWORD_DIMENSIONS + 1), dtype=np.float32)
    matrix[np.arange(len(columns))[:, None], columns] = weights
    return matrix


def keyword_vectors(documents: Sequence[str]) -> numpy.ndarray:
    """``keyword_terms`` as dense rows (``len(documents)`` × ``KEYWORD_DIMENSIONS``)."""
    return keyword_rows(*keyword_terms(documents))[:, :KEYWORD_DIMENSIONS]
