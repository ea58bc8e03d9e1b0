"""Where does an approximate FAISS index start to pay off for tilsite's workloads?

    python bench/faiss_crossover.py [--sizes 2000 10000 30000 60000]

tilsite queries its index two ways: related notes search every section against
all others once per build (n queries), and `tilsite search` asks one query. The
script times exact ``IndexFlatIP`` against ``IndexHNSWFlat`` (inner product) on
clustered unit vectors shaped like section embeddings (384 dimensions, topics as
clusters) and measures HNSW's recall@10 against the exact answer. Results go to
bench/faiss.md.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import faiss
import numpy as np

HERE = Path(__file__).resolve().parent
DIMENSION = 384
K = 10


def clustered(count: int, rng: np.random.Generator) -> np.ndarray:
    centres = rng.normal(size=(max(count // 50, 10), DIMENSION)).astype(np.float32)
    vectors = centres[rng.integers(0, len(centres), count)] + 0.8 * rng.normal(size=(count, DIMENSION))
    vectors = vectors.astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def single_query_ms(index: faiss.Index, queries: np.ndarray, repeats: int = 20) -> float:
    """Average latency of one-query searches, as `tilsite search` makes them."""
    start = time.perf_counter()
    for row in range(repeats):
        index.search(queries[row : row + 1], K)
    return (time.perf_counter() - start) / repeats * 1000


def measure(count: int, rng: np.random.Generator) -> dict[str, float]:
    vectors = clustered(count, rng)
    queries = vectors[rng.choice(count, size=min(count, 2000), replace=False)]

    start = time.perf_counter()
    exact = faiss.IndexFlatIP(DIMENSION)
    exact.add(vectors)
    _, truth = exact.search(queries, K)
    exact_batch = time.perf_counter() - start
    exact_single_ms = single_query_ms(exact, queries)

    start = time.perf_counter()
    hnsw = faiss.IndexHNSWFlat(DIMENSION, 32, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = 80
    hnsw.add(vectors)
    hnsw_build = time.perf_counter() - start
    hnsw.hnsw.efSearch = 64
    start = time.perf_counter()
    _, found = hnsw.search(queries, K)
    hnsw_batch = time.perf_counter() - start
    hnsw_single_ms = single_query_ms(hnsw, queries)

    recall = np.mean([len(set(a) & set(b)) / K for a, b in zip(truth, found, strict=True)])
    scale = count / len(queries)  # related notes query every section
    return {
        "sections": count,
        "exact_all_s": exact_batch * scale,
        "hnsw_all_s": hnsw_build + hnsw_batch * scale,
        "exact_query_ms": exact_single_ms,
        "hnsw_query_ms": hnsw_single_ms,
        "recall": float(recall),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 10000, 30000, 60000])
    args = parser.parse_args()
    rng = np.random.default_rng(3)
    rows = [measure(size, rng) for size in args.sizes]
    lines = [
        "# Exact vs approximate FAISS index",
        "",
        "Measured by `python bench/faiss_crossover.py` in one run (2 cores). 'All sections' is the related-notes",
        "workload (every section queried once, HNSW time includes building it); 'one query' is `tilsite search`.",
        "",
        "| sections | all sections: exact | all sections: HNSW | one query: exact | one query: HNSW | HNSW recall@10 |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        lines.append(
            f"| {row['sections']:.0f} | {row['exact_all_s']:.2f} s | {row['hnsw_all_s']:.2f} s"
            f" | {row['exact_query_ms']:.2f} ms | {row['hnsw_query_ms']:.2f} ms | {row['recall']:.3f} |"
        )
    (HERE / "faiss.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
