"""The ``tilsite`` MkDocs plugin: MkDocs' events turned into a ``SiteBuild`` of the core, and its results into pages.

Where the work happens is in the core (``tilsite.site.build``): this adapter gives it
the pages MkDocs will build, hands back what it finds (dates, archive, links) as MkDocs
files and Markdown settings, and adds the related notes to each page.
"""

from __future__ import annotations

import logging
import posixpath
import shutil
from dataclasses import replace
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from mkdocs.config.config_options import ExtraScriptValue
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, event_priority, get_plugin_logger
from mkdocs.structure.files import File, Files, InclusionLevel
from mkdocs.structure.toc import AnchorLink

from tilsite.errors import TilsiteError, os_error_message
from tilsite.plugin.config import TilsiteConfig, asset_folders, notes_root, settings_from_config
from tilsite.plugin.github import GithubMarkdown
from tilsite.plugin.links import LinkFixer
from tilsite.plugin.nav import unwrap_single_pages
from tilsite.site.build import (
    ASSETS,
    DIAGRAMS_LICENSE,
    DIAGRAMS_SCRIPT,
    MARKDOWN_SUFFIXES,
    RELATED_CSS,
    SEARCH_DIR,
    NoteFile,
    RelatedNote,
    SiteBuild,
    SiteFile,
    Topics,
    folder_listing,
    github_repository,
    left_out,
    link_leaving,
    page_source,
    page_uri,
    scan_notes,
    tag_markdown,
    walk_files,
    wiki_markdown,
    words_for,
)
from tilsite.site.render import (
    balance_html,
    escape_markdown_text,
    filtered_tags,
    fragment,
    insert_date,
    insert_under_title,
    note_tags,
    related_html,
    says_nothing,
    trim_indentation,
    with_title,
)
from tilsite.site.topics import TOPICS_CSS, TopicsPage, topic_ids, topic_line, topics_html

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable

    from jinja2 import Environment
    from mkdocs.config.defaults import MkDocsConfig
    from mkdocs.livereload import LiveReloadServer
    from mkdocs.structure.nav import Navigation
    from mkdocs.structure.pages import Page
    from mkdocs.utils.templates import TemplateContext

    from tilsite.site.build import Progress

log = get_plugin_logger(__name__)

_CSS = "assets/tilsite/related.css"
_TOPICS_CSS = f"assets/tilsite/{TOPICS_CSS}"
_DIAGRAMS = "assets/tilsite/diagrams"
_SAME_PAGE = "another note is published at the same page path; skipped. Rename one of them."


