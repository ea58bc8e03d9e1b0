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
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from tilsite.related import RelatedNote

_PUNCTUATION = {ord(char): f"&#{ord(char)};" for char in string.punctuation}
_UNSAFE_IN_FRAGMENT = {ord(char): quote(char) for char in "()<>[] \\\t\n"}


def escape_markdown_text(text: str) -> str:
    """Make ``text`` render literally in Python-Markdown, whatever extensions are enabled."""
    return " ".join(text.split()).translate(_PUNCTUATION)


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
        line = f'<li><a href="{html.escape(link)}">{label}</a> <small>{round(item.score * 100)}%</small>'
        if target.snippet:
            line += f"<br>{html.escape(' '.join(target.snippet.split()))}"
        lines.append(line + "</li>")
    lines += ["</ul>", "</aside>"]
    return "\n".join(lines)


_FIRST_H1_END = re.compile(r"</h1>", re.IGNORECASE)


def insert_date(html: str, when: dt.date) -> str:
    """Put the note's date under its first ``<h1>`` (or at the top when it has none)."""
    stamp = when.isoformat()
    tag = f'<p class="tilsite-date"><time datetime="{stamp}">{stamp}</time></p>'
    match = _FIRST_H1_END.search(html)
    if match is None:
        return f"{tag}\n{html}"
    return f"{html[: match.end()]}\n{tag}{html[match.end() :]}"
