"""Field harness: build real public TIL repositories with tilsite and measure what a reader of the site sees.

    python bench/field.py /work/field/simonw+til /work/field/0h328+TIL --cache /tmp/field-cache
    python bench/field.py /work/field/simonw+til --skip-build     # measure the last build in --work again
    python bench/field.py /work/field/simonw+til --only-metrics   # no Chromium, no screenshots

Each REPO_DIR is a checked-out Git repository in a folder named ``owner+name``. The harness copies it (with
.git, because notes without a date are dated by their first commit) into --work, runs ``tilsite init`` and
``tilsite build`` there, measures the built ``site/``, opens three pages in headless Chromium
(bench/field_browser.mjs) and writes a Markdown report (--out) and every number (--json). Nothing is fetched
from the network. The build logs and screenshots go to --screenshots.

Measured per repository:

- pages: HTML pages in site/ (not 404.html, nothing under assets/);
- theme files missing: stylesheets, scripts and icons that pages link with a local URL but site/ lacks;
- local images: ``<img>`` in page content with a local src. A missing one counts against tilsite when the
  repository has one file the link can mean (the only file of that name, or the only one in a folder of the
  linked folder's name); when it has none, or several in other folders (``1.png``), the link is broken in the
  repository itself and is reported apart;
- pages with raw Markdown: page text (outside code and outside the related-notes block) that still shows
  Markdown syntax or HTML tags that GitHub renders (syntax that the reference rendering shows as text too,
  such as a link with unbalanced brackets, is the note's own and counted apart); lines that look like list
  items are counted apart;
- related links landing: links of the related-notes block whose page, and anchor if any, exist;
- GitHub fidelity: each Markdown note rendered by markdown-it-py ("gfm-like" preset, standing in for GitHub)
  and its page compared by block structure: heading levels, list item depths, tables, code blocks, images;
- warning lines of the build; in Chromium, whether Material's stylesheet applied, how many images loaded
  and which requests to the site failed.
"""

from __future__ import annotations

import argparse
import functools
import html.parser
import http.server
import json
import os
import posixpath
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urljoin, urlsplit

HERE = Path(__file__).resolve().parent
BROWSER_SCRIPT = HERE / "field_browser.mjs"

# A cold build of ~2,000 notes takes 5-10 minutes on 2 cores; a build still running after 3 hours is stuck.
BUILD_TIMEOUT_SECONDS = 3 * 3600
BROWSER_TIMEOUT_SECONDS = 300
BROWSER_WAIT_MS = 30_000
EXAMPLE_LIMIT = 10
WARNINGS_SHOWN = 15

MARKDOWN_SUFFIXES = (".md", ".markdown")
NOTEBOOK_SUFFIX = ".ipynb"
HANGUL = re.compile("[\uac00-\ud7a3]")


# --- A small HTML tree (html.parser from the standard library; no new dependencies) -----------------------------

VOID_ELEMENTS = frozenset(
    ["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"]
)
BLOCK_ELEMENTS = frozenset(
    {
        *("address", "article", "aside", "blockquote", "caption", "dd", "details", "dialog", "div", "dl", "dt"),
        *("fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr"),
        *("li", "main", "nav", "ol", "p", "pre", "section", "summary", "table", "tbody", "td", "tfoot", "th"),
        *("thead", "tr", "ul"),
    }
)
# Hand-written HTML in notes leaves these open (`<li>a<li>b`); browsers close the open one when the next begins.
# tag -> (open tags that the start of `tag` closes, containers that stop the search).
IMPLIED_ENDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "li": (frozenset({"li"}), frozenset({"ul", "ol", "menu"})),
    "dt": (frozenset({"dt", "dd"}), frozenset({"dl"})),
    "dd": (frozenset({"dt", "dd"}), frozenset({"dl"})),
    "tr": (frozenset({"tr", "td", "th"}), frozenset({"table", "thead", "tbody", "tfoot"})),
    "td": (frozenset({"td", "th"}), frozenset({"tr", "table"})),
    "th": (frozenset({"td", "th"}), frozenset({"tr", "table"})),
}
HEADING_LEVELS = {f"h{level}": level for level in range(1, 7)}


@dataclass(slots=True, eq=False)
class Element:
    """An HTML element of the tree built by ``parse_html``."""

    tag: str
    """Lower-case tag name; ``#root`` for the root of a parsed fragment."""
    attributes: dict[str, str]
    """Attribute values with character references decoded; a valueless attribute has ''."""
    children: list[Element | str] = field(default_factory=list)
    """Child elements and text, in document order."""

    def classes(self) -> set[str]:
        return set(self.attributes.get("class", "").split())


