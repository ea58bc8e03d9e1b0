from __future__ import annotations

import numpy as np
import pytest

from tilsite.index.store import SectionIndex, SectionRecord
from tilsite.results.related import script
from tilsite.results.search import (
    KEYWORD_VOTES,
    KEYWORD_WEIGHT,
    QUERY_SHIFT,
    RRF_K,
    Searcher,
    query_shifts,
    shift_query,
)


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


def test_a_section_ranks_by_the_best_of_its_own_vector_and_its_passages() -> None:
    """A long section's passages (the prose beyond the model's window) find it; it is listed once, with the
    best cosine of its rows."""
    index = _index(["alpha", "beta", "gamma"], [[1, 0, 0], [0.8, 0.6, 0], [0, 1, 0]])
    passages = np.array([[0, 0, 1], [0.6, 0, 0.8]], dtype=np.float32)
    owners = np.array([2, 2])
    index = SectionIndex("m", index.records, index.vectors, passages=(passages, owners), passage_counts=[0, 0, 2])
    hits = Searcher(index, QueryModel([0, 0, 1])).search("zzz", 10, method="dense")
    assert hits[0].record.path == "n02.md" and len(hits) == 3
    assert hits[0].similarity == pytest.approx(1.0)
    hits = Searcher(index, QueryModel([1, 0, 0])).search("zzz", 10, method="dense")
    assert [hit.record.path for hit in hits] == ["n00.md", "n01.md", "n02.md"]
    assert hits[2].similarity == pytest.approx(0.6)  # its second passage, not its own vector (0)


LONG = {"n03.md", "n17.md", "n25.md"}


def test_the_sites_javascript_fuses_exactly_as_the_cli() -> None:
    """The browser's hybrid ranking (search-core.js) gives the same sections and scores as ``Searcher``:
    the keyword weight by known share, only the keyword ranking's first sections, the same tie-breaks, and
    long sections ranked by their best passage."""
    import json

    from tilsite.results.search import CANDIDATES

    from .helpers import node

    rng = np.random.default_rng(7)
    words = ["overfitting", "dropout", "과적합", "정규화", "git", "rebase", "merge", "배포", "docker", "pandas"]
    texts = [" ".join(rng.choice(words, size=int(rng.integers(1, 8)))) for _ in range(40)]
    filler = "\n".join(f"{n}번째 줄은 관계없는 이야기를 길게 늘어놓는다. Nothing to see here." for n in range(12))
    for position in (3, 17, 25):  # long sections (LONG): the snippet shows where the query's words are
        texts[position] = f"{filler}\n과적합을 막는 dropout 설명. git rebase 이야기도 있다.\n{filler}"
    counts = [0] * 40
    counts[3], counts[10], counts[25], counts[39] = 3, 1, 5, 3
    rows = 40 + sum(counts)
    codes = rng.integers(-127, 128, size=(rows, 8)).astype(np.int8)
    scales = np.full(rows, 1 / 127, dtype=np.float32)
    unit = codes.astype(np.float32) * scales[:, None]
    unit /= np.linalg.norm(unit, axis=1, keepdims=True)
    plain = _index(texts, unit[:40].tolist())
    owners = np.repeat(np.arange(40), counts)
    index = SectionIndex("m", plain.records, plain.vectors, passages=(unit[40:], owners), passage_counts=counts)
    # The index keeps unit vectors: the JavaScript's int8 rows get the same norms through their scales.
    norms = np.linalg.norm(codes.astype(np.float32) * scales[:, None], axis=1)
    scales = (scales / norms).astype(np.float32)
    queries = [("과적합 dropout", [1, 0, 0, 0, 0, 0, 0, 0.5]), ("git rebase unknownword", [0, 1, 0, 0, 0.2, 0, 0, 0])]
    queries.append(("no such words", [0, 0, 1, 0, 0, 0, 0, 0]))
    queries.append(("a passage", unit[40 + 3 + 1 + 2].tolist()))  # the third passage of section 25
    queries.append(("日本語の質問 dropout", [0, 0, 0, 1, 0, 0, 0, 0]))  # no section in its script: the overall shift
    shifts = query_shifts(index)
    assert set(shifts) == {"", "ko", "latin"}
    manifest = {"dimension": 8, "candidates": CANDIDATES, "keyword_weight": KEYWORD_WEIGHT}
    manifest.update(keyword_votes=KEYWORD_VOTES, rrf_k=RRF_K)
    manifest["query_shifts"] = {name: shift.tolist() for name, shift in shifts.items()}
    sections = [
        {"path": r.path, "title": r.title, "heading": r.heading, "text": r.text, "snippet": r.snippet}
        | ({"passages": n} if n else {})
        for r, n in zip(index.records, counts, strict=True)
    ]
    payload = {"manifest": manifest, "sections": sections, "codes": codes.tolist(), "scales": scales.tolist()}
    payload["queries"] = [(query, (np.array(vector) / np.linalg.norm(vector)).tolist()) for query, vector in queries]
    payload["texts"] = [
        *texts,
        *(query for query, _ in queries),
        "",
        "ひらがな 漢字 text",
        "한글 섞인 English words here",
    ]
    answer = json.loads(node("search_core.mjs", stdin=json.dumps(payload)))
    assert answer["scripts"] == [script(text) for text in payload["texts"]]  # the query's script picks its shift
    in_javascript = answer["results"]
    for (query, vector), expected in zip(queries, in_javascript, strict=True):
        hits = Searcher(index, QueryModel(vector)).search(query, 10)
        assert [hit.record.path for hit in hits] == [path for path, _, _ in expected], query
        assert [hit.score for hit in hits] == pytest.approx([score for _, score, _ in expected], rel=1e-9), query
        assert [hit.as_dict()["snippet"] for hit in hits] == [snippet for _, _, snippet in expected], query
    assert in_javascript[-2][0][0] == "n25.md"
    # The first two queries share words with one line of the long sections: the snippet starts there.
    for results, start in zip(
        in_javascript[:2], ["… 과적합을 막는 dropout 설명.", "… git rebase 이야기도 있다."], strict=True
    ):
        shown = [snippet for path, _, snippet in results if path in LONG]
        assert shown and all(snippet.startswith(start) for snippet in shown), shown


