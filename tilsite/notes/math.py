"""Math as GitHub and Obsidian show it: TeX between dollar signs, written into the page as MathML.

GitHub and Obsidian render ``$x^2$`` (inline), ``$$ ... $$`` (display, on lines of its own or within a
paragraph) and ```` ```math ```` fences as math. Python-Markdown shows them as text, and reads the ``_`` and
``*`` in them as emphasis. ``math_markdown`` finds them where GitHub does (pandoc's rules: no space just inside
a single ``$``, no digit right after the closing one, ``\\$`` a dollar sign; not in code, HTML tags, link
addresses or across a table cell's ``|``) and hands each one over as MathML, which browsers show without a
script (Chromium since 109, Firefox, Safari): nothing to download, nothing from another origin.

Notes copied from online judges by BaekjoonHub hold HTML that MathJax had already rendered (``mjx-container``
elements, which show as the formula twice without MathJax's stylesheet) and TeX left in the HTML's text
(``$K$개``), which the judge's page renders: each container shows as the MathML it holds, and TeX in HTML's text
(outside tags, ``pre``, ``code`` and scripts) as any other formula.
"""

from __future__ import annotations

import html
import re
from array import array
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING

from tilsite.notes.parsing import block_parser, code_spans, rebuilt_html

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

Stash = Callable[[str], str]
"""Takes a piece of raw HTML and returns the placeholder that stands for it in the Markdown."""

_CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)[^\n]+?(?<!`)\1(?!`)")
_INLINE_TAG = re.compile(r"<!--.*?(?:-->|$)|</?[A-Za-z][\w-]*(?:\s(?:\"[^\"\n]*\"|'[^'\n]*'|[^<>\"'])*)?/?>", re.DOTALL)
"""An HTML tag or comment (a quoted attribute may hold ``>``)."""
_ADDRESS = re.compile(
    r"\]\([^\s)]*(?:\s+(?:\"[^\"\n]*\"|'[^'\n]*'))?"  # a link's address and title
    r"|\b(?:https?://|www\.)[^\s<>]*"  # a bare URL
    r"|!\[(?:[^\]\\\n]|\\.)*\]"  # an image's text, which becomes its alt attribute
    r"|(?m:^[ ]{0,3}\[[^\]\n]+\]:.*$)"  # a link reference definition
)
"""Where a ``$`` is part of an attribute, not text: a link's address or title, a bare URL (``?path=$.a&x=$.b``),
an image's alt text, a link reference definition."""
_BLANK_LINE = re.compile(r"\n[ \t]*(?:>[ \t]*)*\n")
_QUOTE_CONTINUATION = re.compile(r"(?m)^[ \t]*(?:>[ \t]?)+")
_CHARACTER_REFERENCE = re.compile(r"&#x([0-9A-Fa-f]+);|&#([0-9]+);")
_MATH_FENCE = re.compile(r"(?:`{3,}|~{3,})[ \t]*math\b")
_MATHJAX_CONTAINER = re.compile(r"<mjx-container\b[^>]*>(.*?)</mjx-container>", re.DOTALL)
_MATHML = re.compile(r"<math\b.*?</math>", re.DOTALL)
_MATHJAX_COPY = re.compile(r"<span\b[^>]*\bmjx-copytext\b[^>]*>(.*?)</span>", re.DOTALL)
_SKIPPED_IN_HTML = re.compile(r"<(pre|code|script|style|textarea|math)\b.*?</\1\s*>", re.DOTALL | re.IGNORECASE)
_HTML_TAG = re.compile(r"<!--.*?-->|<[^<>]*>", re.DOTALL)
_NOT_LINE_BREAK = re.compile(r"[^\n]")


@dataclass(frozen=True, slots=True)
class Math:
    """One formula found in Markdown."""

    start: int
    """Offset of its first character (the opening ``$`` or the fence's first line) in the text."""
    end: int
    """Offset just past it."""
    tex: str
    """The TeX between the delimiters."""
    display: bool
    """Shown as a block of its own (``$$``, a fence) rather than within the line."""