class TilsitePlugin(BasePlugin[TilsiteConfig]):
    """Indexes the notes once per build and appends related notes to each page."""

    supports_multiple_instances = False

    def __init__(self) -> None:
        self.build: SiteBuild | None = None
        """The core's build of this MkDocs build, from ``on_config`` to ``on_post_build``."""
        self.related: dict[str, list[RelatedNote]] = {}
        self.converted: set[str] = set()
        """Pages MkDocs cannot read as they are: notebooks and notes that are not plain UTF-8."""
        self.moved: dict[str, str] = {}
        """Files published under another path (``x.ipynb`` → ``x.md``, ``y.MD`` → ``y.md``)."""
        self.search_excluded: set[str] = set()
        """Notes whose front matter keeps them out of search (``search: exclude: true``)."""
        self.unpublished: dict[str, Path] = {}
        """Files of the notes folder that are not published unless a note links to them (code, HTML, data)."""
        self.dates: dict[str, dt.date] = {}
        self.wiki = False
        """The notes use wiki links (an Obsidian vault, or notes that link each other by them): pages show them
        as links (to a note not written yet, as its text) and Obsidian's callouts as admonitions."""
        self.words = words_for(None)
        """What tilsite writes into the pages, in the theme's language (``on_config``)."""
        self.vault: set[str] = set()
        """The notes of an Obsidian vault (their tags are shown as Obsidian shows them)."""
        self.titles: dict[str, str] = {}
        """Each note's title as the core gives it (``note_title``), which its page gets too."""
        self.links = LinkFixer()
        self.files: Files | None = None
        """The files of this build, for the links of related notes."""
        self.topics = Topics([], {}, {})
        """The notes by topic and their map, from ``on_env``."""
        self.topics_page: str | None = None
        """Where the topics page is generated in this build (None: it is not)."""
        self.topic_ids: list[str] = []
        """The id of each topic's heading on the topics page."""
        self.diagrams = False
        """A page of this build has a mermaid diagram: the site publishes mermaid's script (``on_env``)."""
        self.theme_tags = False
        """Material's tags plugin is on: it shows the front matter's tags, not tilsite."""
        self.math_scripts = False
        """The site configures arithmatex, whose math scripts stay in the pages (``filtered_tags``)."""
        self.aliases: dict[str, str] = {}
        """Notes that are symbolic links to other notes, and the page each stands for (``scan_notes``): their own
        addresses lead there (``on_post_build``)."""
        self._progress: Progress | None = _log_progress
        self._final_site_dir: Path | None = None
        self._serving = False

    def prepare(self, progress: Progress | None, final_site_dir: Path | None) -> None:
        """For ``tilsite build``: its progress bar for the embedding, and where the site goes once built when
        MkDocs writes it to a temporary folder first (like ``site_dir``, it is never read as notes)."""
        self._progress = progress
        self._final_site_dir = final_site_dir

    def on_startup(self, /, *, command: str, dirty: bool) -> None:
        self._serving = command == "serve"  # then the model stays loaded in this process between rebuilds
        core = logging.getLogger("tilsite")
        if not core.handlers:  # under `mkdocs build`; the tilsite CLI prints them itself
            core.addHandler(_ToMkDocsLog())
            core.setLevel(logging.INFO)
            core.propagate = False

    def on_config(self, config: MkDocsConfig) -> MkDocsConfig | None:
        if not self.config.enabled:
            return None
        self._close()
        self.words = words_for(config.theme.get("language"))
        try:
            settings = replace(settings_from_config(config, self.config), model_process=not self._serving)
            asset_folders(config, self.config)  # checked before anything is read
            self.build = SiteBuild(settings, progress=self._progress)
        except (TilsiteError, OSError) as exc:
            raise PluginError(_message(exc)) from exc
        config.extra_css.append(_CSS)
        if self.config.topics_page.strip("/"):
            config.extra_css.append(_TOPICS_CSS)
        if self.config.site_search:
            features = config.theme.get("features") or []
            if not config.site_url or "navigation.instant" not in features:
                log.info(
                    "search by meaning loads its model again on every page opened in full: set site_url and add"
                    " navigation.instant to the theme's features in mkdocs.yml to keep it from page to page."
                )
            script = ExtraScriptValue(f"{SEARCH_DIR}/search-ui.js")
            script.type = "module"
            config.extra_javascript.append(script)
            config.extra_css.append(f"{SEARCH_DIR}/search.css")
        if self.links not in config.markdown_extensions:
            config.markdown_extensions.append(self.links)
        names = {name for name in config.markdown_extensions if isinstance(name, str)}
        # A site that configures arithmatex renders its math its own way (MathJax or KaTeX), with its own scripts.
        self.math_scripts = "pymdownx.arithmatex" in names
        if self.config.github_markdown and not any(
            isinstance(item, GithubMarkdown) for item in config.markdown_extensions
        ):
            alerts = "admonition" in names or "markdown.extensions.admonition" in names
            math = not self.math_scripts
            # Material draws `<pre class="mermaid">` with the mermaid script the site then publishes (on_env).
            diagrams = config.theme.name == "material"
            extension = GithubMarkdown(alerts=alerts, details="pymdownx.details" in names, math=math, diagrams=diagrams)
            config.markdown_extensions.append(extension)
        self.diagrams = False
        self.theme_tags = any(name in config.plugins for name in ("tags", "material/tags"))
        return config

    def _site_dirs(self, config: MkDocsConfig) -> tuple[Path, ...]:
        site_dir = Path(config.site_dir)
        return (site_dir, self._final_site_dir) if self._final_site_dir else (site_dir,)

    def site_files(self, files: Files, config: MkDocsConfig) -> Files:
        """The files the site is built from: ``notes_dir`` when set, notebooks and ``.MD`` notes as pages."""
        try:
            root = notes_root(config, self.config)
        except (TilsiteError, OSError) as exc:
            raise PluginError(_message(exc)) from exc
        self.moved = {}
        self.aliases = {}
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
            unpublished: dict[str, int] = {}
            for file in list(files):
                reason = file.src_uri.lower().endswith(MARKDOWN_SUFFIXES) and left_out(Path(file.abs_src_path or ""))
                if reason:  # a drawing or a draft, as ``scan_notes`` leaves out
                    files.remove(file)
                    unpublished[reason] = unpublished.get(reason, 0) + 1
                    continue
                uri = page_uri(file.src_uri)
                if file.is_documentation_page() or uri is None or file.abs_src_path is None:
                    continue
                files.remove(file)
                if files.get_file_from_path(uri) is None:
                    files.append(_moved_file(uri, Path(file.abs_src_path), config))
                    self.moved[file.src_uri] = uri
                else:
                    log.warning(f"{file.src_uri}: {_SAME_PAGE}")
            if unpublished:
                log.info("left out " + ", ".join(f"{kind} {count}" for kind, count in unpublished.items()) + ".")
        self._add_asset_dirs(files, config)
        return files

    def _files_from_notes(self, root: Path, files: Files, config: MkDocsConfig) -> Files:
        """The notes below ``root`` as MkDocs files, after the ``files`` MkDocs already has: with ``notes_dir``,
        docs_dir is an empty placeholder, so those are the theme's stylesheets, scripts and icons (and files other
        plugins added)."""
        skip: tuple[Path, ...] = (*self._site_dirs(config), Path(config.docs_dir), self._work_dir(config))
        skip += (Path(config.config_file_path),) if config.config_file_path else ()
        exclude = config.exclude_docs
        scan = scan_notes(root, skip, exclude.match_file if exclude is not None else None)
        _warn_outside(scan.outside, "notes_dir")
        if scan.skipped:
            log.info(f"{root}: {scan.skipped_summary()}; those that notes link to are published.")
        self.unpublished = {other.uri: other.path for other in scan.others}
        for relative in scan.conflicts:
            log.warning(f"{relative}: {_SAME_PAGE}")
        # A note that is a link to another one is that note: one page, reached by links to either path.
        published = {source.original: source.uri for source in scan.files}
        self.aliases = {alias: published.get(kept, kept) for alias, kept in scan.aliases.items()}
        self.moved.update(self.aliases)
        if scan.aliases:
            count = len(scan.aliases)
            links = "note is a symbolic link to another note" if count == 1 else "notes are symbolic links to others"
            log.info(f"{count} {links}: published once, as the note linked to.")
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
        build = self.build
        if not self.config.enabled or build is None:
            return None
        files = self.site_files(files, config)
        # Index exactly the pages MkDocs will build (it honours exclude_docs, drafts, README/index).
        pages = files.documentation_pages()
        try:
            report = build.collect(note_files(files))
        except (TilsiteError, OSError) as exc:
            self._close()
            raise PluginError(_message(exc)) from exc
        # The vectors are first needed in on_env, the browser model in on_post_build: MkDocs reads and
        # renders every page meanwhile.
        self.related = {}
        for problem in report.problems:
            log.warning(str(problem))
        log.info(report.summary())
        self.converted = {problem.path for problem in report.problems if problem.legacy_encoding}
        self.converted |= {uri for original, uri in self.moved.items() if original.lower().endswith(".ipynb")}
        for file in pages:
            if file.src_uri in report.skipped:
                files.remove(file)
        github = github_repository(config.repo_url, build.settings.notes_dir)
        published = self._published(files, config)
        targets = build.link_targets(
            report.links, published, self.moved, set(self.unpublished), github, report.wiki_links
        )
        for path in targets.to_publish:
            files.append(_moved_file(path, self.unpublished.pop(path), config))
        self.wiki = report.wiki
        self.titles = report.titles
        self.vault = report.named
        for extension in config.markdown_extensions:
            if isinstance(extension, GithubMarkdown):
                extension.callouts = self.wiki
        self.links.update(self.moved, build.records, targets.retargeted, build.heading_ids)
        self.search_excluded = build.search_excluded(report.front_matter)
        self.dates = {}
        homeless = not any(file.dest_uri == "index.html" for file in files.documentation_pages())
        if self.config.show_dates or self.config.archive_page or homeless:
            sources = {
                file.src_uri: Path(file.abs_src_path) for file in files.documentation_pages() if file.abs_src_path
            }
            self.dates = build.note_dates(report.front_matter, sources)
        archive = self._add_archive(files, config, build)
        self._add_topics_page(files, config)
        if homeless and files.get_file_from_path("index.md") is None:  # not the archive or topics page there
            self._add_home(files, config, build, archive)
        files.append(File.generated(config, _CSS, content=RELATED_CSS.read_text(encoding="utf-8")))
        return files

    @staticmethod
    def _published(files: Files, config: MkDocsConfig) -> set[str]:
        """The site paths of the files MkDocs publishes from the notes (not the theme's)."""
        theme = {str(Path(folder).resolve()) for folder in config.theme.dirs}
        return {
            file.src_uri
            for file in files
            if file.abs_src_path and not file.generated_by and str(Path(file.src_dir or "/").resolve()) not in theme
        }

    def on_nav(self, nav: Navigation, /, *, config: MkDocsConfig, files: Files) -> Navigation | None:
        if not self.config.enabled or config.nav is not None:  # a navigation written by hand stays as written
            return None
        nav.items = unwrap_single_pages(nav.items)
        return nav

    def on_env(self, env: Environment, /, *, config: MkDocsConfig, files: Files) -> Environment | None:
        build = self.build
        if build is None or not self.config.enabled:
            return None
        self.files = files
        if self.diagrams:
            # Every page is rendered by now, none written yet: mermaid's script goes on every page (with
            # navigation.instant, pages opened later keep the first one's scripts), from the site itself.
            script = f"{_DIAGRAMS}/{DIAGRAMS_SCRIPT.name}"
            config.extra_javascript.append(script)
            for uri, source in ((script, DIAGRAMS_SCRIPT), (f"{_DIAGRAMS}/{DIAGRAMS_LICENSE.name}", DIAGRAMS_LICENSE)):
                files.append(File.generated(config, uri, abs_src_path=str(source)))
        # Every page is rendered by now: link sections only at ids their page really has.
        rendered = {
            file.src_uri: set(file.page.present_anchor_ids)
            for file in files.documentation_pages()
            if file.page is not None and file.page.present_anchor_ids is not None
        }
        try:
            build.finish(rendered)
            self.related = build.related()
            if self.config.near_copies:
                build.near_copies()
            self.topics = build.topics() if self.topics_page else Topics([], {}, {})
        except (TilsiteError, OSError) as exc:
            raise PluginError(_message(exc)) from exc
        topics_file = files.get_file_from_path(self.topics_page) if self.topics_page else None
        if topics_file is not None and topics_file.page is not None:
            # Known now, before any page links to them: MkDocs checks those links against these ids.
            taken = topics_file.page.present_anchor_ids
            self.topic_ids = topic_ids(len(self.topics.topics), taken or set())
            if taken is not None:
                taken.update(self.topic_ids)
        return None

    def on_post_build(self, /, *, config: MkDocsConfig) -> None:
        build = self.build
        if build is None or not self.config.enabled:
            return
        try:
            site_dir = Path(config.site_dir)
            for item in build.published_files(self.search_excluded, self.words):
                _publish(site_dir, item)
            exclude = config.exclude_docs
            for alias, kept in self.aliases.items():
                if exclude is not None and exclude.match_file(alias):
                    continue  # its address is left out of the site as its file is
                redirect = _redirect(alias, kept, config)
                if redirect is not None and not site_dir.joinpath(*redirect.uri.split("/")).exists():
                    _publish(site_dir, redirect)
        except (TilsiteError, OSError) as exc:
            raise PluginError(_message(exc)) from exc
        finally:
            self._close()

    def on_build_error(self, /, *, error: Exception) -> None:
        self._close()

    def on_shutdown(self) -> None:
        self._close()

    def _close(self) -> None:
        build, self.build = self.build, None
        if build is not None:
            build.close()

    def _add_archive(self, files: Files, config: MkDocsConfig, build: SiteBuild) -> str | None:
        page = _generated_page(files, self.config.archive_page, "archive")
        if page is not None:
            files.append(File.generated(config, page, content=build.archive_markdown(page, self.dates, self.words)))
        return page

    def _add_home(self, files: Files, config: MkDocsConfig, build: SiteBuild, archive: str | None) -> None:
        """A home page for notes with no README.md or index.md at the top (Obsidian vaults often have none):
        without one the site's address shows GitHub's 404."""
        pages = [(self.words.archive, archive)] if archive else []
        if self.topics_page:
            pages.append((self.config.topics_title or self.words.topics, self.topics_page))
        content = build.home_markdown(config.site_name, self.dates, pages, self.words)
        files.append(File.generated(config, "index.md", content=content))
        log.info("The notes have no README.md or index.md at the top: the home page lists the latest notes.")

    def _add_topics_page(self, files: Files, config: MkDocsConfig) -> None:
        self.topics_page = page = _generated_page(files, self.config.topics_page, "topics")
        if page is None:
            return
        title = escape_markdown_text(self.config.topics_title or self.words.topics)
        files.append(File.generated(config, page, content=f"# {title}\n"))
        files.append(File.generated(config, _TOPICS_CSS, content=(ASSETS / TOPICS_CSS).read_text(encoding="utf-8")))

    def _add_asset_dirs(self, files: Files, config: MkDocsConfig) -> None:
        """Publish folders such as ``img/`` that notes reference as ``/img/x.png``."""
        project_dir = Path(config.config_file_path or ".").resolve().parent
        try:
            folders = asset_folders(config, self.config)
        except TilsiteError as exc:
            raise PluginError(_message(exc)) from exc
        for name, folder in folders:
            if link_leaving(folder, project_dir) is not None:
                continue
            outside: list[str] = []
            for inner, _ in walk_files(folder, outside=outside):
                relative = f"{name}/{inner}"
                if files.get_file_from_path(relative) is None:
                    files.append(File(relative, str(project_dir), config.site_dir, config.use_directory_urls))
            _warn_outside([f"{name}/{inner}" for inner in outside], "asset_dirs")

    def on_serve(self, server: LiveReloadServer, /, *, config: MkDocsConfig, builder: Callable) -> LiveReloadServer:
        if not self.config.enabled:
            return server
        try:
            for _, folder in asset_folders(config, self.config):
                server.watch(str(folder))
            root = notes_root(config, self.config)
            if root is not None:
                # Not the whole folder recursively: the work and site folders inside it change on every build.
                server.watch(str(root), recursive=False)
                skip = {Path(config.site_dir).resolve(), Path(config.docs_dir).resolve(), self._work_dir(config)}
                for child in sorted(root.iterdir()):
                    if child.is_dir() and not child.name.startswith(".") and child.resolve() not in skip:
                        server.watch(str(child))
        except (TilsiteError, OSError) as exc:
            raise PluginError(_message(exc)) from exc
        return server

    def _work_dir(self, config: MkDocsConfig) -> Path:
        """The work folder of ``config`` (``tilsite index`` asks before any build has begun; MkDocs keeps one
        plugin object per process, so a build of another project may have come before)."""
        return settings_from_config(config, self.config).work_dir.resolve()

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
        title = self.titles.get(page.file.src_uri)
        if title:
            # One title in the navigation, the tab and every list of notes (a front matter's too). Themes write it
            # as HTML, as MkDocs' own titles are (a heading's text), so `List<T>.md` or `Samba (Windows <-> Linux)`
            # is escaped.
            page.meta["title"] = escape(title)
        uri = page.file.src_uri
        if posixpath.basename(uri).lower() in ("readme.md", "index.md") and "/" in uri and says_nothing(markdown):
            # A folder's empty README lists the folder's notes, as GitHub shows a folder's files above it.
            titles = {file.src_uri: self.titles.get(file.src_uri) or file.name for file in files.documentation_pages()}
            markdown = f"{markdown.rstrip()}\n\n{folder_listing(uri, titles)}\n"
        # Wiki links ([[Note]]) as the links they stand for; one to no file of the site is shown as its text.
        if not self.wiki:
            return markdown
        markdown = wiki_markdown(markdown, self.links.leads)
        # Tags (#leetcode/array) as Obsidian shows them, in the notes of a vault.
        return tag_markdown(markdown) if page.file.src_uri in self.vault else markdown

    def on_page_content(self, html: str, /, *, page: Page, config: MkDocsConfig, files: Files) -> str | None:
        if not self.config.enabled:
            return None
        if self.config.github_markdown:
            html = filtered_tags(html, self.math_scripts)  # as GitHub shows them: as text
        html = balance_html(html)
        for extension in config.markdown_extensions:
            if isinstance(extension, GithubMarkdown) and extension.unread_math:
                shown = "; ".join(f"${tex[:60]}$" for tex in extension.unread_math[:3])
                more = f" and {len(extension.unread_math) - 3} more" if len(extension.unread_math) > 3 else ""
                log.warning(f"{page.file.src_uri}: math that cannot be read is shown as written: {shown}{more}")
                extension.unread_math.clear()
            if isinstance(extension, GithubMarkdown) and extension.drawn:
                self.diagrams = True
                extension.drawn.clear()
        _whole_outline(page)
        title = self.titles.get(page.file.src_uri)
        html = with_title(html, title)
        when = self.dates.get(page.file.src_uri) if self.config.show_dates else None
        # A front matter's tags as labels under the title (Material's own tags plugin, where on, shows them itself).
        tags = [] if self.theme_tags else note_tags(page.meta.get("tags"))
        return insert_date(html, when, title, tags)

    # After Material's search (priority 0) has read the page: the block is not part of the note.
    @event_priority(-50)
    def on_page_context(
        self, context: TemplateContext, /, *, page: Page, config: MkDocsConfig, nav: Navigation
    ) -> TemplateContext | None:
        # Related notes are known once every page is read (``on_env``); the block is added before
        # the page is written, with the files of the build (MkDocs' anchor check runs after this).
        if not self.config.enabled or page.content is None or self.files is None:
            return None
        if page.file.src_uri == self.topics_page:
            page.content = f"{page.content}\n{self._topics_content(page, self.files)}"
            return None
        topic = self.topics.topic_of.get(page.file.src_uri)
        topics_file = self.files.get_file_from_path(self.topics_page) if self.topics_page else None
        if topic is not None and topics_file is not None and topic < len(self.topic_ids):
            anchor = self.topic_ids[topic]
            link = topics_file.url_relative_to(page.file) + fragment(anchor)
            if page.links_to_anchors is not None:
                page.links_to_anchors.setdefault(topics_file, {}).setdefault(anchor, f"{self.topics_page}#{anchor}")
            line = topic_line(self.topics.topics[topic].label, link, self.words)
            page.content = insert_under_title(page.content, line, self.titles.get(page.file.src_uri))
        related = self.related.get(page.file.src_uri)
        if related:
            page.content = f"{page.content}\n{self._related_block(related, page, self.files)}"
        return None

    def _topics_content(self, page: Page, files: Files) -> str:
        """The topics page's map and lists; its links are registered for MkDocs' anchor check and each topic
        joins the page's table of contents."""
        links: dict[str, str] = {}
        for topic in self.topics.topics:
            for record in topic.notes:
                target = files.get_file_from_path(record.path)
                if target is None:
                    continue
                links[record.path] = target.url_relative_to(page.file)
                if record.anchor and page.links_to_anchors is not None:
                    original = f"{record.path}#{record.anchor}"
                    page.links_to_anchors.setdefault(target, {}).setdefault(record.anchor, original)
        entries = [
            AnchorLink(escape(topic.label), heading_id, 2)
            for topic, heading_id in zip(self.topics.topics, self.topic_ids, strict=False)
        ]
        top = page.toc.items
        if len(top) == 1 and top[0].level == 1:
            top[0].children.extend(entries)
        else:
            top.extend(entries)
        return topics_html(TopicsPage(self.topics, links, self.topic_ids[: len(self.topics.topics)]), self.words)

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
            if item.source.anchor and page.links_to_anchors is not None:  # "§ this note's section"
                page.links_to_anchors.setdefault(page.file, {}).setdefault(item.source.anchor, f"#{item.source.anchor}")
        heading_id = _unused_id("related-notes", page.present_anchor_ids or set())
        if page.present_anchor_ids is not None:
            page.present_anchor_ids.add(heading_id)
        heading = self.config.related_heading or self.words.related
        entry = AnchorLink(escape(heading), heading_id, 2)  # titles are HTML, as MkDocs' own
        top = page.toc.items
        if len(top) == 1 and top[0].level == 1:
            top[0].children.append(entry)
        else:
            top.append(entry)
        return related_html(links, heading, heading_id)


