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
and GitHub alerts (``> [!NOTE]``) turned into admonitions; in notes written in Obsidian,
its callouts too (``> [!done]- Title``, folded where ``pymdownx.details`` is on), and
mermaid fences handed over as the diagrams Material draws (``<pre class="mermaid">``).
The text of the note is otherwise left as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING

from tilsite.notes.math import math_markdown
from tilsite.notes.parsing import parser

if TYPE_CHECKING:
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
CALLOUTS = frozenset(
    {
        *("note", "abstract", "summary", "tldr", "info", "todo", "tip", "hint", "important", "success", "check"),
        *("done", "question", "help", "faq", "warning", "caution", "attention", "failure", "fail", "missing"),
        *("danger", "error", "bug", "example", "quote", "cite"),
    }
)
"""Obsidian's callout types, which Material styles by the same names; another type shows as ``note``."""

_MARKER = re.compile(r"^( *)([*+-]|\d{1,9}[.)])( *)")
_CALLOUT = re.compile(r"^\[!([A-Za-z][\w-]*)\]([+-]?)(?:[ \t]+(.*?))?[ \t]*$")
_QUOTE_PREFIX = re.compile(r"^ {0,3}> ?")
_CONTINUED_MARKER = re.compile(r"^(?:(\d{1,9})[.)]|()[-+*])(?:[ \t]|$)")
"""A list marker (``-``, ``*``, ``+``, ``2.``, ``2)``) at the start of a line; group 1 is its number, if any."""
_FENCE = re.compile(r"^(?:`{3,}[^`]*|~{3,}.*)$")
"""A line that opens a code fence (CommonMark: after backticks, no backtick; ```` ```a``` b ```` is inline code)."""
_LEAF_BLOCKS = frozenset({"fence", "code_block", "html_block", "hr"})
_LISTS = frozenset({"bullet_list_open", "ordered_list_open"})
_CLOSING_FENCE = re.compile(r"^( *)(`{3,}|~{3,})[ \t]*$")
_LANGUAGE = re.compile(r"[\w#+.-]+")
_TOC_MARKER = re.compile(r"^\s*\[(?:TOC|toc|\[_TOC_\])\]\s*$")
INDENT = 4
"""Python-Markdown's ``tab_length``: the indentation of each list level."""


