"""Obsidian's wiki links, as the Markdown links they stand for.

Notes kept in Obsidian (and Foam, Logseq and other editors that read the same
syntax) link each other by name, not by path: ``[[Java MOC]]``, ``[[Java MOC|the
map]]``, ``[[Java MOC#Arrays]]``, ``[[#A heading]]``, and show a file in place with
``![[Pasted image 20240101.png]]`` (``|300`` sets its width). Neither GitHub nor
Python-Markdown knows this syntax, so a vault published as it is shows ``[[...]]``
where its links and images should be.

``wiki_markdown`` rewrites each wiki link outside code into a plain Markdown link
(or image) to the path the name stands for: ``Java MOC.md``, a file name with its
extension as written. Where that file really is (another folder, other capitals)
is found as for any other link (``tilsite.notes.targets``: from the note's folder
and each folder above it, then by name anywhere in the repository), which is how
Obsidian finds a note by its name. A heading becomes the id GitHub would give it,
which the site maps to the id MkDocs gives it (``tilsite.plugin.links``); a block
reference (``#^id``) leads to the note.

All this is for notes that use wiki links (``uses_wiki_links``): an Obsidian vault
(``.obsidian`` folder), or notes whose wiki links name other notes. Elsewhere
``[[Feature #20108]]`` or ``[["LIMIT", 1]]`` is just text, as GitHub shows it. Rendering
a page, ``leads`` tells which links lead to a file of the site; one that does not
(a note not written yet) is shown as its text, as Obsidian shows it. Obsidian's
comments (``%% ... %%``) are hidden, as Obsidian hides them.
"""

from __future__ import annotations

import html
import posixpath
import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, unquote

from tilsite.notes.math import find_math
from tilsite.notes.parsing import code_spans
from tilsite.notes.slugs import github_slug

_WIKILINK = re.compile(r"(!?)\[\[([^\[\]\n]+)\]\]")
_ALIAS = re.compile(r"\\?\|")
"""``[[Note|alias]]``; ``[[Note\\|alias]]`` in a table, where a bare ``|`` would end the cell."""
_SIZE = re.compile(r"^\s*(\d{1,5})(?:\s*x\s*(\d{1,5}))?\s*$")
"""``![[image.png|300]]`` or ``|300x200``: the width (and height) to show an image at."""
_COMMENT = re.compile(r"%%.*?%%", re.DOTALL)
_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)
_CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)[^\n]+?(?<!`)\1(?!`)")
"""An inline code span (``x``, ```` a`b ````) on one line."""
_IMAGES = frozenset({"png", "jpg", "jpeg", "gif", "webp", "svg", "bmp", "avif", "ico", "tif", "tiff"})
_FILES = _IMAGES | {
    "md",
    "pdf",
    "mp3",
    "wav",
    "m4a",
    "ogg",
    "flac",
    "mp4",
    "webm",
    "mov",
    "mkv",
    "ogv",
    "ipynb",
    "txt",
    "csv",
    "json",
    "html",
    "canvas",
    "zip",
}
"""Extensions that name a file; another (``[[Node.js]]``, ``[[Drawing.excalidraw]]``) is part of a note's name."""

Leads = Callable[[str], bool]
"""Whether a link's URL, as written in the page being rendered, leads to a file of the site (and to a heading
of it that there is, when it names one)."""


def wiki_markdown(text: str, leads: Leads | None = None, *, urls: list[str] | None = None) -> str:
    """``text`` with its wiki links and embeds (outside code and HTML comments) as Markdown links and images,
    and Obsidian's comments removed.

    Without ``leads`` every wiki link becomes a link (for reading a note's text and links). With it, a
    link that leads nowhere becomes its text. The URLs of the links written are appended to ``urls``.
    """
    if "[[" not in text and "%%" not in text:
        return text
    code = _code_ranges(text)

    def in_code(start: int) -> bool:
        return any(first <= start < end for first, end in code)

    def link(match: re.Match[str]) -> str:
        if in_code(match.start()):
            return match.group(0)
        written = _as_markdown(match.group(1) == "!", match.group(2), leads)
        if written is None:
            return match.group(0)
        markdown, url, label = written
        if urls is not None and url:
            urls.append(url)
        return markdown if url else _escaped(label)

    def comment(match: re.Match[str]) -> str:
        return match.group(0) if in_code(match.start()) else ""

    text = _WIKILINK.sub(link, text)
    if "%%" in text:
        code = _code_ranges(text)
        text = _COMMENT.sub(comment, text)
    return text


_TAG = re.compile(r"(?<![^\s(\[])#([^\W\d][\w/-]*|[\d_/-]+[^\W\d][\w/-]*)")
"""An Obsidian tag: ``#`` after a space, a line's start or a bracket, then letters, digits, ``_``, ``-`` and ``/``
(not digits alone: ``#1`` is not a tag)."""
_NOT_TAGS = re.compile(
    r"<(style|script|pre|textarea|code|svg)\b.*?</\1\s*>"  # raw HTML elements whose text is code
    r"|<[^<>]*>"  # HTML tags (their attributes: `style="color: #fff"`), over lines too
    r"|\]\([^)\n]*\)|\bhttps?://\S+"  # link addresses, bare URLs
    r"|\{[:#.][^}\n]*\}",  # attribute lists: `{: #custom-id }`
    re.DOTALL | re.IGNORECASE,
)
"""Where a ``#`` is not a tag's: HTML (and the CSS and scripts in it), addresses, attribute lists."""


