"""Build the section index: notes → sections → vectors (cached) → FAISS index on disk."""

from __future__ import annotations

import hashlib
import json
import logging
import posixpath
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from tilsite.cache import EmbeddingCache
from tilsite.embeddings import BACKGROUND_LIMIT, DEFAULT_MODEL, EmbeddingModel
from tilsite.embedworker import Helper, Job, vectors_of
from tilsite.errors import ModelError
from tilsite.index import SectionIndex, SectionRecord, damaged_rows, write_index
from tilsite.notes import Note, NoteProblem, iter_note_paths, read_note
from tilsite.related import DEFAULT_COUNT, DEFAULT_EXCLUDE, DEFAULT_THRESHOLD
from tilsite.sections import Section, split_sections
from tilsite.slugs import SlugSettings
from tilsite.targets import link_targets

if TYPE_CHECKING:
    import numpy

_log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
"""Called as ``progress(done, total)`` while sections are embedded."""

EMBED_CHUNK = 64
SECTIONS_VERSION = 3
"""Bump when the way notes split into sections changes, so cached splits are redone."""


@dataclass(slots=True)
class Settings:
    """Everything the core needs to know about a site, read from ``mkdocs.yml``."""

    docs_dir: Path
    """Folder of the notes."""
    work_dir: Path
    """Folder for the index and the embedding cache (``.tilsite`` beside mkdocs.yml)."""
    slugs: SlugSettings = field(default_factory=SlugSettings)
    """How headings become ids."""
    model: str = DEFAULT_MODEL
    """``default``, a local sentence-transformers folder or a hub name."""
    use_directory_urls: bool = True
    """MkDocs' ``use_directory_urls``."""
    related_count: int = DEFAULT_COUNT
    """How many related notes each page lists."""
    related_threshold: float = DEFAULT_THRESHOLD
    """Minimum cosine similarity (of centred vectors) of a related section."""
    related_exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    """Glob patterns of notes that neither get nor appear in related lists."""

    @property
    def index_dir(self) -> Path:
        """Where the FAISS index, metadata and manifest live."""
        return self.work_dir / "index"

    @property
    def build_stamp(self) -> Path:
        """Touched when a build is complete: a note modified after it has changed since."""
        return self.work_dir / "last-build"

    @property
    def cache_path(self) -> Path:
        """The SQLite embedding cache."""
        return self.work_dir / "embeddings.sqlite"


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
    changed_notes: list[str] = field(default_factory=list)
    """Notes with at least one newly embedded section."""
    problems: list[NoteProblem] = field(default_factory=list)
    """Files skipped or read with a caveat."""
    front_matter: dict[str, dict[str, object]] = field(default_factory=dict)
    """Front matter of each note read, by path on the site."""
    links: dict[str, list[str]] = field(default_factory=dict)
    """The URLs each note read links to or shows, by path on the site."""

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
        return (
            f"Indexed {_count(self.notes, 'note')}, {_count(self.sections, 'section')}:"
            f" embedded {self.embedded} new or changed {_noun(self.embedded, 'section')}{changed},"
            f" reused {self.reused} from the cache."
        )


def _noun(count: int, noun: str) -> str:
    return noun if count == 1 else f"{noun}s"


def _count(count: int, noun: str) -> str:
    return f"{count} {_noun(count, noun)}"


def page_url(path: str, use_directory_urls: bool = True) -> str:
    """The site-relative URL MkDocs gives the page built from ``path`` (quoted for use in links)."""
    stem, _ = posixpath.splitext(path)
    directory, name = posixpath.split(stem)
    if name in ("index", "README", "readme"):
        url = f"{directory}/" if directory else "./"
    elif use_directory_urls:
        url = f"{stem}/"
    else:
        url = f"{stem}.html"
    return quote(url)


def section_url(section: Section, use_directory_urls: bool = True) -> str:
    """URL of a section: the page URL plus ``#anchor`` when the section has one."""
    url = page_url(section.path, use_directory_urls)
    return f"{url}#{section.anchor}" if section.anchor else url


NoteFiles = Iterable[tuple[str, Path]]
"""Notes to index as (path on the site, file on disk) pairs."""


def default_note_files(docs_dir: Path) -> NoteFiles:
    """Every Markdown file below ``docs_dir``, at its path below ``docs_dir``."""
    return ((path.relative_to(docs_dir).as_posix(), path) for path in iter_note_paths(docs_dir))


def read_notes(settings: Settings, problems: list[NoteProblem], files: NoteFiles | None = None) -> list[Note]:
    """Read the notes ``files`` (default: every note below ``docs_dir``), skipping unreadable ones."""
    pairs = default_note_files(settings.docs_dir) if files is None else files
    notes = (read_note(path, settings.docs_dir, problems, uri) for uri, path in pairs)
    return [note for note in notes if note is not None]