def math_markdown(text: str, stash: Stash, failed: list[str] | None = None, obsidian: bool = False) -> str:
    """``text`` with each formula GitHub would render handed to ``stash`` as MathML (or, when the TeX cannot be
    read, as its source in ``<code>``, and added to ``failed``). In notes written in ``obsidian``, a ``$$``
    block may hold blank lines, as Obsidian shows it."""
    if "<mjx-container" in text:
        text = _mathjax_rendered(text, stash)
    if "$" not in text and not _MATH_FENCE.search(text):
        return text
    found = find_math(text, obsidian)
    if not found:
        return text
    parts: list[str] = []
    position = 0
    for formula in found:
        parts.append(text[position : formula.start])
        rendered = mathml(formula.tex, formula.display)
        if rendered is None:
            if failed is not None:
                failed.append(formula.tex.strip())
            rendered = f"<code>{html.escape(text[formula.start : formula.end].strip())}</code>"
        placeholder = stash(rendered)
        if formula.display and text[formula.start : formula.start + 1] in ("`", "~"):
            # A fence: the placeholder takes its lines, after whatever starts the first one (a list marker, `>`).
            parts.append(_fence_prefix(text, formula.start) + placeholder)
        else:
            parts.append(placeholder)
        position = formula.end
    parts.append(text[position:])
    return "".join(parts)


def _mathjax_rendered(text: str, stash: Stash) -> str:
    """``text`` with each of MathJax's rendered containers outside code handed to ``stash`` as the MathML it holds
    for screen readers (its copy of the TeX, which shows without MathJax's stylesheet, left out)."""
    code = [*code_spans(text), *(span.span() for span in _CODE_SPAN.finditer(text))]
    code += [element.span() for element in _SKIPPED_IN_HTML.finditer(text)]

    def contained(match: re.Match[str]) -> str:
        inner = _MATHML.search(match.group(1))
        if inner is None or any(first <= match.start() < end for first, end in code):
            return match.group(0)
        cleaned = clean_mathml(inner.group(0))
        return match.group(0) if cleaned is None else stash(cleaned)

    return _MATHJAX_CONTAINER.sub(contained, text)


def mathjax_as_tex(text: str) -> str:
    """``text`` with each of MathJax's rendered containers as the TeX it was drawn from (its copy for copying,
    ``$N$``; else its MathML's text): a few characters where the markup takes hundreds."""
    if "<mjx-container" not in text:
        return text

    def tex(match: re.Match[str]) -> str:
        copy = _MATHJAX_COPY.search(match.group(1))
        if copy is not None:
            return copy.group(1)
        return html.escape(html.unescape(_HTML_TAG.sub("", "".join(_MATHML.findall(match.group(1))))), quote=False)

    # A container over several lines keeps them, so that the note's line numbers stay.
    return _MATHJAX_CONTAINER.sub(lambda match: tex(match) + "\n" * match.group(0).count("\n"), text)


def find_math(text: str, obsidian: bool = False) -> list[Math]:
    """The formulas of Markdown ``text`` as GitHub reads them (or Obsidian: ``$$`` blocks over blank lines), in
    order."""
    starts = [0]
    for line in text.split("\n"):
        starts.append(starts[-1] + len(line) + 1)

    def offset(line: int) -> int:
        return min(starts[min(line, len(starts) - 1)], len(text))

    blocked = bytearray(len(text))
    """1 where no formula may start or run: code, HTML tags, fences."""
    in_table = bytearray(len(text))
    in_html = bytearray(len(text))
    leaf = array("i", bytes(4 * len(text)))
    """Which paragraph, heading, table row or HTML block a character is in (0: none): a ``$$`` block ends in its
    own."""
    code: list[tuple[int, int]] = []
    fences: list[Math] = []
    for number, token in enumerate(block_parser().parse(text), start=1):
        if not token.map:
            continue
        first, end = offset(token.map[0]), offset(token.map[1])
        if token.type in ("inline", "html_block"):
            leaf[first:end] = array("i", [number]) * (end - first)
        if token.type == "fence" and token.info.split()[:1] == ["math"]:
            last = end - 1 if text[end - 1 : end] == "\n" else end  # the line break after it stays
            fences.append(Math(first + _fence_column(text, first, token.markup), last, token.content, True))
            code.append((first, end))
        elif token.type in ("fence", "code_block"):
            code.append((first, end))
        elif token.type == "html_block":  # its tags are blocked below; what is code or script in it, here
            in_html[first:end] = b"\1" * (end - first)
            code.extend(element.span() for element in _SKIPPED_IN_HTML.finditer(text, first, end))
        elif token.type == "table_open":
            in_table[first:end] = b"\1" * (end - first)
    # The text with its code blanked out (line breaks kept), where code spans, tags and addresses are looked for.
    pieces: list[str] = []
    position = 0
    for first, end in sorted(code):
        first = max(first, position)
        blocked[first:end] = b"\1" * max(end - first, 0)
        pieces += [text[position:first], _NOT_LINE_BREAK.sub(" ", text[first:end])]
        position = max(position, end)
    prose = "".join(pieces) + text[position:]
    inline_code: dict[int, int] = {}
    for match in _CODE_SPAN.finditer(prose):
        start, end = match.span()
        blocked[start:end] = b"\1" * (end - start)
        inline_code[start] = end
    # Code spans blanked too, so that a `<code>` written in one does not start an HTML element.
    prose = _CODE_SPAN.sub(lambda match: " " * len(match.group(0)), prose)  # code spans hold no line break
    for pattern in (_SKIPPED_IN_HTML, _INLINE_TAG, _ADDRESS):
        for match in pattern.finditer(prose):
            start, end = match.span()
            blocked[start:end] = b"\1" * (end - start)
    found = list(fences)
    position = text.find("$")
    while position != -1:
        formula = None
        if not blocked[position] and not _escaped(text, position):
            if text.startswith("$$", position):
                formula = _display(text, position, blocked, in_table, None if obsidian else leaf)
            elif position + 1 in inline_code:
                end = inline_code[position + 1]
                if text[end : end + 1] == "$":  # $`x`$: GitHub's other way of writing inline math
                    fence = len(text[position + 1 :]) - len(text[position + 1 :].lstrip("`"))
                    formula = Math(position, end + 1, text[position + 1 + fence : end - fence].strip(), False)
            else:
                formula = _inline(text, position, blocked, in_table)
        if formula is not None:
            found.append(formula)
            position = text.find("$", formula.end)
        else:
            position = text.find("$", position + (2 if text.startswith("$$", position) else 1))
    # In HTML, `&lt;` is `<`: the TeX is what the text says. In a table, `\|` is how a cell holds a `|`.
    found = [
        replace(formula, tex=html.unescape(formula.tex))
        if in_html[formula.start]
        else replace(formula, tex=formula.tex.replace("\\|", "|"))
        if in_table[formula.start]
        else formula
        for formula in found
    ]
    return sorted(found, key=lambda formula: formula.start)


