"""The HTML of the topics page (a map of the notes and the notes by topic) and of each note's topic line.

Like the related-notes block, it is written after MkDocs has rendered the pages, and every piece of note
text in it is HTML-escaped. The map is an inline SVG drawn from the build's own data: a link per note
(focusable, with its title for hover and for screen readers), coloured by topic with the classes of
``topics.css`` (readable on Material's light and dark palettes), and ``topics-map.js`` shows the title
of the note under the pointer or the keyboard focus.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tilsite.site.render import fragment

if TYPE_CHECKING:
    from tilsite.results.topics import Topics

COLOURS = 12
"""Colour classes in topics.css (``tilsite-t0`` …); topics beyond them take the colours again."""
TOPICS_CSS = "topics.css"
TOPICS_SCRIPT = "topics-map.js"
_WIDTH, _HEIGHT, _MARGIN = 1000, 640, 24


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


def topics_html(page: TopicsPage) -> str:
    """The map, then each topic: its name, how many notes, and each note's link to its best section (titles
    and headings only: 2,000 notes' passages would make a page of megabytes)."""
    topics = page.topics
    notes = sum(len(topic.notes) for topic in topics.topics)
    lines = [
        f'<p class="tilsite-topics-intro">{notes} notes in {len(topics.topics)} topics, grouped by what they'
        " say. On the map, each dot is a note: notes close together are close in meaning.</p>",
        map_svg(page),
    ]
    for topic, heading_id in zip(topics.topics, page.heading_ids, strict=True):
        swatch = f'<span class="tilsite-swatch tilsite-t{topic.number % COLOURS}"></span>'
        count = "1 note" if len(topic.notes) == 1 else f"{len(topic.notes)} notes"
        lines.append(
            f'<h2 id="{html.escape(heading_id)}">{swatch}{_text(topic.label or "—")} <small>{count}</small></h2>'
        )
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


def map_svg(page: TopicsPage) -> str:
    """The map of the notes as inline SVG: a dot per note linking to it, each topic's first word at its middle."""
    topics = page.topics
    placed = [(topic, record) for topic in topics.topics for record in topic.notes if record.path in page.links]
    radius = max(3.0, min(8.0, 160.0 / math.sqrt(max(1, len(placed)))))

    def point(path: str) -> tuple[float, float]:
        x, y = topics.positions.get(path, (0.5, 0.5))
        return _MARGIN + x * (_WIDTH - 2 * _MARGIN), _MARGIN + y * (_HEIGHT - 2 * _MARGIN)

    parts = [
        f'<figure class="tilsite-map"><svg viewBox="0 0 {_WIDTH} {_HEIGHT}" role="group"'
        ' aria-label="Map of the notes by meaning">',
        '<g class="tilsite-map-notes">',
    ]
    for topic, record in placed:
        x, y = point(record.path)
        title = _text(record.title)
        parts.append(
            f'<a href="{html.escape(page.links[record.path])}" class="tilsite-t{topic.number % COLOURS}"'
            f' aria-label="{title}"><circle cx="{x:.1f}" cy="{y:.1f}" r="{radius:.1f}"/>'
            f"<title>{title}{f' ({_text(topic.label)})' if topic.words else ''}</title></a>"
        )
    parts.append('</g><g class="tilsite-map-labels" aria-hidden="true">')
    for topic in topics.topics:
        spots = [point(record.path) for record in topic.notes if record.path in page.links]
        if not spots or not topic.words:
            continue
        # The median, not the mean: a few of a topic's notes may lie among another topic's.
        x = sorted(spot[0] for spot in spots)[len(spots) // 2]
        y = sorted(spot[1] for spot in spots)[len(spots) // 2]
        parts.append(f'<text x="{x:.1f}" y="{y:.1f}">{_text(topic.words[0])}</text>')
    parts.append('</g><text class="tilsite-map-tip" aria-hidden="true" x="0" y="0"></text></svg>')
    parts.append(
        "<figcaption>Colours are topics; a topic's first word sits in its middle. Hover over a dot or move to it"
        " with the Tab key to see the note; click or press Enter to open it.</figcaption></figure>"
    )
    return "".join(parts)


def topic_line(label: str, link: str) -> str:
    """The line under a note's title naming its topic, linked to that topic on the topics page."""
    return f'<p class="tilsite-topic">Topic: <a href="{html.escape(link)}">{_text(label)}</a></p>'