def collect_sections(
    settings: Settings,
    problems: list[NoteProblem],
    files: NoteFiles | None = None,
    cache: EmbeddingCache | None = None,
    notes: list[Note] | None = None,
) -> tuple[int, list[Section]]:
    """Read the notes (``files``, or every note below ``docs_dir``) and split them; return (notes read, sections).

    With a ``cache``, a note whose text and slug settings are unchanged is not parsed again.
    ``notes`` already read are used instead of reading ``files``.
    """
    if notes is None:
        notes = read_notes(settings, problems, files)
    fingerprint = _slug_fingerprint(settings.slugs)
    keys = [_note_key(note, fingerprint) for note in notes]
    stored = cache.get_sections(keys) if cache else {}
    sections: list[Section] = []
    fresh: list[tuple[str, str]] = []
    for note, key in zip(notes, keys, strict=True):
        if key in stored:
            sections.extend(
                Section(**{**item, "heading_path": tuple(item["heading_path"])}) for item in json.loads(stored[key])
            )
            continue
        parsed = split_sections(note, settings.slugs)
        sections.extend(parsed)
        fresh.append((key, json.dumps([asdict(section) for section in parsed], ensure_ascii=False)))
    if cache and fresh:
        cache.put_sections(fresh)
    return len(notes), sections


def _slug_fingerprint(slugs: SlugSettings) -> str:
    # Names, not repr(): a function's repr holds its memory address, which changes every run.
    function = slugs.slugify
    kind = function if hasattr(function, "__qualname__") else type(function)
    name = f"{kind.__module__}.{kind.__qualname__}"
    options = f"{getattr(function, 'args', '')}{getattr(function, 'keywords', '')}{getattr(function, '__dict__', '')}"
    flags = f"{slugs.attr_list}|{slugs.footnotes}|{slugs.hash_without_space}"
    return f"{name}|{options}|{slugs.separator}|{flags}|{SECTIONS_VERSION}"


