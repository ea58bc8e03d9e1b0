"""The ``tilsite`` MkDocs plugin: related notes at the end of every note page."""

from __future__ import annotations

import datetime as dt
import logging
import shutil
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from mkdocs.config.config_options import ExtraScriptValue
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, event_priority, get_plugin_logger
from mkdocs.structure.files import File, Files, InclusionLevel
from mkdocs.structure.toc import AnchorLink

from tilsite import embeddings
from tilsite.archive import ArchiveEntry, archive_markdown
from tilsite.builder import PendingIndex, Progress, Settings, start_index
from tilsite.dates import git_first_commit_dates, note_date
from tilsite.errors import TilsiteError, os_error_message
from tilsite.notes import page_source
from tilsite.plugin.config import TilsiteConfig, notes_root, settings_from_config
from tilsite.plugin.github import GithubMarkdown
from tilsite.plugin.links import LinkFixer
from tilsite.plugin.nav import unwrap_single_pages
from tilsite.related import RelatedNote, related_notes
from tilsite.render import balance_html, fragment, insert_date, related_html, trim_indentation
from tilsite.sources import changed_since, link_leaving, page_uri, scan_notes, walk_files
from tilsite.targets import RepositoryFiles, Resolved
from tilsite.webmodel import ensure_web_model, needs_new_words
from tilsite.websearch import SEARCH_DIR, SiteFile, record_texts, search_excluded, search_files

if TYPE_CHECKING:
    from collections.abc import Callable

    from jinja2 import Environment
    from mkdocs.config.defaults import MkDocsConfig
    from mkdocs.livereload import LiveReloadServer
    from mkdocs.structure.nav import Navigation
    from mkdocs.structure.pages import Page
    from mkdocs.utils.templates import TemplateContext

    from tilsite.embedworker import Helper, Job
    from tilsite.index import SectionIndex, SectionRecord

log = get_plugin_logger(__name__)

_CSS = "assets/tilsite/related.css"
WEB_MODEL_STATE = "web-model.json"
_SAME_PAGE = "another note is published at the same page path; skipped. Rename one of them."


