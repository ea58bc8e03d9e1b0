"""HTML and Markdown that tilsite adds to the site: the related-notes block, dates, archive lines.

The related-notes block is HTML written after MkDocs has rendered the page:
rendering it as Markdown as well doubled the Markdown time of a build. Every
piece of note text in it is HTML-escaped, and the plugin registers its links
with MkDocs so that anchors are still validated. Markdown helpers here serve the
archive page, whose note titles are written with every ASCII punctuation
character as a numeric character reference, so no Markdown, HTML or extension
syntax in a title can take effect.
"""

from __future__ import annotations

import datetime as dt
import html
import posixpath
import re
import string
from html import escape, unescape
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from tilsite.results.related import RelatedNote

_PUNCTUATION = {ord(char): f"&#{ord(char)};" for char in string.punctuation}
_UNSAFE_IN_FRAGMENT = {ord(char): quote(char) for char in "()<>[] \\\t\n"}


def escape_markdown_text(text: str) -> str:
    """Make ``text`` render literally in Python-Markdown, whatever extensions are enabled."""
    return " ".join(text.split()).translate(_PUNCTUATION)


_HEADING_LINE = re.compile(r"^ {0,3}#{1,6}(?:[ \t].*)?$", re.MULTILINE)


def says_nothing(markdown: str) -> bool:
    """Whether a page's Markdown (front matter already taken off) holds nothing but headings: an empty README."""
    return not _HEADING_LINE.sub("", markdown).strip()


def relative_link(target_path: str, anchor: str, from_path: str) -> str:
    """A Markdown link target from the note ``from_path`` to ``target_path#anchor``."""
    relative = posixpath.relpath(target_path, posixpath.dirname(from_path) or ".")
    return quote(relative) + fragment(anchor)


def fragment(anchor: str) -> str:
    """``#anchor`` for a URL, with the characters that would break a link percent-encoded."""
    return f"#{anchor.translate(_UNSAFE_IN_FRAGMENT)}" if anchor else ""


def related_html(related: list[tuple[RelatedNote, str]], heading: str, heading_id: str) -> str:
    """The aside listing related notes, given as (note, link from this page) pairs."""
    lines = [
        '<aside class="tilsite-related" data-search-exclude>',
        f'<h2 id="{html.escape(heading_id)}">{html.escape(heading)}</h2>',
        "<ul>",
    ]
    for item, link in related:
        target = item.target
        label = html.escape(" ".join(target.title.split()))
        if target.anchor and target.heading != target.title:
            label += " &#8250; " + html.escape(" ".join(target.heading.split()))
        line = f'<li><a href="{html.escape(link)}">{label}</a> <small>{max(0, round(item.share * 100))}%</small>'
        # Where the two notes meet: this note's section (a link within the page) and the other's passage.
        why = ""
        if item.source.anchor:
            source = html.escape(" ".join(item.source.heading.split()))
            why = f'<a class="tilsite-why" href="{html.escape(fragment(item.source.anchor))}">§ {source}</a> → '
        if target.snippet or why:
            line += f"<br>{why}{html.escape(' '.join(target.snippet.split()))}"
        lines.append(line + "</li>")
    lines += ["</ul>", "</aside>"]
    return "\n".join(lines)


_FIRST_H1_END = re.compile(r"</h1>", re.IGNORECASE)
_H1_OPEN = re.compile(r"<h1[\s>]", re.IGNORECASE)
_HEADERLINK_ELEMENT = re.compile(r'<a class="headerlink".*?</a>', re.DOTALL)
_ANY_TAG = re.compile(r"<[^>]*>")
_FOOTNOTE_MARK = re.compile(r'<sup id="fnref[^"]*">.*?</sup>', re.DOTALL)
_TAG = re.compile(
    r"<!--.*?-->"
    r"|<(?P<end>/?)(?P<name>[a-zA-Z][a-zA-Z0-9:-]*)"
    r"(?:\s+[^\s\"'>/=]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'=<>`]+))?)*\s*(?P<empty>/?)>",
    re.DOTALL,
)
_RAW_TEXT = re.compile(r"</(script|style|textarea)\s*>", re.IGNORECASE)
_CONTAINERS = frozenset(
    {
        "a",
        "abbr",
        "article",
        "aside",
        "audio",
        "b",
        "blockquote",
        "button",
        "center",
        "cite",
        "code",
        "del",
        "details",
        "dfn",
        "div",
        "dl",
        "em",
        "fieldset",
        "figcaption",
        "figure",
        "font",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "i",
        "iframe",
        "ins",
        "kbd",
        "label",
        "main",
        "mark",
        "nav",
        "ol",
        "picture",
        "pre",
        "q",
        "s",
        "samp",
        "section",
        "select",
        "small",
        "span",
        "strike",
        "strong",
        "sub",
        "summary",
        "sup",
        "table",
        "u",
        "ul",
        "var",
        "video",
    }
)
"""Elements that, left open, take in the rest of the page (or, closed twice, close the theme's own)."""


