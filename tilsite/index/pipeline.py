"""One build of the section index: notes → sections → vectors (cached) → FAISS index on disk.

``IndexBuild`` reads and splits the notes at once (a note whose text and slug
settings are unchanged is not parsed again) and knows which sections need a new
vector; ``vectors.embed`` embeds them (a build runs it in the background while the pages
render) and ``finish`` writes the index.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from tilsite.errors import ModelError
from tilsite.index.cache import EmbeddingCache
from tilsite.index.passages import passage_key, passage_texts
from tilsite.index.store import SectionIndex, SectionRecord, damaged_rows, passage_owners, write_index
from tilsite.notes.reading import Note, NoteProblem, iter_note_paths, read_note, with_wiki_links
from tilsite.notes.sections import Section, note_title, split_note, titles_of_sections
from tilsite.notes.slugs import SlugSettings
from tilsite.notes.targets import link_targets

if TYPE_CHECKING:
    import numpy

    from tilsite.model.models import EmbeddingModel

_log = logging.getLogger("tilsite")

Progress = Callable[[int, int], None]
"""Called as ``progress(done, total)`` while sections are embedded."""

EMBED_CHUNK = 64
"""Sections embedded (and stored) at a time: an interrupted build keeps what it finished."""
SECTIONS_VERSION = 13
"""Bump when the way notes split into sections changes, so cached splits are redone (5: sections keep their
Markdown, which is what gets embedded, and HTML blocks' text; 6: lone carriage returns end lines; 7: titles as
MkDocs gives them, Obsidian's file names, alerts' ``[!NOTE]`` out of the text; 8: formulas MathJax drew read as
their TeX; 9: a title's formulas and emoji as the page shows them; 10: several H1s make no title, a folder's
README is titled by the folder, names with spaces kept as written; 11: a first H1 that is numbered, or that
other notes have as a heading, is a section's, not the title; 12: emoji shortcodes in the text as the page
shows them; 13: a title without the footnote marks and attribute lists its page does not show)."""


@dataclass(slots=True, frozen=True)
class NoteFile:
    """A note to index."""

    path: str
    """Its path on the site, relative to the notes folder, ``/``-separated (``.md`` for every page)."""
    file: Path
    """The file on disk."""
    url: str = ""
    """The page's URL relative to the site's root, as the site generator makes it ("" when unknown)."""


def notes_below(folder: Path) -> list[NoteFile]:
    """Every Markdown note below ``folder``, at its path below it (for callers without a site generator)."""
    return [NoteFile(path.relative_to(folder).as_posix(), path) for path in iter_note_paths(folder)]


@dataclass(slots=True)
class BuildReport:
    """What one index build did."""

    notes: int = 0
    """Notes read."""
    sections: int = 0
    """Sections indexed."""
    embedded: int = 0
    """Sections embedded in this build (new or changed)."""
    reused: int = 0
    """Sections whose vector came from the cache."""
    passages: int = 0
    """Passages of long sections embedded in this build (known once the index is written)."""
    changed_notes: list[str] = field(default_factory=list)
    """Notes with at least one newly embedded section."""
    problems: list[NoteProblem] = field(default_factory=list)
    """Files skipped or read with a caveat."""
    front_matter: dict[str, dict[str, object]] = field(default_factory=dict)
    """Front matter of each note read, by path on the site."""
    links: dict[str, list[str]] = field(default_factory=dict)
    """The URLs each note read links to or shows, by path on the site."""
    named: set[str] = field(default_factory=set)
    """Notes titled by their file's name, as in Obsidian (they are in a vault)."""
    titles: dict[str, str] = field(default_factory=dict)
    """Each note's title (``tilsite.notes.sections.note_title``), which MkDocs should give its page too."""
    wiki: bool = False
    """The notes use wiki links (``tilsite.notes.wikilinks``): the pages are rendered with them as links."""
    wiki_links: dict[str, set[str]] = field(default_factory=dict)
    """Those of them that the note wrote as wiki links (``[[Note]]``), which name a file rather than point to it."""

    @property
    def skipped(self) -> set[str]:
        """Paths of files that could not be read as notes."""
        return {problem.path for problem in self.problems if problem.skipped}

    def summary(self) -> str:
        """One line saying what was indexed and which notes were re-embedded."""
        changed = ""
        if self.changed_notes:
            shown = ", ".join(self.changed_notes[:5]) + (" ..." if len(self.changed_notes) > 5 else "")
            changed = f" in {_count(len(self.changed_notes), 'note')} ({shown})"
        passages = f" and {_count(self.passages, 'passage')} of long sections" if self.passages else ""
        return (
            f"Indexed {_count(self.notes, 'note')}, {_count(self.sections, 'section')}:"
            f" embedded {self.embedded} new or changed {_noun(self.embedded, 'section')}{changed}{passages},"
            f" reused {self.reused} from the cache."
        )


