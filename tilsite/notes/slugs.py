"""Heading ids exactly as MkDocs renders them.

MkDocs gives headings their ids through Python-Markdown's ``toc`` extension: the
configured ``slugify(text, separator)`` applied to the heading's rendered text,
then made unique within the page by appending ``_1``, ``_2``, ... This module
reuses the configured slug function and reproduces only the suffixing rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable, MutableSet
from dataclasses import dataclass, field

Slugify = Callable[[str, str], str]

_COUNTED = re.compile(r"^(.*)_([0-9]+)$")


def default_slugify() -> Slugify:
    """Return Python-Markdown's default slug function (used when ``toc.slugify`` is not set)."""
    from markdown.extensions.toc import slugify

    return slugify


def unique_id(candidate: str, used: MutableSet[str]) -> str:
    """Return ``candidate`` or, if taken or empty, the first free ``base_N``; record it in ``used``."""
    if candidate in used or not candidate:
        match = _COUNTED.match(candidate)
        base, count = (match.group(1), int(match.group(2))) if match else (candidate, 0)
        count += 1
        while f"{base}_{count}" in used:
            count += 1
        candidate = f"{base}_{count}"
    used.add(candidate)
    return candidate


@dataclass(slots=True)
class SlugSettings:
    """How a site turns heading text into ids (from the ``toc`` entry of ``markdown_extensions``)."""

    slugify: Slugify = field(default_factory=default_slugify)
    """The configured ``toc.slugify`` callable."""
    separator: str = "-"
    """The configured ``toc.separator``."""
    attr_list: bool = False
    """Whether ``attr_list`` is enabled, so ``## Title {#id}`` sets the id explicitly."""
    footnotes: bool = False
    """Whether the ``footnotes`` extension is enabled, so ``[^1]`` in a heading is a reference, not text."""
    hash_without_space: bool = True
    """Whether ``#Title`` (no space) is a heading, as in Python-Markdown; GitHub, and so a site with
    ``github_markdown``, shows it as text."""
    emoji: bool = False
    """Whether ``pymdownx.emoji`` is enabled, so ``:tada:`` in a heading is an emoji (``github_emoji``)."""
    math: bool = False
    """Whether ``$x$`` in a heading is math, whose id is made from its MathML's text (``github_markdown``, where
    the site does not configure ``pymdownx.arithmatex``)."""

    def slug(self, text: str) -> str:
        """Slugify heading text with the configured function and separator."""
        return self.slugify(text, self.separator)

    @classmethod
    def from_markdown_config(
        cls, extensions: list[str], extension_configs: dict[str, dict], github_markdown: bool = False
    ) -> SlugSettings:
        """Build settings from MkDocs' ``markdown_extensions`` and ``mdx_configs`` (and the plugin's
        ``github_markdown``)."""
        toc = extension_configs.get("toc", {}) or {}
        slugify = toc.get("slugify") or default_slugify()
        separator = toc.get("separator", "-")
        # Plugins may append Extension instances (tilsite's own link fixer); only names matter here.
        names = {name.rsplit(".", 1)[-1] for name in extensions if isinstance(name, str)}
        return cls(
            slugify,
            separator,
            "attr_list" in names,
            footnotes="footnotes" in names,
            hash_without_space=not github_markdown,
            emoji="emoji" in names,
            math=github_markdown and "arithmatex" not in names,
        )


_NOT_IN_GITHUB_SLUG = re.compile(r"[^\w\- ]")


def github_slug(text: str) -> str:
    """The anchor GitHub gives a heading (``Project 생성하기`` → ``project-생성하기``).

    Lower case, punctuation other than ``-`` and ``_`` dropped, each space a ``-``
    (runs are not collapsed, unlike Python-Markdown's slugify).
    """
    return _NOT_IN_GITHUB_SLUG.sub("", text.strip().lower()).replace(" ", "-")


def github_ids(texts: list[str]) -> list[str]:
    """The anchors GitHub gives a note's headings, in order: ``github_slug``, and ``-1``, ``-2`` ... after a slug
    an earlier heading has (``참고``, ``참고-1``), as GitHub numbers repeated headings."""
    seen: dict[str, int] = {}
    ids: list[str] = []
    for text in texts:
        original = slug = github_slug(text)
        while slug in seen:
            seen[original] += 1
            slug = f"{original}-{seen[original]}"
        seen[slug] = 0
        ids.append(slug)
    return ids


_SHORTCODE = re.compile(r":[a-z0-9_+\-]+:")


def github_emoji(text: str) -> str:
    """``text`` with GitHub's emoji shortcodes (``:tada:``) as the emoji they show, from the gemoji index
    that ``pymdownx.emoji`` uses (a shortcode it does not know stays as written)."""
    from pymdownx import gemoji_db

    def emoji(match: re.Match[str]) -> str:
        name = gemoji_db.aliases.get(match.group(0), match.group(0))
        points = gemoji_db.emoji.get(name, {}).get("unicode")
        return "".join(chr(int(point, 16)) for point in points.split("-")) if points else match.group(0)

    return _SHORTCODE.sub(emoji, text)