class _TreeBuilder(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#root", {})
        self.open_elements: list[Element] = [self.root]

    def _close_implied(self, tag: str) -> None:
        if tag in IMPLIED_ENDS:
            closes, containers = IMPLIED_ENDS[tag]
            for position in range(len(self.open_elements) - 1, 0, -1):
                open_tag = self.open_elements[position].tag
                if open_tag in closes:
                    del self.open_elements[position:]
                    return
                if open_tag in containers:
                    return
        elif tag in BLOCK_ELEMENTS and self.open_elements[-1].tag == "p":
            # `<p>text<div>`: a block cannot sit inside a paragraph, so the paragraph ends here.
            self.open_elements.pop()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._close_implied(tag)
        element = Element(tag, {name: value or "" for name, value in attrs})
        self.open_elements[-1].children.append(element)
        if tag not in VOID_ELEMENTS:
            self.open_elements.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._close_implied(tag)
        self.open_elements[-1].children.append(Element(tag, {name: value or "" for name, value in attrs}))

    def handle_endtag(self, tag: str) -> None:
        # An end tag with no open element of its kind (stray `</div>` in a note) is ignored, as browsers do.
        for position in range(len(self.open_elements) - 1, 0, -1):
            if self.open_elements[position].tag == tag:
                del self.open_elements[position:]
                return

    def handle_data(self, data: str) -> None:
        self.open_elements[-1].children.append(data)


def parse_html(text: str) -> Element:
    builder = _TreeBuilder()
    builder.feed(text)
    builder.close()
    return builder.root


def iter_elements(root: Element) -> Iterator[Element]:
    """Every element under ``root`` (itself included), in document order; no recursion (notes nest deeply)."""
    pending = [root]
    while pending:
        element = pending.pop()
        yield element
        pending.extend(child for child in reversed(element.children) if isinstance(child, Element))


def remove_elements(root: Element, unwanted: Callable[[Element], bool]) -> None:
    for element in iter_elements(root):
        element.children = [child for child in element.children if isinstance(child, str) or not unwanted(child)]


TEXT_HIDDEN_TAGS = frozenset({"pre", "script", "style", "svg", "template", "textarea"})
# Inline code stays in its line as a placeholder: dropping it would turn `` `GIT_DATE` - the date `` into a line
# starting with "- ", and its own text (`**kwargs`) is meant literally.
INLINE_CODE_TAGS = frozenset({"code", "kbd", "samp"})
INLINE_CODE_PLACEHOLDER = "\u27e8code\u27e9"
# Starts the text of a rendered heading, so that `## 1. Setup` (a heading that reads "1. Setup") is not taken
# for a list item that did not render; an invisible character, so inline patterns and excerpts are unaffected.
HEADING_TEXT_MARK = "\u2063"


def visible_text(root: Element) -> str:
    """The text a reader sees outside code, with a line break wherever a block or ``<br>`` breaks the line."""
    pieces: list[str] = []
    pending: list[Element | str] = [root]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            pieces.append(item)
            continue
        # `[TOC]` becomes a `div.toc` list of the headings: generated text, already checked as headings.
        if item.tag in TEXT_HIDDEN_TAGS or (item.tag == "div" and "toc" in item.classes()):
            continue
        if item.tag in INLINE_CODE_TAGS:
            pieces.append(INLINE_CODE_PLACEHOLDER)
            continue
        if item.tag in BLOCK_ELEMENTS or item.tag == "br":
            pieces.append("\n")
            pending.append("\n")
        if item.tag in HEADING_LEVELS:
            pieces.append(HEADING_TEXT_MARK)
        pending.extend(reversed(item.children))
    return "".join(pieces)


@dataclass(slots=True, frozen=True)
class BlockStructure:
    """What GitHub fidelity compares between a note's reference rendering and its page."""

    headings: tuple[int, ...]
    """Heading levels in document order."""
    list_depths: tuple[int, ...]
    """For every list item in document order, how many lists enclose its own list (0 = top level)."""
    tables: int
    """Tables (not the tables Pygments makes for line numbers)."""
    code_blocks: int
    """``<pre>`` elements."""
    images: int
    """``<img>`` elements."""

    def without_first_heading(self) -> BlockStructure:
        return BlockStructure(self.headings[1:], self.list_depths, self.tables, self.code_blocks, self.images)


STRUCTURE_COMPONENTS = {
    "headings": "headings",
    "list_depths": "lists",
    "tables": "tables",
    "code_blocks": "code blocks",
    "images": "images",
}


def block_structure(root: Element) -> BlockStructure:
    headings: list[int] = []
    list_depths: list[int] = []
    tables = code_blocks = images = 0
    pending: list[tuple[Element, int]] = [(root, 0)]
    while pending:
        element, enclosing_lists = pending.pop()
        tag = element.tag
        if tag in HEADING_LEVELS:
            headings.append(HEADING_LEVELS[tag])
        elif tag == "li":
            list_depths.append(max(enclosing_lists - 1, 0))
        elif tag == "table" and "highlighttable" not in element.classes():
            tables += 1
        elif tag == "pre":
            code_blocks += 1
        elif tag == "img":
            images += 1
        inner_lists = enclosing_lists + (tag in ("ul", "ol"))
        pending.extend((child, inner_lists) for child in reversed(element.children) if isinstance(child, Element))
    return BlockStructure(tuple(headings), tuple(list_depths), tables, code_blocks, images)


# --- One built page ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class PageFacts:
    """What the metrics need from one HTML page of the site."""

    path: str
    """Path in site/, e.g. ``git/rebase/index.html``."""
    resources: list[tuple[str, str]]
    """(kind, URL) of the stylesheets, scripts and icons linked outside the page content."""
    ids: set[str]
    """Every ``id`` in the page content (targets of related-note anchors)."""
    related_links: list[str]
    """hrefs in the related-notes block."""
    image_sources: list[str]
    """src of every ``<img>`` in the page content."""
    text: str
    """Visible text of the content, without code and the related-notes block (see ``visible_text``)."""
    structure: BlockStructure
    """Block structure of the content, without the related-notes block, the date and permalinks."""
    starts_with_h1: bool
    """Whether the content's first block is an ``<h1>`` (Material adds one when a note has none)."""
    has_content: bool
    """Whether the page has Material's ``<article>`` (generated pages may not)."""


def _is_related_block(element: Element) -> bool:
    return element.tag == "aside" and "tilsite-related" in element.classes()


def _is_added_by_site(element: Element) -> bool:
    classes = element.classes()
    return (
        _is_related_block(element)
        or (element.tag == "p" and "tilsite-date" in classes)
        or (element.tag == "a" and "headerlink" in classes)
    )


def _resources(root: Element) -> list[tuple[str, str]]:
    found = []
    for element in iter_elements(root):
        relations = set(element.attributes.get("rel", "").lower().split())
        if element.tag == "link" and "stylesheet" in relations and element.attributes.get("href"):
            found.append(("stylesheet", element.attributes["href"]))
        elif element.tag == "link" and "icon" in relations and element.attributes.get("href"):
            found.append(("icon", element.attributes["href"]))
        elif element.tag == "script" and element.attributes.get("src"):
            found.append(("script", element.attributes["src"]))
    return found


def read_page(site: Path, path: str) -> PageFacts:
    text = (site / path).read_text(encoding="utf-8", errors="replace")
    start, end = text.find("<article"), text.rfind("</article>")
    if start != -1 and end > start:
        end += len("</article>")
        # Only the head and what follows the content are searched for theme files: Material puts its
        # stylesheets in the head and its scripts after the content, and the navigation in between holds
        # every note's title (hundreds of kilobytes per page on a large site).
        head_end = text.find("</head>")
        outside = parse_html(text[: head_end if 0 < head_end < start else start] + text[end:])
        document = parse_html(text[start:end])
    else:
        outside = document = parse_html(text)
    article = next(
        (
            element
            for element in iter_elements(document)
            if element.tag == "article" and "md-content__inner" in element.classes()
        ),
        None,
    ) or next((element for element in iter_elements(document) if element.tag == "article"), None)
    if article is None:
        return PageFacts(
            path, _resources(outside), set(), [], [], "", block_structure(Element("#root", {})), False, False
        )
    ids = {element.attributes["id"] for element in iter_elements(article) if element.attributes.get("id")}
    related_links = [
        element.attributes.get("href", "")
        for block in iter_elements(article)
        if _is_related_block(block)
        for element in iter_elements(block)
        if element.tag == "a"
    ]
    remove_elements(article, _is_added_by_site)
    blocks = [
        child
        for child in article.children
        if isinstance(child, Element) and not (child.tag == "a" and "md-content__button" in child.classes())
    ]
    return PageFacts(
        path=path,
        resources=_resources(outside),
        ids=ids,
        related_links=related_links,
        image_sources=[element.attributes.get("src", "") for element in iter_elements(article) if element.tag == "img"],
        text=visible_text(article),
        structure=block_structure(article),
        starts_with_h1=bool(blocks) and blocks[0].tag == "h1",
        has_content=True,
    )


# --- URLs inside site/ ------------------------------------------------------------------------------------------

_SITE_ORIGIN = "http://site.invalid/"
_EXTERNAL_IMAGE = re.compile(r"^\s*(?:https?:|data:|//)", re.IGNORECASE)
_EXTERNAL_URL = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*:|//)", re.IGNORECASE)


def resolve_in_site(page_path: str, reference: str) -> tuple[str | None, str]:
    """(path in site/ with percent-escapes decoded, decoded fragment) of ``reference`` as a browser at
    ``page_path`` reads it; the path is None when the reference leaves the site."""
    joined = urlsplit(urljoin(_SITE_ORIGIN + quote(page_path), reference.strip()))
    if f"{joined.scheme}://{joined.netloc}/" != _SITE_ORIGIN:
        return None, ""
    return unquote(joined.path).lstrip("/"), unquote(joined.fragment)


def page_file(site: Path, path: str) -> Path:
    """The file a server sends for ``path``: ``index.html`` for a folder."""
    if path == "" or path.endswith("/") or (site / path).is_dir():
        return site / path / "index.html"
    return site / path


def list_pages(site: Path) -> list[str]:
    return sorted(
        path.relative_to(site).as_posix()
        for path in site.rglob("*.html")
        if path.relative_to(site).as_posix() != "404.html" and path.relative_to(site).parts[0] != "assets"
    )


# --- The metrics ------------------------------------------------------------------------------------------------


def theme_files(site: Path, pages: dict[str, PageFacts]) -> dict[str, Any]:
    checked: set[str] = set()
    missing: dict[str, dict[str, Any]] = {}
    absolute_path_links = 0
    for page in pages.values():
        for kind, url in page.resources:
            if _EXTERNAL_URL.match(url):
                continue
            # A link from the site root (`/assets/x.css`) breaks when the site is served under a sub-path.
            absolute_path_links += url.strip().startswith("/")
            target, _ = resolve_in_site(page.path, url)
            key = target if target is not None else url
            checked.add(key)
            if target is None or not (site / target).is_file():
                entry = missing.setdefault(
                    key, {"target": key, "kind": kind, "pages": 0, "first_page": page.path, "href": url}
                )
                entry["pages"] += 1
    return {
        "pages_checked": len(pages),
        "distinct_targets": len(checked),
        "missing": len(missing),
        "missing_targets": sorted(missing.values(), key=lambda entry: entry["target"]),
        "links_from_site_root": absolute_path_links,
    }


def local_images(site: Path, pages: dict[str, PageFacts], copy: Path, tracked: list[str]) -> dict[str, Any]:
    tracked_by_name: dict[str, list[str]] = defaultdict(list)
    for path in tracked:
        tracked_by_name[posixpath.basename(path)].append(path)
    counts: Counter[str] = Counter()
    examples: dict[str, list[dict[str, str]]] = {
        "unresolved_in_repository": [],
        "ambiguous_in_repository": [],
        "broken_in_repository": [],
        "absent_from_checkout": [],
    }
    for page in pages.values():
        for source in page.image_sources:
            if _EXTERNAL_IMAGE.match(source):
                counts["external"] += 1
                continue
            counts["total"] += 1
            counts["from_site_root"] += source.strip().startswith("/")
            target, _ = resolve_in_site(page.path, source) if source.strip() else (None, "")
            if target and (site / target).is_file():
                counts["resolved"] += 1
                continue
            segments = [segment for segment in re.split(r"[/\\]", unquote(urlsplit(source.strip()).path)) if segment]
            name = segments[-1] if segments else ""
            candidates = tracked_by_name.get(name, [])
            # Names like `1.png` recur across a repository; a candidate in a folder of the same name as the link's
            # is the likelier target, and links that match only by file name are counted apart.
            folder_and_name = "/".join(segments[-2:]) if len(segments) >= 2 and segments[-2] not in (".", "..") else ""
            in_same_folder = [path for path in candidates if folder_and_name and path.endswith(folder_and_name)]
            candidates = in_same_folder + [path for path in candidates if path not in in_same_folder]
            present = [candidate for candidate in candidates if (copy / candidate).is_file()]
            if len(in_same_folder) == 1 or len(present) == 1:
                # One file the link can mean: a site should find it (GitHub may not).
                kind = "unresolved_in_repository"
                counts["unresolved_by_name_only"] += bool(folder_and_name) and not in_same_folder
            elif present:
                # `1.png` in several other folders: which one the author meant nobody can tell; the link is
                # the repository's own broken one.
                kind = "ambiguous_in_repository"
            elif candidates:
                # Tracked but not in this checkout (a file too large for the mirror, for instance): neither
                # tilsite's fault nor the author's, so it is counted apart.
                kind = "absent_from_checkout"
            else:
                kind = "broken_in_repository"
            counts[kind] += 1
            if len(examples[kind]) < EXAMPLE_LIMIT:
                examples[kind].append(
                    {"page": page.path, "src": source, **({"in_repository": candidates[0]} if candidates else {})}
                )
    result: dict[str, Any] = {
        key: counts[key]
        for key in (
            "total",
            "resolved",
            "unresolved_in_repository",
            "unresolved_by_name_only",
            "ambiguous_in_repository",
            "broken_in_repository",
            "absent_from_checkout",
            "from_site_root",
            "external",
        )
    }
    result["examples"] = examples
    return result


LINE_PATTERNS: dict[str, re.Pattern[str]] = {
    # Each is searched in one visible line with its leading spaces removed.
    "heading": re.compile(r"^#{1,6} \S"),
    # `__x__` only between spaces or punctuation that ends a phrase: `pkg/__init__.py` in a URL is a path.
    "bold": re.compile(r"\*\*[^*\s](?:[^*\n]*?[^*\s])?\*\*|(?<![\w/.])__[^_\s](?:[^_\n]*?[^_\s])?__(?![\w]|\.\w)"),
    "image syntax": re.compile(r"!\[[^\]\n]*\]\([^)\s]*(?:\s+\"[^\"\n]*\")?\)"),
    "link syntax": re.compile(r"(?<!!)\[[^\]\n]+\]\([^)\s]+(?:\s+\"[^\"\n]*\")?\)"),
    "code fence": re.compile(r"^(?:```|~~~)"),
    "table delimiter row": re.compile(r"^(?=[|:\- \t]*\|)(?=[|:\- \t]*-)[|:\- \t]{3,}$"),
    "HTML tag as text": re.compile(r"</?(?:div|details|summary)\b|<br\s*/?>", re.IGNORECASE),
}
LIST_LINE = re.compile(r"^(?:[-*] |\d{1,3}\. )\S")


def _excerpt(line: str, match: re.Match[str], width: int = 100) -> str:
    start = max(match.start() - 30, 0)
    text = line[start : start + width].replace(HEADING_TEXT_MARK, "")
    return ("…" if start else "") + text + ("…" if start + width < len(line) else "")


def raw_markdown(pages: dict[str, PageFacts], reference_texts: dict[str, str] | None = None) -> dict[str, Any]:
    """Pages whose visible text shows Markdown syntax. Syntax that GitHub shows as text too (the reference
    rendering's visible text has the same characters: a link with unbalanced brackets, Markdown inside an
    HTML block) is the note's own and counted apart."""
    reference_texts = reference_texts or {}
    also_on_github: list[str] = []
    pages_per_pattern: Counter[str] = Counter()
    lines_per_pattern: Counter[str] = Counter()
    flagged: list[str] = []
    list_pages: list[str] = []
    examples: list[dict[str, Any]] = []
    list_examples: list[dict[str, str]] = []
    for page in pages.values():
        matched: dict[str, str] = {}
        list_line = ""
        for raw_line in page.text.splitlines():
            line = raw_line.strip()
            if not line:
                continue
            for name, pattern in LINE_PATTERNS.items():
                match = pattern.search(line)
                if match and _shown_on_github(match.group(0), reference_texts.get(page.path)):
                    also_on_github.append(page.path)
                elif match:
                    lines_per_pattern[name] += 1
                    matched.setdefault(name, _excerpt(line, match))
            if not list_line and LIST_LINE.match(line):
                list_line = line[:100].replace(HEADING_TEXT_MARK, "")
        if matched:
            flagged.append(page.path)
            pages_per_pattern.update(matched.keys())
            if len(examples) < 3:
                examples.append({"page": page.path, "matches": matched})
        if list_line:
            list_pages.append(page.path)
            if len(list_examples) < 3:
                list_examples.append({"page": page.path, "line": list_line})
    return {
        "pages": len(flagged),
        "pages_also_raw_on_github": len(set(also_on_github) - set(flagged)),
        "also_raw_on_github_examples": sorted(set(also_on_github))[:EXAMPLE_LIMIT],
        "pages_per_pattern": dict(pages_per_pattern.most_common()),
        "lines_per_pattern": dict(lines_per_pattern.most_common()),
        "examples": examples,
        "flagged_pages": flagged,
        "list_line_pages": len(list_pages),
        "list_line_examples": list_examples,
        "list_line_page_paths": list_pages,
    }


def _shown_on_github(syntax: str, reference_text: str | None) -> bool:
    if reference_text is None:
        return False
    squeeze = functools.partial(re.sub, r"\s+", "")
    return squeeze(syntax.replace(HEADING_TEXT_MARK, "")) in squeeze(reference_text)


def reference_texts(copy: Path, pages: dict[str, PageFacts], notes: dict[str, str]) -> dict[str, str]:
    """The visible text of each Markdown note's reference rendering (markdown-it-py, standing in for GitHub)."""
    texts: dict[str, str] = {}
    for source, page_path in notes.items():
        if posixpath.splitext(source)[1].lower() == NOTEBOOK_SUFFIX or page_path not in pages:
            continue
        html = reference_renderer().render(_front_matter_removed(read_note(copy / source)))
        texts[page_path] = visible_text(parse_html(f"<article>{html}</article>"))
    return texts


def related_links(site: Path, pages: dict[str, PageFacts]) -> dict[str, Any]:
    ids_of_other_files: dict[Path, set[str]] = {}

    def ids_in(target: Path) -> set[str]:
        relative = target.relative_to(site).as_posix()
        if relative in pages:
            return pages[relative].ids
        if target not in ids_of_other_files:
            ids_of_other_files[target] = read_page(site, relative).ids
        return ids_of_other_files[target]

    total = missing_page = missing_anchor = pages_with_block = 0
    examples: list[dict[str, str]] = []
    for page in pages.values():
        pages_with_block += bool(page.related_links)
        for href in page.related_links:
            total += 1
            path, fragment = resolve_in_site(page.path, href)
            target = page_file(site, path) if path is not None else None
            problem = ""
            if target is None or not target.is_file():
                missing_page += 1
                problem = "no such page"
            elif fragment and fragment not in ids_in(target):
                missing_anchor += 1
                problem = f"no id {fragment!r} in {target.relative_to(site).as_posix()}"
            if problem and len(examples) < EXAMPLE_LIMIT:
                examples.append({"page": page.path, "href": href, "problem": problem})
    return {
        "pages_with_block": pages_with_block,
        "total": total,
        "landing": total - missing_page - missing_anchor,
        "missing_page": missing_page,
        "missing_anchor": missing_anchor,
        "examples": examples,
    }


def note_page_path(source: str) -> str:
    """Where MkDocs (use_directory_urls) writes the page of a note, as tilsite publishes it (``a.MD`` as ``a.md``)."""
    stem, _ = posixpath.splitext(source)
    folder, name = posixpath.split(stem)
    if name in ("index", "README"):
        return posixpath.join(folder, "index.html")
    return posixpath.join(stem, "index.html")


def note_sources(tracked: list[str], site: Path) -> dict[str, str]:
    """Markdown notes and notebooks that became a page: source path -> page path (one source per page;
    a lower-case suffix wins, as in tilsite, and a notebook only takes a page no Markdown note took)."""

    def suffix_of(path: str) -> str:
        return posixpath.splitext(path)[1]

    candidates = [path for path in tracked if suffix_of(path).lower() in (*MARKDOWN_SUFFIXES, NOTEBOOK_SUFFIX)]
    candidates.sort(
        key=lambda path: (suffix_of(path).lower() == NOTEBOOK_SUFFIX, suffix_of(path) != suffix_of(path).lower(), path)
    )
    taken: dict[str, str] = {}
    for source in candidates:
        page = note_page_path(source)
        if page not in taken.values() and (site / page).is_file():
            taken[source] = page
    return taken


TOC_MARKER = re.compile(r"^\[TOC\][ \t]*$", re.MULTILINE | re.IGNORECASE)


def _front_matter_removed(text: str) -> str:
    match = re.match(r"\A---[ \t]*\r?\n.*?\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", text, re.DOTALL)
    return text[match.end() :] if match else text


def read_note(path: Path) -> str:
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "cp949"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", errors="replace")


@functools.cache
def reference_renderer() -> Any:
    from markdown_it import MarkdownIt

    try:
        # linkify needs linkify-it-py, which is not installed; it makes links, not blocks, so the structure is the same.
        # maxNesting: the presets stop parsing at 20 levels (a list 10 deep); GitHub does not.
        renderer = MarkdownIt("gfm-like", options_update={"linkify": False, "maxNesting": 100})
    except KeyError:
        renderer = MarkdownIt("commonmark", {"html": True, "maxNesting": 100}).enable(["table", "strikethrough"])
    return renderer


def _sequence_difference(reference: tuple[int, ...], site: tuple[int, ...], limit: int = 12) -> str:
    if len(reference) <= limit and len(site) <= limit:
        return f"ref {list(reference)} vs site {list(site)}"
    common = min(len(reference), len(site))
    first = next((index for index in range(common) if reference[index] != site[index]), common)
    start = max(first - 3, 0)
    return (
        f"ref {len(reference)} items, site {len(site)}; from item {start}: "
        f"ref {list(reference[start : start + 8])} vs site {list(site[start : start + 8])}"
    )


def github_fidelity(copy: Path, site: Path, pages: dict[str, PageFacts], notes: dict[str, str]) -> dict[str, Any]:
    renderer = reference_renderer()
    differing_components: Counter[str] = Counter()
    agreeing: list[str] = []
    examples: list[dict[str, str]] = []
    compared = toc_marker_notes = 0
    for source, page_path in sorted(notes.items()):
        if posixpath.splitext(source)[1].lower() == NOTEBOOK_SUFFIX or page_path not in pages:
            continue
        page = pages[page_path]
        if not page.has_content:
            continue
        compared += 1
        markdown = _front_matter_removed(read_note(copy / source))
        reference = block_structure(parse_html(renderer.render(markdown)))
        site_structure = page.structure
        if 1 not in reference.headings and page.starts_with_h1:
            site_structure = site_structure.without_first_heading()
        differences = []
        for attribute, label in STRUCTURE_COMPONENTS.items():
            expected, actual = getattr(reference, attribute), getattr(site_structure, attribute)
            if expected != actual:
                differing_components[label] += 1
                if isinstance(expected, tuple):
                    differences.append(f"{label}: {_sequence_difference(expected, actual)}")
                else:
                    differences.append(f"{label}: ref {expected} vs site {actual}")
        if not differences:
            agreeing.append(source)
            continue
        # Typora's `[TOC]` line shows as text on GitHub; Python-Markdown's toc extension puts a list of the
        # headings there. Common in Korean TIL repositories, so such notes are counted by name.
        has_toc_marker = TOC_MARKER.search(markdown) is not None
        toc_marker_notes += has_toc_marker
        if len(examples) < EXAMPLE_LIMIT:
            note = " (the note has a [TOC] line)" if has_toc_marker else ""
            examples.append({"note": source, "page": page_path, "difference": "; ".join(differences) + note})
    return {
        "renderer": "markdown-it-py gfm-like (linkify off)",
        "notes_compared": compared,
        "agreeing": len(agreeing),
        "share": len(agreeing) / compared if compared else None,
        "differing_components": dict(differing_components.most_common()),
        "disagreeing_with_toc_marker": toc_marker_notes,
        "examples": examples,
    }


# --- Copy, build and cache --------------------------------------------------------------------------------------


@dataclass(slots=True)
class BuildRecord:
    """What happened when the harness built one repository (kept in --work so --skip-build can report it)."""

    repository: str
    """owner/name."""
    commit: str
    """HEAD of the copy."""
    cache: str
    """``cold`` (no saved .tilsite) or ``cached`` (the .tilsite saved by the last run was copied in)."""
    init_exit_code: int | None
    """Exit code of ``tilsite init``; None if it timed out."""
    build_exit_code: int | None
    """Exit code of ``tilsite build``; None if it timed out."""
    build_seconds: float | None
    """Wall time of ``tilsite build``."""
    notes_found: int | None
    """From ``tilsite init``: ``Found N notes``."""
    indexed_notes: int | None
    """From ``tilsite build``: ``Indexed N notes, M sections``."""
    indexed_sections: int | None
    """M of the same line."""
    indexed_line: str
    """That line as printed (it says what was embedded and what came from the cache)."""
    warning_lines: list[str]
    """Build output lines starting with ``WARNING`` or ``warning:`` (any case)."""
    log: str
    """Path of the log with the full output of both commands."""


def repository_name(folder: Path) -> str:
    owner, _, name = folder.name.partition("+")
    return f"{owner}/{name}" if name else folder.name


def git_output(copy: Path, *arguments: str) -> str:
    return subprocess.run(["git", "-C", str(copy), *arguments], capture_output=True, text=True, check=True).stdout


def tracked_files(copy: Path) -> list[str]:
    listing = subprocess.run(["git", "-C", str(copy), "ls-files", "-z"], capture_output=True, check=True).stdout
    return [path.decode("utf-8", errors="surrogateescape") for path in listing.split(b"\0") if path]


def tilsite_command() -> list[str]:
    found = shutil.which("tilsite")
    return [found] if found else [sys.executable, "-m", "tilsite"]


def run_logged(command: list[str], cwd: Path) -> tuple[int | None, str, float]:
    started = time.perf_counter()
    try:
        completed = subprocess.run(
            command,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            timeout=BUILD_TIMEOUT_SECONDS,
        )
        return completed.returncode, completed.stdout, time.perf_counter() - started
    except subprocess.TimeoutExpired as expired:
        output = (
            expired.stdout.decode("utf-8", "replace") if isinstance(expired.stdout, bytes) else (expired.stdout or "")
        )
        return None, output + f"\n[timed out after {BUILD_TIMEOUT_SECONDS} s]\n", time.perf_counter() - started


def _first_number(pattern: str, text: str) -> tuple[int, ...] | None:
    match = re.search(pattern, text)
    return tuple(int(group.replace(",", "")) for group in match.groups()) if match else None


def is_warning_line(line: str) -> bool:
    return line.lower().startswith("warning")


def build_repository(source: Path, copy: Path, cache: Path | None, logs: Path) -> BuildRecord:
    if copy.exists():
        shutil.rmtree(copy)
    copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source, copy, symlinks=True)
    saved = cache / source.name / ".tilsite" if cache else None
    cache_state = "cold"
    if saved is not None and saved.is_dir():
        shutil.copytree(saved, copy / ".tilsite", symlinks=True, dirs_exist_ok=True)
        cache_state = "cached"
    command = tilsite_command()
    init_code, init_output, _ = run_logged([*command, "init"], copy)
    build_code, build_output, build_seconds = run_logged([*command, "build"], copy)
    log = logs / f"{source.name}-build.log"
    log.write_text(
        f"$ tilsite init   (exit {init_code})\n{init_output}\n"
        f"$ tilsite build   (exit {build_code}, {build_seconds:.1f} s, {cache_state})\n{build_output}",
        encoding="utf-8",
    )
    if saved is not None and (copy / ".tilsite").is_dir():
        staging = saved.with_name(".tilsite.saving")
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(copy / ".tilsite", staging, symlinks=True)
        shutil.rmtree(saved, ignore_errors=True)
        staging.rename(saved)
    found = _first_number(r"Found ([\d,]+) notes?", init_output)
    indexed = _first_number(r"Indexed ([\d,]+) notes?, ([\d,]+) sections?", build_output)
    indexed_line = next((line for line in build_output.splitlines() if "Indexed " in line), "")
    return BuildRecord(
        repository=repository_name(source),
        commit=git_output(copy, "rev-parse", "HEAD").strip(),
        cache=cache_state,
        init_exit_code=init_code,
        build_exit_code=build_code,
        build_seconds=round(build_seconds, 1),
        notes_found=found[0] if found else None,
        indexed_notes=indexed[0] if indexed else None,
        indexed_sections=indexed[1] if indexed else None,
        indexed_line=indexed_line.strip(),
        warning_lines=[line for line in build_output.splitlines() if is_warning_line(line)],
        log=str(log),
    )


