"""Where a note's links lead: the targets written in its Markdown, found in the repository as the author meant.

Authors write links relative to the folder their editor opened, and folders move:
a note in ``sparta/`` links ``/img/x.png`` while the image is in ``sparta/img/``
(GitHub shows it broken too). A link whose target does not exist is looked for
again, in this order:

1. the path as written, from the note's own folder and then each folder above it
   (nearest first), for ``/img/x.png`` as for ``img/x.png``;
2. the same path with other upper and lower case letters, if one file matches;
3. a file of that name (``x.png``) elsewhere in the repository, if exactly one fits:
   among files of that name, the one that ends with most of the written path, then
   the one nearest the note (a name in other capitals, ``X.PNG``, when none has the
   name as written). This is also how Obsidian finds the note a wiki link names
   (``[[Note]]`` is ``Note.md``, see ``tilsite.notes.wikilinks``).

Authors also link their own notes by their address on GitHub, most often from the
README that lists them all (``https://github.com/me/TIL/blob/main/git/rebase.md``).
On the site such a link would leave for GitHub; when it names a file of the notes
folder (``blob``, ``raw`` or ``raw.githubusercontent.com``), or a folder with a
``README.md`` or ``index.md`` (``tree``), it leads to that file on the site instead.
A file that is not there is looked for as the link ``/path`` would be, by the rules
above (the link is broken on GitHub too).
"""

from __future__ import annotations

import html
import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

How = Literal["folder", "case", "name", "github", "wiki"]

_GITHUB_FILE = re.compile(
    r"^https?://(?:www\.)?github\.com/(?P<owner>[^/?#]+)/(?P<repo>[^/?#]+)"
    r"(?:/(?P<kind>blob|tree|raw)/[^/?#]+(?P<path>/[^?#]*)?)?/?(?:[?#].*)?$",
    re.IGNORECASE,
)
_GITHUB_RAW_FILE = re.compile(
    r"^https?://raw\.githubusercontent\.com/(?P<owner>[^/?#]+)/(?P<repo>[^/?#]+)/[^/?#]+(?P<path>/[^?#]*)",
    re.IGNORECASE,
)
_FOLDER_PAGES = ("README.md", "index.md")

_WINDOWS_PATH = re.compile(r"^(?:file:/*)?[A-Za-z]:[\\/]")

_BALANCED = r"[^\s()]*(?:\([^\s()]*\)[^\s()]*)*"
_LINK_PATTERNS = (
    re.compile(r"\]\(\s*(?:<([^>\n]+)>|(" + _BALANCED + r"))"),  # [text](url), ![alt](<url with spaces>)
    re.compile(r"^ {0,3}\[[^\]\n]+\]:\s*(?:<([^>\n]+)>|(\S+))", re.MULTILINE),  # [ref]: url
    re.compile(r"""\b(?:src|href)\s*=\s*(?:"([^"\n]*)"|'([^'\n]*)')""", re.IGNORECASE),  # <img src="url">
)


def link_targets(markdown: str) -> list[str]:
    """The URLs a note's Markdown links to or shows (links, images, references and HTML ``src``/``href``)."""
    found: dict[str, None] = {}
    for pattern in _LINK_PATTERNS:
        for match in pattern.finditer(markdown):
            url = match.group(1) or match.group(2)
            if url:
                # An HTML attribute's value means what its character references stand for (``&amp;`` is ``&``).
                found[(html.unescape(url) if pattern is _LINK_PATTERNS[2] else url).strip()] = None
    return list(found)


def local_path(url: str) -> tuple[str, bool] | None:
    """The file path a URL names (percent-decoded) and whether it starts at the root (``/img/x.png``);
    None for web addresses, fragments, folders and other schemes."""
    windows = _WINDOWS_PATH.match(url)
    if windows:  # C:\Users\me\Desktop\x.png: a file on the author's computer, found by its name if at all
        return url[windows.end() :].replace("\\", "/").lstrip("/"), True
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme or parts.netloc or not parts.path or parts.path.endswith("/"):
        return None
    path = unquote(parts.path)
    return path.lstrip("/"), path.startswith("/")


@dataclass(slots=True, frozen=True)
class Resolved:
    """A link found again somewhere else than where it points."""

    note: str
    """Path of the note that links (``/``-separated, relative to the notes folder)."""
    url: str
    """The URL as written in the note."""
    target: str
    """The file it is taken to mean, relative to the notes folder."""
    how: How
    """Which rule found it (see the module docstring)."""


