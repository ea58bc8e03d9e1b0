"""Find the notes and images of a repository as it is, and give each the path it has on the site.

A TIL repository keeps notes in top-level folders beside ``README.md``, mixes in
notebooks, ``.MD`` files and stray files of other kinds. ``scan_notes`` walks such
a folder without changing it and returns what the site is built from: Markdown
pages, notebooks (published as pages) and assets such as images.
"""

from __future__ import annotations

import posixpath
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

MARKDOWN_SUFFIXES = (".md", ".markdown")
NOTEBOOK_SUFFIX = ".ipynb"
DRAWING_SUFFIX = ".excalidraw.md"
"""Obsidian's Excalidraw drawings (``left_out``): Markdown files holding a drawing's compressed JSON."""
ASSET_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".avif", ".bmp", ".ico", ".tif", ".tiff"}
    | {".pdf", ".mp4", ".webm", ".mp3", ".zip", ".txt"}
)
"""Files published beside the notes so that links to them work."""
SKIPPED_DIRS = frozenset({"node_modules", "__pycache__", "site", "venv", "env", "_site"})
"""Folders never read as notes (hidden folders such as ``.git`` are skipped too)."""

Kind = Literal["page", "notebook", "asset", "other"]
"""``other`` files (code, HTML exports, data) are published only when a note links to them."""


@dataclass(slots=True, frozen=True)
class SourceFile:
    """A file of the repository and the path it is published at."""

    uri: str
    """Path on the site, relative to the notes folder, ``/``-separated; ``.md`` for every page."""
    path: Path
    """The file on disk."""
    kind: Kind
    """What it is to the site: a Markdown page, a notebook, an asset (image) or another file."""

    @property
    def original(self) -> str:
        """The path as the repository names it (what links in notes point at)."""
        return posixpath.join(posixpath.dirname(self.uri), self.path.name) if self.uri else self.path.name


@dataclass(slots=True)
class Scan:
    """What ``scan_notes`` found."""

    files: list[SourceFile] = field(default_factory=list)
    """The notes, notebooks and images, in the order found."""
    skipped: Counter[str] = field(default_factory=Counter)
    """Files left out, counted by suffix (``.py``, ``.csv``, ...)."""
    others: list[SourceFile] = field(default_factory=list)
    """The files left out, published only if a note links to them."""
    outside: list[str] = field(default_factory=list)
    """Symbolic links that lead out of the folder (or round in a loop): never read."""
    conflicts: list[str] = field(default_factory=list)
    """Notes left out because another note is published at the same path (``a.md`` and ``a.MD``)."""
    aliases: dict[str, str] = field(default_factory=dict)
    """Notes that are symbolic links to another note of the folder (``linux/bash.md`` → ``../shell/bash.md``), by
    their path, and the path of the note they stand for: one page, which links to either lead to."""

    @property
    def pages(self) -> list[SourceFile]:
        return [file for file in self.files if file.kind != "asset"]

    def skipped_summary(self) -> str:
        """e.g. ``left out 5 files that are neither notes nor images (.py 3, .csv 2)``; empty if none."""
        total = sum(self.skipped.values())
        if not total:
            return ""
        kinds = ", ".join(f"{suffix} {count}" for suffix, count in self.skipped.most_common(6))
        return f"left out {total} file{'s' if total != 1 else ''} that are neither notes nor images ({kinds})"


_DRAWING_MARK = re.compile(rb"(?m)^excalidraw-plugin\s*:")
_DRAFT_MARK = re.compile(rb"(?mi)^draft\s*[:=]\s*['\"]?(?:true|yes|on)['\"]?\s*(?:#.*)?$")
DRAWINGS = "Excalidraw drawings"
DRAFTS = "drafts (draft: true)"


def left_out(path: Path) -> str | None:
    """Why the Markdown file at ``path`` is no note to publish, or None: an Obsidian Excalidraw drawing (named
    ``*.excalidraw.md``, or ``excalidraw-plugin:`` in its front matter: compressed JSON, not text), or a draft
    (``draft: true`` in its front matter, which Hugo, Jekyll and MkDocs' blog leave unpublished too)."""
    if path.name.lower().endswith(DRAWING_SUFFIX):
        return DRAWINGS
    try:
        with path.open("rb") as stream:
            start = stream.read(16384)
    except OSError:
        return None
    start = start.removeprefix(b"\xef\xbb\xbf")
    fence = start[:3]
    if fence not in (b"---", b"+++"):
        return None
    front = start[3:].split(b"\n" + fence, 1)[0]
    if _DRAWING_MARK.search(front):
        return DRAWINGS
    return DRAFTS if _DRAFT_MARK.search(front) else None


def page_uri(relative: str) -> str | None:
    """The site path of a page built from the file at ``relative``, or None if it is not a note.

    ``Note.MD`` becomes ``Note.md`` and ``x.ipynb`` becomes ``x.md`` (MkDocs only builds
    lower-case Markdown suffixes).
    """
    stem, suffix = posixpath.splitext(relative)
    lowered = suffix.lower()
    if lowered in MARKDOWN_SUFFIXES:
        return stem + lowered
    if lowered == NOTEBOOK_SUFFIX:
        return stem + ".md"
    return None


