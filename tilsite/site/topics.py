"""The HTML of the topics page (a map of the notes and the notes by topic) and of each note's topic line.

Like the related-notes block, it is written after MkDocs has rendered the pages, and every piece of note
text in it is HTML-escaped. The map is drawn from the build's own data as plain HTML: a link per note at
its place (focusable, named for screen readers), coloured by topic with the classes of ``topics.css``
(readable on Material's light and dark palettes), whose title ``topics.css`` shows beside it under the
pointer or the keyboard focus. No script, and nothing an SVG would need that Material's instant
navigation cannot handle (it rewrites every link of a page it opens; SVG links refuse that).
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tilsite.site.render import fragment
from tilsite.site.words import ENGLISH, Words

if TYPE_CHECKING:
    from tilsite.results.topics import Topics

COLOURS = 12
"""Colour classes in topics.css (``tilsite-t0`` …); topics beyond them take the colours again."""
TOPICS_CSS = "topics.css"
_MARGIN = 0.03
"""Share of the map's width and height left free at each edge."""


@dataclass(slots=True, frozen=True)
class TopicsPage:
    """What the topics page shows, with its links made for the page that shows it."""

    topics: Topics
    """The site's topics and map."""
    links: dict[str, str]
    """Each note's page, as a link from the topics page (notes missing here are left out)."""
    heading_ids: list[str]
    """The id of each topic's heading on the page, in the order of ``topics.topics``."""


def topic_ids(count: int, taken: set[str]) -> list[str]:
    """Heading ids for ``count`` topics (``topic-1`` …) that no heading of the page has already."""
    ids = []
    for number in range(1, count + 1):
        candidate, suffix = f"topic-{number}", 0
        while candidate in taken:
            suffix += 1
            candidate = f"topic-{number}_{suffix}"
        ids.append(candidate)
    return ids


def _text(value: str) -> str:
    return html.escape(" ".join(value.split()))


def topics_html(page: TopicsPage, words: Words = ENGLISH) -> str:
    """The map, then each topic: its name, how many notes, and each note's link to its best section (titles
    and headings only: 2,000 notes' passages would make a page of megabytes)."""
    topics = page.topics
    notes = sum(len(topic.notes) for topic in topics.topics)
    lines = [
        '<p class="tilsite-topics-intro">'
        f"{_text(words.topics_intro.format(notes=words.count_notes(notes), topics=len(topics.topics)))}</p>",
        map_html(page, words),
    ]
    for topic, heading_id in zip(topics.topics, page.heading_ids, strict=True):
        swatch = f'<span class="tilsite-swatch tilsite-t{topic.number % COLOURS}"></span>'
        count = _text(words.count_notes(len(topic.notes)))
        lines.append(f'<h2 id="{html.escape(heading_id)}">{swatch}{_text(topic.label)} <small>{count}</small></h2>')
        lines.append('<ul class="tilsite-topic-notes">')
        for record in topic.notes:
            link = page.links.get(record.path)
            if link is None:
                continue
            label = _text(record.title)
            if record.anchor and record.heading != record.title:
                label += " &#8250; " + _text(record.heading)
            lines.append(f'<li><a href="{html.escape(link + fragment(record.anchor))}">{label}</a></li>')
        lines.append("</ul>")
    return "\n".join(lines)


def map_html(page: TopicsPage, words: Words = ENGLISH) -> str:
    """The map of the notes: a dot per note linking to it (an HTML link placed in a box of fixed proportions, so
    that Material's instant navigation, which rewrites every link of a page it opens, handles them like any
    other), each topic's first word at its middle."""
    topics = page.topics
    placed = [(topic, record) for topic in topics.topics for record in topic.notes if record.path in page.links]
    size = max(6.0, min(14.0, 300.0 / math.sqrt(max(1, len(placed)))))

    def point(path: str) -> tuple[float, float]:
        x, y = topics.positions.get(path, (0.5, 0.5))
        return 100 * (_MARGIN + x * (1 - 2 * _MARGIN)), 100 * (_MARGIN + y * (1 - 2 * _MARGIN))

    parts = [
        '<figure class="tilsite-map"><div class="tilsite-map-area" role="group"'
        f' aria-label="{_text(words.map_label)}" style="--dot: {size:.0f}px">'
    ]
    for topic, record in placed:
        x, y = point(record.path)
        title = _text(record.title)
        about = f" ({_text(topic.label)})" if topic.words else ""
        side = " tilsite-dot--right" if x > 50 else ""  # its title goes on its left, inside the map
        colour = f"tilsite-t{topic.number % COLOURS}"
        parts.append(
            f'<a href="{html.escape(page.links[record.path])}" class="tilsite-dot{side} {colour}"'
            f' style="left: {x:.2f}%; top: {y:.2f}%" aria-label="{title}">'
            f'<span class="tilsite-dot-title">{title}{about}</span></a>'
        )
    for topic in topics.topics:
        spots = [point(record.path) for record in topic.notes if record.path in page.links]
        if not spots or not topic.words:
            continue
        # The median, not the mean: a few of a topic's notes may lie among another topic's.
        x = sorted(spot[0] for spot in spots)[len(spots) // 2]
        y = sorted(spot[1] for spot in spots)[len(spots) // 2]
        parts.append(
            f'<span class="tilsite-map-label" aria-hidden="true" style="left: {x:.2f}%; top: {y:.2f}%">'
            f"{_text(topic.words[0])}</span>"
        )
    parts.append(f"</div><figcaption>{_text(words.map_caption)}</figcaption></figure>")
    return "".join(parts)


def topic_line(label: str, link: str, words: Words = ENGLISH) -> str:
    """The line under a note's title naming its topic, linked to that topic on the topics page."""
    return f'<p class="tilsite-topic">{_text(words.topic)}: <a href="{html.escape(link)}">{_text(label)}</a></p>'