def with_title(html: str, title: str | None) -> str:
    """``html`` with the page's ``title`` as its first heading when the note shows another at its top or further
    down (a front matter's title above `# Minikube`, a file's name above `# 참고`), as a blog's layout or
    Obsidian's title above the note does; Material shows the title itself when the page has no ``<h1>``."""
    if not title or not _H1_OPEN.search(html) or _opening_heading(html)[0] == " ".join(title.split()):
        return html
    return f'<h1 class="tilsite-title">{escape(title)}</h1>\n{html}'


def _opening_heading(html: str) -> tuple[str | None, int]:
    """The text of the ``<h1>`` that opens ``html`` and where it ends (None, 0 when none does)."""
    match = _FIRST_H1_END.search(html) if html.lstrip()[:3].lower() == "<h1" else None
    if match is None:
        return None, 0
    text = unescape(_ANY_TAG.sub("", _FOOTNOTE_MARK.sub("", _HEADERLINK_ELEMENT.sub("", html[: match.start()]))))
    return " ".join(text.split()), match.end()


def _title_end(html: str, title: str | None = None) -> int | None:
    """Where the page's title heading ends: an ``<h1>`` that opens the page and is its only one, or whose text is
    the page's ``title`` (a note with several H1s is titled by the first only when it is no section's)."""
    heading, end = _opening_heading(html)
    if heading is None:
        return None
    if len(_H1_OPEN.findall(html)) == 1 or (title is not None and heading == " ".join(title.split())):
        return end
    return None


def insert_date(html: str, when: dt.date | None, title: str | None = None, tags: list[str] | None = None) -> str:
    """Put the note's date, and its front matter's ``tags`` as labels, under its title heading (``_title_end``),
    else at the top."""
    parts = [f'<time datetime="{when.isoformat()}">{when.isoformat()}</time>'] if when else []
    parts += [f'<span class="tilsite-tag">#{escape(tag)}</span>' for tag in tags or ()]
    if not parts:
        return html
    return _placed(html, f'<p class="tilsite-date">{" ".join(parts)}</p>', _title_end(html, title))


def note_tags(value: object) -> list[str]:
    """The tags a front matter gives (``tags: [docker, k8s]``, ``tags: docker, k8s`` or Jekyll's ``tags: docker
    k8s``), without a leading ``#``, each once; none for anything else."""
    if isinstance(value, str):
        items: list[object] = list(value.split(",") if "," in value else value.split())
    elif isinstance(value, list):
        items = list(value)
    else:
        return []
    tags = [str(item).strip().lstrip("#").strip() for item in items if isinstance(item, (str, int, float))]
    return list(dict.fromkeys(tag for tag in tags if tag))


_DATE_LINE_END = re.compile(r'<p class="tilsite-date">.*?</p>', re.DOTALL)


def insert_under_title(html: str, tag: str, title: str | None = None) -> str:
    """Put ``tag`` under the note's title: after its date line (``insert_date``), else after its title heading
    (``_title_end``), else at the top."""
    match = _DATE_LINE_END.search(html)
    return _placed(html, tag, match.end() if match else _title_end(html, title))


def _placed(html: str, tag: str, end: int | None) -> str:
    """``tag`` on a line of its own after ``end`` in ``html``, or at the top when there is none."""
    return f"{tag}\n{html}" if end is None else f"{html[:end]}\n{tag}{html[end:]}"


