"""Is a cheaper CPU back end worth making the default? int8 dynamic quantisation vs float32.

    python bench/backends.py [--docs docs]

Embeds the sample notes' sections with the default model in float32 (PyTorch)
and with PyTorch dynamic int8 quantisation of every Linear layer, then reports
speed, vector agreement (cosine) and ranking agreement: for each query, the
overlap of the top-5 sections. (sentence-transformers' own ONNX / OpenVINO
back ends need `optimum`, which does not install beside sentence-transformers 6.)
Results go to bench/backends.md.
"""

from __future__ import annotations

import argparse
import copy
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

    from tilsite.builder import Settings, collect_sections
    from tilsite.embeddings import load_model
    from tilsite.slugs import SlugSettings

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=Path, default=HERE.parent / "docs")
    args = parser.parse_args()

    settings = Settings(docs_dir=args.docs, work_dir=Path(tempfile.mkdtemp()), slugs=SlugSettings())
    _, sections = collect_sections(settings, [])
    texts = [section.embedding_text for section in sections]
    model = load_model()
    model.embed_batch(texts[:4], "passage")
    fp32 = model._load()  # type: ignore[attr-defined]
    int8 = copy.deepcopy(fp32)
    int8[0].model = torch.ao.quantization.quantize_dynamic(int8[0].model, {torch.nn.Linear}, dtype=torch.qint8)

    results = {}
    for name, encoder in (("float32", fp32), ("int8 dynamic", int8)):
        start = time.perf_counter()
        passages = encoder.encode(texts, prompt="passage: ", batch_size=32, normalize_embeddings=True)
        elapsed = time.perf_counter() - start
        queries = encoder.encode(QUERIES, prompt="query: ", normalize_embeddings=True)
        results[name] = (passages, queries, len(texts) / elapsed)

    base_passages, base_queries, base_speed = results["float32"]
    lines = [
        "# Embedding back ends on CPU",
        "",
        f"Measured by `python bench/backends.py` in one run: {len(texts)} sections of the sample notes,"
        f" {len(QUERIES)} Korean/English queries.",
        "",
        "| back end | sections/s | speed vs float32 | mean cosine to float32 vectors | top-5 agreement |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, (passages, queries, speed) in results.items():
        cosine = float(np.mean(np.sum(passages * base_passages, axis=1)))
        overlaps = []
        for row in range(len(QUERIES)):
            ours = set(np.argsort(-(passages @ queries[row]))[:5])
            truth = set(np.argsort(-(base_passages @ base_queries[row]))[:5])
            overlaps.append(len(ours & truth) / 5)
        lines.append(
            f"| {name} | {speed:.1f} | {speed / base_speed:.2f}× | {cosine:.4f} | {float(np.mean(overlaps)):.2f} |"
        )
    (HERE / "backends.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
