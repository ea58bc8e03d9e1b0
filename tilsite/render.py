"""The related-notes block: Markdown that MkDocs renders (and validates), then wrapped as an aside.

The block is Markdown rather than HTML so that MkDocs resolves its ``.md`` links
to page URLs and checks every ``#anchor`` against the target page. Note text is
inserted with every ASCII punctuation character written as a numeric character
reference, so no Markdown, HTML or extension syntax inside a heading or snippet
can take effect.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import re
import string
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from tilsite.related import RelatedNote

RELATED_START = "<!-- tilsite:related -->"
RELATED_END = "<!-- /tilsite:related -->"
_PUNCTUATION = {ord(char): f"&#{ord(char)};" for char in string.punctuation}
_BLOCK = re.compile(re.escape(RELATED_START) + r"(.*?)" + re.escape(RELATED_END), re.DOTALL)
_UNSAFE_IN_FRAGMENT = {ord(char): quote(char) for char in "()<>[] \\\t\n"}


def escape_markdown_text(text: str) -> str:
    """Make ``text`` render literally in Python-Markdown, whatever extensions are enabled."""
    return " ".join(text.split()).translate(_PUNCTUATION)


def relative_link(target_path: str, anchor: str, from_path: str) -> str:
    """A Markdown link target from the note ``from_path`` to ``target_path#anchor``."""
    relative = posixpath.relpath(target_path, posixpath.dirname(from_path) or ".")
    link = quote(relative)
    return f"{link}#{anchor.translate(_UNSAFE_IN_FRAGMENT)}" if anchor else link


def related_markdown(related: list[RelatedNote], from_path: str, heading: str) -> str:
    """The Markdown block listing ``related`` notes for the page built from ``from_path``."""
    lines = [RELATED_START, "", f"## {escape_markdown_text(heading)}", ""]
    for item in related:
        target = item.target
        label = escape_markdown_text(target.title)
        if target.anchor and target.heading != target.title:
            label += " &#8250; " + escape_markdown_text(target.heading)
        link = relative_link(target.path, target.anchor, from_path)
        lines.append(f"- [{label}]({link}) <small>{round(item.score * 100)}%</small>")
        if target.snippet:
            lines.append(f"    <br>{escape_markdown_text(target.snippet)}")
    lines += ["", RELATED_END, ""]
    return "\n".join(lines)


def wrap_related_html(html: str) -> str:
    """Turn the rendered block between the markers into a styled aside, left out of keyword search."""
    return _BLOCK.sub(
        lambda match: f'<aside class="tilsite-related" data-search-exclude>{match.group(1)}</aside>', html
    )


_FIRST_H1_END = re.compile(r"</h1>", re.IGNORECASE)


def insert_date(html: str, when: dt.date) -> str:
    """Put the note's date under its first ``<h1>`` (or at the top when it has none)."""
    stamp = when.isoformat()
    tag = f'<p class="tilsite-date"><time datetime="{stamp}">{stamp}</time></p>'
    match = _FIRST_H1_END.search(html)
    if match is None:
        return f"{tag}\n{html}"
    return f"{html[: match.end()]}\n{tag}{html[match.end() :]}"
