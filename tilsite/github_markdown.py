"""Render notes with the blocks GitHub shows: rewrite GitHub-flavoured Markdown for Python-Markdown.

GitHub renders a repository's Markdown as CommonMark with tables, strikethrough and
alerts. Python-Markdown, which MkDocs uses, reads the same text into other blocks:

- a nested list needs 4 spaces of indentation, where GitHub takes the item's text column (2 for ``- ``);
- a list, table or quote right under a paragraph line runs into the paragraph;
- an HTML block runs to its closing tag, so the Markdown between ``<details>`` and ``</details>``
  stays raw text, and an unclosed ``<div>`` swallows the rest of the note;
- ``#Title`` (no space) is a heading; ``1)`` does not start a list.

``github_blocks`` parses a note with markdown-it-py (CommonMark with GitHub's tables and
strikethrough), which finds the blocks GitHub finds, and rewrites the lines so that
Python-Markdown finds the same: list lines re-indented by 4 per level, a blank line
between blocks, each HTML block handed over as raw HTML (``stash``), ``#Title`` escaped
and GitHub alerts (``> [!NOTE]``) turned into admonitions. The text of the note is
otherwise left as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

Stash = Callable[[str], str]
"""Takes a piece of raw HTML and returns the placeholder line that stands for it."""

ALERTS = {
    "NOTE": ("note", "Note"),
    "TIP": ("tip", "Tip"),
    "IMPORTANT": ("info", "Important"),
    "WARNING": ("warning", "Warning"),
    "CAUTION": ("danger", "Caution"),
}
"""GitHub's alert kinds and the admonition type and title Material shows them with."""

_MARKER = re.compile(r"^( *)([*+-]|\d{1,9}[.)])( *)")
_ALERT = re.compile(r"^\[!(" + "|".join(ALERTS) + r")\][ \t]*$", re.IGNORECASE)
_QUOTE_PREFIX = re.compile(r"^ {0,3}> ?")
_HASH_LINE = re.compile(r"^#")
_FENCE = re.compile(r"^(?:`{3,}|~{3,})")
_CLOSING_FENCE = re.compile(r"^( *)(`{3,}|~{3,})[ \t]*$")
_TOC_MARKER = re.compile(r"^\s*\[(?:TOC|toc|\[_TOC_\])\]\s*$")
INDENT = 4
"""Python-Markdown's ``tab_length``: the indentation of each list level."""


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def github_blocks(text: str, stash: Stash, alerts: bool = True) -> str:
    """``text`` rewritten so that Python-Markdown renders the blocks GitHub renders.

    ``stash`` takes each HTML block; ``alerts`` turns ``> [!NOTE]`` quotes into admonitions
    (needs the ``admonition`` extension).
    """
    tokens = _parser().parse(text)
    fenced = _closed_fences(text, tokens)
    if fenced != text:
        text, tokens = fenced, _parser().parse(fenced)
    lines = text.split("\n")
    output: list[str | None] = list(lines)
    """The new text of each line; None for lines merged into the one before."""
    blank_before: set[int] = set()
    previous_end = -1
    position = 0
    while position < len(tokens):
        token = tokens[position]
        end = _block_end(tokens, position)
        if token.level == 0 and token.map:
            start, stop = token.map
            if start == previous_end and start > 0:
                blank_before.add(start)  # two blocks with no blank line between them
            previous_end = stop
            if token.type == "html_block":
                output[start] = stash("\n".join(lines[start:stop]))
                for line in range(start + 1, stop):
                    output[line] = None
            elif token.type == "paragraph_open":
                if _TOC_MARKER.match(tokens[position + 1].content):
                    output[start] = ""  # Typora's contents marker: the theme shows the contents beside the page
                for line in range(start, stop):
                    if _HASH_LINE.match(lines[line]):
                        output[line] = "\\" + lines[line]  # GitHub shows `#Title` as text
            elif token.type in ("bullet_list_open", "ordered_list_open"):
                _reindent_list(tokens[position:end], lines, output)
            elif token.type == "blockquote_open":
                _rewrite_quote(tokens[position:end], lines, output, stash, alerts)
        position = end
    result: list[str] = []
    for number, rewritten in enumerate(output):
        if number in blank_before and result and result[-1].strip():
            result.append("")
        if rewritten is not None:
            result.append(rewritten)
    return "\n".join(result)