# --- Chromium -----------------------------------------------------------------------------------------------------


class _SubPathHandler(http.server.SimpleHTTPRequestHandler):
    """Serves site/ under ``/<repository name>/`` as GitHub Pages does; anything else is 404."""

    extensions_map = {  # noqa: RUF012 (the base class declares it as a plain attribute)
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".wasm": "application/wasm",
    }

    def __init__(self, *arguments: Any, prefix: str, **keywords: Any) -> None:
        self.prefix = prefix
        super().__init__(*arguments, **keywords)

    def translate_path(self, path: str) -> str:
        route = urlsplit(path).path
        if route == self.prefix.rstrip("/"):
            return self.directory  # a folder without its slash: the base class redirects to the prefix
        if not route.startswith(self.prefix):
            return os.path.join(self.directory, "outside-the-sub-path.invalid")
        return super().translate_path(path[len(self.prefix) - 1 :])

    def log_message(self, format: str, *args: object) -> None:
        pass


def pick_screenshot_pages(
    site: Path, pages: dict[str, PageFacts], notes: dict[str, str], korean: bool
) -> dict[str, str | None]:
    """Two note pages, in the repository's language where possible: the one with the most images that exist in
    site/ (else any with an image), and another with the most related notes."""
    note_pages = sorted({page for page in notes.values() if page != "index.html" and page in pages})

    def other_language(path: str) -> bool:
        return bool(HANGUL.search(pages[path].text)) != korean

    def images_in_site(path: str) -> int:
        found = 0
        for source in pages[path].image_sources:
            target, _ = resolve_in_site(path, source) if source.strip() else (None, "")
            found += not _EXTERNAL_IMAGE.match(source) and target is not None and (site / target).is_file()
        return found

    with_images = [path for path in note_pages if pages[path].image_sources]
    shown_images = {path: images_in_site(path) for path in with_images}
    first = min(
        with_images,
        key=lambda path: (shown_images[path] == 0, other_language(path), -shown_images[path], path),
        default=None,
    )
    if first is None:
        first = min(note_pages, key=lambda path: (other_language(path), path), default=None)
    with_related = [path for path in note_pages if pages[path].related_links and path != first]
    second = min(
        with_related, key=lambda path: (other_language(path), -len(pages[path].related_links), path), default=None
    )
    return {"note1": first, "note2": second}


