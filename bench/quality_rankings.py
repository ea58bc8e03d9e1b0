"""Rankings of one tilsite version on one site, as JSON, for bench/quality.py to score.

Runs under whichever tilsite is first on the path (``PYTHONPATH=<checkout>`` for an earlier version), so
it uses only what every version since 7e8caa4 has: ``load_site``, ``load_index``, ``load_model``,
``Searcher.search(..., notes=True)``, ``KeywordRanker`` and ``compute_related``.

Usage: python bench/quality_rankings.py CONFIG [--index DIR] [--queries FILE] [--related]
Prints {"search": {query: {"hybrid": [...], "dense": [...], "keyword": [...]}}, "related": {note: [...]}}.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
DEPTH = 10


def notes_of(positions, records) -> list[str]:
    """Note paths in the order of their first section in ``positions``, at most ``DEPTH``."""
    notes: list[str] = []
    for position in positions:
        path = records[int(position)].path
        if path not in notes:
            notes.append(path)
        if len(notes) == DEPTH:
            break
    return notes


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("config", type=Path)
    parser.add_argument("--index", type=Path, help="An index folder other than the site's own.")
    parser.add_argument("--queries", type=Path)
    parser.add_argument("--related", action="store_true")
    arguments = parser.parse_args()

    import numpy as np

    from tilsite.cli import load_site
    from tilsite.index.store import load_index
    from tilsite.model.models import load_model
    from tilsite.results.keywords import KeywordRanker
    from tilsite.results.related import compute_related
    from tilsite.results.search import Searcher

    _, settings = load_site(arguments.config)
    model = load_model(settings.model)
    index = load_index(arguments.index or settings.work.index, model_id=model.model_id)
    records = index.records
    output: dict[str, object] = {"sections": len(records)}
    if arguments.queries:
        searcher = Searcher(index, model)
        try:
            from tilsite.results.search import query_shifts, shift_query
        except ImportError:  # an earlier version
            shifts = None
        else:
            shifts = query_shifts(index)
        keywords = KeywordRanker([f"{r.title}\n{r.heading}\n{r.text}" for r in records])
        search: dict[str, dict[str, list[str]]] = {}
        for line in arguments.queries.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            query = json.loads(line)["query"]
            hybrid = [hit.record.path for hit in searcher.search(query, DEPTH, notes=True)]
            vector = model.embed_batch([query], "query")[0]
            if shifts is not None:  # since 2026-12-02 the query gives up part of its script's mean (search.py)
                vector = shift_query(shifts, query, vector)
            # Since 2026-12-01 a section scores by its best passage too (SectionIndex.similarities).
            similarities = index.similarities(vector) if hasattr(index, "similarities") else index.vectors @ vector
            dense = notes_of(np.argsort(-similarities, kind="stable"), records)
            keyword = notes_of([position for position, _ in keywords.rank(query, len(records))], records)
            search[query] = {"hybrid": hybrid, "dense": dense, "keyword": keyword}
        output["search"] = search
    if arguments.related:
        started = time.perf_counter()
        related = compute_related(index, settings.related_count, settings.related_threshold, settings.related_exclude)
        output["related_seconds"] = round(time.perf_counter() - started, 3)
        output["related"] = {path: [item.target.path for item in items] for path, items in related.items()}
    model.close()
    print(json.dumps(output, ensure_ascii=False))


if __name__ == "__main__":
    main()
