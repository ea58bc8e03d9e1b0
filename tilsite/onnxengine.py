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

Loading the 250,002-piece tokenizer takes another 0.6 s, more than embedding the
sections of an edited note. So the export also keeps the tokenizer's pieces and
scores in plain files, and a few texts are tokenised by a tokenizer fitted to
them (``Vocabulary``), ready in about 0.05 s with exactly the same ids (tested).
A session is created without pre-packing the weights (it copied them all, for no
measurable speed here) and with worker threads that sleep instead of spinning.
"""

from __future__ import annotations

import array
import bisect
import functools
import json
import shutil
import struct
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

from tilsite.converter import file_sha256, files_intact, read_json_object, staged_folder
from tilsite.errors import ModelError

if TYPE_CHECKING:
    import numpy

ENGINE_VERSION = 3
MODEL_FILE = "model.onnx"
DATA_FILE = "model.onnx.data"
PIECES_FILE = "pieces.txt"
"""The tokenizer's Unigram pieces, one per line, in id order."""
SCORES_FILE = "scores.f64"
"""Their scores, as little-endian float64."""
BASE_TOKENIZER = "tokenizer-base.json"
"""The tokenizer with its vocabulary cut to the unknown piece: normaliser, pre-tokeniser, special tokens."""
_VOCABULARY_FILES = (PIECES_FILE, SCORES_FILE, BASE_TOKENIZER)
_UNUSED = "\x01"  # a control character the normaliser deletes, so no text ever contains it
FIT_LIMIT = 50_000
"""Texts longer than this in total (characters) get the full tokenizer: fitting one would take longer."""
FIT_BUDGET = 0.5
"""Seconds a process may spend fitting tokenizers; after that it loads the full one (it takes 0.6 s) and keeps it."""
_SEEN_LIMIT = 2_000_000  # substrings a fitted tokenizer remembers before it starts again
_MANIFEST = "tilsite-onnx.json"
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
        _write_vocabulary(model_folder / "tokenizer.json", staging)
        written = sorted(path.name for path in staging.iterdir())
        if not {MODEL_FILE, DATA_FILE} <= set(written):
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

    from tilsite.webmodel import GRAPH_TOKEN_TABLE, TOKEN_TABLE, export_onnx

    single = out / "single.onnx"
    export_onnx(model_folder, single, keep=list(range(256)))
    graph = onnx.load(str(single))
    single.unlink()
    with (out / DATA_FILE).open("wb") as data:
        for tensor in graph.graph.initializer:
            if tensor.name == GRAPH_TOKEN_TABLE:
                with safe_open(str(model_folder / "model.safetensors"), framework="np") as weights:
                    rows = np.ascontiguousarray(weights.get_tensor(TOKEN_TABLE), dtype="<f4")
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
        and set(files) - set(_VOCABULARY_FILES) == {MODEL_FILE, DATA_FILE}
        and files_intact(folder, files)
    )


_tokenizers: dict[Path, Any] = {}


def load_tokenizer(path: Path) -> Any:
    """A ``tokenizers.Tokenizer`` from a ``tokenizer.json``, kept for the process (never modify it):
    loading the multilingual one takes 0.6 s."""
    if path not in _tokenizers:
        from tokenizers import Tokenizer

        _tokenizers[path] = Tokenizer.from_file(str(path))
    return _tokenizers[path]


def token_ids(tokenizer_file: Path, texts: list[str], export: Path | None = None) -> list[list[int]]:
    """The ids the tokenizer in ``tokenizer_file`` gives ``texts`` (with the special tokens it adds).

    Loading the full multilingual tokenizer takes 0.6 s; so while it is not loaded
    and the texts are few, and ``export`` holds an intact export with the
    tokenizer's pieces, a tokenizer fitted to the texts gives the same ids (see
    ``Vocabulary``) in a tenth of the time. A process that keeps meeting new text
    (a first build, ``tilsite serve``) loads the full tokenizer once fitting has
    cost ``FIT_BUDGET``.
    """
    if tokenizer_file not in _tokenizers and export is not None and sum(map(len, texts)) <= FIT_LIMIT:
        vocabulary = load_vocabulary(export)
        if vocabulary is not None and vocabulary.seconds < FIT_BUDGET:
            ids = vocabulary.token_ids(texts)
            if ids is not None:
                return ids
    return [encoding.ids for encoding in load_tokenizer(tokenizer_file).encode_batch(texts)]


