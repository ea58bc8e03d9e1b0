"""Tokenising texts for the default model: the full tokenizer, or one fitted to a few texts.

Building the 250,002-piece Unigram tokenizer takes 0.6 s, more than embedding the
sections of an edited note, and it holds the interpreter while MkDocs renders the
pages. So the model's folder also keeps the tokenizer taken apart -- its pieces,
scores and the rest -- and a few texts are tokenised by a tokenizer fitted to them
(``Vocabulary``), ready in about 0.05 s with exactly the same ids (tested). A
process that keeps meeting new text (a first build, ``tilsite serve``) loads the
full tokenizer once fitting has cost ``FIT_BUDGET``.
"""

from __future__ import annotations

import array
import bisect
import json
import struct
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, overload

PIECES_FILE = "pieces.txt"
"""The tokenizer's Unigram pieces, one per line, in id order."""
SCORES_FILE = "scores.f64"
"""Their scores, as little-endian float64."""
BASE_TOKENIZER = "tokenizer-base.json"
"""The tokenizer with its vocabulary cut to the unknown piece: normaliser, pre-tokeniser, special tokens."""
_UNUSED = "\x01"  # a control character the normaliser deletes, so no text ever contains it
FIT_LIMIT = 50_000
"""Texts longer than this in total (characters) get the full tokenizer: fitting one would take longer."""
FIT_BUDGET = 0.5
"""Seconds a process may spend fitting tokenizers; after that it loads the full one and keeps it."""
_SEEN_LIMIT = 2_000_000  # substrings a fitted tokenizer remembers before it starts again

_tokenizers: dict[Path, Any] = {}


def load_tokenizer(path: Path) -> Any:
    """A ``tokenizers.Tokenizer`` from a ``tokenizer.json``, kept for the process (never modify it):
    loading the multilingual one takes 0.6 s."""
    if path not in _tokenizers:
        from tokenizers import Tokenizer

        _tokenizers[path] = Tokenizer.from_file(str(path))
    return _tokenizers[path]


def token_ids(tokenizer_file: Path, texts: list[str], vocabulary: Vocabulary | None = None) -> list[list[int]]:
    """The ids the tokenizer in ``tokenizer_file`` gives ``texts`` (with the special tokens it adds).

    While the full tokenizer is not loaded and the texts are few, the taken-apart ``vocabulary`` gives
    the same ids through a fitted tokenizer, in a tenth of the time (see the module docstring).
    """
    small = sum(map(len, texts)) <= FIT_LIMIT
    if tokenizer_file not in _tokenizers and vocabulary is not None and small and vocabulary.seconds < FIT_BUDGET:
        ids = vocabulary.token_ids(texts)
        if ids is not None:
            return ids
    return [encoding.ids for encoding in load_tokenizer(tokenizer_file).encode_batch(texts)]


def token_spans(
    tokenizer_file: Path, texts: list[str], vocabulary: Vocabulary | None = None
) -> list[list[tuple[int, int]]]:
    """Where each piece of each text lies in it (character offsets, special tokens left out); fitted like
    ``token_ids`` while the texts are few."""
    small = sum(map(len, texts)) <= FIT_LIMIT
    if tokenizer_file not in _tokenizers and vocabulary is not None and small and vocabulary.seconds < FIT_BUDGET:
        fitted = vocabulary.encodings(texts)
        if fitted is not None:
            return [list(encoding.offsets) for encoding in fitted[0]]
    encodings = load_tokenizer(tokenizer_file).encode_batch(texts, add_special_tokens=False)
    return [list(encoding.offsets) for encoding in encodings]


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
    One vocabulary may serve several threads (a build embeds and writes the browser
    copy in the background): fitting and tokenising hold a lock.
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
        self._lock = threading.Lock()
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
        fitted = self.encodings(texts, special_tokens=True)
        if fitted is None:
            return None
        encodings, original = fitted
        return [
            [
                piece if special else original[piece]
                for piece, special in zip(encoding.ids, encoding.special_tokens_mask, strict=True)
            ]
            for encoding in encodings
        ]

    def encodings(self, texts: list[str], *, special_tokens: bool = False) -> tuple[list[Any], list[int]] | None:
        """The fitted tokenizer's encodings of ``texts`` (ids of the fitted vocabulary, offsets as the full
        tokenizer's) and the full vocabulary's id of each fitted id; None if a text contains a special token."""
        if any(token in text for text in texts for token in self._added):
            return None
        with self._lock:
            start = time.perf_counter()
            substrings = self._substrings(texts)
            if self._tokenizer is None or not substrings <= self._seen:
                # Keep extending it (``tilsite serve`` rebuilds many times), within bounds.
                seen = self._seen | substrings if len(self._seen) < _SEEN_LIMIT else substrings
                self._tokenizer, self._original = self._fit(seen)
                self._seen = seen  # only once the tokenizer that covers them is in place
            self.seconds += time.perf_counter() - start
            return self._tokenizer.encode_batch(texts, add_special_tokens=special_tokens), self._original

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


def write_vocabulary(tokenizer: dict[str, Any], out: Path) -> None:
    """Write a Unigram ``tokenizer.json``'s content taken apart (see ``Vocabulary``) into ``out``."""
    model = tokenizer["model"]
    vocab = model["vocab"]
    unk_id = model["unk_id"]
    base = dict(tokenizer, model=dict(model, vocab=[vocab[unk_id]], unk_id=0))
    (out / BASE_TOKENIZER).write_text(json.dumps(base, ensure_ascii=False), encoding="utf-8")
    (out / PIECES_FILE).write_text("\n".join(piece for piece, _ in vocab), encoding="utf-8")
    (out / SCORES_FILE).write_bytes(struct.pack(f"<{len(vocab)}d", *(score for _, score in vocab)))


def read_vocabulary(folder: Path) -> Vocabulary | None:
    """The taken-apart tokenizer in ``folder`` (checked by the caller), or None if it is incomplete."""
    try:
        base = (folder / BASE_TOKENIZER).read_text(encoding="utf-8")
        pieces = (folder / PIECES_FILE).read_bytes().decode("utf-8").split("\n")  # no newline translation
        scores = array.array("d", (folder / SCORES_FILE).read_bytes())
    except (OSError, ValueError):
        return None
    if sys.byteorder != "little":
        scores.byteswap()
    unk_piece = json.loads(base)["model"]["vocab"][0][0]
    if len(scores) != len(pieces) or unk_piece not in pieces or any(piece == _UNUSED for piece in pieces):
        return None
    return Vocabulary(base, pieces, scores, pieces.index(unk_piece))
