"""The browser's copy of the default model: ONNX, int8 per channel, vocabulary cut to Korean and English.

The site embeds search queries in the visitor's browser with the same weights the
build used for the sections, so both live in one vector space. Three steps make
that download small:

1. **Vocabulary.** The multilingual tokenizer has 250,002 pieces, and their
   embedding rows are most of the weights. The browser model keeps the special
   tokens, every piece the site's own notes tokenise into, every single
   character and every Hangul piece (so no Korean or English text becomes
   ``<unk>``), then the ASCII pieces that technical English uses most
   (``tilsite/data/common_pieces.txt``, written by ``bench/vocabulary.py``) and
   the most likely remaining ASCII/punctuation pieces, up to
   ``KEEP_PIECES``. For text whose best segmentation uses only kept pieces --
   all of the notes' words, so queries that reuse them -- the cut tokenizer
   gives exactly the same pieces: Unigram picks the most likely segmentation,
   and the cut vocabulary still contains it. Other words split into smaller
   pieces, which moves the query vector a little.
2. **Export.** ``torch.onnx.export`` (opset 17) of the BERT encoder with the cut
   embedding matrix; the output is the last hidden state, and transformers.js
   does the mean pooling and normalisation.
3. **Quantisation.** onnxruntime's dynamic int8 quantisation with per-channel
   weight scales (per-tensor scales lose too much).

The result is cached beside the converted model under a hash of the kept
vocabulary, and its published name stays the same from build to build while
no note brings a piece that is not kept yet: a returning visitor's browser does
not download it again. Most new notes do bring one (17 of the 23 sample notes
have a piece that neither the base vocabulary nor the other notes have). The
first export takes about ten seconds with PyTorch; after that, a new
vocabulary is spliced from the previous browser model in about half a second,
without PyTorch: only the token table depends on the vocabulary, so it alone is
cut and quantised again, exactly as the quantiser does it (``_splice_web_model``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import struct
import time
import unicodedata
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tilsite.converter import file_sha256, files_intact, read_json_object, staged_folder, write_json
from tilsite.errors import ModelError

WEB_MODEL_VERSION = 3
KEEP_PIECES = 24_000
"""Vocabulary size of the browser model, unless the notes need more pieces (they are always kept)."""
KEEP_FOLDERS = 2
"""Browser models always kept in the shared model cache (the newest used); other projects' ones are kept
as long as a build used them in the last ``KEEP_DAYS`` days, up to ``KEEP_AT_MOST`` in all."""
KEEP_DAYS = 30
KEEP_AT_MOST = 8
"""Browser models kept in the cache per converted model (the newest ones)."""
ONNX_OPSET = 17
MODEL_FILE = "onnx/model_quantized.onnx"
"""Where transformers.js looks for a model loaded with ``dtype: "q8"``."""
TOKEN_TABLE = "embeddings.word_embeddings.weight"
"""The token embedding matrix in the weights file."""
GRAPH_TOKEN_TABLE = f"bert.{TOKEN_TABLE}"
"""Its name in graphs exported by ``export_onnx`` (the encoder is the wrapper's ``bert``)."""
_SPECIAL = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")
_META = "\u2581"
_MANIFEST = "tilsite-web-model.json"
COMMON_PIECES = Path(__file__).parent / "data" / "common_pieces.txt"

if TYPE_CHECKING:
    import numpy


def _allowed_char(char: str) -> bool:
    code = ord(char)
    if char == _META or 0x20 <= code < 0x7F:
        return True
    if _hangul(char):
        return True
    # General punctuation and symbols that technical notes use (·, “ ”, →, …).
    return unicodedata.category(char)[0] in "PS" and code < 0x3000


def _hangul(char: str) -> bool:
    code = ord(char)
    return 0xAC00 <= code <= 0xD7A3 or 0x1100 <= code <= 0x11FF or 0x3130 <= code <= 0x318F


def kept_piece_ids(
    vocab: list[tuple[str, float]], required: set[int] | frozenset[int] = frozenset(), budget: int = KEEP_PIECES
) -> list[int]:
    """Ids of the pieces the browser model keeps, in their original order.

    A fixed base of ``budget`` pieces -- special tokens, single characters, Hangul
    pieces, then the ASCII pieces technical English uses most and the rest by
    score -- plus the ``required`` pieces (those the notes use). The base does
    not depend on the notes, so a note with new words changes the model only
    when one of its pieces is outside the base.
    """
    keep = {index for index, (piece, _) in enumerate(vocab) if piece in _SPECIAL}
    candidates: list[tuple[float, int]] = []
    for index, (piece, score) in enumerate(vocab):
        if index in keep or not piece or not all(_allowed_char(char) for char in piece):
            continue
        body = piece.lstrip(_META)
        if len(body) <= 1 or all(_hangul(char) for char in body):
            keep.add(index)
        else:
            candidates.append((score, index))
    # Pieces that technical English uses first (the tokenizer's own scores favour other Latin-script
    # languages), then the rest by score.
    common = {piece: rank for rank, piece in enumerate(_common_pieces())}
    candidates.sort(key=lambda item: (common.get(vocab[item[1]][0], len(common)), -item[0], item[1]))
    keep.update(index for _, index in candidates[: max(0, budget - len(keep))])
    return sorted(keep | set(required))


def _common_pieces() -> list[str]:
    """ASCII pieces in order of use in technical English (written by bench/vocabulary.py)."""
    return COMMON_PIECES.read_text(encoding="utf-8").split()


def cut_tokenizer(tokenizer: dict[str, Any], keep: list[int]) -> dict[str, Any]:
    """A copy of a Unigram ``tokenizer.json`` with only the ``keep`` pieces, renumbered from 0."""
    new_id = {old: new for new, old in enumerate(keep)}
    # A deep copy of everything but the 250,002-entry vocabulary, which is only read.
    cut = json.loads(json.dumps({**tokenizer, "model": {**tokenizer["model"], "vocab": []}}))
    model = cut["model"]
    model["vocab"] = [tokenizer["model"]["vocab"][old] for old in keep]
    model["unk_id"] = new_id[tokenizer["model"]["unk_id"]]
    for token in cut.get("added_tokens", []):
        token["id"] = new_id[token["id"]]
    special = (cut.get("post_processor") or {}).get("special_tokens", {})
    for entry in special.values():
        entry["ids"] = [new_id[old] for old in entry["ids"]]
    return cut


def ensure_web_model(
    model_folder: Path | Callable[[bool], Path],
    texts: list[str],
    *,
    state_file: Path | None = None,
    model_id: str = "",
    echo: Any = None,
    before_export: Any = None,
) -> Path:
    """Return a verified browser model folder for the sentence-transformers folder ``model_folder``.

    ``texts`` are the notes' texts (and query prefix) whose pieces must be kept.
    ``model_folder`` may be a function that returns the folder, verifying its
    tokenizer (``False``) or its weights too (``True``, before an export); it is
    called only when the browser model must be checked against new text or exported.

    Built once per kept vocabulary into ``<model_folder>-web<version>-<hash>``
    (written to a temporary folder, then renamed) and reused while its files are
    intact. ``state_file`` remembers which texts the current folder already covers
    (for the model ``model_id``), so that a build with no new text tokenises
    nothing. ``before_export`` is called before an export (to free memory).
    """
    by_digest = _by_digest(texts)
    digests = set(by_digest)
    current, manifest, covered = _current(state_file, model_id)
    if current and manifest and covered.issuperset(digests):
        _mark_used(current)
        return current

    from tilsite.onnxengine import export_folder, load_vocabulary

    folder_for = model_folder if callable(model_folder) else lambda weights: model_folder
    folder = folder_for(False)
    tokenizer_file = folder / "tokenizer.json"
    grown: set[int] | None = None
    if current and manifest:
        new = [text for digest, text in by_digest.items() if digest not in covered]
        kept = set(manifest.get("kept", ()))
        new_pieces = _piece_ids(tokenizer_file, new, export_folder(folder))
        if new_pieces <= kept:
            _write_state(state_file, model_id, current, covered | digests)
            return current
        # The current vocabulary covers the other texts: add the new pieces, without tokenising everything
        # again. (Pieces of deleted text stay until a build without the state file.)
        grown = kept | new_pieces
    vocabulary = load_vocabulary(export_folder(folder)) if grown is not None else None
    if vocabulary is not None:
        tokenizer = vocabulary.tokenizer_json()
    else:
        tokenizer = json.loads(tokenizer_file.read_text(encoding="utf-8"))
    if (tokenizer.get("model") or {}).get("type") != "Unigram":
        raise ModelError(f"{folder}: only Unigram (SentencePiece) tokenizers can be cut for the browser")
    if grown is not None:
        keep = sorted(grown)
    else:
        vocab = [(str(piece), float(score)) for piece, score in tokenizer["model"]["vocab"]]
        keep = kept_piece_ids(vocab, _piece_ids(tokenizer_file, texts))
    key = hashlib.sha256(",".join(map(str, keep)).encode()).hexdigest()[:12]
    prefix = f"{folder.name}-web{WEB_MODEL_VERSION}-"
    target = folder.with_name(prefix + key)
    if _verified_manifest(target) is None:
        source = current if current and manifest else _any_verified(folder)
        if source is not None:
            # Another vocabulary of the same model: only the token table differs (about 0.5 s, no PyTorch).
            if echo:
                echo(f"Updating the browser copy of the model for new words ({len(keep):,} pieces) ...")
            try:
                _splice_web_model(source, folder_for(True), tokenizer, keep, target)
            except ModelError as exc:
                if echo:
                    echo(f"{exc}: exporting the browser model again instead")
                source = None
        if source is None:
            if before_export:
                before_export()
            if echo:
                pieces = len(tokenizer["model"]["vocab"])
                echo(f"Preparing the browser copy of the model ({len(keep):,} of {pieces:,} pieces) ...")
            _export_web_model(folder_for(True), tokenizer, keep, target)
        prune_browser_models(folder, target)
    _write_state(state_file, model_id, target, digests)
    _mark_used(target)
    return target


def prune_browser_models(folder: Path, target: Path) -> None:
    """Remove the browser models of ``folder`` (the converted model) that no build needs any more: besides
    ``target``, the newest ones stay, and those another project's build used in the last ``KEEP_DAYS`` days."""
    older = sorted(
        (path for path in folder.parent.glob(f"{folder.name}-web*") if path != target and path.is_dir()),
        key=_mtime,
        reverse=True,
    )
    recent = time.time() - KEEP_DAYS * 86_400
    for position, stale in enumerate(older):
        if position >= KEEP_AT_MOST - 1 or (position >= KEEP_FOLDERS - 1 and _mtime(stale) < recent):
            shutil.rmtree(stale, ignore_errors=True)


def _mark_used(folder: Path) -> None:
    """Note that a build used ``folder`` (its time), so that other projects' builds keep it for a while."""
    with contextlib.suppress(OSError):  # a read-only cache: nothing is pruned from it either
        os.utime(folder)


def needs_new_words(texts: list[str], state_file: Path, model_id: str) -> bool:
    """Whether ``ensure_web_model`` would add new pieces to the current browser model (rather than return it
    as it is, or export a first one)."""
    current, manifest, covered = _current(state_file, model_id)
    return bool(current and manifest) and not covered.issuperset(_by_digest(texts))


def _by_digest(texts: list[str]) -> dict[str, str]:
    return {hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]: text for text in texts}


