"""How good search and related notes are on a site's own notes: ``tilsite eval``.

Search is scored against questions a user writes down with the notes that answer them (one JSON
object a line: ``{"query": "...", "expect": ["note.md", ...]}``), at the level of notes: hit@1 and
hit@5 (an expected note among the first 1 or 5 notes listed) and MRR@10 (the mean of 1/rank of the
first expected note within 10, else 0). Each ranking is scored: keyword alone, dense alone, and the
hybrid one, which is exactly what ``tilsite search --notes`` lists.

Related notes are scored against the folders of a repository organised by topic: the share of a
note's related notes that sit in its own topic folder, beside a keyword (TF-IDF) baseline.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tilsite.errors import TilsiteError
from tilsite.results.search import METHODS

if TYPE_CHECKING:
    import numpy

    from tilsite.index.store import SectionIndex
    from tilsite.results.related import RelatedNote
    from tilsite.results.search import Searcher

HIT_DEPTHS = (1, 5)
MRR_DEPTH = 10


class QueriesError(TilsiteError):
    """A queries file that cannot be read."""


@dataclass(slots=True, frozen=True)
class Query:
    """A question and the notes that answer it."""

    query: str
    expect: tuple[str, ...]
    """Note paths relative to the notes folder."""
    group: str = ""
    """An optional label (the file's ``lang``) that results are also broken down by."""


def read_queries(path: Path, known: set[str] | None = None) -> list[Query]:
    """Questions from a JSON-lines file; one-line errors name the file and line.

    With ``known`` (the indexed note paths), an expected note that is not indexed is an error too: it
    could never be found, and would count as a miss of the search rather than of the file.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise QueriesError(f"{path}: cannot read the queries file ({exc}).") from exc
    queries: list[Query] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("//"):
            continue
        where = f"{path}:{number}"
        try:
            item = json.loads(line)
        except ValueError as exc:
            raise QueriesError(f"{where}: not a JSON object ({exc.args[0]}).") from exc
        if not isinstance(item, dict):
            raise QueriesError(f'{where}: expected an object like {{"query": "...", "expect": ["note.md"]}}.')
        query, expect = item.get("query"), item.get("expect")
        if isinstance(expect, str):
            expect = [expect]
        if not isinstance(query, str) or not query.strip():
            raise QueriesError(f'{where}: "query" must be a non-empty string.')
        if not isinstance(expect, list) or not expect or not all(isinstance(e, str) and e for e in expect):
            raise QueriesError(f'{where}: "expect" must list the paths of the notes that answer the query.')
        paths = tuple(e.replace("\\", "/").removeprefix("./") for e in expect)
        if known is not None:
            unknown = [e for e in paths if e not in known]
            if unknown:
                raise QueriesError(
                    f"{where}: {unknown[0]} is not an indexed note (paths are relative to the notes folder)."
                )
        group = item.get("lang", "")
        queries.append(Query(query, paths, group if isinstance(group, str) else ""))
    if not queries:
        raise QueriesError(f"{path}: no queries in the file.")
    return queries


@dataclass(slots=True)
class Scores:
    """Note-level ranking quality over a set of queries."""

    queries: int = 0
    hits: dict[int, int] = field(default_factory=lambda: dict.fromkeys(HIT_DEPTHS, 0))
    reciprocal: float = 0.0

    def add(self, rank: int | None) -> None:
        """Count one query whose first expected note came at ``rank`` (1-based; None when not listed)."""
        self.queries += 1
        for depth in HIT_DEPTHS:
            if rank is not None and rank <= depth:
                self.hits[depth] += 1
        if rank is not None and rank <= MRR_DEPTH:
            self.reciprocal += 1.0 / rank

    def as_dict(self) -> dict[str, float]:
        """``hit@1``, ``hit@5`` and ``mrr@10`` as shares of the queries."""
        total = self.queries or 1
        scores = {f"hit@{depth}": round(self.hits[depth] / total, 4) for depth in HIT_DEPTHS}
        scores[f"mrr@{MRR_DEPTH}"] = round(self.reciprocal / total, 4)
        return scores


@dataclass(slots=True)
class SearchEvaluation:
    """Scores of every ranking, overall and by group, and the hybrid ranking's misses."""

    overall: dict[str, Scores]
    groups: dict[str, dict[str, Scores]]
    misses: list[dict[str, object]]
    """Queries whose expected notes the hybrid ranking does not list in its first five."""

    def as_dict(self) -> dict[str, object]:
        """JSON-ready results."""
        return {
            "queries": next(iter(self.overall.values())).queries,
            "methods": {method: scores.as_dict() for method, scores in self.overall.items()},
            "groups": {
                group: {method: scores.as_dict() for method, scores in by_method.items()}
                for group, by_method in sorted(self.groups.items())
            },
            "misses": self.misses,
        }


def first_rank(ranked: Sequence[str], expect: Sequence[str]) -> int | None:
    """1-based rank of the first expected note in ``ranked``, or None."""
    for rank, path in enumerate(ranked, start=1):
        if path in expect:
            return rank
    return None


def evaluate_search(
    searcher: Searcher, queries: Sequence[Query], progress: Callable[[int, int], None] | None = None
) -> SearchEvaluation:
    """Score keyword, dense and hybrid note rankings of ``searcher`` on ``queries``."""

    def ranked(item: Query, method: str) -> list[str]:
        return [hit.record.path for hit in searcher.search(item.query, MRR_DEPTH, notes=True, method=method)]

    return score_rankings(queries, ranked, progress)


def score_rankings(
    queries: Sequence[Query],
    ranked: Callable[[Query, str], Sequence[str]],
    progress: Callable[[int, int], None] | None = None,
) -> SearchEvaluation:
    """Score the note rankings ``ranked(query, method)`` gives for each of ``METHODS`` on ``queries``."""
    overall = {method: Scores() for method in METHODS}
    groups: dict[str, dict[str, Scores]] = {}
    misses: list[dict[str, object]] = []
    for done, item in enumerate(queries):
        for method in METHODS:
            notes = list(ranked(item, method))
            rank = first_rank(notes, item.expect)
            overall[method].add(rank)
            if item.group:
                groups.setdefault(item.group, {m: Scores() for m in METHODS})[method].add(rank)
            if method == "hybrid" and (rank is None or rank > max(HIT_DEPTHS)):
                misses.append({"query": item.query, "expect": list(item.expect), "rank": rank, "got": notes[:3]})
        if progress:
            progress(done + 1, len(queries))
    return SearchEvaluation(overall, groups, misses)


def top_folder(path: str) -> str:
    """The top-level folder of a note path ('' for a note at the top)."""
    return path.split("/", 1)[0] if "/" in path else ""


def shared_folder(paths: Sequence[str]) -> str:
    """The folder that holds every one of ``paths``, with a closing slash ('' when they share none): a
    repository that keeps all its notes in ``documents/`` has its topics one level further down."""
    folders = [path.split("/")[:-1] for path in paths]
    common: list[str] = []
    for parts in zip(*folders, strict=False) if folders else ():  # as deep as the shallowest note
        if any(part != parts[0] for part in parts):
            break
        common.append(parts[0])
    return "".join(f"{part}/" for part in common)


@dataclass(slots=True, frozen=True)
class FolderScores:
    """How well related lists stay within the notes' own topic folders (``folder_scores``)."""

    notes: int
    """Notes scored: those in a topic folder holding at least one other scored note."""
    folders: int
    precision: float
    """Mean share of a scored note's listed related notes that sit in its folder (notes listing none skipped)."""
    filled: float
    """Mean number of related notes listed per scored note, as a share of ``count``."""
    strict: float
    """Mean number of same-folder notes among the first ``count``, divided by ``count`` (empty places are misses)."""

    def as_dict(self) -> dict[str, float | int]:
        """JSON-ready fields."""
        return {
            "notes": self.notes,
            "folders": self.folders,
            "precision": round(self.precision, 4),
            "filled": round(self.filled, 4),
            "strict": round(self.strict, 4),
        }


def folder_scores(lists: dict[str, list[str]], paths: Sequence[str], count: int) -> FolderScores:
    """Score related ``lists`` (note path → related note paths, best first) of ``paths`` against their folders:
    the first folder below the one all ``paths`` share (``shared_folder``), the top-level one in most
    repositories."""
    shared = shared_folder(paths)

    def folder(path: str) -> str:
        return top_folder(path.removeprefix(shared)) if path.startswith(shared) else ""

    sizes: dict[str, int] = {}
    for path in paths:
        sizes[folder(path)] = sizes.get(folder(path), 0) + 1
    scored = [path for path in paths if folder(path) and sizes[folder(path)] > 1]
    precision: list[float] = []
    filled = strict = 0.0
    for path in scored:
        listed = lists.get(path, [])[:count]
        same = sum(folder(other) == folder(path) for other in listed)
        if listed:
            precision.append(same / len(listed))
        filled += len(listed) / count
        strict += same / count
    total = len(scored) or 1
    return FolderScores(
        len(scored),
        len({folder(path) for path in scored}),
        sum(precision) / len(precision) if precision else 0.0,
        filled / total,
        strict / total,
    )


def nearest(vectors: numpy.ndarray, paths: Sequence[str], count: int) -> dict[str, list[str]]:
    """For every note (``paths`` in the order of the rows of ``vectors``), the ``count`` other notes with
    the highest inner product of their vectors: a baseline to score related notes against."""
    import numpy as np

    similarities = vectors @ vectors.T
    np.fill_diagonal(similarities, -np.inf)
    best = np.argsort(-similarities, axis=1, kind="stable")[:, : min(count, len(paths) - 1)]  # never the note itself
    return {path: [paths[other] for other in best[row]] for row, path in enumerate(paths)}


def keyword_baseline(index: SectionIndex, paths: Sequence[str], count: int) -> dict[str, list[str]]:
    """The related notes TF-IDF alone would list for ``paths`` (the notes that get and appear in lists)."""
    from tilsite.results.keywords import keyword_vectors
    from tilsite.results.related import note_texts

    texts = note_texts(index)
    return nearest(keyword_vectors([texts[path] for path in paths]), paths, count)


def related_lists(related: dict[str, list[RelatedNote]]) -> dict[str, list[str]]:
    """Related note paths of every note, best first."""
    return {path: [item.target.path for item in items] for path, items in related.items()}
