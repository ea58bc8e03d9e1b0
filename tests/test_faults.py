"""Fault injection: hostile links, damaged caches, full and read-only disks, bad bytes and bad settings.

Each test states the exact outcome: what is published, what is kept, the one-line message and the exit code.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import sqlite3
import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tilsite.cli import cli

from .conftest import FakeEmbedder

SECRET = "SECRET-MARKER-7f3a91"
"""Text of files outside the project: it must appear nowhere in what a build writes."""


def _run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run the CLI; a failure must be a handled one (a message and an exit code), never an exception."""
    result = CliRunner().invoke(cli, list(args), env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"unhandled {result.exception!r}:\n{result.output}") from result.exception
    return result.exit_code, result.output


def _build(project: Path, *extra: str) -> tuple[int, str]:
    return _run("build", "-f", str(project / "mkdocs.yml"), *extra)


def _set(project: Path, setting: str) -> None:
    """Add a line under the fixture site's ``- tilsite:`` entry."""
    config = project / "mkdocs.yml"
    text = config.read_text(encoding="utf-8")
    assert "      related_count: 3\n" in text
    config.write_text(text.replace("      related_count: 3\n", f"      related_count: 3\n      {setting}\n"), "utf-8")


def _error_lines(output: str) -> list[str]:
    """The lines of a failed command's output that are not MkDocs' or tilsite's progress."""
    return [line for line in output.splitlines() if line.startswith("Error")]


