"""Hybrid search over sections: dense ranking fused with keyword ranking by reciprocal rank fusion."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from tilsite.results.keywords import KeywordRanker

if TYPE_CHECKING:
    from tilsite.index.store import SectionIndex, SectionRecord
    from tilsite.model.models import EmbeddingModel

RRF_K = 60
"""The usual reciprocal-rank-fusion constant: rank r contributes 1 / (RRF_K + r)."""
KEYWORD_WEIGHT = 0.5
"""Keyword ranks count half as much as dense ranks: bigram matching is strong on the notes'
own words and weak on paraphrases, so it should reorder close calls, not bury good dense hits."""
CANDIDATES = 100


@dataclass(slots=True, frozen=True)
class SearchHit:
    """One ranked section."""

    record: SectionRecord
    """The matched section."""
    score: float
    """Fused score (higher is better)."""
    similarity: float
    """Cosine similarity between the query and the section."""

    def as_dict(self, site_url: str = "") -> dict[str, object]:
        """JSON-ready fields, with ``url`` prefixed by ``site_url`` when given."""
        record = self.record
        return {
            "path": record.path,
            "title": record.title,
            "heading": record.heading,
            "anchor": record.anchor,
            "url": site_url.rstrip("/") + "/" + record.url if site_url else record.url,
            "score": round(self.score, 6),
            "similarity": round(self.similarity, 6),
            "snippet": record.snippet,
        }


def fuse(rankings: list[tuple[list[int], float]], k: int = RRF_K) -> dict[int, float]:
    """Weighted reciprocal rank fusion of ranked position lists."""
    fused: dict[int, float] = {}
    for ranking, weight in rankings:
        for rank, position in enumerate(ranking, start=1):
            fused[position] = fused.get(position, 0.0) + weight / (k + rank)
    return fused


class Searcher:
    """Answers queries against one loaded index; build once, query many times."""

    def __init__(self, index: SectionIndex, model: EmbeddingModel, keyword_weight: float = KEYWORD_WEIGHT) -> None:
        self.index = index
        self.model = model
        self.keyword_weight = keyword_weight
        self._faiss = index.faiss_index()
        self._keywords = KeywordRanker([f"{r.title}\n{r.heading}\n{r.text}" for r in index.records])

    def search(self, query: str, top: int = 10, *, notes: bool = False) -> list[SearchHit]:
        """Best sections for ``query``; with ``notes`` only the best section of each note."""
        import numpy as np

        count = len(self.index.records)
        if not count or not query.strip():
            return []
        vector = self.model.embed_batch([query], "query")
        depth = min(count, max(CANDIDATES, top * 4))
        _, positions = self._faiss.search(np.ascontiguousarray(vector, dtype=np.float32), depth)
        dense = [int(position) for position in positions[0] if position >= 0]
        keyword = [position for position, _ in self._keywords.rank(query, depth)]
        fused = fuse([(dense, 1.0), (keyword, self.keyword_weight)])
        all_similarities = self.index.vectors @ vector[0]
        order = sorted(fused, key=lambda position: (-fused[position], -all_similarities[position]))
        hits: list[SearchHit] = []
        seen_notes: set[str] = set()
        for position in order:
            record = self.index.records[position]
            if notes:
                if record.path in seen_notes:
                    continue
                seen_notes.add(record.path)
            hits.append(SearchHit(record, fused[position], float(all_similarities[position])))
            if len(hits) >= top:
                break
        return hits
