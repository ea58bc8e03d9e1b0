"""Split a note into sections at its headings, with the anchor MkDocs renders for each."""

from __future__ import annotations

import hashlib
import posixpath
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, NamedTuple

from tilsite.notes.math import find_math, math_text, mathjax_as_tex
from tilsite.notes.parsing import parser
from tilsite.notes.slugs import SlugSettings, github_emoji, github_ids, unique_id

if TYPE_CHECKING:
    from markdown_it.token import Token

    from tilsite.notes.reading import Note

# Python-Markdown (and so MkDocs) reads `#Title` without a space as a heading;
# CommonMark does not. Such lines are given the space before parsing.
_TIGHT_HASH_HEADING = re.compile(r"^(#{1,6})(?=[^#\s])")
_ATTR_LIST = re.compile(r"\s*\{:?\s*([^}]*)\}\s*$")
_ATTR_ID = re.compile(r"(?:^|\s)#([^\s}]+)")
_WHITESPACE = re.compile(r"\s+")
_FOOTNOTE_DEFINITION = re.compile(r"^ {0,3}\[\^([^\]\s]+)\]:", re.MULTILINE)
SNIPPET_CHARS = 160
_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)
_HTML_HIDDEN = re.compile(_HTML_COMMENT.pattern + r"|<(script|style)\b.*?(?:</\1\s*>|$)", re.DOTALL | re.IGNORECASE)
_HTML_TAG = re.compile(r"</?[A-Za-z][^>]*>?")
_IMAGE_TARGET = re.compile(r"(!\[[^\]\n]*\])\([^)\n]*\)")
_DATA_URL = re.compile(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=]+")
_BLANK_LINES = re.compile(r"\n\s*\n(?:\s*\n)+")
_INDEX_PAGES = ("README.md", "index.md")
"""The files MkDocs makes a folder's index page of."""
_FORMULA = 0xE000
"""First of the private-use characters that stand for a heading's formulas while it is parsed."""
_ALERT_MARK = re.compile(r"^\[![A-Za-z][\w-]*\][+-]?[ \t]*")
"""``[!NOTE]`` or ``[!tip]-`` starting a quote: shown as an admonition's colour and icon, not as text."""


@dataclass(slots=True, frozen=True)
class Section:
    """A heading of a note and the content up to the next heading."""

    path: str
    """Path of the note relative to the docs folder."""
    note_title: str
    """Title of the note the section belongs to."""
    heading: str
    """Plain text of the heading (the note title for text before the first heading)."""
    heading_path: tuple[str, ...]
    """Headings from the outermost ancestor down to this one."""
    anchor: str
    """The id MkDocs gives the heading; empty for text before the first heading."""
    level: int
    """Heading level 1-6; 0 for text before the first heading."""
    text: str
    """Plain text of the section body (markup removed, code kept)."""
    line: int
    """0-based line of the heading in the note file."""
    source: str = ""
    """The section's Markdown as written (below its heading), cleaned for embedding (``embedded_markdown``)."""

    @property
    def header(self) -> str:
        """``note title > heading path``, which starts every embedded text of the section."""
        trail = [self.note_title, *(h for h in self.heading_path if h and h != self.note_title)]
        return " > ".join(trail)

    @property
    def embedding_text(self) -> str:
        """What gets embedded: ``note title > heading path`` and the section's Markdown.

        The Markdown as written, not the plain text: code fences say their language, links their
        address, inline code its backticks. Measured on public repositories (bench/quality.md), that
        embedded this way found related notes and answers better than the plain text did.
        """
        return f"{self.header}\n{self.source}" if self.source else self.header

    @property
    def content_hash(self) -> str:
        """SHA-256 of the exact text embedded, the embedding cache key."""
        return hashlib.sha256(self.embedding_text.encode("utf-8")).hexdigest()

    @property
    def snippet(self) -> str:
        """The first words of the body, for result lists."""
        flat = _WHITESPACE.sub(" ", self.text).strip()
        return flat if len(flat) <= SNIPPET_CHARS else flat[: SNIPPET_CHARS - 1].rstrip() + "…"


def _inline_text(token: Token) -> str:
    """Rendered text of an inline token, the way Python-Markdown's toc sees a heading."""
    parts: list[str] = []
    for child in token.children or []:
        if child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type in ("text", "code_inline", "text_special"):
            parts.append(child.content)
    return " ".join("".join(parts).split())