def _note_key(note: Note, fingerprint: str) -> str:
    payload = json.dumps([note.path, note.text, note.body_line, note.meta, fingerprint], default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def embed_sections(
    sections: list[Section],
    model: EmbeddingModel,
    cache: EmbeddingCache,
    report: BuildReport,
    progress: Progress | None = None,
) -> list:
    """Vectors for ``sections``, from the cache where the embedded text is unchanged."""
    return _arrays(SectionVectors(sections, model, cache, report).get(cache, progress))


def _arrays(vectors: list[bytes | numpy.ndarray]) -> list[numpy.ndarray]:
    import numpy as np

    return [np.frombuffer(vector, dtype="<f4") if isinstance(vector, bytes) else vector for vector in vectors]


class SectionVectors:
    """The vectors of some sections: cached ones at once, new ones embedded on ``get``.

    With a ``helper`` process (``EmbeddingModel.start_helper``), up to
    ``BACKGROUND_LIMIT`` new ones are embedded there right away; ``get`` then
    collects them (or embeds them here if the helper failed).
    """

    def __init__(
        self,
        sections: list[Section],
        model: EmbeddingModel,
        cache: EmbeddingCache,
        report: BuildReport,
        helper: Helper | None = None,
    ) -> None:
        self.model = model
        self.sections = sections
        self.hashes = [section.content_hash for section in sections]
        # As bytes: numpy is first needed in ``get``, when the helper process has done its work.
        self.known: dict[str, bytes | numpy.ndarray] = dict(cache.get_raw(model.model_id, self.hashes))
        missing = [index for index, text_hash in enumerate(self.hashes) if text_hash not in self.known]
        # Each distinct text is embedded once, even if several sections share it.
        todo = list({self.hashes[index]: index for index in missing}.values())
        # Similar lengths in one batch waste less padding.
        todo.sort(key=lambda index: len(sections[index].embedding_text))
        self.todo = [(self.hashes[index], sections[index].embedding_text) for index in todo]
        report.embedded = len(todo)
        report.reused = len(sections) - len(missing)
        report.changed_notes = sorted({sections[index].path for index in missing})
        self.pending: Job | None = None
        if helper is not None and 0 < len(self.todo) <= BACKGROUND_LIMIT:
            self.pending = helper.embed([text for _, text in self.todo], "passage")

    def get(self, cache: EmbeddingCache, progress: Progress | None = None) -> list[bytes | numpy.ndarray]:
        """All vectors, in section order (cached ones as float32 bytes); the new ones are stored in ``cache``."""
        todo, self.todo = self.todo, []
        pending, self.pending = self.pending, None
        vectors = vectors_of(pending.answer(), len(todo)) if pending is not None else None
        if vectors is not None:
            self._store(cache, [text_hash for text_hash, _ in todo], vectors)
            todo = []
        if progress and todo:
            progress(0, len(todo))
        for start in range(0, len(todo), EMBED_CHUNK):
            chunk = todo[start : start + EMBED_CHUNK]
            vectors = self.model.embed_batch([text for _, text in chunk], "passage")
            self._store(cache, [text_hash for text_hash, _ in chunk], vectors)
            if progress:
                progress(min(start + EMBED_CHUNK, len(todo)), len(todo))
        return [self.known[text_hash] for text_hash in self.hashes]

    def _store(self, cache: EmbeddingCache, hashes: list[str], vectors: numpy.ndarray) -> None:
        damaged = damaged_rows(list(vectors))
        if damaged:
            text_hash = hashes[damaged[0]]
            where = next(section.path for section in self.sections if section.content_hash == text_hash)
            raise ModelError(
                f"{where}: the model {self.model.model_id!r} gave {len(damaged)} vector(s) that are not finite unit"
                " vectors; nothing was stored. Check the model (`model:` in mkdocs.yml)."
            )
        cache.put_many(self.model.model_id, hashes, vectors)
        self.known.update(zip(hashes, vectors, strict=True))

    def matrix(self, cache_path: Path) -> numpy.ndarray:
        """All vectors (after ``get``) as one float32 matrix. Cached vectors that are damaged (not finite, not of
        unit length, or of another length than the others) are embedded again and replaced in the cache."""
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
                    texts = [wanted[text_hash] for text_hash in chunk]
                    self._store(cache, chunk, self.model.embed_batch(texts, "passage"))
            finally:
                cache.close()
            rows = _arrays([self.known[text_hash] for text_hash in self.hashes])
        return np.ascontiguousarray(np.vstack(rows), dtype=np.float32)


@dataclass(slots=True)
class PendingIndex:
    """An index whose sections are known and whose new vectors may still be on their way (``start_index``)."""

    settings: Settings
    records: list[SectionRecord]
    """One record per section, in index order."""
    report: BuildReport
    vectors: SectionVectors

    def finish(
        self, progress: Progress | None = None, rendered_anchors: dict[str, set[str]] | None = None
    ) -> SectionIndex:
        """Embed (or collect) the new vectors, write the index and return it.

        ``rendered_anchors`` are the heading ids each page has once rendered: a section whose
        heading the page does not show (inside raw HTML, say) is linked at the section before it.
        The vector matrix is made when first used: writing an unchanged index, and
        results cached for it, do not need it."""
        cache = EmbeddingCache(self.settings.cache_path)
        try:
            self.vectors.get(cache, progress)
        finally:
            cache.close()

        def matrix() -> numpy.ndarray:
            return self.vectors.matrix(self.settings.cache_path)

        if rendered_anchors is not None:
            self.records = rendered_only(self.records, rendered_anchors)
        index = SectionIndex(self.vectors.model.model_id, self.records, matrix)
        write_index(index, self.settings.index_dir)
        return index


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
        fixed.append(replace(record, anchor=anchor, url=f"{page}#{anchor}" if anchor else page))
    return fixed


def start_index(
    settings: Settings,
    model: EmbeddingModel,
    files: NoteFiles | None = None,
    *,
    helper: Helper | None = None,
) -> PendingIndex:
    """Read and split the notes, and find which sections need new vectors; ``finish`` does the rest.

    ``files`` are the notes to index (the pages MkDocs will build) as (site path,
    file) pairs; by default every Markdown file below ``docs_dir``. With a
    ``helper`` process, a few new sections are embedded there meanwhile, so that
    the caller can go on with other work.
    """
    report = BuildReport()
    cache = EmbeddingCache(settings.cache_path)
    try:
        notes = read_notes(settings, report.problems, files)
        report.front_matter = {note.path: note.meta for note in notes}
        report.links = {note.path: link_targets(note.text) for note in notes}
        report.notes, sections = collect_sections(settings, report.problems, cache=cache, notes=notes)
        report.sections = len(sections)
        vectors = SectionVectors(sections, model, cache, report, helper)
    finally:
        cache.close()
    records = [
        SectionRecord(
            path=section.path,
            title=section.note_title,
            heading=section.heading,
            anchor=section.anchor,
            url=section_url(section, settings.use_directory_urls),
            snippet=section.snippet,
            text=section.text,
            text_hash=section.content_hash,
        )
        for section in sections
    ]
    return PendingIndex(settings, records, report, vectors)


def build_index(
    settings: Settings,
    model: EmbeddingModel,
    progress: Progress | None = None,
    files: NoteFiles | None = None,
) -> tuple[SectionIndex, BuildReport]:
    """Index the notes and write the index; return it with a report (see ``start_index``)."""
    pending = start_index(settings, model, files)
    return pending.finish(progress), pending.report