def browse(site: Path, repository: str, chosen: dict[str, str | None], shots: Path, slug: str) -> dict[str, Any]:
    prefix = f"/{repository.split('/')[-1]}/"
    handler = functools.partial(_SubPathHandler, directory=str(site), prefix=prefix)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    page_paths = {"home": "", **{name: path for name, path in chosen.items() if path}}
    config = {
        "origin": origin,
        "wait_ms": BROWSER_WAIT_MS,
        "chromium": "/usr/bin/chromium",
        "control_url": f"{origin}{prefix}",
        "pages": [
            {
                "name": name,
                "path": path,
                "url": origin + prefix + quote(path.removesuffix("index.html")),
                "screenshot": str(shots / f"{slug}-{name}.png"),
                # Each note page is shown from what it was chosen for: its first image, its related notes.
                "scroll_to": {"note1": ".md-content img", "note2": ".tilsite-related"}.get(name),
            }
            for name, path in page_paths.items()
        ],
    }
    process = subprocess.Popen(
        ["node", str(BROWSER_SCRIPT), json.dumps(config)],
        cwd=HERE.parent,  # playwright-core is in the repository's node_modules
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=BROWSER_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        # Its own session holds node and the Chromium it started, so this ends exactly those.
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        return {"error": f"browser run timed out after {BROWSER_TIMEOUT_SECONDS} s", "stderr": stderr[-2000:]}
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
    try:
        result = json.loads(stdout)
    except json.JSONDecodeError:
        return {"error": f"browser script exited {process.returncode} without JSON", "stderr": stderr[-2000:]}
    result["served_under"] = prefix
    return result


# --- Report -------------------------------------------------------------------------------------------------------


def measure(record: BuildRecord, copy: Path, shots: Path, with_browser: bool, tracked: list[str]) -> dict[str, Any]:
    site = copy / "site"
    result: dict[str, Any] = {"build": asdict(record), "site_exists": site.is_dir()}
    if not site.is_dir():
        return result
    pages = {path: read_page(site, path) for path in list_pages(site)}
    notes = note_sources(tracked, site)
    markdown_notes = [source for source in tracked if posixpath.splitext(source)[1].lower() in MARKDOWN_SUFFIXES]
    note_texts = [pages[path].text for path in notes.values() if path in pages]
    korean_share = sum(bool(HANGUL.search(text)) for text in note_texts) / len(note_texts) if note_texts else 0.0
    result.update(
        pages=len(pages),
        site_megabytes=round(sum(path.stat().st_size for path in site.rglob("*") if path.is_file()) / 1e6, 1),
        note_pages=len(notes),
        markdown_sources_without_page=sorted(set(markdown_notes) - set(notes))[:EXAMPLE_LIMIT],
        markdown_sources_without_page_count=len(set(markdown_notes) - set(notes)),
        korean_share=round(korean_share, 3),
        theme=theme_files(site, pages),
        images=local_images(site, pages, copy, tracked),
        raw_markdown=raw_markdown(pages, reference_texts(copy, pages, notes)),
        related=related_links(site, pages),
        fidelity=github_fidelity(copy, site, pages, notes),
    )
    if with_browser:
        chosen = pick_screenshot_pages(site, pages, notes, korean=korean_share >= 0.2)
        result["browser"] = browse(site, record.repository, chosen, shots, copy.name)
    return result


def _share(part: int, whole: int) -> str:
    return f"{part}/{whole}"


def _yes_no(page: dict[str, Any] | None) -> str:
    if not page:
        return "–"
    if page.get("error") and not page.get("style"):
        return "error"
    return "yes" if page.get("style", {}).get("applied") else "no"


def table_row(result: dict[str, Any]) -> list[str]:
    build = result["build"]
    repository = f"{build['repository']} @ {build['commit'][:7]}"
    time_cell = f"{build['build_seconds']} ({build['cache']})" if build["build_seconds"] is not None else build["cache"]
    if build["build_exit_code"] not in (0, None) or not result.get("site_exists"):
        return [repository, str(build["notes_found"]), "–", "–", f"{time_cell}, exit {build['build_exit_code']}"] + [
            "–"
        ] * 8
    images, fidelity, browser = result["images"], result["fidelity"], result.get("browser", {})
    counted = images["resolved"] + images["unresolved_in_repository"]
    image_cell = f"{images['resolved']}/{counted}"
    broken = images["broken_in_repository"] + images.get("ambiguous_in_repository", 0)
    if broken:
        image_cell += f" (+{broken} broken in repo)"
    if images["absent_from_checkout"]:
        image_cell += f" (+{images['absent_from_checkout']} absent from checkout)"
    share = fidelity["share"]
    browser_pages = {page["name"]: page for page in browser.get("pages", [])}
    style_cell = (
        " / ".join(_yes_no(browser_pages.get(name)) for name in ("home", "note1", "note2")) if browser else "not run"
    )
    loaded = sum(page.get("images", {}).get("loaded", 0) for page in browser_pages.values())
    total = sum(page.get("images", {}).get("total", 0) for page in browser_pages.values())
    external = sum(page.get("images", {}).get("external", 0) for page in browser_pages.values())
    return [
        repository,
        str(build["notes_found"] if build["notes_found"] is not None else build["indexed_notes"]),
        str(result["pages"]),
        str(result.get("site_megabytes", "–")),
        time_cell,
        str(result["theme"]["missing"]),
        image_cell,
        f"{result['raw_markdown']['pages']} ({result['raw_markdown']['list_line_pages']})",
        _share(result["related"]["landing"], result["related"]["total"]),
        f"{share * 100:.0f}% ({fidelity['agreeing']}/{fidelity['notes_compared']})" if share is not None else "–",
        str(len(build["warning_lines"])),
        style_cell,
        (f"{loaded}/{total}" + (f" (+{external} external)" if external else "")) if browser else "not run",
    ]


HEADER = [
    "repository",
    "notes",
    "pages",
    "site MB",
    "build s (cache)",
    "theme files missing",
    "local images resolved / in repository",
    "pages with raw Markdown (list lines)",
    "related links landing",
    "GitHub fidelity",
    "warning lines",
    "Material style in Chromium (home / note 1 / note 2)",
    "images loaded in Chromium",
]


def _code(text: str) -> str:
    """Inline code that survives any backticks in ``text``."""
    text = " ".join(text.split())
    fence = "``" if "`" in text else "`"
    return f"{fence} {text} {fence}" if text.startswith("`") or text.endswith("`") else f"{fence}{text}{fence}"


def repository_section(result: dict[str, Any]) -> list[str]:
    build = result["build"]
    lines = [f"## {build['repository']}", ""]
    lines.append(
        f"Commit `{build['commit'][:12]}`; init exit {build['init_exit_code']}, build exit {build['build_exit_code']}, "
        f"{build['build_seconds']} s ({build['cache']}). Log: `{Path(build['log']).name}`."
    )
    if build["indexed_line"]:
        lines += ["", f"> {build['indexed_line']}"]
    if not result.get("site_exists"):
        return [*lines, "", "No site/ was built.", ""]
    warnings = build["warning_lines"]
    lines += ["", f"**Warning lines: {len(warnings)}**"]
    if warnings:
        lines += ["", "```text", *warnings[:WARNINGS_SHOWN], "```"]
        if len(warnings) > WARNINGS_SHOWN:
            lines.append(f"… and {len(warnings) - WARNINGS_SHOWN} more (see the log).")
    theme = result["theme"]
    lines += [
        "",
        f"**Theme files missing: {theme['missing']}** of {theme['distinct_targets']} distinct files linked "
        f"from {theme['pages_checked']} pages.",
    ]
    lines += [
        f"- {_code(entry['target'])} ({entry['kind']}, {entry['pages']} page links)"
        for entry in theme["missing_targets"][:EXAMPLE_LIMIT]
    ]
    images = result["images"]
    lines += [
        "",
        f"**Local images:** {images['total']} in page content; {images['resolved']} resolve, "
        f"{images['unresolved_in_repository']} unresolved though the repository has the file "
        f"({images['unresolved_by_name_only']} of them matched by file name only, in another folder), "
        f"{images['broken_in_repository']} broken in the repository itself (no file of that name), "
        f"{images.get('ambiguous_in_repository', 0)} broken in the repository and ambiguous (no file where the link"
        " points, several of that name in other folders), "
        f"{images['absent_from_checkout']} tracked but absent from this checkout "
        f"({images['from_site_root']} written from the site root, {images['external']} external not counted).",
    ]
    for kind, label in (
        ("unresolved_in_repository", "Unresolved (file is in the repository)"),
        ("ambiguous_in_repository", "Broken in the repository, ambiguous"),
        ("broken_in_repository", "Broken in the repository"),
    ):
        if images["examples"][kind]:
            lines += ["", f"{label}:"]
            lines += [
                f"- {_code(example['page'])} → {_code(example['src'])}"
                + (f" (repository has {_code(example['in_repository'])})" if "in_repository" in example else "")
                for example in images["examples"][kind]
            ]
    raw = result["raw_markdown"]
    lines += [
        "",
        f"**Pages with raw Markdown: {raw['pages']}** (pages per pattern: "
        + (", ".join(f"{name} {count}" for name, count in raw["pages_per_pattern"].items()) or "none")
        + f"); pages with list-like lines: {raw['list_line_pages']}. Pages whose only raw Markdown GitHub shows"
        f" as text too (the note's own syntax, not counted): {raw.get('pages_also_raw_on_github', 0)}"
        + (
            f" ({', '.join(_code(page) for page in raw['also_raw_on_github_examples'][:5])})"
            if raw.get("also_raw_on_github_examples")
            else ""
        )
        + ".",
    ]
    for example in raw["examples"]:
        lines.append(
            f"- {_code(example['page'])}: "
            + "; ".join(f"{name}: {_code(text)}" for name, text in example["matches"].items())
        )
    for example in raw["list_line_examples"]:
        lines.append(f"- list line in {_code(example['page'])}: {_code(example['line'])}")
    related = result["related"]
    lines += [
        "",
        f"**Related links landing:** {related['landing']}/{related['total']} on {related['pages_with_block']} pages "
        f"(missing page {related['missing_page']}, missing anchor {related['missing_anchor']}).",
    ]
    lines += [
        f"- {_code(example['page'])} → {_code(example['href'])}: {example['problem']}"
        for example in related["examples"]
    ]
    fidelity = result["fidelity"]
    if fidelity["notes_compared"]:
        lines += [
            "",
            f"**GitHub fidelity:** {fidelity['agreeing']}/{fidelity['notes_compared']} Markdown notes agree "
            f"({fidelity['share'] * 100:.0f}%). Disagreeing notes per component: "
            + (", ".join(f"{name} {count}" for name, count in fidelity["differing_components"].items()) or "none")
            + f"; disagreeing notes with a `[TOC]` line: {fidelity['disagreeing_with_toc_marker']}.",
        ]
        lines += [f"- {_code(example['note'])}: {example['difference']}" for example in fidelity["examples"]]
    if result["markdown_sources_without_page_count"]:
        lines += [
            "",
            f"Markdown files without a page: {result['markdown_sources_without_page_count']} (e.g. "
            + ", ".join(_code(path) for path in result["markdown_sources_without_page"][:5])
            + ").",
        ]
    browser = result.get("browser")
    if browser:
        lines += ["", f"**Chromium** (site served under `{browser.get('served_under', '?')}`):"]
        if browser.get("error"):
            lines.append(f"- error: {browser['error']}")
        for page in browser.get("pages", []):
            style = page.get("style", {})
            images_seen = page.get("images", {})
            failed = page.get("failed_requests", [])
            failures = ", ".join(
                _code(f"{item.get('status', item.get('failure', ''))} {item['path']}") for item in failed[:4]
            )
            screenshot = Path(page.get("screenshot", "")).name
            lines.append(
                f"- {page['name']} {_code(page.get('path') or 'index.html')}: `{screenshot}`; "
                f"Material style {'applied' if style.get('applied') else 'NOT applied'}; "
                f"local images loaded {images_seen.get('loaded', 0)}/{images_seen.get('total', 0)} "
                f"({images_seen.get('external', 0)} from other sites, not fetched); "
                f"failed requests {len(failed)}"
                + (f" ({failures})" if failed else "")
                + (f"; error: {page['error']}" if page.get("error") else "")
            )
        control = browser.get("control", {})
        if control:
            control_applied = control.get("style", {}).get("applied")
            verdict = "applied (the check is too weak!)" if control_applied else "not applied, as it should"
            lines.append(f"- control: the style check on the home page with stylesheets blocked gives {verdict}.")
    return [*lines, ""]


def product_state() -> dict[str, Any]:
    """The tilsite commit measured, and whether its code had uncommitted changes (it changes while this runs)."""
    repository = HERE.parent
    try:
        commit = git_output(repository, "rev-parse", "HEAD").strip()
        # --no-optional-locks: only look; a plain `git status` may rewrite the index.
        changes = git_output(repository, "--no-optional-locks", "status", "--porcelain", "--", "tilsite")
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "uncommitted_changes": None}
    return {"commit": commit, "uncommitted_changes": bool(changes.strip())}