_FILTERED_TAG = re.compile(
    r"<(?P<slash>/?)(?P<name>script|style|textarea|title|xmp|noembed|noframes|plaintext)(?=[\s/>])"
    r"|(?P<dropped></?(?:meta|link|base|object|embed|applet)(?=[\s/>])[^>]*>)",
    re.IGNORECASE,
)
"""The tags GitHub's Markdown shows as text in raw HTML ("disallowed raw HTML"), but ``iframe`` (an embedded video
plays on the site), and tags of a document's head and embedded objects, which GitHub's sanitiser drops."""
_MATH_SCRIPT = re.compile(r"<script type=\"math/[\w-]+(?:; ?mode=display)?\">[^<]*</script>")
"""The element pymdownx's arithmatex writes for MathJax 2 (a site that configures it): its TeX holds no ``<``."""


def filtered_tags(html: str, math_scripts: bool = False) -> str:
    """``html`` with the raw HTML tags GitHub shows as text escaped (``<script async>`` in a list of notes, a
    ``<style>`` block) and those it drops dropped (``<meta>``, ``<link>``, ``<base>``, ``<object>``): left as they
    are, a script would run and swallow the rest of the page as its code, a style or stylesheet restyle the whole
    site, a ``<base>`` move every link of the page, an ``<Object>`` in a heading's text (``#<Object>``) make the
    rest of the page that heading. Code and text Python-Markdown wrote are escaped already, so only raw HTML
    changes. ``math_scripts``: the site configures arithmatex, whose ``<script type="math/tex">`` elements stay."""

    def filtered(part: str) -> str:
        return _FILTERED_TAG.sub(lambda tag: "" if tag["dropped"] else f"&lt;{tag['slash']}{tag['name']}", part)

    if not math_scripts:
        return filtered(html)
    # With arithmatex on, its math scripts stay; what lies between them is filtered.
    kept = list(_MATH_SCRIPT.finditer(html))
    pieces, position = [], 0
    for script in kept:
        pieces += [filtered(html[position : script.start()]), script.group(0)]
        position = script.end()
    return "".join([*pieces, filtered(html[position:])])


def balance_html(html: str) -> str:
    """``html`` with the elements a note leaves open closed at its end, and end tags that close nothing removed.

    Raw HTML in a note may open a ``<div>`` it never closes, or close one it never opened: on GitHub
    that stays inside the note, on a site page it would swallow the related notes or close the
    theme's layout. Markup Python-Markdown generates is balanced, so only raw HTML changes.
    """
    open_elements: list[str] = []
    removed: list[tuple[int, int]] = []
    position = 0
    while True:
        match = _TAG.search(html, position)
        if match is None:
            break
        position = match.end()
        name = (match.group("name") or "").lower()
        if name in ("script", "style", "textarea") and not match.group("end"):
            closing = _RAW_TEXT.search(html, position)
            position = closing.end() if closing else len(html)
            continue
        if name not in _CONTAINERS or match.group("empty"):
            continue
        if not match.group("end"):
            open_elements.append(name)
        elif name in open_elements:
            while open_elements.pop() != name:
                pass  # elements opened inside it end with it, as in a browser
        else:
            removed.append(match.span())
    if not removed and not open_elements:
        return html
    pieces, start = [], 0
    for begin, end in removed:
        pieces.append(html[start:begin])
        start = end
    pieces.append(html[start:])
    pieces.extend(f"</{name}>" for name in reversed(open_elements))
    return "".join(pieces)


_KEEP_WHITESPACE = re.compile(r"<(pre|textarea|script|style)\b.*?</\1\s*>", re.DOTALL | re.IGNORECASE)
_INDENTATION = re.compile(r"\n[ \t\r\n]+")
"""A line break and the spaces, tabs and blank lines after it (not other Unicode spaces: they show)."""


def trim_indentation(html: str) -> str:
    """``html`` without the indentation and blank lines of the theme's templates: a line break still separates
    what it separated, so the page renders the same (``<pre>``, ``<textarea>``, scripts and styles are left
    as they are). Material indents its navigation deeply; with a few hundred notes in a folder, that
    whitespace is a third of every page of it."""
    pieces: list[str] = []
    start = 0
    for match in _KEEP_WHITESPACE.finditer(html):
        pieces.append(_INDENTATION.sub("\n", html[start : match.start()]))
        pieces.append(match.group(0))
        start = match.end()
    pieces.append(_INDENTATION.sub("\n", html[start:]))
    return "".join(pieces)