def github_blocks(
    text: str,
    stash: Stash,
    alerts: bool = True,
    details: bool = False,
    callouts: bool = False,
    math: list[str] | None = None,
    diagrams: list[str] | None = None,
) -> str:
    """``text`` rewritten so that Python-Markdown renders the blocks GitHub renders.

    ``stash`` takes each HTML block; ``alerts`` turns ``> [!NOTE]`` quotes into admonitions (needs the
    ``admonition`` extension), and Obsidian's ``callouts`` (``> [!done] Title``) too, which fold
    (``> [!tip]-``) with ``details`` (``pymdownx.details``). GitHub shows those as quotes. With ``math``,
    formulas (``$x$``, ``$$...$$``, ```` ```math ````, in HTML's text too; tilsite.notes.math) are handed to
    ``stash`` as MathML, and the TeX of any that cannot be read is added to ``math``. With ``diagrams``, a
    ```` ```mermaid ```` fence at the top of the note is handed to ``stash`` as ``<pre class="mermaid">`` (its
    text escaped), which Material draws as GitHub does once mermaid's script is on the page, and its text is
    added to ``diagrams``.
    """
    if math is not None:
        text = math_markdown(text, stash, math, obsidian=callouts)
    tokens = parser().parse(text)
    closed = _closed_fences(text, tokens)
    if closed != text:  # a closing fence added moves the lines after it: read them again
        tokens = parser().parse(closed)
    fixed = _escaped_paragraph_lines(closed, tokens)
    if fixed != text:
        text, tokens = fixed, parser().parse(fixed)
    lines = text.split("\n")
    output: list[str | None] = list(lines)
    """The new text of each line; None for lines merged into the one before."""
    blank_before: set[int] = set()
    previous_end = -1
    previous_type = ""
    previous_quote = False  # the last block was a quote that stays one
    position = 0
    while position < len(tokens):
        token = tokens[position]
        end = _block_end(tokens, position)
        if token.level == 0 and token.map:
            start, stop = token.map
            if start == previous_end and start > 0:
                blank_before.add(start)  # two blocks with no blank line between them
            quotes_apart = token.type == previous_type == "blockquote_open" and previous_quote
            previous_end, previous_type = stop, token.type
            if token.type == "html_block":
                output[start] = stash("\n".join(lines[start:stop]).lstrip(" "))  # indented by up to 3 spaces
                for line in range(start + 1, stop):
                    output[line] = None
            elif token.type == "heading_open" and token.markup in ("=", "-") and stop - start > 2:
                # A heading underlined on a text of several lines: Python-Markdown takes one line only.
                title = " ".join(line.strip() for line in lines[start : stop - 1])
                output[start] = f"{'#' * int(token.tag[1])} {title}"
                for line in range(start + 1, stop):
                    output[line] = None
            elif token.type == "heading_open" and token.markup.startswith("#") and lines[start].startswith(" "):
                output[start] = lines[start].lstrip(" ")  # indented by up to 3 spaces: Python-Markdown takes none
            elif token.type == "fence" and diagrams is not None and token.info.split()[:1] == ["mermaid"]:
                output[start] = stash(f'<pre class="mermaid"><code>{escape(token.content)}</code></pre>')
                for line in range(start + 1, stop):
                    output[line] = None
                diagrams.append(token.content)
            elif token.type == "paragraph_open" and _TOC_MARKER.match(tokens[position + 1].content):
                output[start] = ""  # Typora's contents marker: the theme shows the contents beside the page
            elif token.type in ("bullet_list_open", "ordered_list_open"):
                _reindent_list(tokens[position:end], lines, output, blank_before, stash)
            elif token.type == "blockquote_open":
                _rewrite_quote(tokens[position:end], lines, output, stash, (alerts, details, callouts))
                quoted = (output[start] or "").lstrip(" ").startswith(">")  # not made an admonition
                if quotes_apart and quoted:
                    output[start] = _kept_apart(output[start] or "", stash)
                previous_quote = quoted
        position = end
    result: list[str] = []
    for number, rewritten in enumerate(output):
        if number in blank_before and result and result[-1].strip():
            result.append("")
        if rewritten is not None:
            result.append(rewritten)
    return "\n".join(result)


def _escaped_paragraph_lines(text: str, tokens: list[Token]) -> str:
    """``text`` with the lines that GitHub reads as text of a paragraph, but Python-Markdown as a block, escaped:
    ``#Title`` (a heading without the space) and, on a paragraph's later lines, what looks like a list item
    (``2. next`` cannot start a list there; in a list item Python-Markdown would nest it)."""
    lines = text.split("\n")
    changed = False
    for token in tokens:
        if token.type != "paragraph_open" or not token.map:
            continue
        for number in range(*token.map):
            line = lines[number]
            stripped = line.lstrip(" ")
            while stripped.startswith(">"):  # a paragraph in a quote (in a list item, say)
                stripped = stripped[1:].removeprefix(" ").lstrip(" ")
            if number == token.map[0]:  # the paragraph may start after list markers: `- #tag`
                while (marker := _MARKER.match(stripped)) and marker.end() < len(stripped):
                    stripped = stripped[marker.end() :]
            indent = line[: len(line) - len(stripped)]
            if stripped.startswith("#"):
                lines[number], changed = f"{indent}\\{stripped}", True
            elif number > token.map[0] and (marker := _CONTINUED_MARKER.match(stripped)):
                at = marker.end(1) if marker.group(1) is not None else 0
                lines[number], changed = f"{indent}{stripped[:at]}\\{stripped[at:]}", True
    return "\n".join(lines) if changed else text


