"""The CommonMark parser that reads notes as GitHub does, and where code lies in a note."""

from __future__ import annotations

from functools import lru_cache
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