class Vocabulary:
    """A Unigram tokenizer taken apart, to tokenise a few texts without building all of it.

    Unigram tokenisation splits the normalised text into words (pre-tokens) and
    picks the most likely segmentation of each word into pieces of the
    vocabulary, so only pieces that are substrings of the texts' words can be
    picked. A fitted tokenizer has just those pieces, plus a piece that never
    matches (a character the normaliser deletes) with the lowest score of the
    whole vocabulary, so that an unknown character costs what it costs in the full
    one. It gives the texts the same pieces; their ids are mapped back to the full
    vocabulary's. Texts that contain a special token (``<s>``, ``<mask>`` ...) are
    split around it first, which this does not model: they get None.

    The fitted tokenizer is kept and extended: texts whose substrings it has seen
    already reuse it (the other pieces it has never match them, so it stays exact).
    """

    def __init__(self, base: str, pieces: list[str], scores: array.array, unk_id: int) -> None:
        from tokenizers import Tokenizer

        self.base = base
        self.pieces = pieces
        self.scores = scores
        self.unk_id = unk_id
        template = Tokenizer.from_str(base)
        self._normalizer = template.normalizer
        self._pre_tokenizer = template.pre_tokenizer
        self._added = [token.content for token in template.get_added_tokens_decoder().values()]
        self._longest = max(map(len, pieces))
        self._lowest = min(scores)
        self._seen: set[str] = set()
        self._tokenizer: Any = None
        self._original: list[int] = []
        self.seconds = 0.0
        """Time spent fitting so far."""

    def tokenizer_json(self) -> dict[str, Any]:
        """The contents of the full ``tokenizer.json`` again, read from the taken-apart files (in a
        tenth of the time of parsing the original). Its vocabulary is a read-only sequence of
        ``[piece, score]`` pairs made as they are read: cutting it reads a tenth of them."""
        data = json.loads(self.base)
        data["model"] = {**data["model"], "vocab": _Pieces(self.pieces, self.scores), "unk_id": self.unk_id}
        return data

    def token_ids(self, texts: list[str]) -> list[list[int]] | None:
        """The full tokenizer's ids for ``texts``, or None if one of them contains a special token."""
        if any(token in text for text in texts for token in self._added):
            return None
        start = time.perf_counter()
        substrings = self._substrings(texts)
        if self._tokenizer is None or not substrings <= self._seen:
            # Keep extending it (``tilsite serve`` rebuilds many times), within bounds.
            seen = self._seen | substrings if len(self._seen) < _SEEN_LIMIT else substrings
            self._tokenizer, self._original = self._fit(seen)
            self._seen = seen  # only once the tokenizer that covers them is in place
        self.seconds += time.perf_counter() - start
        original = self._original
        return [
            [
                piece if special else original[piece]
                for piece, special in zip(encoding.ids, encoding.special_tokens_mask, strict=True)
            ]
            for encoding in self._tokenizer.encode_batch(texts)
        ]

    def _fit(self, seen: set[str]) -> tuple[Any, list[int]]:
        """A tokenizer with the pieces in ``seen``, and the full vocabulary's id of each of its pieces."""
        from tokenizers import Tokenizer
        from tokenizers.models import Unigram

        kept = [position for position, piece in enumerate(self.pieces) if piece in seen]
        if self.unk_id not in kept:
            bisect.insort(kept, self.unk_id)
        pieces = [(self.pieces[position], self.scores[position]) for position in kept]
        pieces.append((_UNUSED, self._lowest))
        tokenizer = Tokenizer.from_str(self.base)
        tokenizer.model = Unigram(pieces, kept.index(self.unk_id), False)
        return tokenizer, kept

    def _substrings(self, texts: list[str]) -> set[str]:
        """Every substring, up to the longest piece, of the words the texts are split into."""
        words: set[str] = set()
        for text in texts:
            words.update(word for word, _ in self._pre_tokenizer.pre_tokenize_str(self._normalizer.normalize_str(text)))
        longest = self._longest
        return {
            word[start:end]
            for word in words
            for start in range(len(word))
            for end in range(start + 1, min(len(word), start + longest) + 1)
        }


