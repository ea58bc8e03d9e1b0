"""The ``tilsite`` MkDocs plugin: related notes at the end of every note page."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, get_plugin_logger
from mkdocs.structure.files import File

from tilsite import embeddings
from tilsite.builder import Progress, Settings, build_index
from tilsite.errors import TilsiteError
from tilsite.plugin.config import TilsiteConfig, settings_from_config
from tilsite.related import RelatedNote, compute_related
from tilsite.render import RELATED_START, related_markdown, wrap_related_html

if TYPE_CHECKING:
    from collections.abc import Callable

    from mkdocs.config.defaults import MkDocsConfig
    from mkdocs.livereload import LiveReloadServer
    from mkdocs.structure.files import Files
    from mkdocs.structure.pages import Page

log = get_plugin_logger(__name__)

_CSS = "assets/tilsite/related.css"


class TilsitePlugin(BasePlugin[TilsiteConfig]):
    """Indexes the notes once per build and appends related notes to each page."""

    supports_multiple_instances = False

    def __init__(self) -> None:
        self.settings: Settings | None = None
        self.related: dict[str, list[RelatedNote]] = {}
        self.legacy_encoded: dict[str, str] = {}
        """Notes that are not UTF-8, with the encoding they were read in."""
        self.progress: Progress = _log_progress
        """Called while sections are embedded; the CLI replaces it with a progress bar."""

    def on_config(self, config: MkDocsConfig) -> MkDocsConfig | None:
        if not self.config.enabled:
            return None
        try:
            self.settings = settings_from_config(config, self.config)
        except TilsiteError as exc:
            raise PluginError(str(exc)) from exc
        config.extra_css.append(_CSS)
        return config

    def on_files(self, files: Files, /, *, config: MkDocsConfig) -> Files | None:
        if not self.config.enabled or self.settings is None:
            return None
        # Index exactly the pages MkDocs will build (it honours exclude_docs, drafts, README/index).
        pages = files.documentation_pages()
        paths = [Path(file.abs_src_path) for file in pages if file.abs_src_path]
        settings = self.settings
        try:
            index, report = build_index(settings, embeddings.load_model(settings.model), self.progress, paths)
        except TilsiteError as exc:
            raise PluginError(str(exc)) from exc
        for problem in report.problems:
            log.warning(str(problem))
        log.info(report.summary())
        self.legacy_encoded = {
            problem.path: problem.legacy_encoding for problem in report.problems if problem.legacy_encoding
        }
        for file in pages:
            if file.src_uri in report.skipped:
                files.remove(file)
        self.related = compute_related(
            index, settings.related_count, settings.related_threshold, settings.related_exclude
        )
        self._add_asset_dirs(files, config)
        css = (Path(__file__).parent / "assets" / "related.css").read_text(encoding="utf-8")
        files.append(File.generated(config, _CSS, content=css))
        return files

    def _add_asset_dirs(self, files: Files, config: MkDocsConfig) -> None:
        """Publish folders such as ``img/`` that notes reference as ``/img/x.png``."""
        project_dir = Path(config.config_file_path or ".").resolve().parent
        for name in self.config.asset_dirs:
            folder = project_dir / name
            if not folder.is_dir():
                continue
            for path in sorted(folder.rglob("*")):
                relative = path.relative_to(project_dir).as_posix()
                if path.is_file() and not path.name.startswith(".") and files.get_file_from_path(relative) is None:
                    files.append(File(relative, str(project_dir), config.site_dir, config.use_directory_urls))

    def on_serve(self, server: LiveReloadServer, /, *, config: MkDocsConfig, builder: Callable) -> LiveReloadServer:
        if not self.config.enabled:
            return server
        project_dir = Path(config.config_file_path or ".").resolve().parent
        for name in self.config.asset_dirs:
            if (project_dir / name).is_dir():
                server.watch(str(project_dir / name))
        return server

    def on_page_read_source(self, /, *, page: Page, config: MkDocsConfig) -> str | None:
        if not self.config.enabled or page.file.src_uri not in self.legacy_encoded:
            return None
        # MkDocs reads pages as UTF-8 only; give it the text tilsite decoded.
        data = Path(page.file.abs_src_path or "").read_bytes()
        return data.decode(self.legacy_encoded[page.file.src_uri], errors="replace")

    def on_page_markdown(self, markdown: str, /, *, page: Page, config: MkDocsConfig, files: Files) -> str | None:
        if not self.config.enabled:
            return None
        related = self.related.get(page.file.src_uri)
        if not related:
            return None
        block = related_markdown(related, page.file.src_uri, self.config.related_heading)
        return f"{markdown.rstrip()}\n\n{block}"

    def on_page_content(self, html: str, /, *, page: Page, config: MkDocsConfig, files: Files) -> str | None:
        if not self.config.enabled or RELATED_START not in html:
            return None
        return wrap_related_html(html)


def _log_progress(done: int, total: int) -> None:
    if total and (done == total or done % 256 == 0):
        log.info(f"Embedding sections: {done}/{total}")