def _whole_outline(page: Page) -> None:
    """Material's table of contents lists only the children of the page's first heading when that is an H1 (the
    page's title): a note that uses several H1s for its sections would show the first one's outline alone. Its
    headings go under one entry, which Material leaves out, so that every one of them is listed."""
    top = page.toc.items
    if len(top) > 1 and top[0].level == 1:
        holder = AnchorLink(top[0].title, top[0].id, 1)
        holder.children = list(top)
        page.toc.items = [holder]


class _ToMkDocsLog(logging.Handler):
    """Passes the core's messages (model preparation, fallbacks) on to MkDocs' log."""

    def emit(self, record: logging.LogRecord) -> None:
        logging.getLogger("mkdocs.plugins.tilsite").log(record.levelno, record.getMessage())


def _generated_page(files: Files, setting: str, what: str) -> str | None:
    """The path of the page tilsite generates for a ``setting`` such as ``archive_page`` (None when it is
    turned off, or when a note is there already: the note wins)."""
    page = setting.strip("/")
    if not page:
        return None
    if not page.endswith(".md"):
        page += ".md"
    if files.get_file_from_path(page) is not None:
        log.info(f"{page} is one of your notes, so no {what} page is generated there.")
        return None
    return page


def _unused_id(wanted: str, taken: set[str]) -> str:
    """``wanted``, or ``wanted_1``, ``wanted_2``, ... as Python-Markdown makes heading ids unique."""
    candidate, number = wanted, 0
    while candidate in taken:
        number += 1
        candidate = f"{wanted}_{number}"
    return candidate