def _without_mathjax_markup(note: Note) -> Note:
    """``note`` with each formula MathJax had drawn (notes copied from online judges) as its TeX: its markup takes
    hundreds of tokens of the model's window, and its text shows the formula twice."""
    if "<mjx-container" not in note.text:
        return note
    return replace(note, text=mathjax_as_tex(note.text))


def _text_with_math(token: Token) -> str:
    """``_inline_text`` of a heading whose formulas the site shows as MathML: each formula reads as its
    MathML's text, from which MkDocs makes the heading's id (``$O(N^2)$`` → ``O(N2)``)."""
    source = token.content
    found = find_math(source)
    if not found:
        return _inline_text(token)
    pieces: list[str] = []
    texts: list[str] = []
    position = 0
    for formula in found:
        # A private-use character stands for the formula, which markdown-it then reads as text.
        pieces += [source[position : formula.start], chr(_FORMULA + len(texts))]
        texts.append(math_text(formula.tex))
        position = formula.end
    pieces.append(source[position:])
    text = _inline_text(parser().parseInline("".join(pieces))[0])
    for number, formula_text in enumerate(texts):
        text = text.replace(chr(_FORMULA + number), formula_text)
    return " ".join(text.split())


def _body_text(tokens: list[Token]) -> str:
    """Plain text of block tokens: inline text, code blocks verbatim, HTML blocks' text, one block per line."""
    lines: list[str] = []
    for token in tokens:
        if token.type == "inline":
            text = _ALERT_MARK.sub("", _inline_body(token))
            if text:
                lines.append(text)
        elif token.type in ("fence", "code_block"):
            code = token.content.strip("\n")
            if code:
                lines.append(code)
        elif token.type == "html_block":
            text = _html_text(token.content)
            if text:
                lines.append(text)
    return "\n".join(lines)


def _html_text(html: str) -> str:
    """The text a reader sees of an HTML block (``<details><summary>Why</summary>...``), tags and comments removed."""
    from html import unescape

    text = _HTML_HIDDEN.sub(" ", html)
    return " ".join(unescape(_HTML_TAG.sub(" ", text)).split())


def embedded_markdown(source: str) -> str:
    """A section's Markdown for embedding: as written, less what carries no meaning and costs tokens
    (HTML comments, images' addresses, ``data:`` URLs, runs of blank lines)."""
    text = _HTML_COMMENT.sub("", source)
    text = _IMAGE_TARGET.sub(r"\1", text)
    text = _DATA_URL.sub("data:", text)
    return _BLANK_LINES.sub("\n\n", text).strip()


