"""Warnings grouped by kind: one line per kind, with the count, the notes and the likely fix."""

from __future__ import annotations

from tilsite.messages import SHOWN_NOTES, WarningGroups

MISSING = "Doc file '{}' contains a link '{}', but the target 'x' is not found among documentation files."
ANCHOR = "Doc file '{}' contains a link '{}', but the doc 'y.md' does not contain an anchor '#z'."


def test_groups_by_kind_with_counts_notes_and_fix() -> None:
    groups = WarningGroups()
    for number in range(8):
        assert groups.add(MISSING.format(f"notes/n{number}.md", "img/a.png"))
    assert groups.add(MISSING.format("notes/n0.md", "img/b.png"))
    assert groups.add(ANCHOR.format("x.md", "y.md#z"))
    assert groups.add("tilsite: old/a.md: is not UTF-8; read it as cp949 (Korean). Save it as UTF-8.")
    assert groups.add("old/b.md: is not UTF-8; read it as cp949 (Korean). Save it as UTF-8.")
    assert not groups.add("Something else entirely")
    assert len(groups) == 12
    lines = groups.lines()  # the most frequent kind first
    assert len(lines) == 3
    assert lines[0].startswith("9 links to files that are not in the repository, in 8 notes: ")
    assert "notes/n0.md (img/a.png, img/b.png)" in lines[0]
    assert f"and {8 - SHOWN_NOTES} more. Fix the paths or add the files." in lines[0]
    assert "1 link to a heading that does not exist, in 1 note: x.md (y.md#z)" in lines[2]
    assert lines[1] == "2 files: old/a.md, old/b.md: is not UTF-8; read it as cp949 (Korean). Save it as UTF-8."
    assert all("\n" not in line for line in lines)