def _closed_fences(text: str, tokens: list[Token]) -> str:
    """``text`` with each code fence written as Python-Markdown reads one: its language a single word (GitHub
    takes any text after the backticks, ```` ```/** ```` too), closed by the same run of backticks at the same
    indentation (GitHub also takes a longer or shifted one), and closed at all (GitHub runs an unclosed fence
    to the end of the note)."""
    lines = text.split("\n")
    replaced: dict[int, str] = {}
    after: dict[int, str] = {}
    for token in tokens:
        if token.type != "fence" or not token.map or not token.markup:
            continue
        opener = lines[token.map[0]]
        if opener.lstrip(" ").startswith(">") or token.markup not in opener:
            continue  # inside a quote
        column = opener.index(token.markup)  # after a list marker when the fence starts an item
        if token.level == 0 and column and not opener[:column].strip():
            # Indented by 1 to 3 spaces at the top (Python-Markdown takes none): the fence and what it holds move
            # left, as GitHub takes them.
            for number in range(token.map[0] + 1, token.map[1]):
                line = lines[number]
                replaced[number] = line[min(column, len(line) - len(line.lstrip(" "))) :]
            opener, column = opener[column:], 0
        indent = " " * column
        words = token.info.split()
        language = words[0] if words and _LANGUAGE.fullmatch(words[0]) else ""
        wanted = f"{opener[:column]}{token.markup}{language}"
        if lines[token.map[0]].rstrip() != wanted:
            replaced[token.map[0]] = wanted
        last = token.map[1] - 1
        match = _CLOSING_FENCE.match(lines[last]) if last > token.map[0] else None
        if match and match.group(2)[0] == token.markup[0] and len(match.group(2)) >= len(token.markup):
            replaced.pop(last, None)
            if match.group(0).rstrip() != indent + token.markup:
                replaced[last] = indent + token.markup
        else:
            while last > token.map[0] and not lines[last].strip():
                last -= 1  # GitHub keeps the blank lines at the end of the note in the code; they show as nothing
            after[last] = indent + token.markup
    if not replaced and not after:
        return text
    fixed: list[str] = []
    for number, line in enumerate(lines):
        fixed.append(replaced.get(number, line))
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
    marker: str = "-"
    """Its marker, ``-`` or ``1.`` (``1)`` is written ``1.``, which Python-Markdown reads)."""


