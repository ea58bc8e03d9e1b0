from __future__ import annotations

from pathlib import Path

from tilsite.notes.reading import MAX_NOTE_BYTES, NoteProblem, iter_note_paths, read_note


def _read(tmp_path: Path, name: str, data: bytes) -> tuple[object, list[NoteProblem]]:
    path = tmp_path / name
    path.write_bytes(data)
    problems: list[NoteProblem] = []
    return read_note(path, tmp_path, problems), problems


def test_utf8_with_bom_and_crlf(tmp_path: Path) -> None:
    note, problems = _read(tmp_path, "a.md", "\ufeff# 제목\r\n\r\n본문\r\n".encode())
    assert problems == []
    assert note.text == "# 제목\n\n본문\n"  # type: ignore[attr-defined]


def test_cp949_note_is_decoded_with_a_warning(tmp_path: Path) -> None:
    note, problems = _read(tmp_path, "old.md", "# 예전 노트\n\n한글 본문입니다.\n".encode("cp949"))
    assert note is not None and "한글 본문입니다." in note.text  # type: ignore[attr-defined]
    assert len(problems) == 1 and problems[0].path == "old.md" and "cp949" in problems[0].message


def test_binary_junk_is_skipped_with_one_line(tmp_path: Path) -> None:
    note, problems = _read(tmp_path, "junk.md", bytes(range(256)) * 4)
    assert note is None
    assert len(problems) == 1 and "\n" not in str(problems[0]) and str(problems[0]).startswith("junk.md: ")


def test_huge_note_is_cut_for_indexing(tmp_path: Path) -> None:
    body = ("## 섹션\n" + "가나다라 " * 200 + "\n") * 1200
    note, problems = _read(tmp_path, "big.md", body.encode())
    assert note is not None
    assert len(note.text.encode()) <= MAX_NOTE_BYTES  # type: ignore[attr-defined]
    assert "MB" in problems[0].message


def test_front_matter_is_kept_out_of_the_text(tmp_path: Path) -> None:
    note, _ = _read(tmp_path, "fm.md", b"---\ntitle: Hello\ndate: 2024-10-31\n---\n# H\n\ntext\n")
    assert note.meta["title"] == "Hello"  # type: ignore[attr-defined]
    assert note.text.startswith("# H")  # type: ignore[attr-defined]
    assert note.body_line == 4  # type: ignore[attr-defined]


def test_invalid_front_matter_is_ignored(tmp_path: Path) -> None:
    note, _ = _read(tmp_path, "bad.md", b"---\n: [unclosed\n---\ntext\n")
    assert note.meta == {} and note.text == "text\n"  # type: ignore[attr-defined]


def test_odd_file_names_and_hidden_folders(tmp_path: Path) -> None:
    for name in ["my note.md", "a:b.md", "x<y.md", "c#sharp.md", "UPPER.MD", ".hidden/secret.md", "x.txt"]:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("# t\n", encoding="utf-8")
    names = [path.relative_to(tmp_path).as_posix() for path in iter_note_paths(tmp_path)]
    assert names == ["UPPER.MD", "a:b.md", "c#sharp.md", "my note.md", "x<y.md"]
