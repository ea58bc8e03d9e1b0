"""Hybrid search over sections: dense ranking fused with keyword ranking by reciprocal rank fusion."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tilsite.notes.sections import SNIPPET_CHARS
from tilsite.results.keywords import KeywordRanker, tokenize

if TYPE_CHECKING:
    import numpy

    from tilsite.index.store import SectionIndex, SectionRecord
    from tilsite.model.models import EmbeddingModel

RRF_K = 30
"""Reciprocal rank fusion: rank r contributes 1 / (RRF_K + r). Lower than the usual 60, so that the first
places of each ranking count for more than a long tail of middling ones."""
KEYWORD_WEIGHT = 0.3
"""Keyword ranks count at most 0.3 as much as dense ranks: bigram matching is strong on the notes'
own words and weak on paraphrases, so it should reorder close calls, not bury good dense hits. The
weight is scaled by the share of the query's terms that the notes contain (``KeywordRanker.known_share``):
an English question about Korean notes shares few terms with them, and those few make a keyword ranking
that is mostly chance."""
KEYWORD_VOTES = 5
"""Only the keyword ranking's first five sections take part in the hybrid ranking: bigram matching gives
some score to most sections that share a syllable pair with the query, and further down its list that is
chance that lifted wrong notes over the dense ranking's right ones.

The three settings were chosen on the development sets of bench/quality.md (a grid of weight 0.2-1.0,
votes 3-20, k 30/60, with long sections' passages searched), where the hybrid ranking was then at least
as good as the dense one alone in hit@1, hit@5 and MRR@10 on both sets. (Weight 0.5 was best before
passages made the dense side stronger.) Since queries are shifted (``QUERY_SHIFT``) it is better than
dense alone on nyum76/TIL, mixed on 0h328/TIL (hit@5 higher, hit@1 and MRR@10 a little lower) and a
little worse on milooy/TIL; a grid of weight 0.2-0.5 and votes 3-10 over the three sets found no setting
better on all of them."""
QUERY_SHIFT = 0.5
"""Share of the mean vector of the sections written in the query's script that is taken from the query's
vector before it is compared (``query_shifts``). A multilingual model puts every text of a language a
little nearer every other text of it, and sections that resemble everything in that language (a list of
keyboard shortcuts, a monthly log) then rank near the top for questions they do not answer; taking the
language's mean out of the query removes that pull (related notes remove it from the notes' vectors).
Measured on the three Korean sets of bench/quality.md: MRR@10 of the hybrid ranking rose on each (0.783
to 0.802, 0.835 to 0.838, 0.485 to 0.514) and hit@5 stayed or rose; shares 0.4-0.6 gave about the same,
the whole mean (1.0) lost hit@5 on two sets."""
CANDIDATES = 100
METHODS = ("hybrid", "dense", "keyword")
"""Rankings ``Searcher.search`` can return: the fused one (what the CLI and the site show) or either side alone."""


@dataclass(slots=True, frozen=True)
class SearchHit:
    """One ranked section."""

    record: SectionRecord
    """The matched section."""
    score: float
    """Fused score (higher is better)."""
    similarity: float
    """Cosine similarity between the query (its vector moved by ``shift_query``) and the section (its best
    passage's, when that is higher)."""
    snippet: str = ""
    """The part of the section's text to show (``query_snippet``); its first words when empty."""

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
            "snippet": self.snippet or record.snippet,
        }


_SNIPPET_START = re.compile(r"\n|[.!?]\s")


def query_snippet(text: str, query: str, width: int = SNIPPET_CHARS) -> str:
    """The ``width`` characters of a section's ``text`` that hold the most of the query's keyword terms, from
    the start of a line or sentence (of those, the one whose own sentence holds the most), or "" when none
    holds more than the start does: an answer found in a long section (often by its passages) is rarely in
    its first words. The site's search does the same (``querySnippet`` in search-core.js)."""
    terms = set(tokenize(query))
    if not terms or len(text) <= width:
        return ""
    starts = [0, *(match.end() for match in _SNIPPET_START.finditer(text))]

    def found(part: str) -> int:
        return len(terms.intersection(tokenize(part)))

    def window(start: int) -> str:
        return " ".join(text[start : start + 2 * width].split())[:width]

    scores = [
        (found(window(start)), found(text[start:end]))
        for start, end in zip(starts, [*starts[1:], len(text)], strict=True)
    ]
    best = max(range(len(starts)), key=lambda number: (scores[number], -number))
    if not starts[best] or scores[best][0] <= scores[0][0]:
        return ""
    shown = window(starts[best])
    more = len(" ".join(text[starts[best] :].split())) > len(shown)
    return f"… {shown[: width - 1].rstrip()}…" if more else f"… {shown}"


def fuse(rankings: list[tuple[list[int], float]], k: int = RRF_K) -> dict[int, float]:
    """Weighted reciprocal rank fusion of ranked position lists."""
    fused: dict[int, float] = {}
    for ranking, weight in rankings:
        for rank, position in enumerate(ranking, start=1):
            fused[position] = fused.get(position, 0.0) + weight / (k + rank)
    return fused


def searched_text(record: SectionRecord) -> str:
    """What search reads of a section besides its vectors: the keyword ranking's text, whose script
    (``related.script``) picks the section's share of ``query_shifts``."""
    return f"{record.title}\n{record.heading}\n{record.text}"