def _escaped(text: str, position: int) -> bool:
    backslashes = 0
    while position - backslashes > 0 and text[position - backslashes - 1] == "\\":
        backslashes += 1
    return backslashes % 2 == 1


def _inline(text: str, start: int, blocked: bytearray, in_table: bytearray) -> Math | None:
    """``$tex$`` from ``start``: a non-space after the opening ``$``, one before the closing one, which no digit
    follows; on one line, with no code or HTML inside (nor a ``|`` in a table, where it ends the cell)."""
    if start + 1 >= len(text) or text[start + 1].isspace():
        return None
    position = start + 1
    while position < len(text):
        character = text[position]
        if character == "\n" or blocked[position] or (character == "|" and in_table[position]):
            return None
        if character == "\\":
            position += 2
            continue
        if character == "$":
            if not text[position - 1].isspace() and not text[position + 1 : position + 2].isdigit():
                return Math(start, position + 1, text[start + 1 : position], False)
            if text[position - 1].isspace():
                return None  # `$5 and $10`: this `$` opens the next one, if anything
        position += 1
    return None


def _display(
    text: str, start: int, blocked: bytearray, in_table: bytearray, leaf: array[int] | None = None
) -> Math | None:
    """``$$tex$$`` from ``start``, over lines if need be but not past code, HTML, a table cell's ``|`` or the end of
    its paragraph (``leaf``: none in Obsidian, where a ``$$`` block may hold blank lines)."""
    position = start + 2
    while True:
        close = text.find("$$", position)
        if close == -1:
            return None
        if _escaped(text, close):
            position = close + 1
            continue
        break
    inside = text[start + 2 : close]
    if not inside.strip() or any(blocked[start:close]):
        return None
    if leaf is not None and (_BLANK_LINE.search(inside) or leaf[start] != leaf[close]):
        return None
    if in_table[start] and "|" in inside.replace("\\|", ""):
        return None
    if "\n" in inside and text[text.rfind("\n", 0, start) + 1 : start].lstrip(" \t").startswith(">"):
        inside = _QUOTE_CONTINUATION.sub("", inside)  # in a quote, each line starts with `>`
    return Math(start, close + 2, inside, True)


def _fence_column(text: str, line_start: int, markup: str) -> int:
    line_end = text.find("\n", line_start)
    line = text[line_start : line_end if line_end != -1 else len(text)]
    return max(line.find(markup), 0)