def tag_markdown(text: str) -> str:
    """``text`` (a note of an Obsidian vault) with its tags (``#leetcode/union-find``) outside code, links and HTML
    shown as tags are in Obsidian: small labels (``<span class="tilsite-tag">``)."""
    if "#" not in text:
        return text
    skip = [*_code_ranges(text), *(match.span() for match in _NOT_TAGS.finditer(text))]
    skip += [(formula.start, formula.end) for formula in find_math(text, obsidian=True)]

    def tag(match: re.Match[str]) -> str:
        if any(first <= match.start() < end for first, end in skip):
            return match.group(0)
        return f'<span class="tilsite-tag">#{html.escape(match.group(1))}</span>'

    return _TAG.sub(tag, text)


def uses_wiki_links(notes: dict[str, str], vault: bool = False) -> bool:
    """Whether ``notes`` (text by path) are written with wiki links: they are an Obsidian ``vault``, or a wiki
    link of theirs names one of them (``[[Java MOC]]`` and ``Java/Java MOC.md``)."""
    if vault:
        return True
    names = {posixpath.basename(path).lower() for path in notes}
    for text in notes.values():
        urls: list[str] = []
        if "[[" in text:
            wiki_markdown(text, urls=urls)
        if any(posixpath.basename(unquote(url.partition("#")[0])).lower() in names for url in urls):
            return True
    return False


def obsidian_vault(folder: Path) -> bool:
    """Whether ``folder`` or a folder above it, up to the repository's root, is an Obsidian vault."""
    for place in (folder, *folder.absolute().parents):
        if (place / ".obsidian").is_dir():
            return True
        if (place / ".git").exists():
            return False
    return False


def _as_markdown(embed: bool, inner: str, leads: Leads | None) -> tuple[str, str, str] | None:
    """(Markdown, URL, text shown) of the wiki link ``[[inner]]`` (``![[inner]]`` if ``embed``); None when
    ``inner`` names nothing, an empty URL when it leads nowhere (by ``leads``).

    ``[[Note#A#B]]`` is the heading B under A. As a heading may hold ``#`` itself (``C# basics``), with
    ``leads`` the longer ends of the path are tried too (``A#B``), and then the note without a heading
    (its heading renamed since: Obsidian opens the note)."""
    target, _, alias = (part.strip() for part in _split_alias(inner))
    name, _, fragment = target.partition("#")
    name = name.strip()
    parts = [] if fragment.startswith("^") else fragment.split("#")
    headings = [heading for count in range(1, len(parts) + 1) if (heading := "#".join(parts[-count:]).strip())]
    if not name and not headings:
        return None
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    path = name if suffix in _FILES else f"{name}.md" if name else ""
    tried = [_url(path, github_slug(heading)) for heading in headings] + ([_url(path, "")] if path else [])
    chosen = next((index for index, url in enumerate(tried) if leads(url)), None) if leads is not None else 0
    url = tried[chosen] if chosen is not None else ""
    heading = headings[chosen] if chosen is not None and chosen < len(headings) else headings[0] if headings else ""
    if embed and suffix in _IMAGES:
        size = _SIZE.match(alias)
        if size is None:
            return f"![{_escaped(alias)}](<{url}>)", url, alias or name
        width, height = size.groups()
        attributes = f' width="{width}"' + (f' height="{height}"' if height else "")
        return f'<img src="{html.escape(url)}" alt=""{attributes}>', url, name
    if alias:
        label = alias
    elif name and heading:
        label = f"{name} > {heading}"
    else:
        label = name or heading
    return f"[{_escaped(label)}](<{url}>)", url, label


def _split_alias(inner: str) -> tuple[str, str, str]:
    parts = _ALIAS.split(inner, maxsplit=1)
    return (parts[0], "|", parts[1]) if len(parts) == 2 else (parts[0], "", "")


def _url(path: str, anchor: str) -> str:
    """The link's URL as written between ``<`` and ``>``: the path as it is, but for what cannot stand there
    (``?`` would start a query: ``SAML이란?.md`` is encoded; ``x:`` a scheme: ``./x:y.md`` stays a path)."""
    written = quote(path, safe="/ !$&'()*+,;=:@~[]") if re.search(r"[<>%?\\]", path) else path
    if ":" in written.split("/", 1)[0]:
        written = f"./{written}"
    return f"{written}#{anchor}" if anchor else written


def _escaped(text: str) -> str:
    """``text`` shown as it is in Markdown's inline text (a link's label or a paragraph), but for its code
    (``[[#The `x` option]]``, as headings are written)."""
    text = re.sub(r"&(?=#?\w+;)", "&amp;", text).replace("<", "&lt;")
    return re.sub(r"([\\*_\[\]])", r"\\\1", text)


def _code_ranges(text: str) -> list[tuple[int, int]]:
    """Where code lies in ``text``: its code blocks and inline code spans, as character ranges."""
    ranges = code_spans(text)
    prose = list(text)
    for start, end in ranges:  # the fences' backticks are not code spans' ends
        prose[start:end] = [" " if character != "\n" else "\n" for character in text[start:end]]
    ranges.extend(match.span() for match in _CODE_SPAN.finditer("".join(prose)))
    ranges.extend(match.span() for match in _HTML_COMMENT.finditer(text))
    return ranges
