"""The work folder's layout (tilsite.workdir)."""

from __future__ import annotations

from pathlib import Path

from tilsite.workdir import WorkDir


def test_files_of_earlier_versions_are_named_only_in_a_folder_that_holds_tilsites_cache(tmp_path: Path) -> None:
    work = WorkDir(tmp_path / "shared")
    work.root.mkdir()
    for name in ("related.json", "last-build", "site-vectors-ab12.bin"):
        (work.root / name).write_text("theirs", encoding="utf-8")
    assert work.earlier_files == []  # a folder shared with other things: their files keep their names
    work.cache.write_bytes(b"")
    assert {path.name for path in work.earlier_files if path.exists()} == {
        "related.json",
        "last-build",
        "site-vectors-ab12.bin",
    }
