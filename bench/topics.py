"""Topics against folders, the labels, and near-copies, on public repositories (bench/topics.md).

For each repository organised by topic folders, the topics of ``tilsite.results.topics`` are compared
with the notes' top-level folders (normalised mutual information and purity) beside the baseline the
issue names: spherical k-means on TF-IDF vectors alone (``keyword_vectors``, the same TF-IDF as related
notes) with the same number of topics, mean and spread over five seeds (tilsite's own topics use one
fixed seed: the mean of five seeds of the same grouping is given too). Near-copies are counted at the
calibrated thresholds and at looser ones. Each repository is checked out at a pinned commit and indexed
(``tilsite init`` + ``tilsite index``) below ``--root``; this script fetches nothing.

Usage: python bench/topics.py --root /work/field [--out bench/topics.json]
       python bench/topics.py --markdown bench/topics.json      (the tables of bench/topics.md)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))

SETS = {
    # name: (folder below --root, pinned commit, compare with folders)
    "simonw/til": ("simonw+til", "8d908b6", True),
    "jbranchaud/til": ("jbranchaud+til", "453e9ed", True),
    "shioimm/til": ("shioimm+til", "9210ddf", True),
    "0h328/TIL": ("0h328+TIL", "f41ce0f", True),
    "nyum76/TIL": ("nyum76+TIL", "894ec7d", False),
}
SEEDS = 5
OVERLAPS = (0.5, 0.6, 0.7, 0.8)


def agreement(groups, folders) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Normalised mutual information (arithmetic mean of the entropies) and purity of ``groups`` against
    ``folders`` (two label arrays)."""
    import numpy as np

    rows = np.unique(groups, return_inverse=True)[1]
    columns = np.unique(folders, return_inverse=True)[1]
    table = np.zeros((rows.max() + 1, columns.max() + 1))
    np.add.at(table, (rows, columns), 1)
    joint = table / len(rows)
    left, right = joint.sum(axis=1), joint.sum(axis=0)
    seen = joint > 0
    information = float((joint[seen] * np.log(joint[seen] / np.outer(left, right)[seen])).sum())
    entropy = float(-(left * np.log(left)).sum() - (right * np.log(right)).sum())
    return (2 * information / entropy if entropy else 0.0), float(table.max(axis=1).sum() / len(rows))


def measure(folder: Path, with_folders: bool) -> dict:
    import numpy as np

    from tilsite.index.store import load_index
    from tilsite.results import topics as topics_module
    from tilsite.results.copies import MIN_COSINE, find_near_copies
    from tilsite.results.keywords import keyword_vectors
    from tilsite.results.related import DEFAULT_EXCLUDE, KEYWORD_CHARS, note_texts

    index = load_index(folder / ".tilsite" / "index")
    start = time.perf_counter()
    found = topics_module.compute_topics(index, DEFAULT_EXCLUDE)
    seconds = time.perf_counter() - start
    paths = sorted(found.topic_of)
    count = len(found.topics)
    row: dict = {
        "notes": len(paths),
        "sections": len(index.records),
        "topics": count,
        "seconds": round(seconds, 2),
        "labels": [[topic.label, len(topic.notes)] for topic in found.topics],
    }
    if with_folders:
        folders = np.array([path.split("/")[0] if "/" in path else "." for path in paths])
        ours = np.array([found.topic_of[path] for path in paths])
        row["folders"] = len(set(folders.tolist()))
        row["tilsite"] = agreement(ours, folders)
        _, _, features = topics_module.note_features(index, DEFAULT_EXCLUDE)
        reduced = topics_module.reduced_rows(features)
        reduced /= np.maximum(np.linalg.norm(reduced, axis=1, keepdims=True), 1e-12)
        texts = note_texts(index)
        keywords = keyword_vectors([texts[path][:KEYWORD_CHARS] for path in paths]).astype(np.float64)
        keywords /= np.maximum(np.linalg.norm(keywords, axis=1, keepdims=True), 1e-12)
        for name, rows in (("tilsite_seeds", reduced), ("tfidf", keywords)):
            scores = [
                agreement(topics_module.spherical_kmeans(rows, count, seed=seed), folders) for seed in range(SEEDS)
            ]
            row[name] = {
                "nmi": [float(np.mean([s[0] for s in scores])), float(np.std([s[0] for s in scores]))],
                "purity": [float(np.mean([s[1] for s in scores])), float(np.std([s[1] for s in scores]))],
            }
    copies = find_near_copies(index)
    row["near_copies"] = len(copies)
    row["near_copy_examples"] = [
        [pair.first.path, pair.first.heading, pair.second.path, pair.second.heading, round(pair.overlap, 2)]
        for pair in copies[:6]
    ]
    # Looser overlaps, for the calibration: how many more pairs each would flag.
    from tilsite.results import copies as copies_module

    saved = copies_module.MIN_OVERLAP
    try:
        counts = {}
        for overlap in OVERLAPS:
            copies_module.MIN_OVERLAP = overlap
            counts[str(overlap)] = len(copies_module.find_near_copies(index))
    finally:
        copies_module.MIN_OVERLAP = saved
    row["near_copies_by_overlap"] = counts
    row["near_copy_cosine"] = MIN_COSINE
    return row


def markdown(results: dict) -> str:
    lines = [
        "| repository (commit) | notes | folders | topics | NMI tilsite | NMI TF-IDF k-means | purity tilsite"
        " | purity TF-IDF k-means | time |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, row in results.items():
        if "tilsite" not in row:
            continue
        nmi, purity = row["tilsite"]
        base = row["tfidf"]
        lines.append(
            f"| {name} ({row['commit']}) | {row['notes']} | {row['folders']} | {row['topics']} | **{nmi:.3f}**"
            f" (5 seeds {row['tilsite_seeds']['nmi'][0]:.3f} ± {row['tilsite_seeds']['nmi'][1]:.3f})"
            f" | {base['nmi'][0]:.3f} ± {base['nmi'][1]:.3f} | **{purity:.3f}** | {base['purity'][0]:.3f}"
            f" ± {base['purity'][1]:.3f} | {row['seconds']} s |"
        )
    lines += ["", "| repository | near-copies (overlap ≥ 0.5 / 0.6 / **0.7** / 0.8, cosine ≥ 0.9) |", "| --- | --- |"]
    for name, row in results.items():
        counts = row["near_copies_by_overlap"]
        shown = " / ".join(f"**{counts[key]}**" if key == "0.7" else str(counts[key]) for key in map(str, OVERLAPS))
        lines.append(f"| {name} | {shown} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path)
    parser.add_argument("--out", type=Path, default=HERE / "topics.json")
    parser.add_argument("--markdown", type=Path, help="print the tables of a results file and stop")
    args = parser.parse_args()
    if args.markdown:
        print(markdown(json.loads(args.markdown.read_text(encoding="utf-8"))))
        return
    if args.root is None:
        parser.error("give --root (the folder of the indexed checkouts) or --markdown")
    results = {}
    for name, (folder, commit, with_folders) in SETS.items():
        print(f"{name} ...", file=sys.stderr, flush=True)
        results[name] = {"commit": commit, **measure(args.root / folder, with_folders)}
    args.out.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    print(markdown(results))


if __name__ == "__main__":
    main()
