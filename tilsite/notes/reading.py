"""Find and read note files: decoding, front matter and the problems worth a warning."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from tilsite.notes.notebooks import NotebookError, notebook_to_markdown
from tilsite.notes.sources import MARKDOWN_SUFFIXES, NOTEBOOK_SUFFIX, walk_files
from tilsite.notes.wikilinks import obsidian_vault, uses_wiki_links, wiki_markdown

MAX_NOTE_BYTES = 2_000_000
"""Notes larger than this are indexed only up to this many bytes (the page still renders whole)."""

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?\r?\n)?(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_LEGACY_ENCODINGS = ("cp949",)


@dataclass(slots=True, frozen=True)
class Note:
    """One Markdown note, read and decoded."""

    path: str
    """Path relative to the docs folder, with ``/`` separators."""
    text: str
    """The Markdown body without front matter (in notes that use wiki links, ``[[Note]]`` is written as the
    Markdown link it stands for: ``with_wiki_links``)."""
    body_line: int
    """0-based line in the file where ``text`` starts (after front matter)."""
    meta: dict[str, object] = field(default_factory=dict)
    """Front matter as parsed YAML (empty when absent or invalid)."""
    wiki_urls: tuple[str, ...] = ()
    """The URLs of the links that ``text`` holds for its wiki links."""
    named: bool = False
    """The note is titled by its file's name, as in Obsidian (it is in an Obsidian vault)."""


@dataclass(slots=True, frozen=True)
class NoteProblem:
    """A file that was skipped or read with a caveat."""

    path: str
    """Path relative to the docs folder."""
    message: str
    """One line saying what happened and what to do."""
    skipped: bool = False
    """The file is not a readable note and was left out."""
    legacy_encoding: str | None = None
    """The encoding the note was decoded with, when it is not plain UTF-8 (MkDocs cannot read it as it is)."""

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def iter_note_paths(docs_dir: Path) -> Iterator[Path]:
    """Yield the Markdown files below ``docs_dir`` in a stable order, skipping hidden folders and symbolic
    links that lead out of ``docs_dir``."""
    for _, path in walk_files(docs_dir):
        if path.suffix.lower() in MARKDOWN_SUFFIXES:
            yield path


REPLACED = "utf-8 with replacement characters"
"""What ``decode_note`` reports for UTF-8 text with a few bytes that are not UTF-8."""


def decode_note(data: bytes) -> tuple[str, str | None]:
    """Decode note bytes as UTF-8, else as Korean cp949; return (text, encoding used if not plain UTF-8).

    UTF-8 text with a few stray bytes (most of its non-ASCII text valid UTF-8) is decoded with
    U+FFFD for those bytes (``REPLACED``): read as cp949, the rest would turn to nonsense.
    Raises ``UnicodeDecodeError`` when the bytes look binary.
    """
    if b"\x00" in data[:8192]:
        raise UnicodeDecodeError("utf-8", data[:1], 0, 1, "contains NUL bytes (binary file)")
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        pass
    replaced = data.decode("utf-8-sig", errors="replace")
    invalid = replaced.count("\ufffd") - data.count("\ufffd".encode())
    valid = sum(1 for character in replaced if ord(character) > 127 and character != "\ufffd")
    if valid >= invalid:
        return replaced, REPLACED
    for encoding in _LEGACY_ENCODINGS:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    return replaced, REPLACED


def split_front_matter(text: str) -> tuple[dict[str, object], str, int]:
    """Split YAML front matter off ``text``; return (meta, body, number of lines removed)."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text, 0
    import yaml

    try:
        meta = yaml.safe_load(match.group(1) or "") or {}
    except yaml.YAMLError:
        meta = {}
    if not isinstance(meta, dict):
        meta = {}
    removed = match.group(0)
    return meta, text[len(removed) :], removed.count("\n")


def read_note(path: Path, docs_dir: Path, problems: list[NoteProblem], uri: str | None = None) -> Note | None:
    """Read one note; on trouble append a ``NoteProblem`` and return None (or a partial note).

    ``uri`` is the note's path on the site; by default its path below ``docs_dir``.
    A Jupyter notebook (``.ipynb``) is read as the Markdown it is published as.
    """
    relative = uri if uri is not None else path.relative_to(docs_dir).as_posix()
    try:
        data = path.read_bytes()
    except OSError as exc:
        problems.append(NoteProblem(relative, f"cannot be read ({exc.strerror}); skipped.", skipped=True))
        return None
    if len(data) > MAX_NOTE_BYTES:
        problems.append(
            NoteProblem(
                relative,
                f"is {len(data) // 1_000_000} MB; only the first {MAX_NOTE_BYTES // 1_000_000} MB"
                " are indexed for related notes and search.",
            )
        )
        data = _cut_at_character(data, MAX_NOTE_BYTES)
    try:
        text, encoding = decode_note(data)
    except UnicodeDecodeError:
        problems.append(NoteProblem(relative, "is not text (it holds NUL bytes); skipped.", skipped=True))
        return None
    if encoding == REPLACED:
        line = text[: text.index("\ufffd")].count("\n") + 1 if "\ufffd" in text else 1
        problems.append(
            NoteProblem(
                relative,
                f"has bytes that are not UTF-8 (first on line {line}); they show as \ufffd. Save it as UTF-8.",
                legacy_encoding=encoding,
            )
        )
    elif encoding:
        problems.append(
            NoteProblem(
                relative,
                f"is not UTF-8; read it as {encoding} (Korean). Save it as UTF-8 to keep it portable.",
                legacy_encoding=encoding,
            )
        )
    try:
        text = _as_markdown(path, text)
    except NotebookError as exc:
        problems.append(NoteProblem(relative, f"{exc}; skipped. Open and save it in Jupyter.", skipped=True))
        return None
    # Lines end in \n only: Windows' \r\n and old Macs' lone \r (which Markdown parsers also read as a line end).
    meta, body, removed_lines = split_front_matter(text.replace("\r\n", "\n").replace("\r", "\n"))
    return Note(relative, body, removed_lines, meta, named=obsidian_vault(path.parent))


def with_wiki_links(notes: list[Note]) -> list[Note]:
    """``notes`` with their wiki links written as Markdown links, if they use wiki links (an Obsidian vault,
    or notes that link each other by them: ``tilsite.notes.wikilinks``); as they are otherwise."""
    if not uses_wiki_links({note.path: note.text for note in notes}, any(note.named for note in notes)):
        return notes
    rewritten = []
    for note in notes:
        urls: list[str] = []
        text = wiki_markdown(note.text, urls=urls)
        rewritten.append(replace(note, text=text, wiki_urls=tuple(urls)) if text != note.text else note)
    return rewritten


def page_source(path: Path) -> str:
    """The Markdown MkDocs should render for the note file at ``path``.

    Differs from the file's bytes read as UTF-8 for notebooks and for notes saved in cp949.
    """
    text, _ = decode_note(path.read_bytes())
    try:
        return _as_markdown(path, text)
    except NotebookError:
        return text


def _as_markdown(path: Path, text: str) -> str:
    """The Markdown of a note file's text: notebooks are converted, Markdown is returned as is."""
    return notebook_to_markdown(text) if path.suffix.lower() == NOTEBOOK_SUFFIX else text


def _cut_at_character(data: bytes, limit: int) -> bytes:
    """Cut to at most ``limit`` bytes without splitting a UTF-8 character."""
    for end in range(limit, max(limit - 4, 0), -1):
        try:
            data[:end].decode("utf-8")
        except UnicodeDecodeError:
            continue
        return data[:end]
    return data[:limit]