def write_report(results: list[dict[str, Any]], product: dict[str, Any], out: Path) -> None:
    version = f"`{product['commit'][:7]}`" if product["commit"] else "an unknown commit"
    if product["uncommitted_changes"]:
        version += " with uncommitted changes in `tilsite/`"
    lines = [
        "# Field test: real TIL repositories",
        "",
        f"tilsite at {version}.",
        "",
        "Written by `python bench/field.py` (its docstring says how each number is made). Each repository is a",
        "copy of a public TIL repository made a site with `tilsite init` and `tilsite build`, as its owner would.",
        "",
        "- notes: `tilsite init`'s count; build s: wall time of `tilsite build`, cold (no embedding cache) or",
        "  cached (the `.tilsite` folder of the previous run copied in).",
        "- local images: resolved / resolved plus unresolved ones whose file the repository has; links broken in",
        "  the repository itself (no file of that name anywhere) in parentheses.",
        "- raw Markdown: pages whose text (outside code) shows Markdown syntax or HTML tags; in parentheses, pages",
        "  with lines that look like list items that did not become lists.",
        "- GitHub fidelity: Markdown notes whose block structure (heading levels, list item depths, tables, code",
        "  blocks, images) matches markdown-it-py's rendering of the note, which stands in for GitHub.",
        "- Chromium: the site served under `/<repository name>/` as on GitHub Pages; Material's style is checked",
        "  by computed style (sticky coloured header, 125% root font, 1.6 line height), which fails on the same",
        "  page with its stylesheets blocked (the control); images: content images from the site that loaded on",
        "  the three pages (images from other sites are not fetched). Screenshots (1280x900): the home page from",
        "  the top, note 1 (chosen for its images) from its first image, note 2 from its related notes.",
        "",
        "| " + " | ".join(HEADER) + " |",
        "| " + " | ".join("---" for _ in HEADER) + " |",
    ]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in table_row(result)) + " |" for result in results]
    lines.append("")
    for result in results:
        lines += repository_section(result)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("repositories", nargs="+", type=Path, metavar="REPO_DIR")
    parser.add_argument("--out", type=Path, default=HERE / "field.md")
    parser.add_argument("--json", type=Path, default=HERE / "field.json")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "field-work")
    parser.add_argument("--cache", type=Path, default=None, help="keeps each repository's .tilsite between runs")
    parser.add_argument("--screenshots", type=Path, default=HERE / "field-shots", help="screenshots and build logs")
    parser.add_argument("--skip-build", action="store_true", help="measure the copies already built in --work")
    parser.add_argument("--only-metrics", action="store_true", help="no Chromium: no screenshots or style checks")
    arguments = parser.parse_args()
    work, shots = arguments.work.resolve(), arguments.screenshots.resolve()
    shots.mkdir(parents=True, exist_ok=True)
    cache = arguments.cache.resolve() if arguments.cache else None
    results = []
    for source in arguments.repositories:
        source = source.resolve()
        copy = work / source.name
        record_file = work / f"{source.name}.build.json"
        if arguments.skip_build:
            if not record_file.is_file():
                raise SystemExit(f"--skip-build: {record_file} is missing; build {source.name} once without it.")
            record = BuildRecord(**json.loads(record_file.read_text(encoding="utf-8")))
        else:
            print(f"{source.name}: copying and building ...", file=sys.stderr, flush=True)
            record = build_repository(source, copy, cache, shots)
            record_file.write_text(json.dumps(asdict(record), ensure_ascii=False, indent=1), encoding="utf-8")
        built = f"build exit {record.build_exit_code} in {record.build_seconds} s ({record.cache})"
        print(f"{source.name}: {built}; measuring ...", file=sys.stderr, flush=True)
        # `git ls-files` reads the index, which neither `tilsite init` nor the build touches: the list is the
        # one from before the build, also for a copy built by an earlier run.
        results.append(measure(record, copy, shots, not arguments.only_metrics, tracked_files(copy)))
    product = product_state()
    write_report(results, product, arguments.out)
    arguments.json.parent.mkdir(parents=True, exist_ok=True)
    arguments.json.write_text(
        json.dumps({"tilsite": product, "repositories": results}, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    print(f"wrote {arguments.out} and {arguments.json}", file=sys.stderr)


if __name__ == "__main__":
    main()