def _inline_body(token: Token) -> str:
    parts: list[str] = []
    for child in token.children or []:
        if child.type == "image":
            alt = "".join(grandchild.content for grandchild in child.children or [])
            if alt:
                parts.append(alt)
        elif child.type in ("text", "code_inline", "text_special"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return " ".join("".join(parts).split())


def _parse_tightened(source: str, tighten: bool = True) -> list[Token]:
    """Parse ``source``, first giving `#Title` lines the space Python-Markdown does not require (``tighten``)."""
    markdown = parser()
    tokens = markdown.parse(source)
    if not tighten:
        return tokens
    lines = source.split("\n")
    changed = False
    for token in tokens:
        if token.type == "paragraph_open" and token.level == 0 and token.map:
            for number in range(*token.map):
                if _TIGHT_HASH_HEADING.match(lines[number]):
                    lines[number] = _TIGHT_HASH_HEADING.sub(r"\1 ", lines[number])
                    changed = True
    return markdown.parse("\n".join(lines)) if changed else tokens


def _split_attr_list(text: str) -> tuple[str, str | None]:
    """Split a trailing ``{#id .class}`` off heading text; return (text, explicit id or None)."""
    match = _ATTR_LIST.search(text)
    if not match:
        return text, None
    explicit = _ATTR_ID.search(match.group(1))
    return text[: match.start()], explicit.group(1) if explicit else None


def note_title(note: Note, tokens: list[Token] | None = None, heading_text: str | None = None) -> str:
    """The title of the note's page, in the navigation, the browser's tab and every list of notes (the adapter
    gives MkDocs the same): front matter ``title``, else the note's heading if it is an H1 and the first thing
    in the note, else from the file's name (``title_from_name``). Of a note with several H1s, the first is
    taken for a section's rather than the title when it is numbered (``6.1 중첩 분기``, ``1. 소개``), as its
    siblings are; ``titles_of_sections`` also drops one that other notes use as a heading (``참고``, ``상황``).
    A note of an Obsidian vault is titled by its file's name, as Obsidian titles it, unless its opening H1
    starts with that name (``146`` and ``# 146. LRU 缓存``) or it is a folder's README or index.
    ``heading_text``: that heading's text as the site renders it (its formulas' and emoji's text), when known."""
    title = note.meta.get("title")
    if isinstance(title, str) and title.strip():
        return title.strip()
    heading = _opening_heading(tokens, heading_text)
    name = posixpath.basename(note.path)
    if note.named and name not in _INDEX_PAGES:
        stem = posixpath.splitext(name)[0]
        return heading if heading.casefold().startswith(stem.casefold()) else stem
    if heading and _NUMBERED.match(heading) and _h1_count(tokens) > 1:
        return title_from_name(note.path)
    return heading or title_from_name(note.path)


_NUMBERED = re.compile(r"\d+(?:\.\d+)*\.?\s")
"""A heading that starts with its number, as a chapter's sections do."""


def _opening_heading(tokens: list[Token] | None, heading_text: str | None) -> str:
    """The text of the H1 that opens the note (``''`` when it opens otherwise)."""
    if not tokens or tokens[0].type != "heading_open" or tokens[0].tag != "h1":
        return ""
    if heading_text is not None:  # as the site renders it: footnote marks and attribute lists taken out
        return heading_text
    text = _inline_text(tokens[1])
    return (_split_attr_list(text)[0].strip() or text) if text else ""


def _h1_count(tokens: list[Token] | None) -> int:
    return sum(token.type == "heading_open" and token.tag == "h1" for token in tokens or ())


def titles_of_sections(headings: dict[str, list[str]], provisional: set[str]) -> dict[str, str]:
    """New titles for the ``provisional`` notes (titled by the first of their several H1s) whose first H1 is a
    heading ``SHARED_HEADING_NOTES`` notes have (``참고``, ``상황``, ``사전 설정``): a section's name, not the
    note's, so the note goes by its file's name. ``headings``: each note's path → its headings' GitHub ids, in order."""
    counts: dict[str, int] = {}
    for ids in headings.values():
        for github in set(ids):
            counts[github] = counts.get(github, 0) + 1
    return {
        path: title_from_name(path)
        for path in sorted(provisional)
        if headings.get(path)
        and counts[headings[path][0]] >= SHARED_HEADING_NOTES
        and not _in_name(headings[path][0], path)
    }


def _in_name(github: str, path: str) -> bool:
    """Whether the note's file is named after a heading (its GitHub id), numbers aside: ``# Collection`` in
    ``14_Collection.md`` is the note's title, whatever other notes call their sections; ``# 개요`` in
    ``Docker개요.md`` is not."""
    squashed = _NOT_LETTER.sub("", github.casefold())
    stem = posixpath.splitext(posixpath.basename(path))[0]
    return bool(squashed) and squashed == _NOT_LETTER.sub("", stem.casefold())


_NOT_LETTER = re.compile(r"[\W\d_]+")


SHARED_HEADING_NOTES = 3
"""A heading this many notes have (``참고``, ``상황``) names a kind of section; two may be a note and its copy."""


_BETWEEN_DIGITS = re.compile(r"(?<=\d)-(?=\d)")


def title_from_name(path: str) -> str:
    """The title of a page with none of its own: ``Home`` for the home page, a folder's README or index by
    the folder's name, else the file's name. A name written with spaces stays as written (``1-4 스프링 핵심
    원리``); one without has its ``-`` and ``_`` read as spaces (``git-rebase`` → ``Git rebase``, capitalised when
    it is all lower case, as MkDocs names pages), except a ``-`` between digits (``05-01``)."""
    folder, name = posixpath.split(path)
    if name in _INDEX_PAGES:
        if not folder:
            return "Home"
        name = posixpath.basename(folder)
    else:
        name = posixpath.splitext(name)[0]
    if " " in name.strip():
        return name.strip()
    title = " ".join(_BETWEEN_DIGITS.sub("\0", name).replace("-", " ").replace("_", " ").split()).replace("\0", "-")
    title = title or name
    return title.capitalize() if title.lower() == title else title


@dataclass(slots=True, frozen=True)
class Heading:
    """A heading as MkDocs renders it."""

    token_index: int
    """Position of its ``heading_open`` token in the parsed note."""
    level: int
    """1 to 6."""
    text: str
    """Rendered plain text (attr-list suffix removed)."""
    anchor: str
    """The id MkDocs gives it."""


def parse_headings(note: Note, slugs: SlugSettings | None = None) -> tuple[list[Token], str, list[Heading]]:
    """Parse ``note``; return its tokens, its title and every heading with its MkDocs id."""
    slugs = slugs or SlugSettings()
    note = _without_mathjax_markup(note)
    tokens = _parse_tightened(note.text, slugs.hash_without_space)
    found: list[tuple[int, int, str, str | None]] = []
    # A footnote reference (`[^1]`, with its definition in the note) shows as a number beside the heading.
    footnotes = set(_FOOTNOTE_DEFINITION.findall(note.text)) if slugs.footnotes else set()
    first: str | None = None
    for index, token in enumerate(tokens):
        if token.type == "heading_open":
            inline = tokens[index + 1]
            text = _text_with_math(inline) if slugs.math and "$" in inline.content else _inline_text(inline)
            if slugs.emoji:
                text = github_emoji(text)
            for label in footnotes:
                text = text.replace(f"[^{label}]", "")
            explicit = None
            if slugs.attr_list:
                text, explicit = _split_attr_list(text)
            if index == 0:
                first = text.strip()  # the page's title, if an H1 (``note_title``), as the page shows it
            found.append((index, int(token.tag[1]), text.strip(), explicit))
    # Like Python-Markdown's toc: explicit ids are taken first, then headings get unique slugs in order.
    used: set[str] = {explicit for *_, explicit in found if explicit}
    headings = [
        Heading(index, level, text, explicit or unique_id(slugs.slug(text), used))
        for index, level, text, explicit in found
    ]
    return tokens, note_title(note, tokens, first), headings


def split_sections(note: Note, slugs: SlugSettings | None = None) -> list[Section]:
    """Split ``note`` at its headings.

    Every heading starts a section that runs to the next heading of any level.
    Text before the first heading becomes a section with an empty anchor. Sections
    with an empty body are dropped, unless the note has nothing else, so that a
    title-only note can still be found.
    """
    return split_note(note, slugs)[0]


class Split(NamedTuple):
    """What ``split_note`` found in a note."""

    sections: list[Section]
    ids: list[tuple[str, str]]
    """Each of its headings (those of dropped sections too): (its id, the id GitHub would give it)."""
    provisional: bool
    """Its title is the first of its several H1s, which ``titles_of_sections`` may find is a section's name."""


def split_note(note: Note, slugs: SlugSettings | None = None) -> Split:
    """``split_sections`` of ``note``, its headings' ids, and whether its title is provisional."""
    note = _without_mathjax_markup(note)
    tokens, title, headings = parse_headings(note, slugs)
    ids = list(zip((heading.anchor for heading in headings), github_ids([h.text for h in headings]), strict=True))
    provisional = bool(headings) and _h1_count(tokens) > 1 and title == headings[0].text and not note.named
    if slugs is not None and slugs.emoji and ":" in note.text:  # :warning: as the page shows it, not in code
        for token in tokens:
            for child in token.children or [] if token.type == "inline" else []:
                if child.type == "text" and ":" in child.content:
                    child.content = github_emoji(child.content)
    return Split(_split(note, tokens, title, headings), ids, provisional and "title" not in note.meta)


def _split(note: Note, tokens: list[Token], title: str, headings: list[Heading]) -> list[Section]:
    sections: list[Section] = []
    boundaries = [heading.token_index for heading in headings] + [len(tokens)]
    lines = note.text.split("\n")
    starts = [(tokens[heading.token_index].map or [0, 0]) for heading in headings]

    def source(first: int, end: int) -> str:
        return embedded_markdown("\n".join(lines[first:end]))

    preamble = _body_text(tokens[: boundaries[0]])
    if preamble:
        first_heading = starts[0][0] if starts else len(lines)
        sections.append(Section(note.path, title, title, (), "", 0, preamble, note.body_line, source(0, first_heading)))
    trail: list[tuple[int, str]] = []
    for position, heading in enumerate(headings):
        while trail and trail[-1][0] >= heading.level:
            trail.pop()
        trail.append((heading.level, heading.text))
        # Skip heading_open, inline and heading_close.
        body = _body_text(tokens[heading.token_index + 3 : boundaries[position + 1]])
        line = note.body_line + starts[position][0]
        heading_path = tuple(name for _, name in trail)
        end = starts[position + 1][0] if position + 1 < len(starts) else len(lines)
        sections.append(
            Section(
                note.path,
                title,
                heading.text or title,
                heading_path,
                heading.anchor,
                heading.level,
                body,
                line,
                source(starts[position][1], end),
            )
        )

    with_body = [section for section in sections if section.text]
    if with_body:
        return with_body
    if sections:
        return sections[:1]
    if "title" in note.meta:
        return [Section(note.path, title, title, (), "", 0, "", note.body_line)]
    return []
