"""Sentence vectors from the exported encoder: tokenise, run onnxruntime, mean-pool, normalise."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from tilsite.errors import ModelError
from tilsite.model.tokens import Vocabulary, token_ids

if TYPE_CHECKING:
    import numpy

BATCH_SIZE = 8
"""Texts per run: small batches cost no speed on the CPU and keep onnxruntime's buffers small (embedding long
sections peaked at 1.0 GB with batches of 8 and 1.6 GB with 32). The notes' 7-bit graph quantises a run's
activations with one scale, so a text's vector depends a little on the texts run with it (cosine 0.997-0.998
with itself run alone); one text per run made a first index 13% slower (bench/quality.md, "Indexes built
again"), so runs stay at eight."""


class OnnxEncoder:
    """Mean-pooled, normalised sentence vectors from an ONNX encoder that returns ``last_hidden_state``."""

    def __init__(
        self,
        onnx_file: Path,
        tokenizer_file: Path,
        *,
        max_length: int,
        pad_id: int,
        vocabulary: Vocabulary | None = None,
    ) -> None:
        """Load the model (``ModelError`` if onnxruntime cannot). ``vocabulary``, the tokenizer taken apart,
        lets a few texts be tokenised without loading the full tokenizer."""
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        # Pre-packing copies every weight matrix at load (0.06 s, ~90 MB) and gave no measurable speed;
        # idle worker threads that spin take the CPU from the rest of the build.
        options.add_session_config_entry("session.disable_prepacking", "1")
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = onnxruntime.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ModelError(f"{onnx_file}: onnxruntime cannot load it ({_first_line(exc)})") from exc
        self.onnx_file = onnx_file
        self.tokenizer_file = tokenizer_file
        self.vocabulary = vocabulary
        self.max_length = max_length
        self.pad_id = pad_id

    def encode(self, texts: list[str], batch_size: int = BATCH_SIZE) -> numpy.ndarray:
        """Unit vectors for ``texts``, batched by length so that little padding is computed."""
        import numpy as np

        try:
            pieces = token_ids(self.tokenizer_file, texts, self.vocabulary)
        except Exception as exc:  # the tokenizers library raises its own exception types
            raise ModelError(f"{self.tokenizer_file}: the tokenizer failed ({_first_line(exc)})") from exc
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
            try:
                hidden = self.session.run(None, inputs)[0]
            except Exception as exc:  # onnxruntime raises its own exception types
                raise ModelError(f"{self.onnx_file}: onnxruntime failed ({_first_line(exc)})") from exc
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1.0)
            if vectors is None:
                vectors = np.zeros((len(texts), pooled.shape[1]), dtype=np.float32)
            vectors[chunk] = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return vectors if vectors is not None else np.zeros((0, 0), dtype=np.float32)


def _first_line(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