def query_shifts(index: SectionIndex) -> dict[str, numpy.ndarray]:
    """What ``shift_query`` takes from a query's vector: for each script (``related.script``) that at least
    ``MIN_SCRIPT_GROUP`` sections are written in, ``QUERY_SHIFT`` times the mean of their vectors and their
    passages'; under ``""`` the same over every section (for a query in another script). Nothing for an index
    of fewer than ``MIN_SCRIPT_GROUP`` sections, whose mean is mostly the sections themselves."""
    import numpy as np

    from tilsite.results.related import MIN_SCRIPT_GROUP
    from tilsite.results.related import scripts as script_of

    records = index.records
    if len(records) < MIN_SCRIPT_GROUP:
        return {}
    scripts = np.array(script_of([searched_text(record) for record in records]))
    passages, owners = index.passages
    passage_scripts = scripts[owners]
    sums: dict[str, numpy.ndarray] = {}
    rows: dict[str, int] = {}
    sections: dict[str, int] = {}
    for name in np.unique(scripts).tolist():  # each script's rows summed where they lie: no copy of the index
        mine, theirs = scripts == name, passage_scripts == name
        sums[name] = index.vectors[mine].sum(axis=0, dtype=np.float64) + passages[theirs].sum(axis=0, dtype=np.float64)
        sections[name] = int(np.count_nonzero(mine))
        rows[name] = sections[name] + int(np.count_nonzero(theirs))
    shifts = {"": QUERY_SHIFT * np.sum(list(sums.values()), axis=0) / sum(rows.values())}
    for name, seen in sections.items():
        if seen >= MIN_SCRIPT_GROUP:
            shifts[name] = QUERY_SHIFT * sums[name] / rows[name]
    return {name: shift.astype(np.float32) for name, shift in shifts.items()}


def shift_query(shifts: dict[str, numpy.ndarray], query: str, vector: numpy.ndarray) -> numpy.ndarray:
    """``vector`` (the query's, one row) less the shift of the query's script (``query_shifts``), as a unit
    vector; as it is when there are no shifts."""
    import numpy as np

    from tilsite.results.related import script

    shift = shifts.get(script(query), shifts.get(""))
    if shift is None:
        return vector
    moved = vector.astype(np.float32) - shift
    return (moved / max(float(np.linalg.norm(moved)), 1e-12)).astype(np.float32)


class Searcher:
    """Answers queries against one loaded index; build once, query many times."""

    def __init__(self, index: SectionIndex, model: EmbeddingModel, keyword_weight: float = KEYWORD_WEIGHT) -> None:
        self.index = index
        self.model = model
        self.keyword_weight = keyword_weight
        self._faiss = index.faiss_index()
        self._shifts = query_shifts(index)
        self._query_vector: tuple[str, numpy.ndarray] | None = None
        """The last query and its vector: the rankings of ``METHODS`` for one query embed it once."""
        self._keywords = KeywordRanker([searched_text(record) for record in index.records])

    def search(self, query: str, top: int = 10, *, notes: bool = False, method: str = "hybrid") -> list[SearchHit]:
        """Best sections for ``query``; with ``notes`` only the best section of each note.

        ``method`` is one of ``METHODS``: ``dense`` and ``keyword`` rank by one side alone (for ``tilsite eval``).
        """
        import numpy as np

        if method not in METHODS:
            raise ValueError(f"unknown search method {method!r}; expected one of {', '.join(METHODS)}")
        count = len(self.index.records)
        if not count or not query.strip():
            return []
        if self._query_vector is None or self._query_vector[0] != query:
            vector = self.model.embed_batch([query], "query")
            self._query_vector = (query, shift_query(self._shifts, query, vector[0])[None, :])
        vector = self._query_vector[1]
        depth = min(count, max(CANDIDATES, top * 4))
        rankings: list[tuple[list[int], float]] = []
        owners = self.index.passages[1]
        if method != "keyword":
            # A section ranks by the best of its own row and its passages' rows (tilsite.index.passages).
            rows = min(count + len(owners), depth + len(owners))
            _, positions = self._faiss.search(np.ascontiguousarray(vector, dtype=np.float32), rows)
            dense = [int(row) if row < count else int(owners[row - count]) for row in positions[0] if row >= 0]
            rankings.append((list(dict.fromkeys(dense))[:depth], 1.0))
        if method != "dense":
            if method == "hybrid":
                keyword = [position for position, _ in self._keywords.rank(query, KEYWORD_VOTES)]
                rankings.append((keyword, self.keyword_weight * self._keywords.known_share(query)))
            else:
                rankings.append(([position for position, _ in self._keywords.rank(query, depth)], 1.0))
        fused = fuse(rankings)
        all_similarities = self.index.similarities(vector[0])
        order = sorted(fused, key=lambda position: (-fused[position], -all_similarities[position]))
        hits: list[SearchHit] = []
        seen_notes: set[str] = set()
        for position in order:
            record = self.index.records[position]
            if notes:
                if record.path in seen_notes:
                    continue
                seen_notes.add(record.path)
            snippet = query_snippet(record.text, query)
            hits.append(SearchHit(record, fused[position], float(all_similarities[position]), snippet))
            if len(hits) >= top:
                break
        return hits
