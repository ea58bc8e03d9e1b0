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

# Runs of Hangul syllables / CJK ideographs / kana, or ASCII word tokens.
_TOKEN = re.compile(r"[\uac00-\ud7a3\u3131-\u318e\u4e00-\u9fff\u3040-\u30ff]+|[0-9a-z]+(?:[_.+#-][0-9a-z]+)*")
_ASCII_PART = re.compile(r"[0-9a-z]+")

BM25_K1 = 1.2
BM25_B = 0.75


def tokenize(text: str) -> list[str]:
    """Return keyword terms: Hangul/CJK character bigrams, ASCII tokens and their parts."""
    terms: list[str] = []
    for match in _TOKEN.finditer(text.lower()):
        token = match.group(0)
        if token[0].isascii():
            terms.append(token)
            parts = _ASCII_PART.findall(token)
            if len(parts) > 1:
                terms.extend(parts)
        elif len(token) == 1:
            terms.append(token)
        else:
            terms.extend(token[i : i + 2] for i in range(len(token) - 1))
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

    def rank(self, query: str, limit: int) -> list[tuple[int, float]]:
        """The ``limit`` best (document position, score) pairs with a positive score."""
        scored = [(position, score) for position, score in enumerate(self.scores(query)) if score > 0]
        scored.sort(key=lambda item: (-item[1], item[0]))
        return scored[:limit]
