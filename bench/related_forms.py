"""Related notes with and without the sections that a tool repeats in many notes (``related.template_sections``).

BaekjoonHub, an online judge's extension, writes every solved problem as a note with the same sections
(``문제 링크``, ``성능 요약`` with the memory and time, ``제출 일자``) around the problem's own statement.
This script builds the related lists of one indexed site twice, on the same index: as tilsite does (those
sections left out of note vectors and never chosen as where two notes meet) and with nothing marked (the
ranking before that change). It prints, for each:

- how many related entries meet at a template section (this note's or the other's), which is what the
  page then names as the reason two notes are related;
- same-folder precision (as ``tilsite eval --related``);
- with ``--tags HEADING``: over notes with a section of that heading (``분류`` in BaekjoonHub notes, a list
  of the problem's categories such as ``그래프 이론, 너비 우선 탐색``), the share of listed related notes
  with such a section that share at least one category with the note: a topic measure for
  repositories whose folders are not topics.

It fetches nothing: check the repository out, run ``tilsite init`` and ``tilsite index`` in it, then
``python bench/related_forms.py --site DIR [--tags 분류] [--json OUT]``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path
from unittest import mock

os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")


def categories(index, heading: str) -> dict[str, set[str]]:
    """Each note's categories: the comma-separated items of its section titled ``heading``."""
    found: dict[str, set[str]] = {}
    for record in index.records:
        if record.heading.split(" > ")[-1].strip() == heading:
            items = {item.strip() for item in re.split(r"[,，]", record.text.split("\n", 1)[-1]) if item.strip()}
            items.discard(heading)
            if items:
                found.setdefault(record.path, set()).update(items)
    return found


def measure(index, related, template, tags: dict[str, set[str]] | None, count: int) -> dict[str, float]:
    """The numbers printed for one ranking."""
    from tilsite.results import evaluate

    entries = [item for items in related.values() for item in items]
    keys = {(record.path, record.anchor, record.text_hash): row for row, record in enumerate(index.records)}

    def is_template(record) -> bool:
        return bool(template[keys[(record.path, record.anchor, record.text_hash)]])

    at_forms = sum(is_template(item.source) or is_template(item.target) for item in entries)
    paths = sorted(related)
    scores = evaluate.folder_scores(evaluate.related_lists(related), sorted({r.path for r in index.records}), count)
    result = {
        "entries": len(entries),
        "meet_at_template": round(at_forms / max(len(entries), 1), 4),
        "folder_precision": round(scores.precision, 4),
        "filled": round(scores.filled, 4),
    }
    if tags:
        shares = []
        for path in paths:
            if path not in tags:
                continue
            tagged = [item.target.path for item in related[path] if item.target.path in tags]
            if tagged:
                shares.append(sum(bool(tags[path] & tags[other]) for other in tagged) / len(tagged))
        result["tag_notes"] = len(shares)
        result["tag_precision"] = round(sum(shares) / max(len(shares), 1), 4)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", type=Path, required=True, help="an indexed site (holds mkdocs.yml and .tilsite)")
    parser.add_argument("--tags", help="heading of the section that lists a note's categories (e.g. 분류)")
    parser.add_argument("--json", type=Path, help="write the results here too")
    arguments = parser.parse_args()

    import numpy as np

    from tilsite.cli import load_site
    from tilsite.index.store import load_index
    from tilsite.results import related as related_module

    _, settings = load_site(arguments.site / "mkdocs.yml")
    index = load_index(settings.work.index)
    template = related_module.template_sections(index.records)
    tags = categories(index, arguments.tags) if arguments.tags else None
    exclude = settings.related_exclude
    count = settings.related_count or 5
    results: dict[str, object] = {
        "sections": len(index.records),
        "template_sections": int(template.sum()),
        "notes_with_template": len({r.path for r, t in zip(index.records, template, strict=True) if t}),
    }
    ours = related_module.compute_related(index, count, settings.related_threshold, exclude)
    results["tilsite"] = measure(index, ours, template, tags, count)
    nothing = np.zeros(len(index.records), dtype=bool)
    with mock.patch.object(related_module, "template_sections", lambda records: nothing):
        plain = related_module.compute_related(index, count, settings.related_threshold, exclude)
    results["nothing marked"] = measure(index, plain, template, tags, count)
    json.dump(results, sys.stdout, ensure_ascii=False, indent=2)
    print()
    if arguments.json:
        arguments.json.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
