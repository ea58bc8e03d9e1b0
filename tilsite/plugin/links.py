"""Make links written for GitHub work on the site, before MkDocs resolves and checks them.

Two things GitHub accepts that MkDocs would report as broken: a link to a file
that the site publishes under another path (``x.ipynb`` is the page ``x.md``,
``Note.MD`` is ``Note.md``), and a heading anchor in GitHub's spelling where it
differs from the id MkDocs gives the heading (``#a---b`` for ``## A - B``).
This runs as a Markdown tree processor just before MkDocs' own link processor,
so MkDocs still turns the links into page URLs and validates them.
"""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor

from tilsite.slugs import github_slug

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

    from markdown import Markdown

    from tilsite.index import SectionRecord

_BEFORE_MKDOCS = 1
"""Priority just above MkDocs' ``relpath`` tree processor (0), so this runs first."""


class LinkFixer(Extension):
    """Holds what the fixes need; the plugin sets ``page`` before each page is rendered."""

    def __init__(self) -> None:
        super().__init__()
        self.page = ""
        """Site path of the page being rendered."""
        self.moved: dict[str, str] = {}
        self.anchors: dict[str, set[str]] = {}
        self.github_anchors: dict[str, dict[str, str]] = {}

    def update(self, moved: dict[str, str], records: list[SectionRecord]) -> None:
        """Learn the moved files and every page's heading ids from the section index."""
        self.moved = dict(moved)
        self.anchors = {}
        self.github_anchors = {}
        for record in records:
            if not record.anchor:
                continue
            self.anchors.setdefault(record.path, set()).add(record.anchor)
            self.github_anchors.setdefault(record.path, {}).setdefault(github_slug(record.heading), record.anchor)

    def extendMarkdown(self, md: Markdown) -> None:
        md.treeprocessors.register(_LinkTreeprocessor(md, self), "tilsite-links", _BEFORE_MKDOCS)

    def fix(self, url: str) -> str:
        """``url`` as written in the current page, retargeted where GitHub and the site disagree."""
        scheme, netloc, path, query, fragment = urlsplit(url)
        if scheme or netloc or not (path or fragment):
            return url
        here = posixpath.dirname(self.page)
        if path:
            raw = unquote(path)
            target = posixpath.normpath(raw.lstrip("/") if raw.startswith("/") else posixpath.join(here, raw))
        else:
            target = self.page
        new_target = self.moved.get(target, target)
        new_fragment = fragment
        if fragment and unquote(fragment) not in self.anchors.get(new_target, ()):
            known = self.github_anchors.get(new_target, {}).get(unquote(fragment))
            new_fragment = known or fragment
        if new_target == target and new_fragment == fragment:
            return url
        if new_target != target:
            path = quote(posixpath.relpath(new_target, here or "."))
        return urlunsplit(("", "", path, query, new_fragment))


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
