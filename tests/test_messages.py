"""Warnings grouped by kind: one line per kind, with the count, the notes and the likely fix."""

from __future__ import annotations

from tilsite.site.messages import SHOWN_NOTES, WarningGroups

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
    assert groups.add("Doc file 'README.md' contains a link '#next-auth', but there is no such anchor on this page.")
    assert groups.add(
        "Doc file 'README.md' contains a link 'vim/x.md', but the target is not found among documentation files."
    )
    assert not groups.add("Something else entirely")
    assert len(groups) == 14
    lines = groups.lines()  # the most frequent kind first
    assert len(lines) == 3
    assert lines[0].startswith("10 links to files that are not in the repository, in 9 notes: ")
    assert "notes/n0.md (img/a.png, img/b.png)" in lines[0]
    assert f"and {9 - SHOWN_NOTES} more. Fix the paths or add the files." in lines[0]
    assert "2 links to headings that do not exist, in 2 notes: x.md (y.md#z), README.md (#next-auth)" in lines[1]
    assert lines[2] == "2 files: old/a.md, old/b.md: is not UTF-8; read it as cp949 (Korean). Save it as UTF-8."
    assert all("\n" not in line for line in lines)
