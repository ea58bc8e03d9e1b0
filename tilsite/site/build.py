"""A site's build, from the notes to the files to publish: what a site generator's adapter calls.

The MkDocs plugin (``tilsite.plugin``) and the CLI drive a build through ``SiteBuild``;
another generator's adapter would do the same::

    build = SiteBuild(settings)                    # from the generator's configuration
    report = build.collect(notes)                  # read and split the notes; embedding starts in the background
    ...                                            # the generator reads and renders its pages meanwhile
    index = build.finish(rendered_anchors)         # the section index, written
    related = build.related()                      # related notes of every note
    files = build.published_files(excluded)        # search on the site: data, browser model, scripts
    build.close()

``SiteBuild`` owns the model, the work that runs beside the generator's rendering
(embedding new sections and writing the browser copy of the model: a thread that
waits on the model's own process, see ``tilsite.model.worker``, so that the work
runs on the other core), and every path under the site's work folder (through
``tilsite.workdir``). The names this module exports are the core's interface for
adapters: the MkDocs plugin needs nothing else but ``tilsite.site.render`` and
``tilsite.errors``. (The CLI's ``search`` and ``related`` commands also read a
written index through ``tilsite.index.store`` and ``tilsite.results``.)
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tilsite.errors import TilsiteError
from tilsite.index.cache import EmbeddingCache
from tilsite.index.pipeline import BuildReport, IndexBuild, NoteFile, Progress, notes_below
from tilsite.index.store import SectionIndex, SectionRecord
from tilsite.model import models
from tilsite.model.models import DEFAULT_MODEL, EmbeddingModel
from tilsite.notes.dates import git_first_commit_dates, note_date
from tilsite.notes.github import github_blocks
from tilsite.notes.reading import page_source
from tilsite.notes.slugs import SlugSettings, github_slug
from tilsite.notes.sources import MARKDOWN_SUFFIXES, left_out, link_leaving, page_uri, scan_notes, walk_files
from tilsite.notes.targets import GitHubRepository, RepositoryFiles, Resolved, github_repository
from tilsite.notes.wikilinks import tag_markdown, wiki_markdown
from tilsite.results.copies import NearCopy, near_copies
from tilsite.results.related import (
    DEFAULT_COUNT,
    DEFAULT_EXCLUDE,
    DEFAULT_THRESHOLD,
    NoteGroups,
    RelatedNote,
    related_notes,
)
from tilsite.results.topics import Topic, Topics, site_topics
from tilsite.site.archive import ArchiveEntry, archive_markdown, folder_listing, home_markdown
from tilsite.site.published import SEARCH_DIR, SiteFile, record_texts, search_excluded, search_files
from tilsite.site.words import ENGLISH, Words, words_for
from tilsite.workdir import DEFAULT_NAME, WorkDir

__all__ = [
    "ASSETS",
    "DEFAULT_COUNT",
    "DEFAULT_EXCLUDE",
    "DEFAULT_MODEL",
    "DEFAULT_NAME",
    "DEFAULT_THRESHOLD",
    "DIAGRAMS_LICENSE",
    "DIAGRAMS_SCRIPT",
    "MARKDOWN_SUFFIXES",
    "RELATED_CSS",
    "SEARCH_DIR",
    "BuildReport",
    "GitHubRepository",
    "LinkTargets",
    "NearCopy",
    "NoteFile",
    "Progress",
    "RelatedNote",
    "Resolved",
    "SectionRecord",
    "Settings",
    "SiteBuild",
    "SiteFile",
    "SlugSettings",
    "Topic",
    "Topics",
    "Words",
    "folder_listing",
    "github_blocks",
    "github_repository",
    "github_slug",
    "left_out",
    "link_leaving",
    "notes_below",
    "page_source",
    "page_uri",
    "scan_notes",
    "tag_markdown",
    "walk_files",
    "wiki_markdown",
    "words_for",
]

_log = logging.getLogger("tilsite")
ASSETS = Path(__file__).parent / "assets"
"""The stylesheets and scripts that the adapter publishes (besides search's)."""
RELATED_CSS = ASSETS / "related.css"
"""The stylesheet of the related-notes block (published by the adapter)."""
DIAGRAMS_SCRIPT = ASSETS / "diagrams" / "mermaid.min.js"
"""mermaid's script, which draws the notes' mermaid diagrams in the page as GitHub does (published by the adapter
on sites that have any, with its licence beside it; see ``assets/diagrams/README.md``)."""
DIAGRAMS_LICENSE = ASSETS / "diagrams" / "LICENSE-mermaid.txt"
"""mermaid's licence, published beside its script."""


@dataclass(slots=True)
class Settings:
    """Everything the core needs to know about a site, read from the generator's configuration."""

    notes_dir: Path
    """Folder of the notes."""
    work_dir: Path
    """The site's work folder (``.tilsite`` beside mkdocs.yml): index, caches (see tilsite.workdir)."""
    slugs: SlugSettings = field(default_factory=SlugSettings)
    """How headings become ids."""
    model: str = DEFAULT_MODEL
    """``default``, a local sentence-transformers folder or a hub name."""
    related_count: int = DEFAULT_COUNT
    """How many related notes each page lists."""
    related_threshold: float = DEFAULT_THRESHOLD
    """Minimum cosine similarity (of centred vectors) of a related section."""
    related_exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    """Glob patterns of notes that neither get nor appear in related lists."""
    site_search: bool = True
    """Whether the site searches by meaning (the browser copy of the model is made and published)."""
    passages: bool = True
    """Whether long sections' prose beyond the model's window is embedded too, as passages that search finds
    (tilsite.index.passages); off, a long section is known by its beginning only."""
    model_process: bool = True
    """Whether the default model runs in a process of its own while the generator renders (a build); a live
    preview keeps it in its own process between rebuilds instead."""

    @property
    def work(self) -> WorkDir:
        """The paths under ``work_dir``."""
        return WorkDir(self.work_dir)


SHOWN_COPIES = 10
"""Near-copies a build names one by one (a repository with hundreds gets a count for the rest)."""
STOP_SECONDS = 60.0
"""How long closing a build waits for its background step (a batch of sections, or writing the browser copy
of the model, takes a few seconds at most)."""


class _Background:
    """A build's work beside the rendering: one daemon thread runs the jobs in the order they come.

    The jobs mostly wait for the model's process (or, in a live preview, for onnxruntime,
    which releases the interpreter while it computes), so MkDocs renders pages meanwhile.
    The thread is a daemon: a build that is interrupted waits only for its current step.
    """

    def __init__(self) -> None:
        self.stopped = threading.Event()
        self._jobs: list[tuple[Callable[[], Any], Future[Any]]] = []
        self._ready = threading.Condition()
        self._thread: threading.Thread | None = None

    def submit(self, job: Callable[[], Any]) -> Future[Any]:
        if self.stopped.is_set():
            raise RuntimeError("the build's background work was stopped")
        future: Future[Any] = Future()
        with self._ready:
            self._jobs.append((job, future))
            self._ready.notify()
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="tilsite-background", daemon=True)
            self._thread.start()
        return future

    def _run(self) -> None:
        while not self.stopped.is_set():
            with self._ready:
                while not self._jobs and not self.stopped.is_set():
                    self._ready.wait(timeout=1.0)
                if self.stopped.is_set():
                    return
                job, future = self._jobs.pop(0)
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(job())
                except BaseException as exc:  # the caller gets it from the future
                    future.set_exception(exc)

    def stop(self) -> None:
        """Run no further job, and wait for the one running to finish its current step (embedding checks
        between batches), so that the next build (``tilsite serve``) never shares the model with it."""
        self.stopped.set()
        with self._ready:
            for _, future in self._jobs:
                future.cancel()
            self._jobs.clear()
            self._ready.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=STOP_SECONDS)


