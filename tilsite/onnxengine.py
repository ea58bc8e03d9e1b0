"""Run the default model with onnxruntime: the same weights as the sentence-transformers folder, loaded at once.

A build that embeds only a few changed sections spent most of its time loading
PyTorch and sentence-transformers (about 6 s here). The default model is
therefore exported once, in float32, to ONNX beside its converted folder, and
embedded with onnxruntime and the ``tokenizers`` library: the vectors equal the
PyTorch ones to a cosine above 0.99999 (tested), so they share the embedding
cache. The weights are stored as ONNX external data, which onnxruntime maps into
memory instead of copying: a session is ready in about 0.1 s instead of 0.8 s,
and only the rows of the 250,002-piece embedding table that a build touches are
read. bench/backends.md has the measurements.

The export needs PyTorch once; after that, PyTorch is not imported by builds.
"""

from __future__ import annotations

import functools
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tilsite.converter import file_sha256, files_intact, read_json_object, staged_folder
from tilsite.errors import ModelError

if TYPE_CHECKING:
    import numpy

ENGINE_VERSION = 2
MODEL_FILE = "model.onnx"
DATA_FILE = "model.onnx.data"
_MANIFEST = "tilsite-onnx.json"
_TOKEN_TABLE = "bert.embeddings.word_embeddings.weight"
_EXTERNAL_BYTES = 1024  # smaller tensors stay in the graph file
_ALIGN = 4096  # weights start on a page boundary, so that onnxruntime can map them


def export_folder(model_folder: Path) -> Path:
    """Where the fp32 ONNX export of ``model_folder`` lives (it may not exist yet)."""
    return model_folder.with_name(f"{model_folder.name}-onnx{ENGINE_VERSION}")


def is_intact(folder: Path) -> bool:
    """True when ``folder`` holds a complete export of this version whose files match their hashes."""
    return _verify(folder)


def ensure_onnx_model(model_folder: Path, echo: Any = None) -> Path:
    """Return a verified folder holding the fp32 ONNX export of ``model_folder``, exporting it once."""
    target = export_folder(model_folder)
    if _verify(target):
        return target
    if echo:
        echo("Exporting the model to ONNX for faster loading (once) ...")
    with staged_folder(target) as staging:
        _export(model_folder, staging)
        written = sorted(path.name for path in staging.iterdir())
        if written != sorted([MODEL_FILE, DATA_FILE]):
            raise ModelError(f"{model_folder}: the ONNX export wrote {written}, not {MODEL_FILE} and {DATA_FILE}")
        manifest = {"version": ENGINE_VERSION, "files": {name: file_sha256(staging / name) for name in written}}
        (staging / _MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    for earlier in range(1, ENGINE_VERSION):  # exports of earlier versions are never read again
        shutil.rmtree(model_folder.with_name(f"{model_folder.name}-onnx{earlier}"), ignore_errors=True)
    return target


def _export(model_folder: Path, out: Path) -> None:
    """Write the graph to ``out/MODEL_FILE`` and its weights, page-aligned, to ``out/DATA_FILE``.

    The exporter holds several copies of every weight, which took it to 2.7 GB with
    the 250,037-row token table; so the graph is exported with a 256-row table and
    the real one is written to the data file straight from the weights file.
    """
    import numpy as np
    import onnx
    from onnx.external_data_helper import set_external_data
    from safetensors import safe_open

    from tilsite.webmodel import export_onnx

    single = out / "single.onnx"
    export_onnx(model_folder, single, keep=list(range(256)))
    graph = onnx.load(str(single))
    single.unlink()
    with (out / DATA_FILE).open("wb") as data:
        for tensor in graph.graph.initializer:
            if tensor.name == _TOKEN_TABLE:
                with safe_open(str(model_folder / "model.safetensors"), framework="np") as weights:
                    rows = np.ascontiguousarray(weights.get_tensor("embeddings.word_embeddings.weight"), dtype="<f4")
                del tensor.dims[:]
                tensor.dims.extend(rows.shape)
                raw = rows.data.cast("B")
            elif len(tensor.raw_data) >= _EXTERNAL_BYTES:
                raw = memoryview(tensor.raw_data)
            else:
                continue
            offset = -data.tell() % _ALIGN + data.tell()
            data.write(b"\0" * (offset - data.tell()))
            data.write(raw)
            set_external_data(tensor, DATA_FILE, offset=offset, length=len(raw))
            tensor.ClearField("raw_data")
    onnx.save_model(graph, str(out / MODEL_FILE))


def _verify(folder: Path) -> bool:
    manifest = read_json_object(folder / _MANIFEST)
    files = manifest.get("files")
    return (
        manifest.get("version") == ENGINE_VERSION
        and isinstance(files, dict)
        and sorted(files) == sorted([MODEL_FILE, DATA_FILE])
        and files_intact(folder, files)
    )


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
        """Load the model; ``verify`` (a hash check of the model files) runs first, and a failed or
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
