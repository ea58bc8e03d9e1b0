"""The CommonMark parser that reads notes as GitHub does, where code lies in a note, and HTML rebuilt from the
elements and attributes a page may show."""

from __future__ import annotations

from collections.abc import Callable, Collection
from functools import lru_cache
from html.parser import HTMLParser
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markdown_it import MarkdownIt


@lru_cache(maxsize=1)
def parser() -> MarkdownIt:
    """markdown-it-py as GitHub reads Markdown: CommonMark with tables and strikethrough."""
    from markdown_it import MarkdownIt

    # CommonMark's preset stops at 20 levels of nesting (a list 10 deep); GitHub goes on.
    parser = MarkdownIt("commonmark", {"html": True, "maxNesting": 100}).enable(["table", "strikethrough"])
    # markdown-it-py leaves `[x](javascript:...)` (and file:, data:, vbscript:) unparsed, as text with its
    # URL; Python-Markdown makes it a link, whose heading id holds the link's text only.
    parser.validateLink = lambda url: True  # type: ignore[method-assign]
    return parser


@lru_cache(maxsize=1)
def block_parser() -> MarkdownIt:
    """``parser`` that finds the blocks only: their inline text is left unparsed (``children`` None), which takes
    most of the time on long notes."""
    from markdown_it import MarkdownIt

    blocks = MarkdownIt("commonmark", {"html": True, "maxNesting": 100}).enable(["table", "strikethrough"])
    return blocks.disable("inline")


def code_spans(source: str) -> list[tuple[int, int]]:
    """Where the code blocks (fenced or indented, in lists and quotes too) of Markdown ``source`` lie in it, as
    character ranges of whole lines."""
    starts = [0]
    for line in source.split("\n"):
        starts.append(starts[-1] + len(line) + 1)
    spans: list[tuple[int, int]] = []
    for token in block_parser().parse(source):
        if token.type in ("fence", "code_block") and token.map:
            first, end = token.map
            spans.append((starts[min(first, len(starts) - 1)], min(starts[min(end, len(starts) - 1)], len(source))))
    return spans


Attribute = Callable[[str, str], str]
"""Writes an attribute kept on an element (`` name="value"``), or ``""`` to leave it out."""


class _Rebuilt(HTMLParser):
    def __init__(
        self, elements: Collection[str], attribute: Attribute, text: Callable[[str], str], hidden: Collection[str]
    ) -> None:
        super().__init__(convert_charrefs=True)
        self.elements, self.attribute, self.text, self.hidden = elements, attribute, text, hidden
        self.parts: list[str] = []
        self.open: list[str] = []
        self.inside_hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.hidden:
            self.inside_hidden += 1
        elif tag in self.elements and not self.inside_hidden:
            self.parts.append(f"<{tag}{''.join(self.attribute(name, value or '') for name, value in attrs)}>")
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.hidden:
            self.inside_hidden = max(self.inside_hidden - 1, 0)
        elif tag in self.open and not self.inside_hidden:
            while self.open:  # what was left open inside it closes with it
                closed = self.open.pop()
                self.parts.append(f"</{closed}>")
                if closed == tag:
                    break

    def handle_data(self, data: str) -> None:
        if not self.inside_hidden:
            self.parts.append(self.text(data))


def rebuilt_html(
    markup: str,
    elements: Collection[str],
    attribute: Attribute,
    text: Callable[[str], str],
    hidden: Collection[str] = ("script", "style"),
) -> str | None:
    """``markup`` (HTML from a note or a notebook) rebuilt from its ``elements`` alone, each with the attributes
    ``attribute`` keeps, its text as ``text`` writes it (escaped), nothing of the ``hidden`` elements (scripts,
    styles), and every element closed, so that what was left open does not take in the rest of the page. Other
    elements are dropped and their text kept. None when html.parser cannot read it."""
    rebuilt = _Rebuilt(elements, attribute, text, hidden)
    try:
        rebuilt.feed(markup)
        rebuilt.close()
    except Exception:  # html.parser asserts on some malformed markup (`<![x`)
        return None
    return "".join(rebuilt.parts) + "".join(f"</{tag}>" for tag in reversed(rebuilt.open))
