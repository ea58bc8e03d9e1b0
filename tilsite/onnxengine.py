"""Run the default model with onnxruntime: the same weights as the sentence-transformers folder, loaded in a second.

A build that embeds only a few changed sections spent most of its time loading
PyTorch and sentence-transformers (about 6 s here). The default model is
therefore exported once, in float32, to ONNX beside its converted folder, and
embedded with onnxruntime and the ``tokenizers`` library: the vectors equal the
PyTorch ones to a cosine above 0.99999 (tested), so they share the embedding
cache, and loading takes about a second and a half. bench/backends.md has the
measurements.

The export needs PyTorch once; after that, PyTorch is not imported by builds.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tilsite.converter import file_sha256, staged_folder
from tilsite.errors import ModelError

if TYPE_CHECKING:
    import numpy

ENGINE_VERSION = 1
MODEL_FILE = "model.onnx"
_MANIFEST = "tilsite-onnx.json"


def export_folder(model_folder: Path) -> Path:
    """Where the fp32 ONNX export of ``model_folder`` lives (it may not exist yet)."""
    return model_folder.with_name(f"{model_folder.name}-onnx{ENGINE_VERSION}")


def is_intact(folder: Path) -> bool:
    """True when ``folder`` holds a complete export of this version whose model file matches its hash."""
    return _verify(folder)


def ensure_onnx_model(model_folder: Path, echo: Any = None) -> Path:
    """Return a verified folder holding the fp32 ONNX export of ``model_folder``, exporting it once."""
    target = export_folder(model_folder)
    if _verify(target):
        return target
    if echo:
        echo("Exporting the model to ONNX for faster loading (once) ...")
    from tilsite.webmodel import export_onnx

    with staged_folder(target) as staging:
        export_onnx(model_folder, staging / MODEL_FILE)
        if any(path.name != MODEL_FILE for path in staging.iterdir()):
            raise ModelError(f"{model_folder}: the ONNX export wrote external data files; it is not supported")
        manifest = {"version": ENGINE_VERSION, "sha256": file_sha256(staging / MODEL_FILE)}
        (staging / _MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return target


def _verify(folder: Path) -> bool:
    try:
        manifest = json.loads((folder / _MANIFEST).read_text(encoding="utf-8"))
        return manifest.get("version") == ENGINE_VERSION and manifest.get("sha256") == file_sha256(folder / MODEL_FILE)
    except (OSError, ValueError):
        return False


@functools.lru_cache(maxsize=2)
def load_tokenizer(path: Path) -> Any:
    """A ``tokenizers.Tokenizer`` from a ``tokenizer.json``, shared (never modify it): loading the
    multilingual one takes half a second."""
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(path))


class OnnxEncoder:
    """Mean-pooled, normalised sentence vectors from an exported BERT encoder."""

    def __init__(
        self,
        onnx_file: Path,
        tokenizer_file: Path,
        *,
        max_length: int,
        pad_id: int,
        verify: Callable[[], bool] | None = None,
    ) -> None:
        """Load the model; ``verify`` (a hash check of ``onnx_file``) runs first, and a failed or
        impossible load raises ``ModelError``."""
        import onnxruntime

        if verify is not None and not verify():
            raise ModelError(f"{onnx_file}: missing, or it does not match its recorded hash")
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        try:
            self.session = onnxruntime.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ModelError(f"{onnx_file}: onnxruntime cannot load it ({str(exc).splitlines()[0]})") from exc
        self.tokenizer = load_tokenizer(tokenizer_file)
        self.max_length = max_length
        self.pad_id = pad_id

    def encode(self, texts: list[str], batch_size: int = 8) -> numpy.ndarray:
        """Unit vectors for ``texts``, batched by length so that little padding is computed.

        Small batches cost no speed on the CPU and keep onnxruntime's buffers small:
        embedding long sections peaked at 1.0 GB with batches of 8 and 1.6 GB with 32.
        """
        import numpy as np

        pieces = [encoding.ids for encoding in self.tokenizer.encode_batch(texts)]
        # Truncate as the tokenizer does: keep the first pieces and the closing special token.
        pieces = [ids if len(ids) <= self.max_length else [*ids[: self.max_length - 1], ids[-1]] for ids in pieces]
        order = sorted(range(len(texts)), key=lambda position: len(pieces[position]))
        vectors: Any = None
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            width = max(len(pieces[position]) for position in chunk)
            ids = np.full((len(chunk), width), self.pad_id, dtype=np.int64)
            mask = np.zeros((len(chunk), width), dtype=np.int64)
            for row, position in enumerate(chunk):
                tokens = pieces[position]
                ids[row, : len(tokens)] = tokens
                mask[row, : len(tokens)] = 1
            inputs = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            hidden = self.session.run(None, inputs)[0]
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1.0)
            if vectors is None:
                vectors = np.zeros((len(texts), pooled.shape[1]), dtype=np.float32)
            vectors[chunk] = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return vectors if vectors is not None else np.zeros((0, 0), dtype=np.float32)
