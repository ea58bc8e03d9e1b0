"""The Python-Markdown extension that renders notes with the blocks GitHub shows (``github_markdown: true``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from markdown.extensions import Extension
from markdown.preprocessors import Preprocessor

from tilsite.site.build import github_blocks

if TYPE_CHECKING:
    from markdown import Markdown

_AFTER_WHITESPACE = 29
"""After Python-Markdown normalises whitespace (30) and pymdownx's own pass (29.9), before fenced code (25)
and HTML blocks (20) are taken out of the text."""


_PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
"""The characters a backslash escapes in CommonMark (all of ASCII's punctuation)."""


class GithubMarkdown(Extension):
    """Rewrites each page's Markdown with ``github_blocks`` before Python-Markdown reads its blocks."""

    def __init__(self, alerts: bool, details: bool = False, math: bool = False, diagrams: bool = False) -> None:
        super().__init__()
        self.alerts = alerts
        """Turn GitHub alerts (``> [!NOTE]``) and Obsidian's callouts into admonitions (``admonition`` is on)."""
        self.details = details
        """Fold the callouts that fold in Obsidian (``> [!tip]-``; ``pymdownx.details`` is on)."""
        self.callouts = False
        """Turn Obsidian's callouts into admonitions too: the notes are written in Obsidian (set per build)."""
        self.math = math
        """Render formulas (``$x$``, ``$$...$$``, ```` ```math ````) as MathML, as GitHub and Obsidian show them."""
        self.unread_math: list[str] = []
        """The TeX of formulas on the page being rendered that could not be read (they show as written)."""
        self.diagrams = diagrams
        """Hand mermaid fences over as diagrams (``<pre class="mermaid">``) for the theme to draw (Material)."""
        self.drawn: list[str] = []
        """The diagrams of the page being rendered (the site then needs mermaid's script)."""

    def extendMarkdown(self, md: Markdown) -> None:
        md.preprocessors.register(_GithubBlocks(md, self), "tilsite-github", _AFTER_WHITESPACE)
        # Any ASCII punctuation escapes with a backslash, as in CommonMark: `\<script>` is text (Python-Markdown
        # showed the backslash and passed the tag on), `\$` a dollar sign, `\&` an ampersand.
        md.ESCAPED_CHARS.extend(mark for mark in _PUNCTUATION if mark not in md.ESCAPED_CHARS)


class _GithubBlocks(Preprocessor):
    def __init__(self, md: Markdown, settings: GithubMarkdown) -> None:
        super().__init__(md)
        self.settings = settings

    def run(self, lines: list[str]) -> list[str]:
        settings = self.settings
        text = "\n".join(lines)
        math = settings.unread_math if settings.math else None
        diagrams = settings.drawn if settings.diagrams else None
        stash = self.md.htmlStash.store
        blocks = github_blocks(text, stash, settings.alerts, settings.details, settings.callouts, math, diagrams)
        return blocks.split("\n")
