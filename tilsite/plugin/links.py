"""Make links written for GitHub work on the site, before MkDocs resolves and checks them.

What GitHub accepts that MkDocs would report as broken: a link to a file that
the site publishes under another path (``x.ipynb`` is the page ``x.md``,
``Note.MD`` is ``Note.md``), a link whose file is elsewhere in the repository
(``/img/x.png`` for ``sparta/img/x.png``, see ``tilsite.notes.targets``), and a heading
anchor in GitHub's spelling where it differs from the id MkDocs gives the heading
(``#a---b`` for ``## A - B``). This runs as a Markdown tree processor just before
MkDocs' own link processor, so MkDocs still turns the links into page URLs and
validates them.

MkDocs leaves the links of raw HTML (``<img src="img/x.png" width="300">``) as
they are, though the page is published one folder deeper than its file
(``note/index.html``): those are made relative to the page's URL here, as MkDocs
does for Markdown links.
"""

from __future__ import annotations

import html
import posixpath
import re
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from markdown.extensions import Extension
from markdown.postprocessors import Postprocessor
from markdown.treeprocessors import Treeprocessor

from tilsite.site.build import github_slug

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

    from markdown import Markdown
    from mkdocs.structure.files import File, Files

    from tilsite.site.build import SectionRecord

_BEFORE_MKDOCS = 1
"""Priority just above MkDocs' ``relpath`` tree processor (0), so this runs first."""
_BEFORE_RAW_HTML = 35
"""Before Python-Markdown puts raw HTML back into the page (30)."""
_NOT_IN_IDS = re.compile(r"[\s#%?\"'<>]")
"""Characters that no heading id holds: a fragment that decodes to one of them stays as written."""
_URL_ATTRIBUTE = re.compile(r"""(\b(?:src|href)\s*=\s*)(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)


class LinkFixer(Extension):
    """Holds what the fixes need; the plugin sets ``page`` before each page is rendered."""

    def __init__(self) -> None:
        super().__init__()
        self.page = ""
        """Site path of the page being rendered."""
        self.moved: dict[str, str] = {}
        self.anchors: dict[str, set[str]] = {}
        self.headings: dict[str, set[str]] = {}
        """Every heading id of each page, by site path."""
        self.github_anchors: dict[str, dict[str, str]] = {}
        self.retargeted: dict[tuple[str, str], str] = {}
        """Links whose file is elsewhere in the repository: {(page, URL as written): path on the site}."""
        self.files: Files | None = None
        """The site's files, and the file of the page being rendered (for the links of raw HTML)."""
        self.page_file: File | None = None

    def update(
        self,
        moved: dict[str, str],
        records: list[SectionRecord],
        retargeted: dict[tuple[str, str], str] | None = None,
        headings: dict[str, list[tuple[str, str]]] | None = None,
    ) -> None:
        """Learn the moved files, the links found elsewhere and every page's heading ids from the section index
        (and ``headings``: all of them, those of sections without text too)."""
        self.moved = dict(moved)
        self.retargeted = dict(retargeted or {})
        self.headings = {path: {anchor for anchor, _ in ids} for path, ids in (headings or {}).items()}
        self.anchors = {}
        self.github_anchors = {}
        for record in records:
            if not record.anchor:
                continue
            self.anchors.setdefault(record.path, set()).add(record.anchor)
            self.github_anchors.setdefault(record.path, {}).setdefault(github_slug(record.heading), record.anchor)
        for path, ids in (headings or {}).items():  # headings with no text below them (a section's parent)
            for anchor, github in ids:
                self.github_anchors.setdefault(path, {}).setdefault(github, anchor)

    def extendMarkdown(self, md: Markdown) -> None:
        md.treeprocessors.register(_LinkTreeprocessor(md, self), "tilsite-links", _BEFORE_MKDOCS)
        md.postprocessors.register(_RawHtmlLinks(md, self), "tilsite-raw-html-links", _BEFORE_RAW_HTML)

    def fix_for_page(self, url: str) -> str:
        """``url`` from the page's raw HTML, relative to the page's URL (as MkDocs makes Markdown links)."""
        fixed = self.fix(url)
        scheme, netloc, path, query, fragment = urlsplit(fixed)
        if scheme or netloc or not path or self.files is None or self.page_file is None:
            return fixed
        file = self.files.get_file_from_path(self._site_path(path))
        if file is None:
            return fixed
        return urlunsplit(("", "", file.url_relative_to(self.page_file), query, fragment))

    def fix(self, url: str) -> str:
        """``url`` as written in the current page, retargeted where GitHub and the site disagree."""
        here = posixpath.dirname(self.page)
        found = self.retargeted.get((self.page, url)) or self.retargeted.get((self.page, url.partition("#")[0]))
        if found is not None:
            fragment = urlsplit(url).fragment if "#" in url and not url.startswith("file:") else ""
            return urlunsplit(("", "", quote(posixpath.relpath(found, here or ".")), "", self._anchor(found, fragment)))
        scheme, netloc, path, query, fragment = urlsplit(url)
        if scheme or netloc or not (path or fragment):
            return url
        target = self._site_path(path) if path else self.page
        new_target = self.moved.get(target, target)
        new_fragment = self._anchor(new_target, fragment)
        if new_target == target and new_fragment == fragment:
            return url
        if new_target != target:
            path = quote(posixpath.relpath(new_target, here or "."))
        return urlunsplit(("", "", path, query, new_fragment))

    def leads(self, url: str) -> bool:
        """Whether ``url``, as written in the current page, leads to a file of the site, and to a heading of
        it that there is (when it names one)."""
        scheme, netloc, path, _, fragment = urlsplit(self.fix(url))
        if scheme or netloc:
            return True
        target = self._site_path(path) if path else self.page
        if path:
            file = self.files.get_file_from_path(target) if self.files is not None else None
            if file is None or file.inclusion.is_excluded():  # not a page left out (exclude_docs)
                return False
        heading = unquote(fragment)
        return not fragment or heading in self.headings.get(target, ()) or heading in self.anchors.get(target, ())

    def _site_path(self, path: str) -> str:
        """The site path of a URL's ``path`` (percent-encoded) written in the current page: ``/x`` from the site's
        root, anything else from the page's folder."""
        raw = unquote(path)
        return posixpath.normpath(
            raw.lstrip("/") if raw.startswith("/") else posixpath.join(posixpath.dirname(self.page), raw)
        )

    def _anchor(self, target: str, fragment: str) -> str:
        """``fragment`` of a link to the page ``target``: the id of a heading where GitHub spells that id
        otherwise, and percent-decoded (``#%EA%B8%B0`` → ``#기``) where it decodes to an id's characters:
        browsers decode a fragment before they look for it, MkDocs checks it as written."""
        heading = unquote(fragment)
        known = self.anchors.get(target, ())
        if fragment and heading not in known:
            heading = self.github_anchors.get(target, {}).get(heading) or heading
        return heading if heading and not _NOT_IN_IDS.search(heading) else fragment


class _LinkTreeprocessor(Treeprocessor):
    def __init__(self, md: Markdown, fixer: LinkFixer) -> None:
        super().__init__(md)
        self.fixer = fixer

    def run(self, root: Element) -> None:
        for element in root.iter():
            key = {"a": "href", "img": "src"}.get(element.tag)
            url = element.get(key) if key else None
            if key and url:
                element.set(key, self.fixer.fix(url))


class _RawHtmlLinks(Postprocessor):
    """Rewrites ``src`` and ``href`` in the page's raw HTML before it is put back into the page."""

    def __init__(self, md: Markdown, fixer: LinkFixer) -> None:
        super().__init__(md)
        self.fixer = fixer

    def run(self, text: str) -> str:
        stash = self.md.htmlStash.rawHtmlBlocks
        for index, block in enumerate(stash):
            if isinstance(block, str) and ("src" in block or "href" in block):
                stash[index] = _URL_ATTRIBUTE.sub(self._replace, block)
        return text

    def _replace(self, match: re.Match[str]) -> str:
        quote_mark = '"' if match.group(2) is not None else "'"
        url = match.group(2) if match.group(2) is not None else match.group(3)
        fixed = self.fixer.fix_for_page(html.unescape(url))
        if fixed == html.unescape(url):
            return match.group(0)
        return f"{match.group(1)}{quote_mark}{html.escape(fixed)}{quote_mark}"