def test_the_snippet_shows_where_a_long_section_holds_the_query_words() -> None:
    from tilsite.results.search import query_snippet

    lines = [f"{n}번째 줄은 관계없는 이야기. Filler line number {n}." for n in range(20)]
    answer = "em은 부모 요소의 글꼴 크기, rem은 루트 요소의 글꼴 크기를 기준으로 한다."
    text = "\n".join([*lines[:10], answer, *lines[10:]])
    assert query_snippet(text, "em과 rem 단위 차이").startswith("… em은 부모 요소의 글꼴 크기, rem은")
    assert query_snippet(text, "em과 rem 단위 차이").endswith("…")
    assert query_snippet(text, "전혀 없는 낱말들") == ""  # nothing matches: the section's own first words
    assert query_snippet(text, "0번째 줄") == ""  # the start holds them already
    assert query_snippet("짧은 글: em과 rem", "rem") == ""  # short enough to show whole


def test_a_query_loses_part_of_the_mean_of_the_sections_written_in_its_script() -> None:
    """A multilingual model pulls a query towards everything written in its language: the query's vector
    gives up ``QUERY_SHIFT`` of the mean of the sections (and passages) in its script before it is compared."""
    rng = np.random.default_rng(3)
    texts = [f"과적합과 정규화 이야기 {n}" for n in range(6)] + [f"notes about git rebase {n}" for n in range(6)]
    texts += ["日本語のノート", "漢字とかな"]  # two sections: too few for a mean of their own
    vectors = rng.normal(size=(len(texts), 8))
    plain = _index(texts, vectors.tolist())
    passages = rng.normal(size=(2, 8)).astype(np.float32)
    passages /= np.linalg.norm(passages, axis=1, keepdims=True)
    counts = [2] + [0] * (len(texts) - 1)  # the first Korean section has two passages
    index = SectionIndex(
        "m", plain.records, plain.vectors, passages=(passages, np.zeros(2, np.int64)), passage_counts=counts
    )
    shifts = query_shifts(index)
    assert set(shifts) == {"", "ko", "latin"}
    korean_rows = np.vstack([index.vectors[:6], passages])
    np.testing.assert_allclose(shifts["ko"], QUERY_SHIFT * korean_rows.mean(axis=0), atol=1e-6)
    np.testing.assert_allclose(shifts["latin"], QUERY_SHIFT * index.vectors[6:12].mean(axis=0), atol=1e-6)
    every_row = np.vstack([index.vectors, passages])
    np.testing.assert_allclose(shifts[""], QUERY_SHIFT * every_row.mean(axis=0), atol=1e-6)
    query = np.ones(8, dtype=np.float32) / np.sqrt(8)
    for text, name in (("과적합 막는 법", "ko"), ("how to rebase", "latin"), ("日本語の質問", "")):
        expected = query - shifts[name]
        np.testing.assert_allclose(shift_query(shifts, text, query), expected / np.linalg.norm(expected), atol=1e-6)
    assert shift_query({}, "x", query) is query  # an index too small for means leaves queries as they are
    assert query_shifts(_index(texts[:4], vectors[:4].tolist())) == {}
