from __future__ import annotations

import numpy as np
import pytest

from tilsite.index.store import SectionIndex, SectionRecord
from tilsite.results.search import KEYWORD_VOTES, KEYWORD_WEIGHT, RRF_K, Searcher


class QueryModel:
    """Embeds every query as one fixed vector."""

    model_id = "m"

    def __init__(self, vector: list[float]) -> None:
        self.vector = np.array([vector], dtype=np.float32)

    def embed_batch(self, texts: list[str], kind: str) -> np.ndarray:
        return self.vector / np.linalg.norm(self.vector)


def _index(texts: list[str], vectors: list[list[float]]) -> SectionIndex:
    records = [
        SectionRecord(f"n{i:02}.md", f"n{i:02}", "", "", f"n{i:02}/", "", text, str(i)) for i, text in enumerate(texts)
    ]
    array = np.array(vectors, dtype=np.float32)
    return SectionIndex("m", records, array / np.linalg.norm(array, axis=1, keepdims=True))


def _setup(count: int) -> tuple[SectionIndex, QueryModel]:
    # Section i says "overfitting" count - i times: the keyword ranking is 0, 1, 2, ...; the dense
    # ranking (the query is the first axis) is the reverse.
    texts = [" ".join(["overfitting"] * (count - i) + ["filler"] * i) for i in range(count)]
    vectors = [[1.0 + i, 1.0] for i in range(count)]
    return _index(texts, vectors), QueryModel([1.0, 0.0])


def test_only_the_keyword_rankings_first_sections_take_part() -> None:
    index, model = _setup(KEYWORD_VOTES + 3)
    searcher = Searcher(index, model)
    hits = {hit.record.path: hit.score for hit in searcher.search("overfitting", 100)}
    dense = [hit.record.path for hit in searcher.search("overfitting", 100, method="dense")]
    keyword = [hit.record.path for hit in searcher.search("overfitting", 100, method="keyword")]
    assert keyword[0] == "n00.md" and dense[0] == f"n{KEYWORD_VOTES + 2:02}.md"
    for rank, path in enumerate(keyword, start=1):
        expected = 1 / (RRF_K + dense.index(path) + 1)
        if rank <= KEYWORD_VOTES:  # the whole query is known to the notes: full keyword weight
            expected += KEYWORD_WEIGHT / (RRF_K + rank)
        assert hits[path] == pytest.approx(expected), (rank, path)


def test_keywords_count_as_much_as_the_query_is_made_of_the_notes_words() -> None:
    index, model = _setup(4)
    searcher = Searcher(index, model)
    known = {hit.record.path: hit.score for hit in searcher.search("overfitting", 10)}
    half = {hit.record.path: hit.score for hit in searcher.search("overfitting unknownword", 10)}
    dense = [hit.record.path for hit in searcher.search("overfitting", 10, method="dense")]
    for rank, path in enumerate(sorted(known, key=lambda p: int(p[1:3])), start=1):
        base = 1 / (RRF_K + dense.index(path) + 1)
        assert known[path] - base == pytest.approx(KEYWORD_WEIGHT / (RRF_K + rank))
        assert half[path] - base == pytest.approx(KEYWORD_WEIGHT / 2 / (RRF_K + rank))
    # A query none of whose words the notes hold is ranked by meaning alone.
    assert [hit.record.path for hit in searcher.search("zzz qqq", 10)] == dense


def test_unknown_method_is_refused() -> None:
    index, model = _setup(2)
    with pytest.raises(ValueError, match="unknown search method"):
        Searcher(index, model).search("x", method="bm25")


def test_the_sites_javascript_fuses_exactly_as_the_cli() -> None:
    """The browser's hybrid ranking (search-core.js) gives the same sections and scores as ``Searcher``:
    the keyword weight by known share, only the keyword ranking's first sections, the same tie-breaks."""
    import json

    from tilsite.results.search import CANDIDATES

    from .helpers import node

    rng = np.random.default_rng(7)
    words = ["overfitting", "dropout", "과적합", "정규화", "git", "rebase", "merge", "배포", "docker", "pandas"]
    texts = [" ".join(rng.choice(words, size=int(rng.integers(1, 8)))) for _ in range(40)]
    codes = rng.integers(-127, 128, size=(40, 8)).astype(np.int8)
    scales = np.full(40, 1 / 127, dtype=np.float32)
    index = _index(texts, (codes.astype(np.float32) * scales[:, None]).tolist())
    # The index keeps unit vectors: the JavaScript's int8 rows get the same norms through their scales.
    norms = np.linalg.norm(codes.astype(np.float32) * scales[:, None], axis=1)
    scales = (scales / norms).astype(np.float32)
    queries = [("과적합 dropout", [1, 0, 0, 0, 0, 0, 0, 0.5]), ("git rebase unknownword", [0, 1, 0, 0, 0.2, 0, 0, 0])]
    queries.append(("no such words", [0, 0, 1, 0, 0, 0, 0, 0]))
    manifest = {"dimension": 8, "candidates": CANDIDATES, "keyword_weight": KEYWORD_WEIGHT}
    manifest.update(keyword_votes=KEYWORD_VOTES, rrf_k=RRF_K)
    sections = [{"path": r.path, "title": r.title, "heading": r.heading, "text": r.text} for r in index.records]
    payload = {"manifest": manifest, "sections": sections, "codes": codes.tolist(), "scales": scales.tolist()}
    payload["queries"] = [(query, (np.array(vector) / np.linalg.norm(vector)).tolist()) for query, vector in queries]
    in_javascript = json.loads(node("search_core.mjs", stdin=json.dumps(payload)))
    for (query, vector), expected in zip(queries, in_javascript, strict=True):
        hits = Searcher(index, QueryModel(vector)).search(query, 10)
        assert [hit.record.path for hit in hits] == [path for path, _ in expected], query
        assert [hit.score for hit in hits] == pytest.approx([score for _, score in expected], rel=1e-9), query