def _noun(count: int, noun: str) -> str:
    return noun if count == 1 else f"{noun}s"


def _count(count: int, noun: str) -> str:
    return f"{count} {_noun(count, noun)}"


def read_notes(files: list[NoteFile], problems: list[NoteProblem]) -> list[Note]:
    """Read ``files`` as notes, skipping unreadable ones (each a problem); wiki links as Markdown links in notes
    that use them."""
    notes = (read_note(note.file, note.file.parent, problems, note.path) for note in files)
    return with_wiki_links([note for note in notes if note is not None])


class Collected(NamedTuple):
    """What ``collect_sections`` found."""

    sections: list[Section]
    keys: list[str]
    """Each note's key in the cache."""
    heading_ids: dict[str, list[tuple[str, str]]]
    """Every heading of each note (by path), those of sections without text too: (its id, GitHub's id)."""


def collect_sections(notes: list[Note], slugs: SlugSettings, cache: EmbeddingCache | None = None) -> Collected:
    """Split ``notes`` into sections.

    With a ``cache``, a note whose text and slug settings are unchanged is not parsed again.
    """
    fingerprint = _slug_fingerprint(slugs)
    keys = [_note_key(note, fingerprint) for note in notes]
    stored = cache.get_sections(keys) if cache else {}
    sections: list[Section] = []
    heading_ids: dict[str, list[tuple[str, str]]] = {}
    provisional: set[str] = set()
    fresh: list[tuple[str, str]] = []
    for note, key in zip(notes, keys, strict=True):
        if key in stored:
            try:
                row = json.loads(stored[key])
                restored = [
                    Section(**{**item, "heading_path": tuple(item["heading_path"])}) for item in row["sections"]
                ]
                ids = [(str(anchor), str(github)) for anchor, github in row["ids"]]
                provisional |= {note.path} if row["provisional"] else set()
            except (ValueError, TypeError, KeyError):  # a damaged row: the note is split again, and stored anew
                restored = None
            if restored is not None:
                sections.extend(restored)
                heading_ids[note.path] = ids
                continue
        parsed, ids, tentative = split_note(note, slugs)
        sections.extend(parsed)
        heading_ids[note.path] = ids
        provisional |= {note.path} if tentative else set()
        row = {"sections": [asdict(section) for section in parsed], "ids": ids, "provisional": tentative}
        fresh.append((key, json.dumps(row, ensure_ascii=False)))
    if cache and fresh:
        cache.put_sections(fresh)
    # A first H1 that other notes also have as a heading (`참고`) names a section: the note goes by its file's name.
    retitled = titles_of_sections(
        {path: [github for _, github in ids] for path, ids in heading_ids.items()}, provisional
    )
    if retitled:
        sections = [
            replace(section, note_title=retitled[section.path]) if section.path in retitled else section
            for section in sections
        ]
    return Collected(sections, keys, heading_ids)


def _slug_fingerprint(slugs: SlugSettings) -> str:
    # Names, not repr(): a function's repr holds its memory address, which changes every run.
    function = slugs.slugify
    kind = function if hasattr(function, "__qualname__") else type(function)
    name = f"{kind.__module__}.{kind.__qualname__}"
    options = f"{getattr(function, 'args', '')}{getattr(function, 'keywords', '')}{getattr(function, '__dict__', '')}"
    flags = f"{slugs.attr_list}|{slugs.footnotes}|{slugs.hash_without_space}|{slugs.emoji}|{slugs.math}"
    return f"{name}|{options}|{slugs.separator}|{flags}|{SECTIONS_VERSION}"


