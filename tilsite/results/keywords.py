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
_CJK_RANGES = ((0xAC00, 0xD7A3), (0x3131, 0x318E), (0x4E00, 0x9FFF), (0x3040, 0x30FF))
"""Hangul syllables, Hangul compatibility jamo, CJK ideographs, kana (code points, for ``term_counts``)."""
_CJK = "".join(f"{chr(low)}-{chr(high)}" for low, high in _CJK_RANGES)
_CJK_BIGRAM = re.compile(f"(?=([{_CJK}]{{2}}))")
_CJK_SINGLE = re.compile(f"(?<![{_CJK}])[{_CJK}](?![{_CJK}])")
_ASCII_TOKEN = re.compile(r"[0-9a-z]+(?:[_.+#-][0-9a-z]+)*")
_ASCII_PART = re.compile(r"[0-9a-z]+")

BM25_K1 = 1.2
BM25_B = 0.75


def tokenize(text: str) -> list[str]:
    """Return keyword terms: Hangul/CJK character bigrams, ASCII tokens and their parts (as a bag: the
    order is not the text's)."""
    lowered = text.lower()
    terms = _ascii_terms(lowered)
    terms.extend(_CJK_BIGRAM.findall(lowered))  # every overlapping pair of a run, in one pass
    terms.extend(_CJK_SINGLE.findall(lowered))  # a run of one character is a term itself
    return terms


def _ascii_terms(lowered: str) -> list[str]:
    """The ASCII tokens of a lowered text, and the parts of those that hold a separator."""
    terms = _ASCII_TOKEN.findall(lowered)
    joined = [term for term in terms if not term.isalnum()]
    if joined:
        terms.extend(_ASCII_PART.findall(" ".join(joined)))
    return terms


class KeywordRanker:
    """BM25 over a fixed list of documents, from postings held in numpy arrays (a query reads only the
    documents that hold its terms)."""

    def __init__(self, documents: Sequence[str]) -> None:
        import numpy as np

        vocabulary, rows, terms, seen = term_counts(documents)
        self._vocabulary = vocabulary
        total = len(documents)
        lengths = np.bincount(rows, weights=seen, minlength=total)
        average = float(lengths.mean()) if total else 0.0
        # BM25's length normalisation of every document, as a Python float per document would give it.
        self._norms = BM25_K1 * (1 - BM25_B + BM25_B * lengths / (average or 1.0))
        frequency = np.bincount(terms, minlength=len(vocabulary)).tolist()
        self._idf = [math.log(1 + (total - holding + 0.5) / (holding + 0.5)) for holding in frequency]
        order = np.argsort(terms, kind="stable")  # postings term by term, each term's documents in order
        self._documents, self._seen = rows[order], seen[order].astype(np.float64)
        self._starts = np.searchsorted(terms[order], np.arange(len(vocabulary) + 1))
        self._total = total

    def scores(self, query: str) -> numpy.ndarray:
        """BM25 score of every document for ``query`` (0.0 where no term matches)."""
        import numpy as np

        results = np.zeros(self._total, dtype=np.float64)
        for term in dict.fromkeys(tokenize(query)):
            number = self._vocabulary.get(term)
            if number is None:
                continue
            postings = slice(self._starts[number], self._starts[number + 1])
            documents, seen = self._documents[postings], self._seen[postings]
            results[documents] += self._idf[number] * seen * (BM25_K1 + 1) / (seen + self._norms[documents])
        return results

    def known_share(self, query: str) -> float:
        """The share of the query's distinct terms that occur in the documents (0.0 for a query without terms).

        An English question about notes written in Korean shares few terms with them; the few it shares
        (``the``, ``api``) make a keyword ranking that is mostly chance, and the hybrid ranking trusts it less.
        """
        terms = set(tokenize(query))
        return sum(term in self._vocabulary for term in terms) / len(terms) if terms else 0.0

    def rank(self, query: str, limit: int) -> list[tuple[int, float]]:
        """The ``limit`` best (document position, score) pairs with a positive score."""
        import numpy as np

        scores = self.scores(query)
        matched = np.flatnonzero(scores > 0)
        best = matched[np.lexsort((matched, -scores[matched]))[:limit]]
        return [(int(position), float(scores[position])) for position in best]