def scan_notes(root: Path, skip: tuple[Path, ...] = (), excluded: Callable[[str], bool] | None = None) -> Scan:
    """Walk ``root`` and sort its files into pages, notebooks and assets.

    ``skip`` are folders and files to leave out besides hidden ones and ``SKIPPED_DIRS``
    (the site and work folders, mkdocs.yml). A notebook whose page path is taken by a Markdown note
    of the same name is published at ``name.ipynb.md`` instead. ``excluded``: whether a path is left out of the site
    (MkDocs' ``exclude_docs``); a note is not taken to be a link to one that is.
    """
    scan = Scan()
    skipped = {path.resolve() for path in skip}
    markdown: list[tuple[str, Path]] = []
    notebooks: list[tuple[str, Path]] = []
    for relative, path in walk_files(root, skipped, scan.outside):
        suffix = path.suffix.lower()
        if suffix in MARKDOWN_SUFFIXES and (reason := left_out(path)):
            scan.skipped[reason] += 1
        elif suffix in MARKDOWN_SUFFIXES:
            markdown.append((relative, path))
        elif suffix == NOTEBOOK_SUFFIX:
            notebooks.append((relative, path))
        elif suffix in ASSET_SUFFIXES:
            scan.files.append(SourceFile(relative, path, "asset"))
        else:
            scan.skipped[suffix or path.name] += 1
            scan.others.append(SourceFile(relative, path, "other"))
    markdown = _without_aliases(root, markdown, scan.aliases, excluded)
    notebooks = _without_aliases(root, notebooks, scan.aliases, excluded)
    taken: set[str] = set()
    # Notes already named as published (`a.md`) keep their path over `a.MD`; notebooks come last.
    markdown.sort(key=lambda item: page_uri(item[0]) != item[0])
    for relative, path in markdown:
        uri = page_uri(relative) or relative
        if uri in taken:
            scan.conflicts.append(relative)
            continue
        taken.add(uri)
        scan.files.append(SourceFile(uri, path, "page"))
    for relative, path in notebooks:
        uri = page_uri(relative) or relative
        if uri in taken:
            uri = relative + ".md"
        taken.add(uri)
        scan.files.append(SourceFile(uri, path, "notebook"))
    return scan


def _without_aliases(
    root: Path, notes: list[tuple[str, Path]], aliases: dict[str, str], excluded: Callable[[str], bool] | None
) -> list[tuple[str, Path]]:
    """``notes`` (path relative to ``root``, path) with one entry for each file on disk that the site publishes: the
    others, found through a symbolic link (to the file or a folder above it), go to ``aliases`` by path, with the
    path of the one kept (one the site publishes, reached without a link if there is one)."""
    top = root.resolve()
    by_file: dict[Path, list[tuple[str, Path]]] = {}
    for relative, path in notes:
        by_file.setdefault(path.resolve(), []).append((relative, path))
    kept: list[tuple[str, Path]] = []
    for real, found in by_file.items():
        published = [item for item in found if not (excluded and excluded(item[0]))]
        if not published:  # none of them is published: nothing to stand for
            kept.extend(found)
            continue
        direct = [item for item in published if top.joinpath(*item[0].split("/")) == real]
        chosen = direct[0] if direct else published[0]
        kept.append(chosen)
        aliases.update((relative, chosen[0]) for relative, _ in found if relative != chosen[0])
    kept.sort(key=lambda item: item[0].split("/"))
    return kept


def walk_files(
    root: Path, skipped: set[Path] | None = None, outside: list[str] | None = None
) -> list[tuple[str, Path]]:
    """Every file below ``root`` as (path relative to root, path), hidden files and ``skipped`` ones left out.

    A symbolic link is followed only when its target lies inside ``root`` (a link to ``/etc/passwd`` or to a
    folder of another project is never read); links that lead outside or round in a loop go to ``outside``.
    """
    found: list[tuple[str, Path]] = []
    skipped = skipped if skipped is not None else set()
    outside = outside if outside is not None else []
    top = root.resolve()
    folders: list[tuple[str, Path, frozenset[Path]]] = [("", root, frozenset({top}))]
    while folders:
        prefix, folder, ancestors = folders.pop()
        try:
            entries = sorted(folder.iterdir(), key=lambda item: item.name)
        except OSError:
            continue
        subfolders: list[tuple[str, Path, frozenset[Path]]] = []
        for path in entries:
            relative = f"{prefix}{path.name}"
            if path.name.startswith("."):
                continue
            target = path.resolve() if path.is_symlink() else None
            if target is not None and (not target.is_relative_to(top) or target in ancestors):
                outside.append(relative)
                continue
            if path.is_dir():
                real = target or path.resolve()
                if path.name in SKIPPED_DIRS or real in skipped:
                    continue
                subfolders.append((f"{relative}/", path, ancestors | {real}))
            elif path.is_file() and (target or path.resolve()) not in skipped:
                found.append((relative, path))
        folders.extend(reversed(subfolders))
    found.sort(key=lambda item: item[0].split("/"))
    return found


def link_leaving(path: Path, root: Path) -> Path | None:
    """The symbolic link on the way from ``root`` to ``path`` that points out of ``root`` or back to a folder
    the way already went through (a loop), or None when ``path`` leads to a file inside ``root``."""
    top = root.resolve()
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        return path
    current, ancestors = root, {top}
    for part in parts:
        current = current / part
        real = current.resolve()
        if current.is_symlink() and (not real.is_relative_to(top) or real in ancestors):
            return current
        ancestors.add(real)
    return None