class TilsitePlugin(BasePlugin[TilsiteConfig]):
    """Indexes the notes once per build and appends related notes to each page."""

    supports_multiple_instances = False

    def __init__(self) -> None:
        self.settings: Settings | None = None
        self.related: dict[str, list[RelatedNote]] = {}
        self.converted: set[str] = set()
        """Pages MkDocs cannot read as they are: notebooks and notes that are not UTF-8."""
        self.moved: dict[str, str] = {}
        """Files published under another path (``x.ipynb`` → ``x.md``, ``y.MD`` → ``y.md``)."""
        self.search_excluded: set[str] = set()
        """Notes whose front matter keeps them out of search (``search: exclude: true``)."""
        self.unpublished: dict[str, Path] = {}
        """Files of the notes folder that are not published unless a note links to them (code, HTML, data)."""
        self.dates: dict[str, dt.date] = {}
        self.links = LinkFixer()
        self.progress: Progress = _log_progress
        """Called while sections are embedded; the CLI replaces it with a progress bar."""
        self.pending: PendingIndex | None = None
        """The index of this build from ``on_files`` until ``on_env`` finishes it."""
        self.index: SectionIndex | None = None
        """The index of this build from ``on_env`` until ``on_post_build`` publishes it for the search box."""
        self.helper: Helper | None = None
        """A process that loads the model as the build starts, then embeds the new sections and updates
        the browser model while MkDocs reads and renders the pages (``EmbeddingModel.start_helper``)."""
        self.web_update: Job | None = None
        """The helper's update of the browser model for new words, from ``on_files`` until ``on_post_build``."""
        self.final_site_dir: Path | None = None
        """Where the site goes once built, when MkDocs writes it to a temporary folder (``tilsite build``):
        like ``site_dir``, it is never read as notes."""
        self.files: Files | None = None
        """The files of this build, for the links of related notes."""
        self.background = False
        """Whether to start ``helper`` (one-off builds; ``serve`` keeps the model loaded in its own process)."""

    def on_startup(self, /, *, command: str, dirty: bool) -> None:
        self.background = command in ("build", "gh-deploy")
        core = logging.getLogger("tilsite")
        if not core.handlers:  # under `mkdocs build`; the tilsite CLI prints them itself
            core.addHandler(_ToMkDocsLog())
            core.setLevel(logging.INFO)
            core.propagate = False

    def on_config(self, config: MkDocsConfig) -> MkDocsConfig | None:
        if not self.config.enabled:
            return None
        try:
            self.settings = settings_from_config(config, self.config)
        except (TilsiteError, OSError) as exc:
            raise PluginError(_message(exc)) from exc
        config.extra_css.append(_CSS)
        if self.config.site_search:
            script = ExtraScriptValue(f"{SEARCH_DIR}/search-ui.js")
            script.type = "module"
            config.extra_javascript.append(script)
            config.extra_css.append(f"{SEARCH_DIR}/search.css")
        if self.links not in config.markdown_extensions:
            config.markdown_extensions.append(self.links)
        if self.config.github_markdown and not any(
            isinstance(item, GithubMarkdown) for item in config.markdown_extensions
        ):
            names = {name.rsplit(".", 1)[-1] for name in config.markdown_extensions if isinstance(name, str)}
            config.markdown_extensions.append(GithubMarkdown(alerts="admonition" in names))
        self._stop_helper()
        if self.background and self._changed_since_last_build(config):
            self.helper = embeddings.load_model(self.settings.model).start_helper()
        return config

    def _changed_since_last_build(self, config: MkDocsConfig) -> bool:
        """Whether a note (or mkdocs.yml) was modified after the last build: a guess, made before anything
        is read, at whether the helper will have work (starting it for nothing costs the build time)."""
        settings = self.settings
        if settings is None:
            return False
        try:
            built = settings.build_stamp.stat().st_mtime_ns
            if config.config_file_path and Path(config.config_file_path).stat().st_mtime_ns > built:
                return True
        except OSError:
            return True
        return changed_since(settings.docs_dir, built, (*self._site_dirs(config), settings.work_dir))

    def _site_dirs(self, config: MkDocsConfig) -> tuple[Path, ...]:
        site_dir = Path(config.site_dir)
        return (site_dir, self.final_site_dir) if self.final_site_dir else (site_dir,)

    def site_files(self, files: Files, config: MkDocsConfig) -> Files:
        """The files the site is built from: ``notes_dir`` when set, notebooks and ``.MD`` notes as pages."""
        try:
            root = notes_root(config, self.config)
        except (TilsiteError, OSError) as exc:
            raise PluginError(_message(exc)) from exc
        self.moved = {}
        self.unpublished = {}
        if root is not None:
            files = self._files_from_notes(root, files, config)
        else:
            docs_dir = Path(config.docs_dir)
            links: dict[str, None] = {}
            for file in list(files):
                if file.abs_src_path and file.src_dir == config.docs_dir:
                    link = link_leaving(Path(file.abs_src_path), docs_dir)
                    if link is not None:
                        files.remove(file)
                        links[link.relative_to(docs_dir).as_posix()] = None
            _warn_outside(list(links), "docs_dir")
            for file in list(files):
                uri = page_uri(file.src_uri)
                if file.is_documentation_page() or uri is None or file.abs_src_path is None:
                    continue
                files.remove(file)
                if files.get_file_from_path(uri) is None:
                    files.append(_moved_file(uri, Path(file.abs_src_path), config))
                    self.moved[file.src_uri] = uri
                else:
                    log.warning(f"{file.src_uri}: {_SAME_PAGE}")
        self._add_asset_dirs(files, config)
        return files

    def _files_from_notes(self, root: Path, files: Files, config: MkDocsConfig) -> Files:
        """The notes below ``root`` as MkDocs files, after the ``files`` MkDocs already has: with ``notes_dir``,
        docs_dir is an empty placeholder, so those are the theme's stylesheets, scripts and icons (and files other
        plugins added)."""
        project_dir = Path(config.config_file_path or ".").resolve().parent
        skip: tuple[Path, ...] = (*self._site_dirs(config), Path(config.docs_dir), project_dir / self.config.work_dir)
        skip += (Path(config.config_file_path),) if config.config_file_path else ()
        scan = scan_notes(root, skip)
        _warn_outside(scan.outside, "notes_dir")
        if scan.skipped:
            log.info(f"{root}: {scan.skipped_summary()}; those that notes link to are published.")
        self.unpublished = {other.uri: other.path for other in scan.others}
        for relative in scan.conflicts:
            log.warning(f"{relative}: {_SAME_PAGE}")
        exclude = config.exclude_docs
        found: list[File] = list(files)
        for source in scan.files:
            if source.uri == source.original:
                file = File(source.uri, str(root), config.site_dir, config.use_directory_urls)
            else:
                file = _moved_file(source.uri, source.path, config)
                self.moved[source.original] = source.uri
            if exclude is not None and exclude.match_file(source.uri):
                file.inclusion = InclusionLevel.EXCLUDED
            found.append(file)
        return Files(found)

    def on_files(self, files: Files, /, *, config: MkDocsConfig) -> Files | None:
        if not self.config.enabled or self.settings is None:
            return None
        files = self.site_files(files, config)
        # Index exactly the pages MkDocs will build (it honours exclude_docs, drafts, README/index).
        pages = files.documentation_pages()
        settings = self.settings
        try:
            model = embeddings.load_model(settings.model)
            pending = start_index(settings, model, note_files(files), helper=self.helper)
        except (TilsiteError, OSError) as exc:
            self._stop_helper()
            raise PluginError(_message(exc)) from exc
        # The vectors are first needed in on_env, the browser model in on_post_build: MkDocs reads and
        # renders every page meanwhile.
        self.pending = pending
        self.web_update = self._start_web_update(model, pending.records)
        if self.helper is not None:
            self.helper.close()
        self.related = {}
        report = pending.report
        for problem in report.problems:
            log.warning(str(problem))
        log.info(report.summary())
        self.converted = {problem.path for problem in report.problems if problem.legacy_encoding}
        self.converted |= {uri for original, uri in self.moved.items() if original.lower().endswith(".ipynb")}
        for file in pages:
            if file.src_uri in report.skipped:
                files.remove(file)
        self.links.update(self.moved, pending.records, self._find_link_targets(files, config, report.links))
        self.search_excluded = {path for path, meta in report.front_matter.items() if search_excluded(meta)}
        self._note_dates(files, report.front_matter, settings.docs_dir)
        self._add_archive(files, config, pending.records)
        css = (Path(__file__).parent / "assets" / "related.css").read_text(encoding="utf-8")
        files.append(File.generated(config, _CSS, content=css))
        return files

    def _find_link_targets(
        self, files: Files, config: MkDocsConfig, links: dict[str, list[str]]
    ) -> dict[tuple[str, str], str]:
        """Publish the files notes link to, and find links whose target lies elsewhere in the repository
        (``/img/x.png`` for ``sparta/img/x.png``); return those as {(note, URL): path on the site}."""
        theme = {str(Path(folder).resolve()) for folder in config.theme.dirs}
        published = {
            file.src_uri
            for file in files
            if file.abs_src_path and not file.generated_by and str(Path(file.src_dir or "/").resolve()) not in theme
        }
        repository = RepositoryFiles([*published, *self.moved, *self.unpublished])
        retargeted: dict[tuple[str, str], str] = {}
        found: list[Resolved] = []
        for note, urls in links.items():
            for url in urls:
                place = repository.find(note, url)
                if place is None:
                    continue
                path, how = place
                if path in self.unpublished:
                    files.append(_moved_file(path, self.unpublished.pop(path), config))
                if how is not None:
                    found.append(Resolved(note, url, path, how))
                    retargeted[(note, url)] = self.moved.get(path, path)
        if found:
            example = found[0]
            notes = len({item.note for item in found})
            log.info(
                f"{len(found)} links in {notes} notes point where their files are not; linked to the file"
                f" of that name elsewhere in the repository instead (e.g. {example.note}: {example.url} →"
                f" {example.target}). GitHub shows these links broken: `tilsite build --verbose` lists them."
            )
            for item in found:
                log.debug(f"{item.note}: {item.url} → {item.target} (by {item.how})")
        return retargeted

    def on_nav(self, nav: Navigation, /, *, config: MkDocsConfig, files: Files) -> Navigation | None:
        if not self.config.enabled or config.nav is not None:  # a navigation written by hand stays as written
            return None
        nav.items = unwrap_single_pages(nav.items)
        return nav

    def on_env(self, env: Environment, /, *, config: MkDocsConfig, files: Files) -> Environment | None:
        pending, self.pending = self.pending, None
        settings = self.settings
        if pending is None or settings is None:
            return None
        self.files = files
        # Every page is rendered by now: link sections only at ids their page really has.
        rendered = {
            file.src_uri: set(file.page.present_anchor_ids)
            for file in files.documentation_pages()
            if file.page is not None and file.page.present_anchor_ids is not None
        }
        try:
            index = pending.finish(self.progress, rendered)
        except (TilsiteError, OSError) as exc:
            raise PluginError(_message(exc)) from exc
        self.related = related_notes(
            index,
            settings.related_count,
            settings.related_threshold,
            settings.related_exclude,
            cache_file=settings.work_dir / "related.json",
        )
        self.index = index
        return None

    def on_post_build(self, /, *, config: MkDocsConfig) -> None:
        index, self.index = self.index, None
        try:
            if index is not None and self.config.site_search:
                site_dir = Path(config.site_dir)
                for item in self._search_files(index):
                    _publish(site_dir, item)
        finally:
            self._stop_helper()
        if index is not None and self.settings is not None:
            self.settings.build_stamp.touch()

    def on_build_error(self, /, *, error: Exception) -> None:
        self.pending = self.index = None
        self._stop_helper()

    def on_shutdown(self) -> None:
        self._stop_helper()

    def _stop_helper(self) -> None:
        helper, self.helper = self.helper, None
        self.web_update = None
        if helper is not None:
            helper.cancel()

    def _start_web_update(self, model: embeddings.EmbeddingModel, records: list[SectionRecord]) -> Job | None:
        """Have the helper add the pieces of new words to the browser model (the build checks its work,
        or does it itself, in ``_search_files``)."""
        source = model.browser_source()
        if self.helper is None or self.settings is None or not self.config.site_search or source is None:
            return None
        texts = [*record_texts(records), source[1]]
        state_file = self.settings.work_dir / WEB_MODEL_STATE
        if not needs_new_words(texts, state_file, model.model_id):
            return None
        return self.helper.update_web_model(texts, state_file, model.model_id)

    def _search_files(self, index: SectionIndex) -> list[SiteFile]:
        """The section vectors, the browser query model and the search scripts."""
        settings = self.settings
        if settings is None:
            return []
        update, self.web_update = self.web_update, None
        answer = update.answer() if update is not None else None
        for message in answer[0].get("messages", []) if answer else []:
            log.info(str(message))
        browser_model = None
        model = embeddings.load_model(settings.model)
        source = model.browser_source()
        if source is None:
            log.info("this model has no browser copy, so the site's search box searches by keywords only.")
        else:
            folder, prefix = source
            try:
                # Returns at once what the helper made; does the work if it failed.
                web_folder = ensure_web_model(
                    folder,
                    [*record_texts(index.records), prefix],
                    state_file=settings.work_dir / WEB_MODEL_STATE,
                    model_id=index.model_id,
                    echo=log.info,
                    # The export loads the model again in PyTorch; free the build's copy first.
                    before_export=model.release,
                )
                browser_model = (web_folder, prefix)
            except (TilsiteError, OSError, RuntimeError, ValueError) as exc:
                log.warning(f"search by meaning on the site is off ({exc}); it searches by keywords.")
        return search_files(index, browser_model, cache_dir=settings.work_dir, excluded=self.search_excluded)

    def _note_dates(self, files: Files, front_matter: dict[str, dict[str, object]], root: Path) -> None:
        self.dates = {}
        if not (self.config.show_dates or self.config.archive_page):
            return
        git_dates = git_first_commit_dates(root) if root.is_dir() else {}
        for file in files.documentation_pages():
            if file.abs_src_path and file.src_uri in front_matter:
                found = note_date(front_matter[file.src_uri], Path(file.abs_src_path), git_dates)
                if found:
                    self.dates[file.src_uri] = found[0]

    def _add_archive(self, files: Files, config: MkDocsConfig, records: list[SectionRecord]) -> None:
        page = self.config.archive_page.strip("/")
        if not page:
            return
        if not page.endswith(".md"):
            page += ".md"
        if files.get_file_from_path(page) is not None:
            log.info(f"{page} is one of your notes, so no archive page is generated there.")
            return
        titles: dict[str, str] = {}
        for record in records:
            titles.setdefault(record.path, record.title)
        entries = [ArchiveEntry(path, title, self.dates.get(path)) for path, title in titles.items()]
        files.append(File.generated(config, page, content=archive_markdown(entries, page)))

    def _add_asset_dirs(self, files: Files, config: MkDocsConfig) -> None:
        """Publish folders such as ``img/`` that notes reference as ``/img/x.png``."""
        project_dir = Path(config.config_file_path or ".").resolve().parent
        for name in self.config.asset_dirs:
            folder = project_dir / name
            if not folder.is_dir() or link_leaving(folder, project_dir) is not None:
                continue
            outside: list[str] = []
            for inner, _ in walk_files(folder, outside=outside):
                relative = f"{name.strip('/')}/{inner}"
                if files.get_file_from_path(relative) is None:
                    files.append(File(relative, str(project_dir), config.site_dir, config.use_directory_urls))
            _warn_outside([f"{name.strip('/')}/{inner}" for inner in outside], "asset_dirs")

    def on_serve(self, server: LiveReloadServer, /, *, config: MkDocsConfig, builder: Callable) -> LiveReloadServer:
        # Rebuilds load the model once, here (`mkdocs serve --clean` announces itself as a build).
        self.background = False
        if not self.config.enabled:
            return server
        project_dir = Path(config.config_file_path or ".").resolve().parent
        for name in self.config.asset_dirs:
            if (project_dir / name).is_dir():
                server.watch(str(project_dir / name))
        root = notes_root(config, self.config)
        if root is not None:
            # Not the whole folder recursively: the work and site folders inside it change on every build.
            server.watch(str(root), recursive=False)
            skip = {Path(config.site_dir).resolve(), Path(config.docs_dir).resolve()}
            skip.add((project_dir / self.config.work_dir).resolve())
            for child in sorted(root.iterdir()):
                if child.is_dir() and not child.name.startswith(".") and child.resolve() not in skip:
                    server.watch(str(child))
        return server

    def on_page_read_source(self, /, *, page: Page, config: MkDocsConfig) -> str | None:
        if not self.config.enabled or page.file.src_uri not in self.converted or not page.file.abs_src_path:
            return None
        # MkDocs reads pages as UTF-8 Markdown only; give it what tilsite read.
        return page_source(Path(page.file.abs_src_path))

    def on_page_markdown(self, markdown: str, /, *, page: Page, config: MkDocsConfig, files: Files) -> str | None:
        if not self.config.enabled:
            return None
        self.links.page = page.file.src_uri
        self.links.page_file = page.file
        self.links.files = files
        return None

    def on_page_content(self, html: str, /, *, page: Page, config: MkDocsConfig, files: Files) -> str | None:
        if not self.config.enabled:
            return None
        html = balance_html(html)
        when = self.dates.get(page.file.src_uri) if self.config.show_dates else None
        return insert_date(html, when) if when else html

    # After Material's search (priority 0) has read the page: the block is not part of the note.
    @event_priority(-50)
    def on_page_context(
        self, context: TemplateContext, /, *, page: Page, config: MkDocsConfig, nav: Navigation
    ) -> TemplateContext | None:
        # Related notes are known once every page is read (``on_env``); the block is added before
        # the page is written, with the files of the build (MkDocs' anchor check runs after this).
        related = self.related.get(page.file.src_uri) if self.config.enabled else None
        if related and page.content is not None and self.files is not None:
            page.content = f"{page.content}\n{self._related_block(related, page, self.files)}"
        return None

    def on_post_page(self, output: str, /, *, page: Page, config: MkDocsConfig) -> str | None:
        return trim_indentation(output) if self.config.enabled else None

    def _related_block(self, related: list[RelatedNote], page: Page, files: Files) -> str:
        """The related-notes aside of ``page``; its links are registered for MkDocs' anchor check
        and its heading joins the page's table of contents."""
        links = []
        for item in related:
            target = files.get_file_from_path(item.target.path)
            if target is None:
                continue
            links.append((item, target.url_relative_to(page.file) + fragment(item.target.anchor)))
            if item.target.anchor and page.links_to_anchors is not None:
                original = f"{item.target.path}#{item.target.anchor}"
                page.links_to_anchors.setdefault(target, {}).setdefault(item.target.anchor, original)
        heading_id = _unused_id("related-notes", page.present_anchor_ids or set())
        if page.present_anchor_ids is not None:
            page.present_anchor_ids.add(heading_id)
        entry = AnchorLink(escape(self.config.related_heading), heading_id, 2)  # titles are HTML, as MkDocs' own
        top = page.toc.items
        if len(top) == 1 and top[0].level == 1:
            top[0].children.append(entry)
        else:
            top.append(entry)
        return related_html(links, self.config.related_heading, heading_id)


