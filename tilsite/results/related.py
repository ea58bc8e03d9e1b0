"""Related notes: whole notes compared by meaning and by keywords, explained by their best-matching sections.

A note's score for another note adds the cosine of their note vectors (the mean of each note's section
vectors, each script's mean removed, then blended with its nearest notes' vectors: ``blended``), half the
cosine of their best pair of sections and half the TF-IDF cosine of their texts. The best section pair
says where the two notes meet: the related entry links to that section of the other note and names the
section of this one. bench/quality.md compares this with the best section pair alone (the ranking
before), the raw files embedded whole and TF-IDF alone.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    import numpy

    from tilsite.index.cache import EmbeddingCache
    from tilsite.index.store import SectionIndex, SectionRecord

DEFAULT_COUNT = 5
DEFAULT_THRESHOLD = 0.4
"""Lowest score of a related note (see ``compute_related``), calibrated on the repositories of
bench/quality.md: in large ones organised by topic it leaves 93-100% of the places filled, in small ones
it drops the off-topic notes (0h328/TIL: 95% of the notes listed share the note's folder, against 65%
with full lists; the sample's git note no longer lists HTTP status codes)."""
SECTION_WEIGHT = 0.5
"""Weight of the best section pair's cosine beside the note vectors' cosine."""
KEYWORD_WEIGHT = 0.5
"""Weight of the TF-IDF cosine beside the note vectors' cosine (both weights chosen on bench/quality.md)."""
KEYWORD_ROWS = 512
"""Notes whose candidates' keyword weights are gathered at once (bounds the memory at any size)."""
KEYWORD_CHARS = 8000
"""The TF-IDF vector of a note reads its first 8,000 characters: what a note is about shows early, and
the longest notes (up to 170,000 characters in shioimm/til) took most of the time."""
_NUMBERS = re.compile(r"\d+")
MAX_SCORE = 1.0 + SECTION_WEIGHT + KEYWORD_WEIGHT
"""The score of two notes that are the same in every respect."""
NEIGHBOURS = 32
"""Candidates per note, taken by note-vector similarity before sections and keywords are compared."""
BLEND_NEIGHBOURS = 16
"""Nearest notes whose vectors are blended into a note's vector (``blended``)."""
BLEND_POWER = 1.5
"""A blended neighbour's weight is its cosine to the note raised to this power (near notes count most)."""
RELATED_VERSION = 10
"""Changes whenever ``compute_related`` ranks differently, so that cached results are not reused."""
TEMPLATE_NOTES = 5
"""A section whose text, numbers aside, is in at least this many notes (and ``TEMPLATE_SHARE`` of them) may be
a template's (``template_sections``)."""
TEMPLATE_SHARE = 0.01
DEFAULT_EXCLUDE = ("index.md", "README.md")
"""Home pages list every note, so they resemble everything without being about anything."""


@dataclass(slots=True, frozen=True)
class RelatedNote:
    """Another note related to a note, and the two sections where they meet."""

    target: SectionRecord
    """The section of the other note that matches this note best."""
    source: SectionRecord
    """The section of this note that it matches."""
    score: float
    """The notes' score (see the module's docstring; at most ``MAX_SCORE``); the list is sorted by it."""

    @property
    def share(self) -> float:
        """The score as a share of the highest a pair can reach (``MAX_SCORE``), as the page shows it."""
        return self.score / MAX_SCORE

    @property
    def source_anchor(self) -> str:
        """The id of this note's matching section ('' for the top of the page)."""
        return self.source.anchor


def centred_by_script(vectors: numpy.ndarray, scripts: list[str]) -> numpy.ndarray:
    """Unit vectors with the mean of the texts in their script removed (``scripts``: each text's ``script``).

    Sentence embeddings share a common direction (multilingual-e5 puts almost any two texts above 0.7),
    so short or generic texts look similar to everything and crowd out real matches; removing the mean
    spreads similarities out, and cosine similarity is then computed as usual.

    A multilingual model also puts texts of one language closer together whatever they say: in notes
    mixed Korean and English, an English note about git resembled English notes about HTTP more than the
    Korean one about git branches. Removing each script's own mean takes that away. A script with fewer than
    ``MIN_SCRIPT_GROUP`` texts has the mean of all texts removed instead (its own would be mostly the
    texts themselves: a lone Korean note among English ones would become nothing); with fewer than
    ``MIN_SCRIPT_GROUP`` texts in all, nothing is removed (two notes centred are exact opposites).
    """
    import numpy as np

    shifted = vectors.astype(np.float64)
    if len(scripts) >= MIN_SCRIPT_GROUP:
        centre = np.broadcast_to(shifted.mean(axis=0), shifted.shape).copy()
        labels = np.array(scripts)
        names, counts = np.unique(labels, return_counts=True)
        for name, seen in zip(names.tolist(), counts.tolist(), strict=True):
            if seen >= MIN_SCRIPT_GROUP:
                members = labels == name
                centre[members] = shifted[members].mean(axis=0)
        shifted -= centre
    norms = np.linalg.norm(shifted, axis=1, keepdims=True)
    return np.ascontiguousarray(shifted / np.maximum(norms, 1e-12), dtype=np.float32)


MIN_SCRIPT_GROUP = 5
SCRIPT_SAMPLE = 4000
"""Characters of a text looked at to tell its script (the start says it; whole long notes cost time)."""
_HANGUL = (0xAC00, 0xD7A3)
_KANA_HAN = ((0x3040, 0x30FF), (0x4E00, 0x9FFF))
_LATIN = (ord("a"), ord("z"))
SCRIPT_SHARE = 0.15
"""A text is Korean (or Japanese/Chinese) when that script makes up this share of its letters: notes
in Korean are full of English terms and code, so the share is low even in a Korean note."""


def script(text: str) -> str:
    """``ko``, ``cjk`` or ``latin``: the script a text is written in, for ``centred_by_script``."""
    return scripts([text])[0]


def scripts(texts: Sequence[str]) -> list[str]:
    """Each text's ``script``, all texts at once.

    Letters are counted by code point over all the texts together (the first ``SCRIPT_SAMPLE`` characters
    of each): on notes' texts five times as fast as a regular expression per script, which took a fifth
    of the related notes' time (2,000 notes: 2.0 s -> 1.5 s, bench/results.md); and at once rather than
    text by text, 11,524 sections take 0.03 s instead of 0.6 s (search's ``query_shifts``).
    """
    import numpy as np

    samples = [text[:SCRIPT_SAMPLE] for text in texts]
    if not samples:
        return []
    codes = np.frombuffer("".join(samples).encode("utf-32-le", "surrogatepass"), dtype="<u4")
    lengths = np.fromiter(map(len, samples), dtype=np.int64, count=len(samples))
    starts = np.cumsum(lengths) - lengths

    def per_text(kind: numpy.ndarray) -> numpy.ndarray:
        """How many code points of each text are of ``kind`` (a mask over all of them)."""
        totals = np.concatenate(([0], np.cumsum(kind, dtype=np.int64)))
        return totals[starts + lengths] - totals[starts]

    def within(low: int, high: int, values: numpy.ndarray = codes) -> numpy.ndarray:
        return (values >= low) & (values <= high)

    hangul = per_text(within(*_HANGUL))
    kana_han = per_text(within(*_KANA_HAN[0]) | within(*_KANA_HAN[1]))
    latin = per_text(within(*_LATIN, values=codes | 0x20))  # A-Z become a-z; no other letter does
    letters = hangul + kana_han + latin
    korean = (letters > 0) & (hangul >= np.maximum(kana_han, SCRIPT_SHARE * letters))
    other = (letters > 0) & (kana_han >= SCRIPT_SHARE * letters)
    return np.where(korean, "ko", np.where(other, "cjk", "latin")).tolist()


def note_vectors(
    vectors: numpy.ndarray,
    grouped: numpy.ndarray,
    bounds: numpy.ndarray,
    scripts: list[str],
    hollow: numpy.ndarray | None = None,
) -> numpy.ndarray:
    """One centred unit vector per note: the mean of its sections' ``vectors`` (a note is what all its
    sections say, not its longest one), centred by script (``scripts``: each note's ``script``). Sections
    marked in ``hollow`` (``hollow_sections``) are left out of a note that has others.

    ``grouped`` lists the sections note by note; note ``n``'s are ``grouped[bounds[n]:bounds[n + 1]]``.
    """
    import numpy as np

    rows = vectors[grouped].astype(np.float64)
    if hollow is not None and hollow.any():
        left_out = hollow[grouped]
        only_hollow = np.repeat(np.logical_and.reduceat(left_out, bounds[:-1]), np.diff(bounds))
        rows[left_out & ~only_hollow] = 0.0
    sums = np.add.reduceat(rows, bounds[:-1], axis=0)  # every note has a section
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    return centred_by_script(sums / np.maximum(norms, 1e-12), scripts)


def blended(vectors: numpy.ndarray, left_out: numpy.ndarray | None = None) -> numpy.ndarray:
    """Each unit vector plus its ``BLEND_NEIGHBOURS`` nearest others, each weighted by its cosine to it raised
    to ``BLEND_POWER`` (a negative cosine counts 0), as unit vectors; rows marked in ``left_out`` lend
    nothing (index pages resemble everything).

    What image retrieval calls database-side augmentation: a note's vector moves towards what the notes
    around it are about and away from its own quirks (a long digression, a shared boilerplate line), so
    two notes compare by the neighbourhoods they sit in as well as by their own words. Measured on the
    repositories of bench/quality.md, it raised related precision on every one, most on those whose notes
    are short.
    """
    import faiss
    import numpy as np

    total = len(vectors)
    neighbours = min(BLEND_NEIGHBOURS, total - 1)
    if neighbours < 1:
        return vectors
    search = faiss.IndexFlatIP(vectors.shape[1])
    search.add(vectors)
    cosines, nearest = search.search(vectors, neighbours + 1)  # the note itself among them, usually first
    lends = (nearest >= 0) & (nearest != np.arange(total)[:, None])
    if left_out is not None:
        lends &= ~left_out[np.maximum(nearest, 0)]
    weights = np.where(lends, np.clip(cosines, 0.0, None) ** BLEND_POWER, 0.0).astype(np.float32)
    mixed = vectors.astype(np.float32, copy=True)
    for place in range(nearest.shape[1]):  # one neighbour rank at a time: memory stays one matrix
        mixed += weights[:, place : place + 1] * vectors[np.maximum(nearest[:, place], 0)]
    norms = np.linalg.norm(mixed, axis=1, keepdims=True)
    return np.ascontiguousarray(mixed / np.maximum(norms, 1e-12), dtype=np.float32)


def template_sections(records: Sequence[SectionRecord]) -> numpy.ndarray:
    """Which sections are a template's rather than their note's own: their text, with its numbers taken out, is
    that of sections in at least ``TEMPLATE_NOTES`` notes and ``TEMPLATE_SHARE`` of all notes, and either its
    numbers differ from note to note (a form filled in: at least half of those notes hold a text of their own)
    or a quarter of all notes hold it (a label that says nothing about any one of them).

    Tools that write notes repeat such sections: each problem an online judge's extension copies starts with
    a link labelled ``문제 링크`` and says ``메모리: 117020 KB, 시간: 204 ms`` and when it was solved. Two notes
    resemble each other there whatever they are about, so such a section neither counts as where two notes
    meet nor in what a note is about. A text repeated by a few notes without numbers that differ (a book's
    byline) still counts: notes that share it are often on one topic."""
    import numpy as np

    shapes = [" ".join(_NUMBERS.sub("#", record.text).split()) for record in records]
    notes_of: dict[str, set[str]] = {}
    texts_of: dict[str, set[str]] = {}
    for shape, record in zip(shapes, records, strict=True):
        notes_of.setdefault(shape, set()).add(record.path)
        texts_of.setdefault(shape, set()).add(record.text)
    total = len({record.path for record in records})
    least = max(TEMPLATE_NOTES, math.ceil(TEMPLATE_SHARE * total))
    templates = {
        shape
        for shape, notes in notes_of.items()
        if len(notes) >= least and (2 * len(texts_of[shape]) >= len(notes) > 1 or 4 * len(notes) >= total)
    }
    return np.array([shape in templates for shape in shapes], dtype=bool)


_IMAGE_NAME = re.compile(r"\S+\.(?:png|jpe?g|gif|svg|webp|bmp|avif)", re.IGNORECASE)
_IMAGE_WORDS = frozenset(
    (  # noqa: SIM905 (a list of words reads as one)
        "image img images screenshot screen shot capture pasted untitled am pm"
        " 이미지 사진 그림 스크린샷 캡처 캡쳐 오전 오후 제목 없음"
    ).split()
)
"""Words of the names images get when pasted (``스크린샷 2024-01-01 오후 3.12.45``, ``Pasted image``)."""
_IMAGE_TOKEN = re.compile(rf"(?P<name>{_IMAGE_NAME.pattern})|(?P<word>[^\W\d_]+)", re.IGNORECASE)
"""An image's file name, or else a word."""


def image_only(text: str) -> bool:
    """Whether a section's text is nothing but the names of its images (``img.png``, ``스크린샷 2024-01-01 오후
    3.12.45``): the alt text an image pasted into a note gets, which says nothing about the note."""
    return _names_only(text, _IMAGE_TOKEN, _IMAGE_WORDS)


def _names_only(text: str, tokens: re.Pattern[str], words: frozenset[str]) -> bool:
    """Whether ``text`` holds a name (``tokens``' ``name`` group) and no word but ``words``."""
    found = False
    for token in tokens.finditer(text):  # stops at the first word of the note's own (most sections: the first)
        if token.group("word") is not None and token.group("word").lower() not in words:
            return False
        found = True
    return found


_ADDRESS_TOKEN = re.compile(rf"(?P<name>(?:https?://|www\.)\S+|{_IMAGE_NAME.pattern})|(?P<word>[^\W\d_]+)", re.I)
"""A web address or an image's file name, or else a word."""


def addresses_only(text: str) -> bool:
    """Whether a section's text is nothing but bare web addresses (a list of references) and images' names. Its
    addresses still tell what a note is about (related notes use them), but shown as where two notes meet, they
    explain nothing."""
    return _names_only(text, _ADDRESS_TOKEN, frozenset())


def hollow_sections(records: Sequence[SectionRecord]) -> numpy.ndarray:
    """Sections that say nothing of their own note: a template's (``template_sections``) and those that are only
    an image (``image_only``). Related notes never meet at them, and note vectors leave them out."""
    import numpy as np

    return template_sections(records) | np.array([image_only(record.text) for record in records], dtype=bool)


COPY_SHARE = 0.5
"""Two notes of one title that share this share of their sections' texts (of all either has) are copies of one."""


def _copies(one: tuple[str, frozenset[str]], other: tuple[str, frozenset[str]]) -> bool:
    """Whether two notes, as (title, their sections' text hashes), are copies of one note (a folder of old posts
    kept beside the new): the same title and most sections the same. Notes of one book share a title and a
    byline, not their sections."""
    if one[0] != other[0]:
        return False
    return len(one[1] & other[1]) >= COPY_SHARE * len(one[1] | other[1])


def excluded(path: str, patterns: tuple[str, ...]) -> bool:
    """Whether the note at ``path`` matches one of the ``related_exclude`` glob ``patterns``."""
    return any(fnmatch.fnmatchcase(path, pattern) for pattern in patterns)


def note_texts(index: SectionIndex) -> dict[str, str]:
    """Every indexed note's text as keyword ranking sees it: title, headings and section bodies."""
    texts: dict[str, list[str]] = {}
    for record in index.records:
        parts = texts.setdefault(record.path, [record.title])
        parts.append(f"{record.heading}\n{record.text}")
    return {path: "\n".join(parts) for path, parts in texts.items()}


@dataclass(slots=True)
class NoteGroups:
    """An index's sections grouped by note (made once per build: related notes and topics both use it)."""

    paths: list[str]
    """Every indexed note, in path order."""
    texts: dict[str, str]
    """Each note's text (``note_texts``)."""
    scripts: list[str]
    """Each note's script (``script``), in the order of ``paths``."""
    grouped: numpy.ndarray
    """Section numbers note by note: note ``n``'s are ``grouped[bounds[n]:bounds[n + 1]]``."""
    bounds: numpy.ndarray
    _keywords: tuple[numpy.ndarray, numpy.ndarray] | None = None

    @classmethod
    def of(cls, index: SectionIndex) -> NoteGroups:
        import numpy as np

        texts = note_texts(index)
        paths = sorted(texts)
        number = {path: position for position, path in enumerate(paths)}
        note_of = np.array([number[record.path] for record in index.records], dtype=np.int64)
        grouped = np.argsort(note_of, kind="stable")
        bounds = np.searchsorted(note_of[grouped], np.arange(len(paths) + 1))
        return cls(paths, texts, scripts([texts[path] for path in paths]), grouped, bounds)

    def vectors(self, index: SectionIndex, hollow: numpy.ndarray | None = None) -> numpy.ndarray:
        """Each note's centred unit vector (``note_vectors``, the ``hollow`` sections left out: ``hollow_sections``
        when not given), in the order of ``paths``."""
        hollow = hollow_sections(index.records) if hollow is None else hollow
        return note_vectors(index.vectors, self.grouped, self.bounds, self.scripts, hollow)

    def section_vectors(self, index: SectionIndex) -> numpy.ndarray:
        """Every section's unit vector, centred by its note's script like the notes (index order)."""
        import numpy as np

        of_note = np.empty(len(index.records), dtype=np.int64)
        for note in range(len(self.paths)):
            of_note[self.sections(note)] = note
        return centred_by_script(index.vectors, [self.scripts[note] for note in of_note.tolist()])

    def sections(self, note: int) -> list[int]:
        """The section numbers of the note at ``paths[note]``, in index order."""
        return self.grouped[self.bounds[note] : self.bounds[note + 1]].tolist()

    def keyword_terms(self) -> tuple[numpy.ndarray, numpy.ndarray]:
        """Each note's sparse TF-IDF vector (``keywords.keyword_terms`` of its first ``KEYWORD_CHARS``
        characters), in the order of ``paths``; computed once."""
        from tilsite.results.keywords import keyword_terms

        if self._keywords is None:
            self._keywords = keyword_terms([self.texts[path][:KEYWORD_CHARS] for path in self.paths])
        return self._keywords


def compute_related(
    index: SectionIndex,
    count: int = DEFAULT_COUNT,
    threshold: float = DEFAULT_THRESHOLD,
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE,
    notes: NoteGroups | None = None,
) -> dict[str, list[RelatedNote]]:
    """For every note, the ``count`` other notes with the highest score at or above ``threshold``
    (``notes``: the index's ``NoteGroups``, when the caller has them already).

    Candidates are each note's ``NEIGHBOURS`` nearest notes by note vector (``blended``; one FAISS k-NN
    query of all notes at once). A candidate's score is the cosine of the two note vectors, plus ``SECTION_WEIGHT``
    times the cosine of their best section pair, plus ``KEYWORD_WEIGHT`` times their TF-IDF cosine;
    that best pair is where the two notes meet. A note is never related to itself, and notes matching
    an ``exclude`` glob (index pages that only list other notes) neither get nor appear in lists.
    """
    import faiss
    import numpy as np

    from tilsite.results.keywords import keyword_rows

    records = index.records
    if not records or count <= 0:
        return {}
    notes = notes or NoteGroups.of(index)
    paths, grouped, bounds = notes.paths, notes.grouped, notes.bounds
    total = len(paths)
    sizes = np.diff(bounds)
    # Pages that only list other notes, and notes with no text of their own (a blog's empty section pages, notes
    # not written yet), neither get nor appear in lists: only their title would say what they are about.
    empty = np.logical_and.reduceat(
        np.array([not record.text.strip() for record in records], bool)[grouped], bounds[:-1]
    )
    left_out = np.array([excluded(path, exclude) for path in paths], bool) | empty
    hollow = hollow_sections(records)
    silent = np.array([addresses_only(record.text) for record in records], dtype=bool)
    vectors = blended(notes.vectors(index, hollow), left_out)

    search = faiss.IndexFlatIP(vectors.shape[1])
    search.add(vectors)
    similarities, candidates = search.search(vectors, min(total, NEIGHBOURS + count + 1))

    # TF-IDF cosine of each candidate pair: the candidate's sparse weights against the note's dense row.
    columns, weights = notes.keyword_terms()
    dense = keyword_rows(columns, weights)
    safe = np.maximum(candidates, 0)
    keyword = np.empty(candidates.shape, dtype=np.float32)
    for first in range(0, total, KEYWORD_ROWS):  # in slices of rows: the gathered weights stay small
        rows = slice(first, first + KEYWORD_ROWS)
        gathered = dense[np.arange(first, min(first + KEYWORD_ROWS, total))[:, None, None], columns[safe[rows]]]
        keyword[rows] = (gathered * weights[safe[rows]]).sum(axis=2)
    del dense

    sections = notes.section_vectors(index)
    texts = [  # each note: its title, its sections' texts (``_copies``)
        (
            records[grouped[bounds[n]]].title,
            frozenset(records[row].text_hash for row in grouped[bounds[n] : bounds[n + 1]]),
        )
        for n in range(len(paths))
    ]

    related: dict[str, list[RelatedNote]] = {}
    for note, path in enumerate(paths):
        row = candidates[note]
        usable = (row >= 0) & (row != note)
        usable[usable] &= ~left_out[row[usable]]
        if left_out[note] or not usable.any():
            continue
        others = row[usable]
        # The sections of every candidate, one after the other; ``starts``: where each candidate's begin.
        lengths = sizes[others]
        starts = np.cumsum(lengths) - lengths
        theirs = grouped[np.repeat(bounds[others] - starts, lengths) + np.arange(int(lengths.sum()))]
        # Where two notes meet is never a template's section or a lone image, unless a note has nothing else.
        mine = grouped[bounds[note] : bounds[note + 1]]
        if not hollow[mine].all():
            mine = mine[~hollow[mine]]
        pairs = sections[mine] @ sections[theirs].T
        only_hollow = np.repeat(np.logical_and.reduceat(hollow[theirs], starts), lengths)
        column_best = np.where(hollow[theirs] & ~only_hollow, -2.0, pairs.max(axis=0))
        best_pair = np.maximum.reduceat(column_best, starts)
        score = similarities[note][usable] + SECTION_WEIGHT * best_pair + KEYWORD_WEIGHT * keyword[note][usable]
        # Shown as where they meet: the best pair of sections that say something in words, where there is one.
        hidden = silent[mine][:, None] | (silent[theirs] | (hollow[theirs] & ~only_hollow))[None, :]
        shown_pairs = np.where(hidden, -3.0, pairs)
        chosen: list[RelatedNote] = []
        shown = [note]  # a note copied into other folders is listed once, and never beside itself
        for place in np.lexsort((others, -score)).tolist():
            if len(chosen) >= count or score[place] < threshold:
                break
            if any(_copies(texts[others[place]], texts[seen]) for seen in shown):
                continue
            shown.append(int(others[place]))
            end = starts[place + 1] if place + 1 < len(starts) else len(theirs)
            block = shown_pairs[:, starts[place] : end]
            if block.max() <= -3.0:  # nothing but addresses on one side: the best pair, as ranked
                column = starts[place] + int(np.argmax(column_best[starts[place] : end]))
                source = mine[int(np.argmax(pairs[:, column]))]
            else:
                at, offset = np.unravel_index(int(np.argmax(block)), block.shape)
                column, source = starts[place] + int(offset), mine[int(at)]
            chosen.append(RelatedNote(records[theirs[column]], records[source], float(score[place])))
        if chosen:
            related[path] = chosen
    return related


def related_notes(
    index: SectionIndex,
    count: int = DEFAULT_COUNT,
    threshold: float = DEFAULT_THRESHOLD,
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE,
    *,
    cache: EmbeddingCache | None = None,
    notes: Callable[[], NoteGroups] | None = None,
) -> dict[str, list[RelatedNote]]:
    """``compute_related``, kept in ``cache`` for the index's content and these settings, so that a build
    whose notes did not change does not compute it again (1.5-2 s at 2,000 notes on a 2-core machine).
    ``notes`` gives the index's ``NoteGroups`` when they are needed (not when the cache holds the result)."""
    if cache is None or not index.content:
        return compute_related(index, count, threshold, exclude, notes() if notes else None)
    settings = [RELATED_VERSION, index.content, count, threshold, sorted(exclude)]
    source = hashlib.sha256(json.dumps(settings).encode("utf-8")).hexdigest()
    stored = cache.get_derived("related", source)
    if stored is not None:
        try:
            records = index.records
            return {
                path: [RelatedNote(records[target], records[source], float(score)) for target, source, score in items]
                for path, items in json.loads(stored).items()
            }
        except (TypeError, ValueError, IndexError, AttributeError):
            pass  # not what this function writes: compute it again
    related = compute_related(index, count, threshold, exclude, notes() if notes else None)
    position = {id(record): number for number, record in enumerate(index.records)}
    kept = {
        path: [[position[id(item.target)], position[id(item.source)], item.score] for item in items]
        for path, items in related.items()
    }
    cache.put_derived("related", source, json.dumps(kept).encode("utf-8"))
    return related