def _mentions(folder: Path, text: str) -> list[str]:
    """Files below ``folder`` whose bytes contain ``text`` (SQLite files included)."""
    found = []
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink() and text.encode() in path.read_bytes():
            found.append(path.relative_to(folder).as_posix())
    return found


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    """A folder outside the project with a secret note and a secret text file."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.md").write_text(f"# 비밀\n\n## 과적합 dropout\n\n{SECRET} 과적합 dropout 정규화\n", "utf-8")
    (folder / "secret.txt").write_text(f"{SECRET}\n", encoding="utf-8")
    return folder


# -- 1. nothing outside the project is read or published -------------------------------------------------------


def test_symlinks_out_of_docs_dir_are_never_read(site: Path, secret: Path, fake_model: FakeEmbedder) -> None:
    docs = site / "docs"
    (docs / "leak.md").symlink_to(secret / "secret.md")
    (docs / "outside").symlink_to(secret, target_is_directory=True)
    (docs / "ml" / "loop").symlink_to(docs, target_is_directory=True)  # round in a loop
    (site / "img" / "leak.png").symlink_to(secret / "secret.txt")
    code, output = _build(site)
    assert code == 0, output
    assert not _mentions(site / "site", SECRET) and not _mentions(site / ".tilsite", SECRET)
    assert not (site / "site" / "leak").exists() and not (site / "site" / "img" / "leak.png").exists()
    warnings = [line for line in output.splitlines() if "symbolic link" in line]
    assert len(warnings) == 2, output
    assert "3 symbolic links that lead outside docs_dir or round in a loop: leak.md, ml/loop, outside" in warnings[0]
    assert "1 symbolic link that leads outside asset_dirs" in warnings[1]
    assert "tilsite: tilsite:" not in output
    assert sorted(fake_model.embedded_texts) == sorted(set(fake_model.embedded_texts))  # each text once
    assert not [text for text in fake_model.embedded_texts if SECRET in text]


def test_symlinks_out_of_an_inited_repository_are_never_read(
    tmp_path: Path, secret: Path, fake_model: FakeEmbedder
) -> None:
    from .shapes_repo import make_shapes_repo

    repo = make_shapes_repo(tmp_path / "TIL")
    (repo / "notes.txt").symlink_to(secret / "secret.txt")
    (repo / "leak.md").symlink_to(secret / "secret.md")
    (repo / "elsewhere").symlink_to(secret, target_is_directory=True)
    (repo / "git" / "again").symlink_to(repo, target_is_directory=True)
    (repo / "sparta" / "same-note.md").symlink_to(repo / "git" / "commands.md")  # inside: allowed
    (repo / "links.md").write_text("# 링크\n\n[같은 노트](sparta/same-note.md)\n", encoding="utf-8")
    code, output = _run("init", str(repo))
    assert code == 0, output
    assert "Found 15 notes" in output  # the 15 notes (not the drawings); the link inside is the note it links to
    code, output = _build(repo)
    assert code == 0, output
    assert not _mentions(repo / "site", SECRET) and not _mentions(repo / ".tilsite", SECRET)
    assert not (repo / "site" / "notes.txt").exists()
    assert "4 symbolic links that lead outside notes_dir or round in a loop" in output
    # A note that is a link to another note of the repository is that note: one page, and its own address leads
    # there (no second copy in the navigation, search, topics or related lists).
    same = (repo / "site" / "sparta" / "same-note" / "index.html").read_text(encoding="utf-8")
    assert 'http-equiv="refresh" content="0; url=../../git/commands/"' in same and "<article" not in same
    assert "1 note is a symbolic link to another note: published once, as the note linked to" in output
    assert 'href="../git/commands/"' in (repo / "site" / "links" / "index.html").read_text(encoding="utf-8")
    sections = next((repo / "site/assets/tilsite/search").glob("sections-*.json")).read_text(encoding="utf-8")
    assert "same-note" not in sections


def test_a_note_linked_to_another_is_that_note_unless_that_one_is_left_out(tmp_path: Path) -> None:
    """An alias (`pub/x.md` → `../shell/x.md`, or a folder linked to another) is published once, as the note it
    links to; when that note is left out (`exclude_docs`), the alias is the page. A notebook's alias is its page."""
    from tilsite.notes.sources import scan_notes

    root = tmp_path / "notes"
    for name in ("shell/x.md", "drafts/secret.md"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(f"# {name}\n", encoding="utf-8")
    (root / "nb").mkdir()
    (root / "nb" / "y.md").write_text("# y\n", encoding="utf-8")
    (root / "nb" / "y.ipynb").write_text('{"cells": []}', encoding="utf-8")
    (root / "pub").mkdir()
    (root / "pub" / "x.md").symlink_to(root / "shell" / "x.md")
    (root / "pub" / "secret.md").symlink_to(root / "drafts" / "secret.md")
    (root / "pub" / "z.ipynb").symlink_to(root / "nb" / "y.ipynb")
    (root / "linux").symlink_to(root / "shell", target_is_directory=True)

    scan = scan_notes(root)
    assert scan.aliases == {
        "linux/x.md": "shell/x.md",
        "pub/x.md": "shell/x.md",
        "pub/secret.md": "drafts/secret.md",
        "pub/z.ipynb": "nb/y.ipynb",
    }
    assert {source.uri for source in scan.pages} == {"shell/x.md", "drafts/secret.md", "nb/y.md", "nb/y.ipynb.md"}
    left_out = scan_notes(root, excluded=lambda path: path.startswith("drafts/"))
    assert "pub/secret.md" in {source.uri for source in left_out.pages}  # the page, as before aliases
    assert left_out.aliases["drafts/secret.md"] == "pub/secret.md"  # left out itself; its links lead to the page


# -- 2. damaged cached vectors are detected and embedded again ------------------------------------------------


def _damage_vectors(cache: Path, count: int) -> int:
    """Overwrite ``count`` stored vectors with NaN or garbage of the right length; return how many."""
    database = sqlite3.connect(cache)
    rows = database.execute("SELECT model, text_hash, dimension FROM vectors LIMIT ?", [count]).fetchall()
    rng = np.random.default_rng(0)
    for number, (model, text_hash, dimension) in enumerate(rows):
        if number % 2:
            blob = struct.pack(f"<{dimension}f", *([float("nan")] * dimension))
        else:
            blob = rng.normal(size=dimension).astype("<f4").tobytes() * 1  # right length, not unit length
        database.execute("UPDATE vectors SET vector = ? WHERE model = ? AND text_hash = ?", [blob, model, text_hash])
    database.commit()
    database.close()
    return len(rows)


def test_damaged_cached_vectors_are_embedded_again(site: Path, fake_model: FakeEmbedder) -> None:
    assert _build(site)[0] == 0
    damaged = _damage_vectors(site / ".tilsite" / "embeddings.sqlite", 6)
    note = site / "docs" / "web" / "django.md"  # a change, so the index and related notes are made again
    note.write_text(note.read_text(encoding="utf-8") + "\n## 새 절\n\nmigrate 명령\n", encoding="utf-8")
    fake_model.calls.clear()
    code, output = _build(site)
    assert code == 0, output
    assert f"{damaged} cached vectors were damaged" in output and "embedded again" in output
    assert len(fake_model.embedded_texts) == damaged + 1  # the damaged ones and the new section
    pages = [page.read_text(encoding="utf-8") for page in (site / "site").rglob("index.html")]
    assert sum("tilsite-related" in page for page in pages) >= 4
    database = sqlite3.connect(site / ".tilsite" / "embeddings.sqlite")
    (stored,) = database.execute("SELECT value FROM derived WHERE kind = 'related'").fetchone()
    database.close()
    assert len(json.loads(stored)) >= 4
    fake_model.calls.clear()
    code, output = _build(site)  # repaired for good: nothing is embedded again
    assert code == 0 and "were damaged" not in output and not fake_model.calls, output


def test_a_model_giving_invalid_vectors_stores_nothing(site: Path, fake_model: FakeEmbedder, monkeypatch) -> None:
    monkeypatch.setattr(fake_model, "embed_batch", lambda texts, kind: np.full((len(texts), 256), np.nan, np.float32))
    code, output = _build(site)
    assert code == 1
    lines = _error_lines(output)
    assert len(lines) == 1 and "gave" in lines[0] and "not finite unit vectors; nothing was stored" in lines[0]
    database = sqlite3.connect(site / ".tilsite" / "embeddings.sqlite")
    assert database.execute("SELECT COUNT(*) FROM vectors").fetchone() == (0,)
    database.close()


# -- 3. whatever a load rejects, the next index or build writes again -----------------------------------------


@pytest.mark.parametrize(("field", "value"), [("count", 3), ("dimension", 12), ("format_version", 1)])
@pytest.mark.parametrize("repair", ["index", "build"])
def test_a_rejected_manifest_is_written_again(
    site: Path, fake_model: FakeEmbedder, field: str, value: int, repair: str
) -> None:
    config = str(site / "mkdocs.yml")
    assert _run("index", "-f", config)[0] == 0
    index_dir = site / ".tilsite" / "index"
    manifest_path = index_dir / (index_dir / "CURRENT").read_text(encoding="utf-8").strip() / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest[field] = value
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    code, output = _run("search", "-f", config, "과적합")
    assert code == 1 and len(_error_lines(output)) == 1 and "run `tilsite index`" in output
    code, output = _run(repair, "-f", config)
    assert code == 0, output
    code, output = _run("search", "-f", config, "과적합")
    assert code == 0, output


# -- 4. heading ids as MkDocs renders them, even with links MkDocs would not follow -------------------------------


def test_headings_with_script_links_keep_the_ids_mkdocs_renders(site: Path, fake_model: FakeEmbedder) -> None:
    note = "# 클로저\n\n## Click me [closures](javascript:alert(8)) now\n\n클로저 과적합 dropout 정규화\n"
    note += "\n## See [file](file:///etc/passwd) and [data](data:text/html,x)\n\n과적합 dropout 정규화 검증\n"
    (site / "docs" / "closures.md").write_text(note, encoding="utf-8")
    code, output = _build(site, "--strict")
    assert code == 0, output
    html = (site / "site" / "closures" / "index.html").read_text(encoding="utf-8")
    assert 'id="click-me-closures-now"' in html and 'id="see-file-and-data"' in html
    search = next((site / "site" / "assets" / "tilsite" / "search").glob("sections-*.json"))
    anchors = {record["anchor"] for record in json.loads(search.read_text("utf-8")) if record["path"] == "closures.md"}
    assert anchors == {"click-me-closures-now", "see-file-and-data"}


# -- 5. every failure is one line ---------------------------------------------------------------------------------


@contextlib.contextmanager
def _small_disk(folder: Path, size: str, read_only: bool = False) -> Iterator[bool]:
    """Mount a tmpfs of ``size`` on ``folder`` where this machine allows it; yields whether it did."""
    folder.mkdir(parents=True, exist_ok=True)
    options = f"size={size}" + (",ro" if read_only else "")
    try:
        mounted = (
            subprocess.run(
                ["mount", "-t", "tmpfs", "-o", options, "tilsite-test", str(folder)], capture_output=True, timeout=30
            ).returncode
            == 0
        )
    except (OSError, subprocess.SubprocessError):
        mounted = False
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", str(folder)], capture_output=True, timeout=30)


def test_a_read_only_empty_model_cache_is_one_line(site: Path, tmp_path: Path, monkeypatch) -> None:
    cache = tmp_path / "model-cache"
    with _small_disk(cache, "1m", read_only=True) as mounted:
        if not mounted:  # no mounting here: the same error, raised where the cache is first written
            real_mkdir = Path.mkdir

            def read_only(path: Path, *args: object, **kwargs: object) -> None:
                if path.is_relative_to(cache):
                    raise OSError(errno.EROFS, "Read-only file system", str(path))
                real_mkdir(path, *args, **kwargs)  # type: ignore[arg-type]

            monkeypatch.setattr(Path, "mkdir", read_only)
        code, output = _run("index", "-f", str(site / "mkdocs.yml"), env={"TILSITE_CACHE_DIR": str(cache)})
    assert code == 1, output
    lines = _error_lines(output)
    assert len(lines) == 1 and "Traceback" not in output, output
    assert "Read-only file system" in lines[0] and "TILSITE_CACHE_DIR" in lines[0]


def test_a_full_disk_while_writing_the_site_is_one_line_and_keeps_the_last_site(
    site: Path, tmp_path: Path, fake_model: FakeEmbedder, monkeypatch
) -> None:
    disk = tmp_path / "small"
    with _small_disk(disk, "2m") as mounted:
        config = site / "mkdocs.yml"
        if mounted:
            config.write_text(config.read_text(encoding="utf-8") + f"site_dir: {disk / 'site'}\n", encoding="utf-8")
            (disk / "site").mkdir()
            (disk / "site" / "old.html").write_text("the last good site", encoding="utf-8")
            site_dir = disk / "site"
        else:
            assert _build(site)[0] == 0
            site_dir = site / "site"
            (site_dir / "old.html").write_text("the last good site", encoding="utf-8")
            real_copy = shutil.copyfile

            def full(source: object, target: object, *args: object, **kwargs: object) -> object:
                if ".site-building-" in str(target):
                    raise OSError(errno.ENOSPC, "No space left on device", str(target))
                return real_copy(source, target, *args, **kwargs)  # type: ignore[arg-type]

            monkeypatch.setattr(shutil, "copyfile", full)
        code, output = _build(site)
        assert code == 1, output
        lines = _error_lines(output)
        assert len(lines) == 1 and "Traceback" not in output, output
        assert "No space left on device" in lines[0] and "the last complete site and index are kept" in lines[0]
        assert (site_dir / "old.html").read_text(encoding="utf-8") == "the last good site"
        assert not list(site_dir.parent.glob(f".{site_dir.name}-building-*"))


@pytest.mark.parametrize(
    "args",
    [
        ["search", "\udcff\udcfe 과적합"],
        ["init", "--force", "--install", "tilsite\udcff"],
        ["related", "\udcffnote.md"],
    ],
)
def test_text_that_is_not_utf8_is_one_line(site: Path, fake_model: FakeEmbedder, args: list[str]) -> None:
    assert _run("index", "-f", str(site / "mkdocs.yml"))[0] == 0
    command = [args[0], *(["-f", str(site / "mkdocs.yml")] if args[0] != "init" else [str(site)]), *args[1:]]
    code, output = _run(*command)
    assert code != 0
    assert len(_error_lines(output)) == 1 and "Traceback" not in output, output


def test_a_model_folder_that_does_not_exist_is_named(site: Path) -> None:
    _set(site, "model: /nonexistent")
    code, output = _run("index", "-f", str(site / "mkdocs.yml"))
    assert code == 1
    lines = _error_lines(output)
    assert len(lines) == 1 and "'/nonexistent': no such folder" in lines[0], output


def test_an_asset_folder_outside_the_project_is_refused(site: Path, secret: Path, fake_model: FakeEmbedder) -> None:
    relative = os.path.relpath(secret, site)
    _set(site, f"asset_dirs: [img, {relative}]")
    code, output = _build(site)
    assert code == 1
    lines = _error_lines(output)
    assert len(lines) == 1 and f"`asset_dirs` entry {relative!r}" in lines[0] and "mkdocs.yml" in lines[0], output
    assert not _mentions(site, SECRET)
    assert sorted(path.name for path in secret.iterdir()) == ["secret.md", "secret.txt"]  # nothing written there


def test_damaged_parsed_sections_are_parsed_again(site: Path, fake_model: FakeEmbedder) -> None:
    assert _build(site)[0] == 0
    pages = sorted((site / "site").rglob("index.html"))
    before = {page: page.read_text(encoding="utf-8") for page in pages}
    database = sqlite3.connect(site / ".tilsite" / "embeddings.sqlite")
    rows = database.execute("SELECT note_key FROM note_sections").fetchall()
    damage = ["not json", "[1, 2]", '[{"path": "x"}]']
    for (key,), broken in zip(rows, damage * len(rows), strict=False):
        database.execute("UPDATE note_sections SET sections = ? WHERE note_key = ?", [broken, key])
    database.commit()
    database.close()
    fake_model.calls.clear()
    code, output = _build(site)
    assert code == 0, output
    assert not fake_model.calls  # the same sections again, so no vector is missing
    assert {page: page.read_text(encoding="utf-8") for page in pages} == before


# -- 6. the work folder stays in the project ------------------------------------------------------------------


def test_a_work_dir_outside_the_project_is_refused_unless_allowed(
    site: Path, tmp_path: Path, fake_model: FakeEmbedder
) -> None:
    outside = tmp_path / "elsewhere"
    (outside / "index").mkdir(parents=True)
    (outside / "keep.txt").write_text("mine", encoding="utf-8")
    (outside / "index" / "gen-notes").mkdir()
    config = site / "mkdocs.yml"
    original = config.read_text(encoding="utf-8")
    _set(site, f"work_dir: {outside}")
    code, output = _build(site)
    assert code == 1
    lines = _error_lines(output)
    assert len(lines) == 1 and "is outside the project folder" in lines[0] and "allow_work_dir_outside" in lines[0]
    assert sorted(path.name for path in outside.rglob("*")) == ["gen-notes", "index", "keep.txt"]

    config.write_text(original, encoding="utf-8")
    _set(site, f"work_dir: {outside}\n      allow_work_dir_outside: true")
    code, output = _build(site)
    assert code == 0, output
    assert (outside / "keep.txt").read_text(encoding="utf-8") == "mine"
    assert (outside / "index" / "gen-notes").is_dir()  # a folder of that pattern, but not one tilsite made


# -- 7. a few bytes that are not UTF-8 do not lose the note ---------------------------------------------------


def test_a_note_with_a_few_bad_bytes_is_kept(site: Path, fake_model: FakeEmbedder) -> None:
    text = (
        "# 깨진 바이트\n\n## 첫 절\n\n과적합을 막는 dropout.\n\n## 둘째 절\n\n여기에 ".encode()
        + b"\xff\xfe"
        + "깨짐\n".encode()
    )
    (site / "docs" / "broken.md").write_bytes(text)
    code, output = _build(site)
    assert code == 0, output
    assert "broken.md: has bytes that are not UTF-8 (first on line 9)" in output
    assert len([line for line in output.splitlines() if "broken.md" in line and "WARNING" in line]) == 1
    html = (site / "site" / "broken" / "index.html").read_text(encoding="utf-8")
    assert "과적합을 막는 dropout." in html and "여기에 \ufffd\ufffd깨짐" in html


# -- 8. pages kept out of search stay out of tilsite's search too --------------------------------------------


def test_search_exclude_is_respected(site: Path, fake_model: FakeEmbedder) -> None:
    note = "---\nsearch:\n  exclude: true\n---\n\n# 비공개 메모\n\n## 과적합\n\n과적합 dropout 정규화\n"
    (site / "docs" / "private.md").write_text(note, encoding="utf-8")
    code, output = _build(site)
    assert code == 0, output
    search = site / "site" / "assets" / "tilsite" / "search"
    records = json.loads(next(search.glob("sections-*.json")).read_text(encoding="utf-8"))
    assert records and "private.md" not in {record["path"] for record in records}
    settings = json.loads((search / "index.json").read_text(encoding="utf-8"))
    vectors = next(search.glob("vectors-*.bin")).stat().st_size
    assert settings["count"] == len(records) and vectors == len(records) * (settings["dimension"] + 4)
    assert (site / "site" / "private" / "index.html").is_file()  # still a page of the site


# -- 9. what killed builds leave behind is cleaned up -----------------------------------------------------------


def test_folders_left_by_killed_builds_are_removed(site: Path, fake_model: FakeEmbedder) -> None:
    assert _build(site)[0] == 0
    dead = 2**22 + 12345  # above Linux's default pid_max: no process has it
    assert not Path(f"/proc/{dead}").exists()
    left = [site / f".site-building-{dead}-abc", site / ".tilsite" / "index" / f"gen-{dead}-x1y2z3w4"]
    running = site / f".site-building-{os.getpid()}-mine"  # another build of this very moment
    for folder in [*left, running]:
        folder.mkdir()
        (folder / ("manifest.json" if "gen-" in folder.name else "half.html")).write_text("{", encoding="utf-8")
    assert _build(site)[0] == 0
    assert not [folder for folder in left if folder.exists()]
    assert running.is_dir()


def test_browser_models_of_other_projects_are_kept_while_in_use(tmp_path: Path, monkeypatch) -> None:
    from tilsite.model import browser
    from tilsite.model.store import ModelStore

    store = ModelStore(tmp_path)
    monkeypatch.setattr(ModelStore, "source_sha256", "a" * 64)
    store.root.mkdir(parents=True)
    now = 1_800_000_000
    folders = []
    for number in range(browser.KEEP_AT_MOST + 3):
        folder = store.browser_folder(f"{number:02d}")
        folder.mkdir()
        age_days = 1 if number < 6 else 60  # six used lately by some project, the rest not for two months
        os.utime(folder, (now - age_days * 86_400 - number, now - age_days * 86_400 - number))
        folders.append(folder)
    monkeypatch.setattr(browser.time, "time", lambda: float(now))
    browser.prune_browser_models(store, folders[0])
    kept = sorted(folder.name for folder in folders if folder.exists())
    assert kept == [folder.name for folder in folders[:6]]