class _ToMkDocsLog(logging.Handler):
    """Passes the core's messages (model preparation, fallbacks) on to MkDocs' log."""

    def emit(self, record: logging.LogRecord) -> None:
        logging.getLogger("mkdocs.plugins.tilsite").log(record.levelno, record.getMessage())


def _unused_id(wanted: str, taken: set[str]) -> str:
    """``wanted``, or ``wanted_1``, ``wanted_2``, ... as Python-Markdown makes heading ids unique."""
    candidate, number = wanted, 0
    while candidate in taken:
        number += 1
        candidate = f"{wanted}_{number}"
    return candidate


def note_files(files: Files) -> list[tuple[str, Path]]:
    """The pages MkDocs will build that come from note files, as (site path, file) pairs."""
    return [(file.src_uri, Path(file.abs_src_path)) for file in files.documentation_pages() if file.abs_src_path]


def _moved_file(uri: str, path: Path, config: MkDocsConfig) -> File:
    """A file published at ``uri`` but read from ``path`` (a notebook, or a note named ``.MD``; a linked file)."""
    file = File(uri, None, config.site_dir, config.use_directory_urls)
    file.abs_src_path = str(path)
    return file


def _publish(site_dir: Path, item: SiteFile) -> None:
    """Write ``item`` into the site (after MkDocs has written its own files)."""
    target = site_dir.joinpath(*item.uri.split("/"))
    target.parent.mkdir(parents=True, exist_ok=True)
    if item.content is not None:
        target.write_bytes(item.content)
    elif item.source is not None:
        shutil.copyfile(item.source, target)


def _message(exc: Exception) -> str:
    return os_error_message(exc) if isinstance(exc, OSError) else str(exc)


def _warn_outside(paths: list[str], where: str) -> None:
    """One warning for the symbolic links that lead out of the notes (never read, never published)."""
    if paths:
        shown = ", ".join(paths[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")
        links = "1 symbolic link that leads" if len(paths) == 1 else f"{len(paths)} symbolic links that lead"
        log.warning(
            f"left out {links} outside {where} or round in a loop: {shown}. What they point at is never read"
            " or published; copy it in if it belongs to the site."
        )


def _log_progress(done: int, total: int) -> None:
    if total and (done == total or done % 256 == 0):
        log.info(f"Embedding sections: {done}/{total}")