def _note_key(note: Note, fingerprint: str) -> str:
    payload = json.dumps([note.path, note.text, note.body_line, note.meta, note.named, fingerprint], default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class SectionVectors:
    """The vectors of some sections: cached ones at once, new ones made by ``embed``; with ``passages``, also
    the vectors of long sections' passages (tilsite.index.passages), cached per section."""

    def __init__(
        self, sections: list[Section], model: EmbeddingModel, cache: EmbeddingCache, *, passages: bool = True
    ) -> None:
        self.model = model
        self.sections = sections
        self.hashes = [section.content_hash for section in sections]
        # As bytes: numpy is first needed when new vectors come, or when the matrix is made.
        self.known: dict[str, bytes | numpy.ndarray] = dict(cache.get_raw(model.model_id, self.hashes))
        missing = [index for index, text_hash in enumerate(self.hashes) if text_hash not in self.known]
        # Each distinct text is embedded once, even if several sections share it; similar lengths in one batch
        # waste less padding.
        todo = sorted(
            {self.hashes[index]: index for index in missing}.values(),
            key=lambda index: len(sections[index].embedding_text),
        )
        self.todo = [(self.hashes[index], sections[index].embedding_text) for index in todo]
        self.missing = missing
        """Positions of the sections whose vectors were not cached."""
        self.passages = passages
        self.known_passages: dict[str, bytes] = {}
        """Each section's passage vectors, one after the other (b"" for a section without passages), by its hash."""
        if passages:
            distinct = list(dict.fromkeys(self.hashes))
            stored = cache.get_raw(model.model_id, [passage_key(text_hash) for text_hash in distinct])
            size = self._vector_size()
            # A row that is not a whole number of vectors (damaged) is made again, as if it were not there.
            self.known_passages = {
                h: stored[passage_key(h)]
                for h in distinct
                if passage_key(h) in stored and not (size and len(stored[passage_key(h)]) % size)
            }
        self.passages_todo = [h for h in dict.fromkeys(self.hashes) if passages and h not in self.known_passages]
        """Hashes of the sections whose passages are not cached (most of them have none, which is cached too)."""
        self.embedded_passages = 0
        """Passages ``embed`` embedded."""

    @property
    def pending(self) -> bool:
        """Whether ``embed`` has work to do."""
        return bool(self.todo or self.passages_todo)

    def embed(self, cache_path: Path, progress: Progress | None = None) -> None:
        """Embed the new sections and store their vectors (through a connection of its own: this may run in
        another thread)."""
        todo, self.todo = self.todo, []
        waiting, self.passages_todo = self.passages_todo, []
        if not todo and not waiting:
            return
        cache = EmbeddingCache(cache_path)
        try:
            passages = self._passage_texts(waiting)
            found = sum(map(len, passages.values()))
            total = len(todo) + found
            if progress:
                progress(0, total)
            # ``todo`` runs from the shortest text to the longest, so that a batch wastes little padding; the
            # chunks go shortest and longest in turn, so that the share done says how much time is left
            # (shortest first, "about 3 min left" was shown for six minutes at 2,000 notes).
            chunks = [todo[start : start + EMBED_CHUNK] for start in range(0, len(todo), EMBED_CHUNK)]
            done = 0
            for turn in range(len(chunks)):
                chunk = chunks[turn // 2] if turn % 2 == 0 else chunks[-1 - turn // 2]
                self._store(cache, [text_hash for text_hash, _ in chunk], [text for _, text in chunk])
                done += len(chunk)
                if progress:
                    progress(done, total)
            self.embedded_passages += found
            group, size = {}, 0
            for number, text_hash in enumerate(waiting):
                group[text_hash] = passages[text_hash]
                size += len(passages[text_hash])
                if number == len(waiting) - 1 or size >= EMBED_CHUNK:
                    self._store_passages(cache, group)
                    done, group, size = done + size, {}, 0
                    if progress:
                        progress(done, total)
        finally:
            cache.close()

    def _passage_texts(self, hashes: list[str]) -> dict[str, list[str]]:
        """The passages of the sections with these hashes (tilsite.index.passages), by hash."""
        if not hashes:
            return {}
        sections = {section.content_hash: section for section in self.sections}
        return dict(zip(hashes, passage_texts([sections[h] for h in hashes], self.model), strict=True))

    def _store_passages(self, cache: EmbeddingCache, passages: dict[str, list[str]]) -> None:
        """Embed the passages of some sections (by hash) and store each section's vectors as one row."""
        import numpy as np

        texts = [text for found in passages.values() for text in found]
        vectors = self.model.embed_batch(texts, "passage") if texts else np.zeros((0, 0), np.float32)
        if texts and damaged_rows(list(vectors)):
            where = next(s.path for s in self.sections if s.content_hash in passages)
            raise ModelError(
                f"{where}: the model {self.model.model_id!r} gave vectors that are not finite unit vectors;"
                " nothing was stored. Check the model (`model:` in mkdocs.yml)."
            )
        rows, start = [], 0
        for found in passages.values():
            rows.append(np.ascontiguousarray(vectors[start : start + len(found)], dtype="<f4").reshape(-1))
            start += len(found)
        cache.put_many(self.model.model_id, [passage_key(text_hash) for text_hash in passages], rows)
        self.known_passages.update((h, row.tobytes()) for h, row in zip(passages, rows, strict=True))

    def _vector_size(self) -> int:
        """Bytes of one vector (0 while there is none)."""
        sizes = (len(vector) if isinstance(vector, bytes) else 4 * vector.shape[0] for vector in self.known.values())
        return max(sizes, default=0)

    def passage_counts(self) -> list[int]:
        """How many passages each section has (after ``embed``), from the stored sizes (numpy not needed)."""
        size = self._vector_size()
        if not self.passages or not size:
            return [0] * len(self.hashes)
        return [len(self.known_passages.get(text_hash, b"")) // size for text_hash in self.hashes]

    def passage_matrix(self, cache_path: Path) -> tuple[numpy.ndarray, numpy.ndarray]:
        """The passages' vectors (after ``embed``) in index order, and the position of each one's section.
        Stored passage vectors that are damaged (not finite unit vectors, or cut short) are embedded again."""
        import numpy as np

        size = self._vector_size()
        dimension = size // 4
        with_passages = [h for h in dict.fromkeys(self.hashes) if self.known_passages.get(h)]

        def damaged(text_hash: str) -> bool:
            data = self.known_passages[text_hash]
            return len(data) % size != 0 or bool(damaged_rows(list(_passage_rows(data, dimension)), dimension))

        broken = [text_hash for text_hash in with_passages if damaged(text_hash)]
        if broken:
            _log.warning(f"{len(broken)} cached passage rows were damaged: embedded again.")
            cache = EmbeddingCache(cache_path)
            try:
                self._store_passages(cache, self._passage_texts(broken))
            finally:
                cache.close()
        counts = self.passage_counts()
        rows = [_passage_rows(self.known_passages[h], dimension) for h, n in zip(self.hashes, counts, strict=True) if n]
        stacked = np.vstack(rows) if rows else np.zeros((0, dimension), np.float32)
        return np.ascontiguousarray(stacked, dtype=np.float32), passage_owners(counts)

    def _store(self, cache: EmbeddingCache, hashes: list[str], texts: list[str]) -> None:
        vectors = self.model.embed_batch(texts, "passage")
        damaged = damaged_rows(list(vectors))
        if damaged:
            where = next(section.path for section in self.sections if section.content_hash == hashes[damaged[0]])
            raise ModelError(
                f"{where}: the model {self.model.model_id!r} gave {len(damaged)} vector(s) that are not finite unit"
                " vectors; nothing was stored. Check the model (`model:` in mkdocs.yml)."
            )
        cache.put_many(self.model.model_id, hashes, vectors)
        self.known.update(zip(hashes, vectors, strict=True))

    def matrix(self, cache_path: Path) -> numpy.ndarray:
        """All vectors (after ``embed``) as one float32 matrix. Cached vectors that are damaged (not finite, not
        of unit length, or of another length than the others) are embedded again and replaced in the cache."""
        import numpy as np

        rows = _arrays([self.known[text_hash] for text_hash in self.hashes])
        if not rows:
            return np.zeros((0, 0), np.float32)
        damaged = damaged_rows(rows)
        if damaged:
            wanted = {self.hashes[index]: self.sections[index].embedding_text for index in damaged}
            _log.warning(
                f"{len(wanted)} cached vector{'s were' if len(wanted) != 1 else ' was'} damaged (not finite, not of"
                f" unit length or of the wrong size; in {self.sections[damaged[0]].path} and others):"
                " embedded again."
            )
            cache = EmbeddingCache(cache_path)
            try:
                hashes = list(wanted)
                for start in range(0, len(hashes), EMBED_CHUNK):
                    chunk = hashes[start : start + EMBED_CHUNK]
                    self._store(cache, chunk, [wanted[text_hash] for text_hash in chunk])
            finally:
                cache.close()
            rows = _arrays([self.known[text_hash] for text_hash in self.hashes])
        return np.ascontiguousarray(np.vstack(rows), dtype=np.float32)


def _passage_rows(data: bytes, dimension: int) -> numpy.ndarray:
    import numpy as np

    return np.frombuffer(data, dtype="<f4").reshape(-1, dimension)


def _arrays(vectors: list[bytes | numpy.ndarray]) -> list[numpy.ndarray]:
    import numpy as np

    return [np.frombuffer(vector, dtype="<f4") if isinstance(vector, bytes) else vector for vector in vectors]


class IndexBuild:
    """The index of one build: notes read and split now, new sections embedded by ``vectors.embed`` (in the
    background, see tilsite.site.build), the index written by ``finish``."""

    def __init__(
        self,
        files: list[NoteFile],
        *,
        slugs: SlugSettings,
        model: EmbeddingModel,
        cache_path: Path,
        index_dir: Path,
        passages: bool = True,
    ) -> None:
        """``passages``: embed the prose of long sections beyond the model's window too (tilsite.index.passages)."""
        self.model = model
        self.cache_path = cache_path
        self.index_dir = index_dir
        self.report = BuildReport()
        report = self.report
        cache = EmbeddingCache(cache_path)
        try:
            notes = read_notes(files, report.problems)
            report.front_matter = {note.path: note.meta for note in notes}
            report.links = {note.path: link_targets(note.text) for note in notes}
            report.wiki_links = {note.path: set(note.wiki_urls) for note in notes if note.wiki_urls}
            report.named = {note.path for note in notes if note.named}
            report.wiki = bool(report.wiki_links or report.named)
            sections, self.note_keys, self.heading_ids = collect_sections(notes, slugs, cache)
            titled = {section.path: section.note_title for section in sections}
            report.titles = {note.path: titled.get(note.path) or note_title(note) for note in notes}
            self.vectors = SectionVectors(sections, model, cache, passages=passages)
        finally:
            cache.close()
        report.notes, report.sections = len(notes), len(sections)
        report.embedded = len(self.vectors.todo)
        report.reused = len(sections) - len(self.vectors.missing)
        report.changed_notes = sorted({sections[index].path for index in self.vectors.missing})
        urls = {note.path: note.url for note in files}
        self.records = [
            SectionRecord(
                path=section.path,
                title=section.note_title,
                heading=section.heading,
                anchor=section.anchor,
                url=_with_fragment(urls.get(section.path, ""), section.anchor),
                snippet=section.snippet,
                text=section.text,
                text_hash=section.content_hash,
            )
            for section in sections
        ]
        """One record per section, in index order."""

    def finish(self, rendered_anchors: dict[str, set[str]] | None = None) -> SectionIndex:
        """Write the index (after ``embed``) and return it.

        ``rendered_anchors`` are the heading ids each page has once rendered: a section whose
        heading the page does not show (inside raw HTML, say) is linked at the section before it.
        The vector matrix is made when first used: writing an unchanged index, and results
        cached for it, do not need it. When the index changed, cache rows no build uses any
        more are pruned.
        """
        self.report.passages = self.vectors.embedded_passages
        if rendered_anchors is not None:
            self.records = rendered_only(self.records, rendered_anchors)
        index = SectionIndex(
            self.model.model_id,
            self.records,
            lambda: self.vectors.matrix(self.cache_path),
            passages=lambda: self.vectors.passage_matrix(self.cache_path),
            passage_counts=self.vectors.passage_counts(),
        )
        if write_index(index, self.index_dir):
            cache = EmbeddingCache(self.cache_path)
            try:
                hashes = self.vectors.hashes
                kept = hashes + [passage_key(text_hash) for text_hash in hashes] if self.vectors.passages else hashes
                cache.keep_only(self.model.model_id, kept, self.note_keys)
            finally:
                cache.close()
        return index


def _with_fragment(url: str, anchor: str) -> str:
    return f"{url}#{anchor}" if anchor else url


def rendered_only(records: list[SectionRecord], rendered_anchors: dict[str, set[str]]) -> list[SectionRecord]:
    """``records`` with each anchor the page does not render replaced by the last one before it that it does
    (or the top of the page), so that no link points at an id that is not there."""
    fixed: list[SectionRecord] = []
    last: dict[str, str] = {}
    for record in records:
        present = rendered_anchors.get(record.path)
        if present is None or not record.anchor or record.anchor in present:
            last[record.path] = record.anchor
            fixed.append(record)
            continue
        anchor = last.get(record.path, "")
        page = record.url.split("#", 1)[0]
        fixed.append(replace(record, anchor=anchor, url=_with_fragment(page, anchor)))
    return fixed