def note_files(files: Files) -> list[NoteFile]:
    """The pages MkDocs will build that come from note files, with their URLs."""
    return [
        NoteFile(file.src_uri, Path(file.abs_src_path), file.url)
        for file in files.documentation_pages()
        if file.abs_src_path
    ]


def _moved_file(uri: str, path: Path, config: MkDocsConfig) -> File:
    """A file published at ``uri`` but read from ``path`` (a notebook, or a note named ``.MD``; a linked file)."""
    file = File(uri, None, config.site_dir, config.use_directory_urls)
    file.abs_src_path = str(path)
    return file


def _redirect(alias: str, kept: str, config: MkDocsConfig) -> SiteFile | None:
    """A page at the address ``alias`` (a note that is a symbolic link) would have had, which sends the browser to
    the page of the note ``kept`` it links to: bookmarks and links from elsewhere still arrive."""
    uri = page_uri(alias)
    if uri is None:
        return None
    here = File(uri, None, config.site_dir, config.use_directory_urls)
    there = File(kept, None, config.site_dir, config.use_directory_urls)
    url = escape(there.url_relative_to(here), quote=True)
    page = (
        f'<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="0; url={url}">'
        f'<link rel="canonical" href="{url}"><title>{escape(alias)}</title></head>'
        f'<body><a href="{url}">{escape(kept)}</a></body></html>\n'
    )
    return SiteFile(here.dest_uri, content=page.encode("utf-8"))


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
