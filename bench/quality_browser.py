"""Search quality as the site ranks it: the browser's query model run in Python, the published int8 vectors.

For each Korean set of bench/quality.py (checked out below ``--root``, indexed and built with ``tilsite
build``, so that ``site/`` holds the browser's model), hit@1 / hit@5 / MRR@10 of the hybrid ranking with
the build's query vectors and float vectors (what ``tilsite search`` does) and with the browser's query
vectors (its 4-bit, cut-vocabulary model, run by onnxruntime here) and the int8 vectors the site
publishes, each with and without the query shift (``search.QUERY_SHIFT``).

Usage: python bench/quality_browser.py --root /work/field [--only tnpfldyd/TIL ...]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))
SETS = {"nyum76/TIL": ("nyum76+TIL", "nyum76-til.jsonl"), "0h328/TIL": ("0h328+TIL", "0h328-til.jsonl")}
SETS["milooy/TIL"] = ("milooy+TIL", "milooy-til.jsonl")
SETS["tnpfldyd/TIL"] = ("tnpfldyd+TIL", "tnpfldyd-til.jsonl")


class FixedVectors:
    """A model that answers each query with a vector computed beforehand."""

    model_id = "fixed"

    def __init__(self, vectors: dict) -> None:
        self.vectors = vectors

    def embed_batch(self, texts: list[str], kind: str):
        import numpy as np

        return np.array([self.vectors[text] for text in texts])


def main() -> None:
    import numpy as np

    from tilsite.cli import _load_index, load_site
    from tilsite.model.browser import BROWSER_MODEL_FILE
    from tilsite.model.encoder import OnnxEncoder
    from tilsite.results import evaluate
    from tilsite.results import search as searching
    from tilsite.site.published import SEARCH_DIR, quantize_rows

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--only", action="append", help="Run only these sets (names as in SETS).")
    arguments = parser.parse_args()
    print("| set | query vectors, section vectors | shift | hybrid hit@1 / hit@5 / MRR@10 |")
    print("| --- | --- | --- | --- |")
    for name in arguments.only or list(SETS):
        folder, questions = SETS[name]
        project = arguments.root / folder
        _, settings = load_site(project / "mkdocs.yml")
        index, model = _load_index(settings)
        queries = evaluate.read_queries(HERE / "quality" / questions, {record.path for record in index.records})
        models = sorted((project / "site" / SEARCH_DIR / "models").iterdir())
        if len(models) != 1:
            raise SystemExit(f"{project}: build the site first (tilsite build); found {len(models)} browser models")
        browser = OnnxEncoder(models[0] / BROWSER_MODEL_FILE, models[0] / "tokenizer.json", max_length=256, pad_id=1)
        build_vectors = {item.query: model.embed_batch([item.query], "query")[0] for item in queries}
        browser_vectors = {item.query: browser.encode([f"query: {item.query}"])[0] for item in queries}
        rows = np.vstack([index.vectors, index.passages[0]])
        codes, scales = quantize_rows(rows)
        published = (codes.astype(np.float32) * scales[:, None]).astype(np.float32)
        count, owners = len(index.records), index.passages[1]
        for label, vectors, sections in (
            ("build's, float32", build_vectors, None),
            ("browser's, int8", browser_vectors, published),
        ):
            if sections is not None:
                index._vectors, index._passages = sections[:count], (sections[count:], owners)
            for shift in (0.0, searching.QUERY_SHIFT):
                original, searching.QUERY_SHIFT = searching.QUERY_SHIFT, shift
                found = evaluate.evaluate_search(searching.Searcher(index, FixedVectors(vectors)), queries)
                searching.QUERY_SHIFT = original
                scores = found.as_dict()["methods"]["hybrid"]
                cells = f"{scores['hit@1']:.3f} / {scores['hit@5']:.3f} / {scores['mrr@10']:.3f}"
                print(f"| {name} | {label} | {shift} | {cells} |", flush=True)
        model.close()


if __name__ == "__main__":
    main()