class _Pieces(Sequence[list[Any]]):
    """A Unigram vocabulary, ``[piece, score]`` per id, over the taken-apart lists."""

    def __init__(self, pieces: list[str], scores: array.array) -> None:
        self._pieces = pieces
        self._scores = scores

    def __len__(self) -> int:
        return len(self._pieces)

    @overload
    def __getitem__(self, index: int) -> list[Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[list[Any]]: ...

    def __getitem__(self, index: int | slice) -> list[Any] | list[list[Any]]:
        if isinstance(index, slice):
            return [[piece, score] for piece, score in zip(self._pieces[index], self._scores[index], strict=True)]
        return [self._pieces[index], self._scores[index]]


def _write_vocabulary(tokenizer_file: Path, out: Path) -> None:
    """Write ``tokenizer_file`` taken apart (see ``Vocabulary``) to ``out``, if it is a tokenizer that can
    be fitted that way; otherwise write nothing, and builds load the full tokenizer."""
    from tokenizers import Tokenizer

    tokenizer = json.loads(tokenizer_file.read_text(encoding="utf-8"))
    model = tokenizer.get("model") or {}
    vocab = model.get("vocab") or []
    unk_id = model.get("unk_id")
    if (
        model.get("type") != "Unigram"
        or model.get("byte_fallback")
        or not isinstance(unk_id, int)
        or not 0 <= unk_id < len(vocab)
        or any("\n" in piece or piece == _UNUSED for piece, _ in vocab)
        or [piece for piece, _ in vocab].index(vocab[unk_id][0]) != unk_id
        or any(token.get("normalized") for token in tokenizer.get("added_tokens") or [])
        or not tokenizer.get("normalizer")
        or not tokenizer.get("pre_tokenizer")
    ):
        return
    base = dict(tokenizer, model=dict(model, vocab=[vocab[unk_id]], unk_id=0))
    if Tokenizer.from_str(json.dumps(base)).normalizer.normalize_str(_UNUSED):
        return  # the placeholder piece could match text
    (out / BASE_TOKENIZER).write_text(json.dumps(base, ensure_ascii=False), encoding="utf-8")
    (out / PIECES_FILE).write_text("\n".join(piece for piece, _ in vocab), encoding="utf-8")
    (out / SCORES_FILE).write_bytes(struct.pack(f"<{len(vocab)}d", *(score for _, score in vocab)))


@functools.lru_cache(maxsize=2)
def load_vocabulary(folder: Path) -> Vocabulary | None:
    """The taken-apart tokenizer of an intact export, or None if it has none."""
    if not _verify(folder) or not all((folder / name).is_file() for name in _VOCABULARY_FILES):
        return None
    base = (folder / BASE_TOKENIZER).read_text(encoding="utf-8")
    pieces = (folder / PIECES_FILE).read_bytes().decode("utf-8").split("\n")  # no newline translation
    scores = array.array("d", (folder / SCORES_FILE).read_bytes())
    if sys.byteorder != "little":
        scores.byteswap()
    unk_piece = json.loads(base)["model"]["vocab"][0][0]
    if len(scores) != len(pieces) or unk_piece not in pieces:
        return None
    return Vocabulary(base, pieces, scores, pieces.index(unk_piece))


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
        export: Path | None = None,
    ) -> None:
        """Load the model; ``verify`` (a hash check of the model files) runs first, and a failed or
        impossible load raises ``ModelError``. ``export``, the folder of an export with the
        tokenizer's pieces, lets a few texts be tokenised without loading the full tokenizer."""
        import onnxruntime

        if verify is not None and not verify():
            raise ModelError(f"{onnx_file}: missing, or it does not match its recorded hash")
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
            raise ModelError(f"{onnx_file}: onnxruntime cannot load it ({str(exc).splitlines()[0]})") from exc
        self.tokenizer_file = tokenizer_file
        self.export = export
        self.max_length = max_length
        self.pad_id = pad_id

    def encode(self, texts: list[str], batch_size: int = 8) -> numpy.ndarray:
        """Unit vectors for ``texts``, batched by length so that little padding is computed.

        Small batches cost no speed on the CPU and keep onnxruntime's buffers small:
        embedding long sections peaked at 1.0 GB with batches of 8 and 1.6 GB with 32.
        """
        import numpy as np

        pieces = token_ids(self.tokenizer_file, texts, self.export)
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