def _reindent_list(
    tokens: list[Token], lines: list[str], output: list[str | None], blank_before: set[int], stash: Stash
) -> None:
    """Indent every line of a top-level list by 4 spaces per level, as Python-Markdown nests lists; two lists
    one right after the other in an item (``1. a`` then ``- b``) get a blank line between them, without which
    Python-Markdown would read them as one, and two quotes a blank line apart a comment between them."""
    lists_ending: dict[int, int] = {}
    """The line after the last list at each level of the current item."""
    starting: dict[int, list[int]] = {}
    """The depths of the items whose marker is on each line: ``- 9. text`` starts two (a list in an item)."""
    spans: list[tuple[int, int, int]] = []
    underlined: dict[int, tuple[int, int]] = {}
    """Headings underlined with ``-`` or ``=`` in an item, by first line: (level, line after the underline)."""
    fences: dict[int, tuple[int, int]] = {}
    """The first and last line of the code fence (in an item) that each of its lines belongs to."""
    headings: set[int] = set()
    """Lines of ``#`` headings in an item: Python-Markdown takes them only at the item's indentation."""
    quotes_apart: set[int] = set()
    """First lines of quotes in an item that follow another quote after a blank line (two on GitHub, one for
    Python-Markdown unless something stands between them)."""
    depth = 0
    quoted = 0  # items inside a quote within the list keep their lines (their markers follow a `>`)
    last_block: dict[int, tuple[str, int, int]] = {}
    """The kind of the last block at each level of the current item, the line after it and its first line."""
    in_table = 0  # a table's rows are lines of one block, not blocks one after the other
    for token in tokens:
        in_table += token.type == "table_open"
        if in_table:
            in_table -= token.type == "table_close"
            if token.type != "table_open":
                continue
        if token.type == "list_item_open":
            if token.map and any(
                level > token.level and end == token.map[0] and kind in _LEAF_BLOCKS
                for level, (kind, end, _) in last_block.items()
            ):
                blank_before.add(token.map[0])  # the next item right after a fence that ends the last one
            last_block = {level: block for level, block in last_block.items() if level <= token.level}
        elif token.map and token.level > 0 and not quoted and (token.nesting == 1 or token.type in _LEAF_BLOCKS):
            previous = last_block.get(token.level)
            # The item's first text (on its marker's line): a list may follow it directly.
            opening_text = previous is not None and previous[0] == "paragraph_open" and previous[2] in starting
            if previous and previous[1] == token.map[0] and not (opening_text and token.type in _LISTS):
                # Blocks one right after the other in an item: without a blank line between them, Python-Markdown
                # takes the second into the first (into a paragraph or the list's last item); only a list may
                # follow the item's first line of text directly.
                blank_before.add(token.map[0])
            if previous and previous[0] == token.type == "blockquote_open" and previous[1] < token.map[0]:
                quotes_apart.add(token.map[0])
            last_block[token.level] = (token.type, token.map[1], token.map[0])
        if token.type == "fence" and token.map and not quoted:
            fences.update(dict.fromkeys(range(*token.map), (token.map[0], token.map[1] - 1)))
        if token.type == "heading_open" and token.markup.startswith("#") and token.map and not quoted:
            headings.add(token.map[0])
        if token.type == "heading_open" and token.markup in ("-", "=") and token.map and not quoted:
            underlined[token.map[0]] = (int(token.tag[1]), token.map[1])
        elif token.type == "blockquote_open":
            quoted += 1
        elif token.type == "blockquote_close":
            quoted -= 1
        elif token.type == "list_item_open":
            depth += 1
            lists_ending = {level: end for level, end in lists_ending.items() if level <= token.level}
            if not quoted and token.map:
                starting.setdefault(token.map[0], []).append(depth)
                spans.append((token.map[0], token.map[1], depth))
        elif token.type in ("bullet_list_open", "ordered_list_open") and token.map and not quoted:
            if lists_ending.get(token.level) == token.map[0]:
                # ... and after it, or Python-Markdown takes the next item of the outer list into it.
                blank_before.update((token.map[0], token.map[1]))
            lists_ending[token.level] = token.map[1]
        elif token.type == "list_item_close":
            depth -= 1
    items: dict[tuple[int, int], _Item] = {}
    for first, depths in starting.items():
        for item in _markers(lines[first], first, depths):
            items[(first, item.depth)] = item
    owner: dict[int, _Item] = {}
    for first, stop, item_depth in spans:  # outer items come first, so inner ones take their lines over
        spanning = items.get((first, item_depth))
        if spanning is not None:
            for line in range(first, stop):
                owner[line] = spanning
    for line, item in owner.items():
        text = lines[line]
        if any(start < line < stop for start, (_, stop) in underlined.items()):
            output[line] = None  # merged into the heading's first line
            continue
        if line in underlined:
            text = _as_hash_heading(lines, line, *underlined[line], items, starting)
        stripped = text.lstrip(" ")
        if line in starting:
            chain = [items[(line, item_depth)] for item_depth in starting[line] if (line, item_depth) in items]
            if chain and chain[-1] is item:
                rewritten = _marker_lines(chain, text)
                output[line] = rewritten
                if "\n" in rewritten or not rewritten.strip(" -*+.0123456789"):
                    # A marker alone on its line right under text would read as a heading's underline (`-`).
                    blank_before.add(line)
        elif stripped:
            extra = 0 if line in headings else max(0, len(text) - len(stripped) - item.content_column)
            if line in fences:
                # A fence indented past the item's text by 1-3 spaces: GitHub takes as much indentation off each
                # of its lines (CommonMark); Python-Markdown wants them no less indented than the fence.
                first, last = fences[line]
                opener = lines[first]
                shift = max(0, len(opener) - len(opener.lstrip(" ")) - item.content_column)
                closing = line == last != first and _CLOSING_FENCE.match(text)  # not a line of the code like one
                extra = 0 if closing else max(0, extra - shift)
            output[line] = " " * (INDENT * item.depth + extra) + stripped
    for line in quotes_apart:
        quote = output[line]
        if quote is not None and line in owner:
            output[line] = _kept_apart(quote, stash)
    previous_sibling: dict[int, int] = {}
    for first, _, item_depth in spans:
        # After an item (or a nested list) with blank lines in it, Python-Markdown takes the next item into its
        # last paragraph or list unless a blank line comes first.
        earlier = previous_sibling.get(item_depth)
        above = owner.get(first - 1)
        if (
            earlier is not None
            and above is not None
            and above.depth >= item_depth
            and lines[first - 1].strip()
            and any(not lines[number].strip() or number in blank_before for number in range(earlier + 1, first))
        ):
            blank_before.add(first)
        previous_sibling = {depth: line for depth, line in previous_sibling.items() if depth < item_depth}
        previous_sibling[item_depth] = first


def _kept_apart(quote: str, stash: Stash) -> str:
    """The first line of a quote that follows another after a blank line, with a comment (which shows nothing) on
    a line before it at its indentation: two quotes on GitHub, which Python-Markdown would otherwise make one."""
    indent = " " * (len(quote) - len(quote.lstrip(" ")))
    return f"{indent}{stash('<!-- -->')}\n\n{quote}"


