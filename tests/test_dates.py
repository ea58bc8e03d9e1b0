"""A note's date: front matter, then its file name, then the first commit of its content (renames followed)."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import pytest

from tilsite.notes.dates import date_from_name, git_first_commit_dates

from .shapes_repo import MOVED_NOTE, make_shapes_repo


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("TIL_Git_n_Github_241016", dt.date(2024, 10, 16)),
        ("DAY22_241031", dt.date(2024, 10, 31)),
        ("2024-10-31-note", dt.date(2024, 10, 31)),
        ("20241031", dt.date(2024, 10, 31)),
        ("til-24-10-16", dt.date(2024, 10, 16)),
        ("2024년 10월 16일 회고", dt.date(2024, 10, 16)),
        ("python-3.11.7", None),
        ("DAY99", None),
    ],
)
def test_dates_in_file_names(name: str, expected: dt.date | None) -> None:
    assert date_from_name(name) == expected


def test_a_moved_note_keeps_the_date_it_was_first_committed(tmp_path: Path) -> None:
    root = make_shapes_repo(tmp_path / "TIL")
    dates = git_first_commit_dates(root)
    assert dates[(root / MOVED_NOTE[1]).resolve()] == dt.date(2024, 9, 3)
    assert dates[(root / "git/commands.md").resolve()] == dt.date(2024, 12, 20)


def test_without_the_history_of_contents_notes_are_dated_where_they_are(tmp_path: Path, monkeypatch) -> None:
    root = make_shapes_repo(tmp_path / "TIL")
    real_run = subprocess.run

    def no_renames(command: list[str], *args: object, **kwargs: object) -> object:
        if "-M" in command:  # as in a clone whose old file contents are missing
            raise subprocess.CalledProcessError(128, command, "", "fatal: unable to read 6fe7b67")
        return real_run(command, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(subprocess, "run", no_renames)
    dates = git_first_commit_dates(root)
    assert dates[(root / MOVED_NOTE[1]).resolve()] == dt.date(2024, 12, 20)


def test_outside_git_there_are_no_commit_dates(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# a\n", encoding="utf-8")
    assert git_first_commit_dates(tmp_path) == {}