def _current(state_file: Path | None, model_id: str) -> tuple[Path | None, dict[str, Any] | None, set[str]]:
    """The browser model of the last build (if it is intact), its manifest, and the texts it covers."""
    state = read_json_object(state_file) if state_file else {}
    if state.get("model") != model_id:
        state = {}
    current = Path(state["folder"]) if isinstance(state.get("folder"), str) else None
    manifest = _verified_manifest(current) if current else None
    return current, manifest, set(state.get("covered", ()))


def _export_web_model(model_folder: Path, tokenizer: dict[str, Any], keep: list[int], target: Path) -> None:
    with staged_folder(target) as staging:
        _build(model_folder, tokenizer, keep, staging)
        _write_manifest(staging, keep)


def _write_manifest(staging: Path, keep: list[int]) -> None:
    files = {
        path.relative_to(staging).as_posix(): file_sha256(path) for path in sorted(staging.rglob("*")) if path.is_file()
    }
    manifest = {"version": WEB_MODEL_VERSION, "files": files, "kept": keep}
    (staging / _MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")


def _any_verified(model_folder: Path) -> Path | None:
    """The newest intact browser model of ``model_folder`` (any vocabulary), if there is one."""
    found = sorted(model_folder.parent.glob(f"{model_folder.name}-web{WEB_MODEL_VERSION}-*"), key=_mtime, reverse=True)
    return next((path for path in found if path.is_dir() and _verified_manifest(path)), None)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _splice_web_model(
    source: Path, model_folder: Path, tokenizer: dict[str, Any], keep: list[int], target: Path
) -> None:
    """Write the browser model for ``keep`` from ``source``, a browser model of the same weights for another
    vocabulary: every tensor but the token table is the same, so only that table is cut and quantised again,
    as onnxruntime's quantiser does it (per tensor, uint8). Equal to a fresh export (tested)."""
    import numpy as np
    import onnx
    from onnx import numpy_helper
    from onnxruntime.quantization.quant_utils import quantize_data

    graph = onnx.load(str(source / MODEL_FILE))
    tensors = {tensor.name: tensor for tensor in graph.graph.initializer}
    names = [f"{GRAPH_TOKEN_TABLE}_{part}" for part in ("quantized", "scale", "zero_point")]
    if not all(name in tensors for name in names):
        raise ModelError(f"{source / MODEL_FILE}: no quantised token table to replace")
    rows = _read_rows(model_folder / "model.safetensors", TOKEN_TABLE, keep)
    zero_point, scale, quantized = quantize_data(rows.reshape(-1), onnx.TensorProto.UINT8, False, False)
    table, scale_tensor, zero_tensor = (tensors[name] for name in names)
    if scale_tensor.HasField("raw_data") or zero_tensor.HasField("raw_data"):
        raise ModelError(f"{source / MODEL_FILE}: its token table is not stored as tilsite expects")
    table.CopyFrom(numpy_helper.from_array(np.asarray(quantized, dtype=np.uint8).reshape(rows.shape), names[0]))
    # The quantiser stores the scale and zero point as plain values, not raw bytes; so does this.
    scale_tensor.float_data[:] = [float(np.asarray(scale).reshape(()))]
    zero_tensor.int32_data[:] = [int(np.asarray(zero_point).reshape(()))]
    config = json.loads((source / "config.json").read_text(encoding="utf-8"))
    original = json.loads((model_folder / "config.json").read_text(encoding="utf-8"))
    config["vocab_size"] = len(keep)
    if original.get("pad_token_id") is not None:
        config["pad_token_id"] = keep.index(original["pad_token_id"])
    with staged_folder(target) as staging:
        (staging / "onnx").mkdir()
        onnx.save_model(graph, str(staging / MODEL_FILE))
        (staging / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
        (staging / "tokenizer.json").write_text(
            json.dumps(cut_tokenizer(tokenizer, keep), ensure_ascii=False), encoding="utf-8"
        )
        shutil.copyfile(source / "tokenizer_config.json", staging / "tokenizer_config.json")
        _write_manifest(staging, keep)


def _piece_ids(tokenizer_file: Path, texts: list[str], export: Path | None = None) -> set[int]:
    from tilsite.onnxengine import token_ids

    return {piece for ids in token_ids(tokenizer_file, texts, export) for piece in ids}


def _write_state(state_file: Path | None, model_id: str, folder: Path, covered: set[str]) -> None:
    if state_file is None:
        return
    write_json(state_file, {"model": model_id, "folder": str(folder), "covered": sorted(covered)})


def web_model_files() -> list[str]:
    """The files of a browser model folder that the site publishes."""
    return ["config.json", "tokenizer.json", "tokenizer_config.json", MODEL_FILE]


def web_model_digest(folder: Path) -> str:
    """A hash of the published files of a browser model folder (from its manifest)."""
    manifest = json.loads((folder / _MANIFEST).read_text(encoding="utf-8"))
    return hashlib.sha256(json.dumps(manifest["files"], sort_keys=True).encode()).hexdigest()


def _verified_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest of an intact browser model folder of this version, else None."""
    manifest = read_json_object(folder / _MANIFEST)
    if manifest.get("version") != WEB_MODEL_VERSION:
        return None
    files = manifest.get("files")
    if not isinstance(files, dict) or not set(web_model_files()) <= set(files):
        return None
    return manifest if files_intact(folder, files) else None


def export_onnx(model_folder: Path, path: Path, keep: list[int] | None = None) -> Any:
    """Export the BERT encoder of a sentence-transformers folder to an fp32 ONNX file at ``path``.

    The graph takes ``input_ids``, ``attention_mask`` and ``token_type_ids`` and
    returns the last hidden state (pooling is left to the caller). With ``keep``,
    only those rows of the token embedding matrix are kept, renumbered from 0.
    Returns the encoder's configuration.
    """
    import torch
    from safetensors import safe_open
    from transformers import BertConfig, BertModel

    # Build the encoder at its final size and read the weights one tensor at a time, keeping only
    # the kept rows of the token embeddings: loading the whole model first would hold all 250,002
    # rows (370 MB) on top of everything else.
    config = BertConfig.from_pretrained(str(model_folder))
    if keep is not None:
        config.vocab_size = len(keep)
        if config.pad_token_id is not None:
            config.pad_token_id = keep.index(config.pad_token_id)
    encoder = BertModel(config, add_pooling_layer=False)
    state: dict[str, Any] = {}
    with safe_open(str(model_folder / "model.safetensors"), framework="pt") as weights:
        for name in weights.keys():  # noqa: SIM118 -- safe_open is not a mapping
            if keep is not None and name == TOKEN_TABLE:
                state[name] = torch.from_numpy(_read_rows(model_folder / "model.safetensors", name, keep))
            else:
                state[name] = weights.get_tensor(name)
    missing, unexpected = encoder.load_state_dict(state, strict=False)
    missing = [name for name in missing if not name.endswith("position_ids")]
    if missing or unexpected:
        raise ModelError(f"{model_folder}: weights do not fit BERT (missing {missing}, unexpected {unexpected})")
    del state
    encoder.eval()

    class _LastHiddenState(torch.nn.Module):
        def __init__(self, bert: Any) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    sample = torch.tensor([[0, 100, 200, 2]], dtype=torch.long)
    # The exporter's tracer notices are not for tilsite's users.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _LastHiddenState(encoder),
            (sample, torch.ones_like(sample), torch.zeros_like(sample)),
            str(path),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["last_hidden_state"],
            dynamic_axes={
                name: {0: "batch", 1: "sequence"}
                for name in ("input_ids", "attention_mask", "token_type_ids", "last_hidden_state")
            },
            opset_version=ONNX_OPSET,
            dynamo=False,
        )
    return encoder.config


def _read_rows(path: Path, name: str, keep: list[int]) -> numpy.ndarray:
    """Rows ``keep`` (in that order) of the float32 matrix ``name`` in a safetensors file.

    The rows are read with plain reads, run by run of consecutive ids: reading the
    whole 250,037-row table, or touching its pages through a memory map, added
    up to 400 MB to the build's peak memory.
    """
    import numpy as np

    with path.open("rb") as handle:
        (header_size,) = struct.unpack("<Q", handle.read(8))
        entry = json.loads(handle.read(header_size))[name]
        if entry.get("dtype") != "F32" or len(entry.get("shape", ())) != 2:
            raise ModelError(f"{path}: {name} is not a float32 matrix")
        width = int(entry["shape"][1])
        base = 8 + header_size + int(entry["data_offsets"][0])
        rows = np.empty((len(keep), width), dtype="<f4")
        start = 0
        for end in range(1, len(keep) + 1):
            if end == len(keep) or keep[end] != keep[end - 1] + 1:
                handle.seek(base + keep[start] * width * 4)
                if handle.readinto(rows[start:end].data.cast("B")) != (end - start) * width * 4:
                    raise ModelError(f"{path}: {name} is shorter than its header says")
                start = end
    return rows


def _build(model_folder: Path, tokenizer: dict[str, Any], keep: list[int], out: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    (out / "onnx").mkdir(parents=True)
    plain = out / "onnx" / "model.onnx"
    encoder_config = export_onnx(model_folder, plain, keep)
    # onnxruntime's pre-processing hint is not for tilsite's users.
    root_logger = logging.getLogger()
    level = root_logger.level
    root_logger.setLevel(logging.ERROR)
    try:
        quantize_dynamic(str(plain), str(out / MODEL_FILE), per_channel=True, weight_type=QuantType.QInt8)
    finally:
        root_logger.setLevel(level)
    plain.unlink()
    for extra in out.glob("onnx/*.data"):
        extra.unlink()
    if not (out / MODEL_FILE).is_file():
        raise ModelError("ONNX quantisation wrote no model file")

    config = encoder_config.to_dict()
    config.update({"model_type": "bert", "architectures": ["BertModel"], "vocab_size": len(keep)})
    (out / "config.json").write_text(json.dumps(config, indent=2, default=str), encoding="utf-8")
    (out / "tokenizer.json").write_text(json.dumps(cut_tokenizer(tokenizer, keep), ensure_ascii=False), "utf-8")
    tokenizer_config = json.loads((model_folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    tokenizer_config = {
        key: value
        for key, value in tokenizer_config.items()
        if key in ("bos_token", "cls_token", "eos_token", "mask_token", "pad_token", "sep_token", "unk_token")
    }
    tokenizer_config.update({"model_max_length": 512, "tokenizer_class": "XLMRobertaTokenizer"})
    (out / "tokenizer_config.json").write_text(json.dumps(tokenizer_config, indent=2), encoding="utf-8")