class SiteBuild:
    """One build of a site: notes → sections → vectors → index → related notes and search files (see the module
    docstring for the order of the calls)."""

    def __init__(self, settings: Settings, *, progress: Progress | None = None) -> None:
        self.settings = settings
        self.progress = progress
        """Called while sections are embedded (from the background thread)."""
        self._model: EmbeddingModel | None = None
        self._background = _Background()
        self._index_build: IndexBuild | None = None
        self._embedding: Future[None] | None = None
        self._browser: Future[tuple[Path, str] | None] | None = None
        self.index: SectionIndex | None = None
        """The index, once ``finish`` has written it."""
        self._notes: NoteGroups | None = None

    @property
    def model(self) -> EmbeddingModel:
        """The embedding model (loaded on first use)."""
        if self._model is None:
            self._model = models.load_model(self.settings.model, separate_process=self.settings.model_process)
        return self._model

    def collect(self, notes: list[NoteFile]) -> BuildReport:
        """Read and split ``notes`` and find the sections that need a new vector; start embedding them, and
        (for search on the site) writing the browser copy of the model, in the background."""
        work = self.settings.work
        for earlier in work.earlier_files:
            earlier.unlink(missing_ok=True)
        build = IndexBuild(
            notes,
            slugs=self.settings.slugs,
            model=self.model,
            cache_path=work.cache,
            index_dir=work.index,
            passages=self.settings.passages,
        )
        self._index_build = build
        if build.vectors.pending:
            # Started here rather than by the background thread's first request: that thread gets the interpreter
            # only in turns while MkDocs renders, and the process should be loading the model meanwhile.
            self.model.start()
            self._embedding = self._background.submit(lambda: build.vectors.embed(work.cache, self._progress))
        if self.settings.site_search:
            texts = record_texts(build.records)
            self._browser = self._background.submit(lambda: self._browser_copy(texts))
        return build.report

    def _progress(self, done: int, total: int) -> None:
        if self._background.stopped.is_set():
            raise _Stopped
        if self.progress:
            self.progress(done, total)

    def _browser_copy(self, texts: list[str]) -> tuple[Path, str] | None:
        with EmbeddingCache(self.settings.work.cache) as cache:
            stored = cache.get_derived("browser model", self.model.model_id)
            try:
                state = json.loads(stored) if stored else {}
            except ValueError:  # damaged: start again
                state = {}
            copy = self.model.browser_copy(texts, state if isinstance(state, dict) else {})
            if copy is None:
                return None
            folder, prefix, new_state = copy
            if new_state != state:
                cache.put_derived("browser model", self.model.model_id, json.dumps(new_state).encode("utf-8"))
        return folder, prefix

    @property
    def records(self) -> list[SectionRecord]:
        """The sections of this build, after ``collect``."""
        return self._index_build.records if self._index_build else []

    @property
    def heading_ids(self) -> dict[str, list[tuple[str, str]]]:
        """Every heading of each note (by path on the site) as (its id, GitHub's id), after ``collect``."""
        return self._index_build.heading_ids if self._index_build else {}

    def finish(self, rendered_anchors: dict[str, set[str]] | None = None) -> SectionIndex:
        """Wait for the new vectors, write the index and return it (see ``IndexBuild.finish``)."""
        if self._index_build is None:
            raise RuntimeError("SiteBuild.finish needs the notes first: call collect().")
        if self._embedding is not None:
            self._embedding.result()
        self.index = self._index_build.finish(rendered_anchors)
        return self.index

    def related(self) -> dict[str, list[RelatedNote]]:
        """Every note's related notes (kept in the cache for the index's content and these settings)."""
        if self.index is None:
            return {}
        settings = self.settings
        with EmbeddingCache(settings.work.cache) as cache:
            return related_notes(
                self.index,
                settings.related_count,
                settings.related_threshold,
                settings.related_exclude,
                cache=cache,
                notes=self._note_groups,
            )

    def topics(self) -> Topics:
        """The notes grouped by meaning, named, and placed on a map (kept in the cache for the index's content);
        the notes of ``related_exclude`` are left out, as from related lists."""
        if self.index is None:
            return Topics([], {}, {})
        with EmbeddingCache(self.settings.work.cache) as cache:
            return site_topics(self.index, self.settings.related_exclude, cache=cache, notes=self._note_groups)

    def _note_groups(self) -> NoteGroups:
        """The index's notes, grouped once for related notes and topics (made only when one is computed, not
        when both come from the cache)."""
        if self._notes is None:
            if self.index is None:
                raise RuntimeError("the notes are grouped once the index is written: call finish() first")
            self._notes = NoteGroups.of(self.index)
        return self._notes

    def near_copies(self, shown: int = SHOWN_COPIES) -> list[NearCopy]:
        """Sections that nearly repeat a section of another note, each said in one line (the first ``shown``
        of them; the others at debug level, which ``tilsite build --verbose`` prints)."""
        if self.index is None:
            return []
        with EmbeddingCache(self.settings.work.cache) as cache:
            found = near_copies(self.index, cache=cache)
        headings = Counter((record.path, record.heading) for record in self.index.records)

        def place(record: SectionRecord) -> str:
            # A heading that the note has twice is told apart by its id.
            twice = headings[(record.path, record.heading)] > 1 and record.anchor
            return f"{record.path} § {' '.join(record.heading.split())}" + (f" (#{record.anchor})" if twice else "")

        for number, pair in enumerate(found):
            line = (
                f"near-copy: {place(pair.first)} ≈ {place(pair.second)} ({round(pair.overlap * 100)}% of the"
                " shorter one's text is in the other)"
            )
            _log.log(logging.INFO if number < shown else logging.DEBUG, line)
        if len(found) > shown and not _log.isEnabledFor(logging.DEBUG):  # with --verbose, all are listed above
            _log.info(f"... {len(found) - shown} more near-copies: `tilsite build --verbose` lists them.")
        return found

    def published_files(self, excluded: set[str] | None = None, words: Words = ENGLISH) -> list[SiteFile]:
        """The files of search on the site: the sections' data and vectors, the browser copy of the model (when
        the model has one and it could be made) and the scripts, its texts in ``words``' language. Notes in
        ``excluded`` are left out."""
        if self.index is None or not self.settings.site_search:
            return []
        browser: tuple[Path, str] | None = None
        try:
            browser = self._browser.result() if self._browser is not None else None
            if browser is None:
                _log.info("this model has no browser copy, so the site's search box searches by keywords only.")
        except (TilsiteError, OSError, RuntimeError, ValueError) as exc:  # onnx writing the copy may raise these
            _log.warning(f"search by meaning on the site is off ({exc}); it searches by keywords.")
        with EmbeddingCache(self.settings.work.cache) as cache:
            return search_files(self.index, browser, cache, excluded or set(), words)

    def note_dates(self, front_matter: dict[str, dict[str, object]], files: dict[str, Path]) -> dict[str, dt.date]:
        """Each note's date: front matter, else its file name, else the first commit of its content."""
        root = self.settings.notes_dir
        git_dates = git_first_commit_dates(root) if root.is_dir() else {}
        dates: dict[str, dt.date] = {}
        for path, file in files.items():
            if path in front_matter:
                found = note_date(front_matter[path], file, git_dates)
                if found:
                    dates[path] = found[0]
        return dates

    def archive_markdown(self, page: str, dates: dict[str, dt.date], words: Words = ENGLISH) -> str:
        """The Markdown of the archive page at ``page``: the notes by month and by folder."""
        return archive_markdown(self._archive_entries(dates), page, words)

    def home_markdown(
        self, title: str, dates: dict[str, dt.date], pages: list[tuple[str, str]], words: Words = ENGLISH
    ) -> str:
        """The Markdown of a home page (``index.md``) for notes that have none: their number, links to the
        generated ``pages`` (``(title, path)``) and the latest notes."""
        return home_markdown(self._archive_entries(dates), title, pages, words)

    def _archive_entries(self, dates: dict[str, dt.date]) -> list[ArchiveEntry]:
        titles: dict[str, str] = {}
        for record in self.records:
            titles.setdefault(record.path, record.title)
        return [ArchiveEntry(path, title, dates.get(path)) for path, title in titles.items()]

    def close(self) -> None:
        """Stop the background work (a build that failed waits only for its current step) and end the model's
        process, if it has one."""
        self._background.stop()
        if self._model is not None:
            self._model.close()

    @staticmethod
    def link_targets(
        links: dict[str, list[str]],
        published: set[str],
        moved: dict[str, str],
        unpublished: set[str],
        github: GitHubRepository | None = None,
        wiki: dict[str, set[str]] | None = None,
    ) -> LinkTargets:
        """Where the notes' ``links`` lead: the files of the notes folder they link to that are not published yet
        (``unpublished``; ``published`` ones and ``moved`` originals are), the links whose file is elsewhere
        in the repository (``/img/x.png`` for ``sparta/img/x.png``, see tilsite.notes.targets), and the links to
        the notes' files at their address on ``github``. A ``wiki`` link (``[[Note]]``, by note) names its file
        rather than pointing to it, so one found by name is not reported."""
        repository = RepositoryFiles([*published, *moved, *unpublished], github)
        targets = LinkTargets()
        for note, urls in links.items():
            for url in urls:
                place = repository.find(note, url)
                if place is None:
                    continue
                path, how = place
                if path in unpublished and path not in targets.to_publish:
                    targets.to_publish.append(path)
                if how is not None:
                    if how != "github" and url in (wiki or {}).get(note, ()):
                        how = "wiki"
                    targets.resolved.append(Resolved(note, url, path, how))
                    targets.retargeted[(note, url)] = moved.get(path, path)
                    # The same file by another heading (a wiki link tries others: tilsite.notes.wikilinks).
                    targets.retargeted.setdefault((note, url.partition("#")[0]), moved.get(path, path))
        found_again = [item for item in targets.resolved if item.how not in ("github", "wiki")]
        if found_again:
            example = found_again[0]
            _log.info(
                f"{_links_in_notes(found_again)} point where their files are not; linked to the file"
                f" of that name elsewhere in the repository instead (e.g. {example.note}: {example.url} →"
                f" {example.target}). GitHub shows these links broken: `tilsite build --verbose` lists them."
            )
        on_github = [item for item in targets.resolved if item.how == "github"]
        if on_github:
            example = on_github[0]
            _log.info(
                f"{_links_in_notes(on_github)} to the notes' own files on GitHub lead to them on the site"
                f" instead (e.g. {example.note}: {example.url} → {example.target})."
            )
        for item in targets.resolved:
            _log.debug(f"{item.note}: {item.url} → {item.target} (by {item.how})")
        return targets

    @staticmethod
    def search_excluded(front_matter: dict[str, dict[str, object]]) -> set[str]:
        """Notes whose front matter keeps them out of search (``search: exclude: true``, as in Material)."""
        return {path for path, meta in front_matter.items() if search_excluded(meta)}


def _links_in_notes(found: list[Resolved]) -> str:
    """``3 links in 2 notes``."""
    notes = len({item.note for item in found})
    return f"{len(found)} link{'s' if len(found) != 1 else ''} in {notes} note{'s' if notes != 1 else ''}"


@dataclass(slots=True)
class LinkTargets:
    """What ``SiteBuild.link_targets`` found."""

    to_publish: list[str] = field(default_factory=list)
    """Files that notes link to and that are published only for that (code, HTML, data)."""
    retargeted: dict[tuple[str, str], str] = field(default_factory=dict)
    """Links whose file is elsewhere than they point: {(note, URL as written): path on the site}."""
    resolved: list[Resolved] = field(default_factory=list)
    """The same, with the rule that found each."""


class _Stopped(Exception):
    """Raised in the background thread to stop embedding when the build stopped."""