@dataclass(slots=True, frozen=True)
class GitHubRepository:
    """The repository on GitHub that holds the notes (``repo_url``), and the notes folder in it."""

    owner: str
    name: str
    folder: str = ""
    """The notes folder's path in the repository (``docs``), or ``""`` for the repository's root."""

    def path(self, url: str) -> tuple[str, bool] | None:
        """The path in the notes folder that a GitHub address of this repository names (percent-decoded,
        ``""`` for the notes folder itself), and whether it names a folder (``tree``); None for other
        addresses, and for files of the repository outside the notes folder."""
        match = _GITHUB_FILE.match(url) or _GITHUB_RAW_FILE.match(url)
        if match is None or (match.group("owner").lower(), match.group("repo").lower()) != (
            self.owner.lower(),
            self.name.lower(),
        ):
            return None
        kind = match.groupdict().get("kind")
        if kind is None and match.re is _GITHUB_FILE:  # the repository's own page
            return None
        path = posixpath.normpath(unquote(match.group("path") or "/").strip("/") or ".")
        if path == ".." or path.startswith("../"):
            return None
        if self.folder:
            if path != self.folder and not path.startswith(f"{self.folder}/"):
                return None
            path = path[len(self.folder) + 1 :]
        return ("" if path == "." else path), kind == "tree"


def github_repository(repo_url: str | None, notes_folder: Path) -> GitHubRepository | None:
    """The repository on GitHub that ``repo_url`` names (None if it names none), with the notes folder's
    path in the Git work tree that holds it (the nearest folder with a ``.git`` at or above
    ``notes_folder``, an absolute path; without one, the notes folder is taken for the repository's root)."""
    match = _GITHUB_FILE.match(repo_url.strip()) if repo_url else None
    if match is None or match.group("kind"):
        return None
    folder = ""
    for parent in [notes_folder, *notes_folder.parents]:
        if (parent / ".git").exists():
            folder = notes_folder.relative_to(parent).as_posix()
            break
    name = match.group("repo").removesuffix(".git")
    return GitHubRepository(match.group("owner"), name, "" if folder == "." else folder)


class RepositoryFiles:
    """The files of a repository, looked up by path, by lower-cased path and by name; ``github``: where the
    repository is on GitHub, for links to its files there."""

    def __init__(self, paths: Iterable[str], github: GitHubRepository | None = None) -> None:
        self.github = github
        self.paths = set(paths)
        self._lower: dict[str, list[str]] = {}
        self._by_name: dict[str, list[str]] = {}
        self._by_lower_name: dict[str, list[str]] = {}
        for path in sorted(self.paths):
            self._lower.setdefault(path.lower(), []).append(path)
            self._by_name.setdefault(posixpath.basename(path), []).append(path)
            self._by_lower_name.setdefault(posixpath.basename(path).lower(), []).append(path)

    def find(self, note: str, url: str) -> tuple[str, How | None] | None:
        """The file ``url`` (written in ``note``) means: (path, None) when it is where it points,
        (path, rule) when found by a rule, None when no file fits or the URL names no local file."""
        own = self.github.path(url) if self.github else None
        if own is not None:
            path, is_folder = own
            if is_folder or not path:
                pages = [posixpath.join(path, name) for name in _FOLDER_PAGES]
                found = next((page for page in pages if page in self.paths), None)
                return (found, "github") if found else None
            if path in self.paths:
                return path, "github"
            local: tuple[str, bool] | None = (path, True)  # a file moved since: looked for like ``/path``
        else:
            local = local_path(url)
        if local is None:
            return None
        written, from_root = local
        folder = posixpath.dirname(note)
        direct = _join("", written) if from_root else _join(folder, written)
        if direct in self.paths:
            return direct, None
        for base in _folders_up(folder):
            candidate = _join(base, written)
            if candidate is not None and candidate in self.paths:
                return candidate, "folder"
        if direct is not None:
            same = self._lower.get(direct.lower(), [])
            if len(same) == 1:
                return same[0], "case"
        name = posixpath.basename(written)
        named = self._by_name.get(name) or self._by_lower_name.get(name.lower(), [])
        chosen = _best_by_name(named, written, folder)
        return (chosen, "name") if chosen else None


def _join(folder: str, path: str) -> str | None:
    """``folder/path`` normalised, or None when it climbs out of the repository."""
    joined = posixpath.normpath(posixpath.join(folder, path))
    return None if joined.startswith("../") or joined in ("..", ".") else joined


def _folders_up(folder: str) -> list[str]:
    """``a/b/c`` → ``a/b/c``, ``a/b``, ``a``, and the root."""
    found = []
    while folder:
        found.append(folder)
        folder = posixpath.dirname(folder)
    return [*found, ""]


def _best_by_name(candidates: list[str], written: str, folder: str) -> str | None:
    """The one file among ``candidates`` (same name) that fits a written path best, or None if it is a tie."""
    if len(candidates) <= 1:
        return candidates[0] if candidates else None
    wanted = [part for part in written.split("/") if part not in ("", ".", "..")]

    def common_tail(path: str) -> int:
        parts, count = path.split("/"), 0
        while count < min(len(parts), len(wanted)) and parts[-1 - count] == wanted[-1 - count]:
            count += 1
        return count

    here = folder.split("/") if folder else []

    def common_head(path: str) -> int:
        parts, count = path.split("/")[:-1], 0
        while count < min(len(parts), len(here)) and parts[count] == here[count]:
            count += 1
        return count

    ranked = sorted(candidates, key=lambda path: (-common_tail(path), -common_head(path)))
    first, second = ranked[0], ranked[1]
    if (common_tail(first), common_head(first)) == (common_tail(second), common_head(second)):
        return None
    return first