def _as_hash_heading(
    lines: list[str],
    start: int,
    level: int,
    stop: int,
    items: dict[tuple[int, int], _Item],
    starting: dict[int, list[int]],
) -> str:
    """The first line of a heading underlined in a list item, written as ``## text`` (Python-Markdown does not take
    underlined headings inside list items): what precedes its text (indentation, markers) stays."""
    first = lines[start]
    chain = [items[(start, depth)] for depth in starting.get(start, []) if (start, depth) in items]
    at = chain[-1].content_column if chain else len(first) - len(first.lstrip(" "))
    words = " ".join([first[at:].strip(), *(line.strip() for line in lines[start + 1 : stop - 1])])
    return f"{first[:at]}{'#' * level} {words}"


def _markers(line: str, first: int, depths: list[int]) -> list[_Item]:
    """The items whose markers start ``line``, outermost first, with the column where each one's text starts."""
    found: list[_Item] = []
    offset = 0
    for depth in depths:
        match = _MARKER.match(line[offset:])
        if match is None:
            break
        column = _content_column(line[offset:])
        if column is None:
            break
        found.append(_Item(first, 0, depth, offset + column, match.group(2).replace(")", ".")))
        offset += match.end()
    return found


def _marker_lines(chain: list[_Item], text: str) -> str:
    """The marker line of ``chain`` (items starting on one line) as Python-Markdown reads it: each marker but
    the innermost alone on its line, and a fence after the innermost on a line of its own too."""
    content = text[chain[-1].content_column :] if len(text) > chain[-1].content_column else ""
    rewritten = [" " * (INDENT * (item.depth - 1)) + item.marker + " " for item in chain[:-1]]
    last = chain[-1]
    prefix = " " * (INDENT * (last.depth - 1)) + last.marker
    if _FENCE.match(content):
        # With a blank line between them: Python-Markdown reads a fence right under the marker as indented code.
        rewritten += [f"{prefix} ", "", " " * (INDENT * last.depth) + content]
    else:
        rewritten.append(f"{prefix} {content}" if content else f"{prefix} ")
    return "\n".join(rewritten)


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


def _rewrite_quote(
    tokens: list[Token], lines: list[str], output: list[str | None], stash: Stash, kinds: tuple[bool, bool, bool]
) -> None:
    """Rewrite what a top-level quote holds like a note of its own; an alert or callout becomes an admonition.
    ``kinds``: (alerts, details, callouts) as ``github_blocks`` takes them."""
    alerts, details, callouts = kinds
    start, stop = tokens[0].map or (0, 0)
    inner = [_QUOTE_PREFIX.sub("", line, count=1) for line in lines[start:stop]]
    callout = _CALLOUT.match(inner[0].strip()) if alerts and inner else None
    if callout and not callouts and (callout.group(1).upper() not in ALERTS or callout.group(2) or callout.group(3)):
        callout = None  # on GitHub, an alert is one of its kinds alone on its line; the rest is a quote
    if callout:
        body = github_blocks("\n".join(inner[1:]), stash, *kinds)
        rewritten = [
            _admonition_line(callout.group(1), callout.group(2), callout.group(3), details),
            *(f"    {line}" if line.strip() else "" for line in body.split("\n")),
        ]
    else:
        body = github_blocks("\n".join(inner), stash, *kinds)
        rewritten = [f"> {line}" if line.strip() else ">" for line in body.split("\n")]
    output[start] = "\n".join(rewritten)
    for line in range(start + 1, stop):
        output[line] = None


def _admonition_line(kind: str, fold: str, title: str | None, details: bool) -> str:
    """The first line of the admonition for ``> [!kind]fold title``: GitHub's alerts with their titles,
    Obsidian's callouts with the title written or their type's name."""
    if kind.upper() in ALERTS:
        admonition, default = ALERTS[kind.upper()]
    else:
        admonition = kind.lower() if kind.lower() in CALLOUTS else "note"
        default = kind[:1].upper() + kind[1:].lower().replace("-", " ")
    marker = {"-": "???", "+": "???+"}.get(fold, "!!!") if details else "!!!"
    return f'{marker} {admonition} "{title or default}"'
