"""Warnings grouped by kind: one line per kind with a count, where it happens and the likely fix.

A real repository can give a build hundreds of warnings (a folder of images that
moved, headings renamed since they were linked). One line per kind says more
than a screenful: ``12 links to files that are not in the repository, in 5
notes: a.md (x.png), ... Fix the paths or add the files.`` The CLI groups MkDocs'
link warnings and tilsite's own notes about files; ``--verbose`` shows each one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

SHOWN_NOTES = 5
"""Notes named in a grouped line; the rest are counted."""


@dataclass(slots=True, frozen=True)
class _Kind:
    pattern: re.Pattern[str]
    """Matches one warning of this kind; groups ``note`` and ``detail``."""
    one: str
    """What one warning is about (``link to a file that is not in the repository``)."""
    many: str
    """The same in the plural."""
    fix: str
    """The likely fix."""


_KINDS = (
    _Kind(
        re.compile(r"^Doc file '(?P<note>.+)' contains a link '(?P<detail>.*)', but the target (?:'.*' )?is not found"),
        "link to a file that is not in the repository",
        "links to files that are not in the repository",
        "Fix the paths or add the files.",
    ),
    _Kind(
        re.compile(
            r"^Doc file '(?P<note>.+)' contains a link '(?P<detail>.*)', but (?:the doc '.*' does not contain"
            r"|there is no such anchor on this page)"
        ),
        "link to a heading that does not exist",
        "links to headings that do not exist",
        "Link to the heading's current id (its ¶ link on the site shows it).",
    ),
    _Kind(
        re.compile(r"^Doc file '(?P<note>.+)' contains an absolute link '(?P<detail>.*)'"),
        "absolute link left as it is",
        "absolute links left as they are",
        "Write them relative to the note, or set validation.links.absolute_links.",
    ),
    _Kind(
        re.compile(r"^Doc file '(?P<note>.+)' contains a link to '(?P<detail>.*)' which is excluded"),
        "link to a page left out of the site",
        "links to pages left out of the site",
        "Link to a published page.",
    ),
)
_TILSITE_NOTE = re.compile(r"^(?:tilsite: )?(?P<note>[^:\n]+\.(?:md|MD|markdown|ipynb)): (?P<message>.+)$")
"""tilsite's own one-line notes about a file: ``tilsite: sparta/x.md: is not UTF-8; ...``."""


@dataclass(slots=True)
class _Group:
    one: str
    many: str
    fix: str
    details: dict[str, list[str]] = field(default_factory=dict)
    """What each note has of this kind (link targets), by note."""
    count: int = 0


class WarningGroups:
    """Collects warnings; ``lines()`` gives one line per kind."""

    def __init__(self) -> None:
        self._groups: dict[str, _Group] = {}
        self._other: list[str] = []

    def add(self, message: str) -> bool:
        """Take one warning; False when it is of no known kind (print it as it is)."""
        for kind in _KINDS:
            match = kind.pattern.match(message)
            if match:
                group = self._groups.setdefault(kind.many, _Group(kind.one, kind.many, kind.fix))
                group.details.setdefault(match.group("note"), []).append(match.group("detail"))
                group.count += 1
                return True
        match = _TILSITE_NOTE.match(message)
        if match:
            text = match.group("message")
            group = self._groups.setdefault(text, _Group("", "", text))
            group.details.setdefault(match.group("note"), [])
            group.count += 1
            return True
        return False

    def __len__(self) -> int:
        return sum(group.count for group in self._groups.values())

    def lines(self) -> list[str]:
        """One line per kind, most frequent first."""
        found = []
        for group in sorted(self._groups.values(), key=lambda item: -item.count):
            notes = list(group.details.items())
            named = ", ".join(
                f"{note} ({', '.join(dict.fromkeys(details))})" if details else note
                for note, details in notes[:SHOWN_NOTES]
            )
            if len(notes) > SHOWN_NOTES:
                named += f" and {len(notes) - SHOWN_NOTES} more"
            if group.many:
                where = f"in {len(notes)} note{'s' if len(notes) != 1 else ''}"
                noun = group.one if group.count == 1 else group.many
                found.append(f"{group.count} {noun}, {where}: {named}. {group.fix}")
            else:
                files = f"{len(notes)} file{'s' if len(notes) != 1 else ''}"
                found.append(f"{files}: {named}: {group.fix}" if len(notes) > 1 else f"{named}: {group.fix}")
        return found
