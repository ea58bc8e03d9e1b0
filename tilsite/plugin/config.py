"""Typed configuration of the ``tilsite`` MkDocs plugin: the one place tilsite settings are declared."""

from __future__ import annotations

import os
import posixpath
from pathlib import Path
from typing import TYPE_CHECKING

from mkdocs.config import base
from mkdocs.config import config_options as c

from tilsite.errors import ConfigError
from tilsite.site.build import (
    DEFAULT_COUNT,
    DEFAULT_EXCLUDE,
    DEFAULT_MODEL,
    DEFAULT_NAME,
    DEFAULT_THRESHOLD,
    Settings,
    SlugSettings,
)

if TYPE_CHECKING:
    from mkdocs.config.defaults import MkDocsConfig


class TilsiteConfig(base.Config):
    """Options under ``plugins: - tilsite:`` in ``mkdocs.yml``."""

    enabled = c.Type(bool, default=True)
    model = c.Type(str, default=DEFAULT_MODEL)
    """``default`` (bundled multilingual-e5-small), a local sentence-transformers folder or a hub name."""
    work_dir = c.Type(str, default=DEFAULT_NAME)
    """Index and embedding cache, relative to mkdocs.yml."""
    allow_work_dir_outside = c.Type(bool, default=False)
    """Let ``work_dir`` be outside the folder of mkdocs.yml (refused by default: a typo such as ``/etc``
    would have tilsite write there)."""
    related_count = c.Type(int, default=DEFAULT_COUNT)
    """Related notes listed per page (0 turns the block off)."""
    related_threshold = c.Type((int, float), default=DEFAULT_THRESHOLD)
    """Lowest score of a related note, from -1 to 2 (note vectors' cosine + ½ best section pair + ½ TF-IDF
    cosine; default 0.4)."""
    related_exclude = c.ListOfItems(c.Type(str), default=list(DEFAULT_EXCLUDE))
    """Glob patterns (relative to docs_dir) of notes left out of related lists, e.g. index pages."""
    related_heading = c.Optional(c.Type(str))
    """Heading of the related notes (default: "Related notes" in the theme's language, ``theme.language``)."""
    asset_dirs = c.ListOfItems(c.Type(str), default=["img"])
    """Folders beside mkdocs.yml (outside docs_dir) published at their own name, e.g. ``img/``."""
    notes_dir = c.Optional(c.Type(str))
    """Build from the notes in this folder (relative to mkdocs.yml; ``.`` for the repository itself)
    instead of docs_dir, without moving them. ``docs_dir`` is then only a placeholder."""
    show_dates = c.Type(bool, default=True)
    """Show each note's date (front matter, file name or first commit) under its title."""
    site_search = c.Type(bool, default=True)
    """Search by meaning in the site's search box (needs Material's ``search`` plugin): the section
    vectors, the query model and its runtime are published under ``assets/tilsite/search/``."""
    github_markdown = c.Type(bool, default=False)
    """Render notes with the blocks GitHub shows them with (lists nested by 2 spaces, lists right under a
    paragraph, Markdown between HTML blocks, GitHub alerts) and its math (``$x$``, ``$$...$$`` as MathML, unless
    ``pymdownx.arithmatex`` is configured); ``tilsite init`` turns it on."""
    archive_page = c.Type(str, default="archive.md")
    """Path of the generated page listing notes by date and by folder; empty to turn it off."""
    topics_page = c.Type(str, default="topics.md")
    """Path of the generated page of topics (the notes grouped by meaning) and their map; empty to turn it
    off (notes then show no topic line either)."""
    topics_title = c.Optional(c.Type(str))
    """Title of the topics page (default: "Topics" in the theme's language)."""
    near_copies = c.Type(bool, default=True)
    """Say in the build's output which sections nearly repeat a section of another note."""
    passages = c.Type(bool, default=True)
    """Embed the prose of sections longer than the model's window (256 pieces) too, in passages that search
    finds; off, a long section is found by its beginning only, and a first build embeds less."""


def settings_from_config(config: MkDocsConfig, plugin_config: TilsiteConfig) -> Settings:
    """Translate MkDocs' configuration into the core's ``Settings``."""
    if plugin_config.related_count < 0:
        raise ConfigError(f"{config.config_file_path}: tilsite `related_count` must be 0 or more.")
    if not -1.0 <= plugin_config.related_threshold <= 2.0:
        raise ConfigError(f"{config.config_file_path}: tilsite `related_threshold` must be between -1 and 2.")
    project_dir = Path(config.config_file_path or ".").resolve().parent
    work_dir = Path(os.path.normpath(project_dir / plugin_config.work_dir))
    if not work_dir.is_relative_to(project_dir) and not plugin_config.allow_work_dir_outside:
        raise ConfigError(
            f"{config.config_file_path}: tilsite `work_dir` {plugin_config.work_dir!r} is outside the project"
            f" folder {project_dir}; tilsite writes its index and caches there. Use a folder inside the project,"
            " or set `allow_work_dir_outside: true` if you mean it."
        )
    if work_dir == project_dir:
        raise ConfigError(
            f"{config.config_file_path}: tilsite `work_dir` cannot be the project folder itself; use a folder"
            " of its own such as .tilsite."
        )
    return Settings(
        notes_dir=notes_root(config, plugin_config) or Path(config.docs_dir),
        work_dir=work_dir,
        slugs=SlugSettings.from_markdown_config(
            list(config.markdown_extensions), dict(config.mdx_configs), plugin_config.github_markdown
        ),
        model=plugin_config.model,
        related_count=plugin_config.related_count,
        related_threshold=float(plugin_config.related_threshold),
        related_exclude=tuple(plugin_config.related_exclude),
        site_search=plugin_config.site_search,
        passages=plugin_config.passages,
    )


def asset_folders(config: MkDocsConfig, plugin_config: TilsiteConfig) -> list[tuple[str, Path]]:
    """The ``asset_dirs`` that exist, as (site path, folder); ``ConfigError`` for one that leaves the project
    (its files would be read from outside it and written outside the site)."""
    project_dir = Path(config.config_file_path or ".").resolve().parent
    folders = []
    for name in plugin_config.asset_dirs:
        relative = posixpath.normpath(name.replace("\\", "/").strip("/"))
        if relative == ".." or relative.startswith("../") or relative == ".":
            raise ConfigError(
                f"{config.config_file_path}: tilsite `asset_dirs` entry {name!r} is not a folder inside the project"
                f" folder {project_dir}; name a folder in it, such as img."
            )
        folder = project_dir / relative
        if folder.is_dir():
            folders.append((relative, folder))
    return folders


def notes_root(config: MkDocsConfig, plugin_config: TilsiteConfig) -> Path | None:
    """The ``notes_dir`` folder as an absolute path, or None when the notes are in docs_dir."""
    if not plugin_config.notes_dir:
        return None
    project_dir = Path(config.config_file_path or ".").resolve().parent
    root = (project_dir / plugin_config.notes_dir).resolve()
    if not root.is_dir():
        message = f"tilsite `notes_dir` {plugin_config.notes_dir!r} is not a folder."
        raise ConfigError(f"{config.config_file_path}: {message}")
    return root
