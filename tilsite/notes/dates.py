"""A note's date: from front matter, else from its file name, else from the commit that added it."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from pathlib import Path
from typing import Literal

Source = Literal["front matter", "file name", "git"]

_FULL = re.compile(r"(?<!\d)((?:19|20)\d\d)[-_.]?(0[1-9]|1[0-2])[-_.]?(0[1-9]|[12]\d|3[01])(?!\d)")
"""``2024-10-31``, ``2024_10_31``, ``20241031``."""
_SHORT = re.compile(r"(?<!\d)(\d\d)(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?!\d)")
"""``241031`` as in ``DAY22_241031`` or ``250526_TIL`` (read as 20YY)."""
_SEPARATED = re.compile(r"(?<![\d.])(\d\d)[-_.](0?[1-9]|1[0-2])[-_.](0?[1-9]|[12]\d|3[01])(?![\d.])")
"""``24-10-31`` or ``24.10.31`` (read as 20YY)."""
_KOREAN = re.compile(r"((?:19|20)\d\d)년\s*(0?[1-9]|1[0-2])월\s*(0?[1-9]|[12]\d|3[01])일")
"""``2024년 10월 31일``."""
_FRONT_MATTER_KEYS = ("date", "created", "Date")


def date_from_front_matter(meta: dict[str, object]) -> dt.date | None:
    """The ``date`` (or ``created``) of a note's front matter, if it is a date."""
    for key in _FRONT_MATTER_KEYS:
        value = meta.get(key)
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            found = date_from_name(value)
            if found:
                return found
    return None


def date_from_name(name: str) -> dt.date | None:
    """A date written in a file name: ``2024-10-31-x``, ``20241031``, ``DAY22_241031``, ``250526_TIL``,
    ``TIL_Git_24-10-16``, ``2024년 10월 16일``."""
    for pattern, century in ((_FULL, 0), (_KOREAN, 0), (_SHORT, 2000), (_SEPARATED, 2000)):
        for match in pattern.finditer(name):
            year, month, day = (int(group) for group in match.groups())
            try:
                return dt.date(year + century, month, day)
            except ValueError:
                continue
    return None


def git_first_commit_dates(root: Path) -> dict[Path, dt.date]:
    """Date of the commit that first added each file below ``root``, following renames (a note moved to
    another folder keeps the date it was written); empty outside a Git work tree.

    One ``git log`` over the whole history, so it costs the same for 10 notes or 2,000.
    A shallow clone only knows its last commit: fetch the full history (``fetch-depth: 0``).
    Where renames cannot be followed (a clone without some file contents), files are dated by
    the commit that added them at their present path.
    """
    try:
        top = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"], cwd=root, capture_output=True, text=True, check=True, timeout=30
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return {}
    for renames in ("-M", "--no-renames"):
        command = ["git", "-c", "core.quotepath=off", "log", "--reverse", renames, "-z", "--name-status"]
        try:
            log = subprocess.run(
                [*command, "--format=%x01%as", "--", "."],
                cwd=root,
                capture_output=True,
                text=True,
                encoding="utf-8",
                errors="surrogateescape",
                check=True,
                timeout=120,
            ).stdout
        except (OSError, subprocess.SubprocessError):
            continue
        return {(Path(top) / path).resolve(): date for path, date in _first_dates(log).items()}
    return {}


def _first_dates(log: str) -> dict[str, dt.date]:
    """{path: date it was first added} from ``git log --reverse -z --name-status --format=%x01%as``."""
    dates: dict[str, dt.date] = {}
    current: dt.date | None = None
    fields = iter(log.split("\0"))
    for field in fields:
        field = field.lstrip("\n")
        if field.startswith("\x01"):
            try:
                current = dt.date.fromisoformat(field[1:].strip())
            except ValueError:
                current = None
        elif current is None or not field:
            continue
        elif field[0] in "RC":  # R100 old new: the file keeps the date of the one it was moved from
            old, new = next(fields, ""), next(fields, "")
            dates[new] = dates.get(old, current)
        elif field[0] in "AMTD":
            path = next(fields, "")
            dates.setdefault(path, current)
    return dates


def note_date(meta: dict[str, object], path: Path, git_dates: dict[Path, dt.date]) -> tuple[dt.date, Source] | None:
    """The date of the note at ``path`` and where it came from, or None when nothing says."""
    found = date_from_front_matter(meta)
    if found:
        return found, "front matter"
    found = date_from_name(path.stem)
    if found:
        return found, "file name"
    found = git_dates.get(path.resolve())
    if found:
        return found, "git"
    return None