def _closed_fences(text: str, tokens: list[Token]) -> str:
    """``text`` with each code fence closed as Python-Markdown needs: by the same run of backticks that opened
    it (GitHub also takes a longer one), and at all (GitHub runs an unclosed fence to the end of the note)."""
    lines = text.split("\n")
    closing: dict[int, str] = {}
    after: dict[int, str] = {}
    for token in tokens:
        if token.type != "fence" or not token.map or not token.markup:
            continue
        opener = lines[token.map[0]]
        indent = opener[: len(opener) - len(opener.lstrip(" "))]
        if opener.lstrip(" ").startswith(">"):
            continue  # inside a quote
        last = token.map[1] - 1
        match = _CLOSING_FENCE.match(lines[last]) if last > token.map[0] else None
        if match and match.group(2)[0] == token.markup[0] and len(match.group(2)) >= len(token.markup):
            if match.group(2) != token.markup:
                closing[last] = match.group(1) + token.markup
        else:
            after[last] = indent + token.markup
    if not closing and not after:
        return text
    fixed: list[str] = []
    for number, line in enumerate(lines):
        fixed.append(closing.get(number, line))
        if number in after:
            fixed.append(after[number])
    return "\n".join(fixed)


def _block_end(tokens: list[Token], start: int) -> int:
    """Index just past the block that starts at ``tokens[start]`` (its closing token included)."""
    if tokens[start].nesting != 1:
        return start + 1
    depth = 0
    for index in range(start, len(tokens)):
        depth += tokens[index].nesting
        if depth == 0:
            return index + 1
    return len(tokens)


@dataclass(slots=True)
class _Item:
    first: int
    """Line of the item's marker."""
    stop: int
    """Line after the item."""
    depth: int
    """1 for an item of a top-level list."""
    content_column: int
    """Column where the item's text starts (GitHub nests what is indented to it)."""


def _reindent_list(tokens: list[Token], lines: list[str], output: list[str | None]) -> None:
    """Indent every line of a top-level list by 4 spaces per level, as Python-Markdown nests lists."""
    items: list[_Item] = []
    depth = 0
    quoted = 0  # items inside a quote within the list keep their lines (their markers follow a `>`)
    for token in tokens:
        if token.type == "blockquote_open":
            quoted += 1
        elif token.type == "blockquote_close":
            quoted -= 1
        elif token.type == "list_item_open":
            depth += 1
            if not quoted and token.map:
                column = _content_column(lines[token.map[0]])
                if column is not None:
                    items.append(_Item(token.map[0], token.map[1], depth, column))
        elif token.type == "list_item_close":
            depth -= 1
    owner: dict[int, _Item] = {}
    for item in items:  # outer items come first, so inner ones take their lines over
        for line in range(item.first, item.stop):
            owner[line] = item
    for line, item in owner.items():
        text = lines[line]
        stripped = text.lstrip(" ")
        if line == item.first:
            marker = _MARKER.match(stripped)
            if marker is None:
                continue
            prefix = " " * (INDENT * (item.depth - 1)) + marker.group(2).replace(")", ".")
            content = stripped[marker.end() :]
            if _FENCE.match(content):
                # Python-Markdown takes a fence only on a line of its own: the marker stays alone.
                output[line] = f"{prefix} \n{' ' * (INDENT * item.depth)}{content}"
            else:
                output[line] = prefix + marker.group(3) + content
        elif stripped:
            extra = max(0, len(text) - len(stripped) - item.content_column)
            output[line] = " " * (INDENT * item.depth + extra) + stripped


def _content_column(line: str) -> int | None:
    """The column of an item's text, from its marker line (CommonMark's rule), or None if it has no marker."""
    match = _MARKER.match(line)
    if not match:
        return None
    marker_end = len(match.group(1)) + len(match.group(2))
    spaces = len(match.group(3))
    if spaces == 0 or spaces > 4 or match.end() == len(line):
        return marker_end + 1  # text indented 5 or more is code inside the item
    return marker_end + spaces


def _rewrite_quote(tokens: list[Token], lines: list[str], output: list[str | None], stash: Stash, alerts: bool) -> None:
    """Rewrite what a top-level quote holds like a note of its own; a GitHub alert becomes an admonition."""
    start, stop = tokens[0].map or (0, 0)
    inner = [_QUOTE_PREFIX.sub("", line, count=1) for line in lines[start:stop]]
    kind = _ALERT.match(inner[0].strip()) if alerts and inner else None
    if kind:
        admonition, title = ALERTS[kind.group(1).upper()]
        body = github_blocks("\n".join(inner[1:]), stash, alerts)
        rewritten = [
            f'!!! {admonition} "{title}"',
            *(f"    {line}" if line.strip() else "" for line in body.split("\n")),
        ]
    else:
        body = github_blocks("\n".join(inner), stash, alerts)
        rewritten = [f"> {line}" if line.strip() else ">" for line in body.split("\n")]
    output[start] = "\n".join(rewritten)
    for line in range(start + 1, stop):
        output[line] = None