def _fence_prefix(text: str, start: int) -> str:
    """What precedes a fence on its first line (list marker, quote, indentation)."""
    return text[text.rfind("\n", 0, start) + 1 : start]


def mathml(tex: str, display: bool = False) -> str | None:
    """``tex`` as a MathML ``<math>`` element; None when it cannot be read (an unclosed brace, say)."""
    return _mathml(tex.strip(), display)


MAX_NESTING = 64
"""Braces deeper than this are not read as TeX (latex2mathml, and the MathML written, recurse once a level)."""


def _nesting(tex: str) -> int:
    depth = deepest = 0
    escaped = False
    for character in tex:
        if escaped:
            escaped = False
        elif character == "\\":
            escaped = True
        elif character == "{":
            depth += 1
            deepest = max(deepest, depth)
        elif character == "}":
            depth -= 1
    return deepest


@lru_cache(maxsize=4096)
def _mathml(tex: str, display: bool) -> str | None:
    from latex2mathml.converter import convert_to_element

    if "{" in tex and _nesting(tex) > MAX_NESTING:
        return None
    try:
        element = convert_to_element(tex, display="block" if display else "inline")
        return _serialised(element)
    except Exception:  # latex2mathml's own errors, others on input it does not expect, braces nested too deep
        return None


def math_text(tex: str) -> str:
    """The text of ``tex``'s MathML, as a heading's id is made from it (``O(N^2)`` → ``O(N2)``)."""
    rendered = mathml(tex)
    return html.unescape(_HTML_TAG.sub("", rendered)) if rendered is not None else tex


def _serialised(element: Element) -> str:
    """MathML with every text and attribute escaped, and only MathML's own elements and presentation attributes
    (``\\href``, ``\\style`` and ``\\class`` would give a formula a link, styles or classes). latex2mathml writes
    symbols as character references in its elements' text and unescapes the whole document at the end, which
    lets ``\\text{<b>}`` through as a tag; here the references become characters and everything is escaped once."""
    tag = _element(element.tag)
    attributes = "".join(_attribute(name, _characters(value)) for name, value in element.attrib.items())
    inner = html.escape(_characters(element.text or ""), quote=False)
    inner += "".join(_serialised(child) + html.escape(_characters(child.tail or ""), quote=False) for child in element)
    return f"<{tag}{attributes}>{inner}</{tag}>"


MATHML_ELEMENTS = frozenset(
    (  # noqa: SIM905 (a list of names reads as one)
        "math mi mn mo ms mtext mspace mrow mfrac msqrt mroot mstyle merror mpadded mphantom mfenced menclose"
        " msub msup msubsup munder mover munderover mmultiscripts mprescripts none mtable mtr mtd mlabeledtr"
        " semantics annotation"
    ).split()
)
"""MathML's presentation elements; any other tag in a formula is written as ``mrow`` (its content kept)."""
MATHML_ATTRIBUTES = frozenset(
    (  # noqa: SIM905 (a list of names reads as one)
        "accent accentunder align close columnalign columnlines columnspacing depth display displaystyle"
        " equalcolumns equalrows fence form frame framespacing height largeop linebreak linethickness lspace"
        " mathbackground mathcolor mathsize mathvariant maxsize minsize movablelimits notation open rowalign"
        " rowlines rowspacing rspace encoding scriptlevel separator separators stretchy symmetric voffset"
        " width xmlns"
    ).split()
)
"""Presentation attributes kept on MathML elements; others (``href``, ``style``, ``class``, ``id``, handlers) are
dropped."""


def _element(tag: str) -> str:
    tag = tag.lower()
    return tag if tag in MATHML_ELEMENTS else "mrow"


def _attribute(name: str, value: str) -> str:
    name = name.lower()
    return f' {name}="{html.escape(value, quote=True)}"' if name in MATHML_ATTRIBUTES else ""


_HIDDEN = frozenset({"script", "style", "annotation-xml", "template"})
"""Elements whose content a browser never shows as text; left out with it."""


def clean_mathml(markup: str) -> str | None:
    """``markup`` (one ``<math>`` element from HTML) with only MathML's elements, presentation attributes and
    escaped text; None when it cannot be read."""
    return rebuilt_html(markup, MATHML_ELEMENTS, _attribute, lambda text: html.escape(text, quote=False), _HIDDEN)


def _characters(text: str) -> str:
    def character(match: re.Match[str]) -> str:
        code = int(match.group(1), 16) if match.group(1) else int(match.group(2))
        return chr(code) if 0 < code < 0x110000 else ""

    return _CHARACTER_REFERENCE.sub(character, text)