def term_counts(documents: Sequence[str]) -> tuple[dict[str, int], numpy.ndarray, numpy.ndarray, numpy.ndarray]:
    """The terms of ``documents``, as ``tokenize`` finds them: a vocabulary (term -> number) and, for each
    (document, term) pair that occurs, the document's position, the term's number and how many times the
    term occurs in the document (each term's pairs in document order).

    Hangul and CJK terms are found in all documents at once, as pairs of code points in numpy: in Korean
    notes they are three terms in four, and one regular expression and one count per term took 0.5 s of the
    0.9 s that 1,775 notes of tnpfldyd/TIL took (now 0.35 s in all).
    """
    import numpy as np

    lowered = [document.lower() for document in documents]
    vocabulary: dict[str, int] = {}
    rows: list[int] = []
    terms: list[int] = []
    seen: list[int] = []
    for row, text in enumerate(lowered):
        counts = Counter(_ascii_terms(text))
        rows.extend([row] * len(counts))
        terms.extend([vocabulary.setdefault(term, len(vocabulary)) for term in counts])
        seen.extend(counts.values())

    # Every code point of every document, documents apart by a line break (not CJK: no pair crosses it).
    codes = np.frombuffer("\n".join(lowered).encode("utf-32-le", "surrogatepass"), dtype="<u4").astype(np.int64)
    lengths = np.fromiter(map(len, lowered), dtype=np.int64, count=len(lowered))
    row_of = np.repeat(np.arange(len(lowered)), lengths + 1)[: len(codes)]
    cjk = np.zeros(len(codes), dtype=bool)
    for low, high in _CJK_RANGES:
        cjk |= (codes >= low) & (codes <= high)
    before, after = np.zeros_like(cjk), np.zeros_like(cjk)  # whether the code point before / after is CJK
    before[1:], after[:-1] = cjk[:-1], cjk[1:]
    pairs = np.flatnonzero(cjk & after)  # a bigram starts at each
    singles = np.flatnonzero(cjk & ~before & ~after)  # a run of one
    # A term as one number: a bigram's two code points (each under 2**21), or a single's own.
    keys = np.concatenate(((codes[pairs] << 21) | codes[pairs + 1], codes[singles]))
    found, times = np.unique(np.concatenate((row_of[pairs], row_of[singles])) << 42 | keys, return_counts=True)
    distinct, term_of = np.unique(found & ((1 << 42) - 1), return_inverse=True)
    numbers = [
        vocabulary.setdefault(chr(key >> 21) + chr(key & 0x1FFFFF) if key >> 21 else chr(key), len(vocabulary))
        for key in distinct.tolist()
    ]
    return (
        vocabulary,
        np.concatenate((np.array(rows, dtype=np.int64), found >> 42)),
        np.concatenate((np.array(terms, dtype=np.int64), np.array(numbers, dtype=np.int64)[term_of.reshape(-1)])),
        np.concatenate((np.array(seen, dtype=np.int64), times)),
    )


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

    vocabulary, row_of, term_of, seen = term_counts(documents)
    total = len(documents)
    columns = np.full((total, KEYWORD_TERMS), KEYWORD_DIMENSIONS, dtype=np.int64)  # padding: one past the end
    weights = np.zeros((total, KEYWORD_TERMS), dtype=np.float32)
    if not len(row_of):
        return columns, weights
    frequency = np.bincount(term_of, minlength=len(vocabulary))
    idf = 1.0 + np.log((1 + total) / (1 + frequency))
    weight = (1.0 + np.log(seen.astype(np.float64))) * idf[term_of]
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
