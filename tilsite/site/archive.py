"""The generated pages that list notes: every note by date (newest first) and by folder, with counts; and the
home page of notes that have none."""

from __future__ import annotations

import datetime as dt
import posixpath
from collections import Counter, defaultdict
from dataclasses import dataclass

from tilsite.site.render import escape_markdown_text, relative_link
from tilsite.site.words import ENGLISH, Words


@dataclass(slots=True, frozen=True)
class ArchiveEntry:
    path: str
    """The note's path on the site (``.md``)."""
    title: str
    date: dt.date | None


def archive_markdown(entries: list[ArchiveEntry], page_path: str, words: Words = ENGLISH) -> str:
    """Markdown of the index page at ``page_path`` listing ``entries`` by month and by folder, in ``words``'
    language."""
    dated = sorted((entry for entry in entries if entry.date), key=lambda entry: (entry.date, entry.path), reverse=True)
    undated = sorted((entry for entry in entries if not entry.date), key=lambda entry: entry.path)
    lines = [f"# {escape_markdown_text(words.archive)}", ""]
    lines.append(words.notes_dated.format(notes=len(entries), dated=len(dated)))
    lines += ["", f"## {words.by_date}", ""]
    months: dict[str, list[ArchiveEntry]] = defaultdict(list)
    for entry in dated:
        assert entry.date is not None
        months[entry.date.strftime("%Y-%m")].append(entry)
    shared = _shared_titles(entries)
    for month, items in months.items():
        lines += [f"### {month} ({len(items)})", ""]
        lines += [_item(entry, page_path, with_date=True, shared=shared) for entry in items]
        lines.append("")
    if undated:
        lines += [f"### {words.undated} ({len(undated)})", ""]
        lines += [_item(entry, page_path, with_date=False, shared=shared) for entry in undated]
        lines.append("")
    lines += [f"## {words.by_folder}", ""]
    folders: dict[str, list[ArchiveEntry]] = defaultdict(list)
    for entry in sorted(entries, key=lambda entry: entry.path):
        folders[posixpath.dirname(entry.path)].append(entry)
    for folder in sorted(folders):
        items = folders[folder]
        lines += [f"### {escape_markdown_text(folder or words.top_level)} ({len(items)})", ""]
        lines += [_item(entry, page_path, with_date=True) for entry in items]
        lines.append("")
    return "\n".join(lines)


def folder_listing(index_path: str, titles: dict[str, str]) -> str:
    """Markdown that lists the notes below the folder of ``index_path`` (a README or index), as GitHub lists a
    folder's files above its README: the folder's own notes, then each folder below with its notes. ``titles``:
    each page of the site (path → title)."""
    folder = posixpath.dirname(index_path)
    prefix = f"{folder}/" if folder else ""
    below: dict[str, list[ArchiveEntry]] = defaultdict(list)
    for path in sorted(titles, key=lambda path: path.split("/")):
        if path != index_path and path.startswith(prefix):
            below[posixpath.dirname(path[len(prefix) :])].append(ArchiveEntry(path, titles[path], None))
    lines = [_item(entry, index_path, with_date=False) for entry in below.pop("", [])]
    for sub, entries in below.items():
        lines.append(f"- {escape_markdown_text(sub)}")
        lines += [f"    {_item(entry, index_path, with_date=False)}" for entry in entries]
    return "\n".join(lines)


def _shared_titles(entries: list[ArchiveEntry]) -> set[str]:
    """Titles that several notes have (``Basic`` in four folders): a list by date names their folders too."""
    counts = Counter(entry.title for entry in entries)
    return {title for title, count in counts.items() if count > 1}


def _item(entry: ArchiveEntry, page_path: str, with_date: bool, shared: set[str] | None = None) -> str:
    link = relative_link(entry.path, "", page_path)
    when = f"{entry.date.isoformat()} · " if with_date and entry.date else ""
    folder = posixpath.dirname(entry.path)
    where = f" · {escape_markdown_text(folder)}" if shared and entry.title in shared and folder else ""
    return f"- {when}[{escape_markdown_text(entry.title)}]({link}){where}"


LATEST = 15
"""Notes the generated home page lists."""


def home_markdown(entries: list[ArchiveEntry], title: str, pages: list[tuple[str, str]], words: Words = ENGLISH) -> str:
    """Markdown of the home page (``index.md``) of notes that have none: how many there are, links to the
    generated ``pages`` (``(title, path)``) and the latest notes (the first by path when none has a date)."""
    dated = sorted((entry for entry in entries if entry.date), key=lambda entry: (entry.date, entry.path), reverse=True)
    shown = dated[:LATEST] or sorted(entries, key=lambda entry: entry.path)[:LATEST]
    folders = {entry.path.split("/", 1)[0] for entry in entries if "/" in entry.path}
    count = words.count_notes(len(entries)) + (words.count_folders(len(folders)) if folders else "")
    lines = [f"# {escape_markdown_text(title)}", "", f"{count}."]
    if pages:
        shortcuts = " · ".join(
            f"[{escape_markdown_text(name)}]({relative_link(path, '', 'index.md')})" for name, path in pages
        )
        lines += ["", shortcuts]
    lines += ["", f"## {words.latest if dated else words.all_notes}", ""]
    lines += [_item(entry, "index.md", with_date=True, shared=_shared_titles(entries)) for entry in shown]
    return "\n".join([*lines, ""])
