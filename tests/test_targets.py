"""Links found again where their files are: the note's folders first, then a unique file of that name."""

from __future__ import annotations

from pathlib import Path

import pytest

from tilsite.notes.targets import RepositoryFiles, link_targets, local_path

FILES = RepositoryFiles(
    [
        "sparta/img/x.png",
        "img/root.png",
        "http.assets/request.png",
        "Web/demo/README.png",
        "FE/img2/form.png",
        "a/img/twin.png",
        "b/img/twin.png",
        "FE/input.html",
    ]
)


@pytest.mark.parametrize(
    ("note", "url", "expected"),
    [
        ("sparta/DAY22.md", "/img/root.png", ("img/root.png", None)),  # where it points
        ("FE/form.md", "input.html", ("FE/input.html", None)),
        ("sparta/DAY22.md", "/img/x.png", ("sparta/img/x.png", "folder")),  # the folder moved into sparta/
        ("md/http.md", "http.assets/request.png", ("http.assets/request.png", "folder")),  # the note moved
        ("md/http.md", "./http.assets/request.png?raw=true", ("http.assets/request.png", "folder")),
        ("Web/demo/README.md", "./README.PNG", ("Web/demo/README.png", "case")),
        ("FE/form.md", "./images/form.png", ("FE/img2/form.png", "name")),
        ("FE/form.md", "%2E/images/form.png", ("FE/img2/form.png", "name")),
        ("a/note.md", "/img/twin.png", ("a/img/twin.png", "folder")),
        ("c/note.md", "img/twin.png", None),  # two files of that name fit as well: not guessed
        ("a/deep/note.md", "pics/twin.png", ("a/img/twin.png", "name")),  # the one nearest the note
        ("md/markdown.md", "C:\\Users\\me\\Desktop\\form.png", ("FE/img2/form.png", "name")),  # the author's disk
        ("md/markdown.md", "file:///C:/Users/me/input.html", ("FE/input.html", "name")),
        ("FE/form.md", "missing.png", None),
        ("FE/form.md", "../../../etc/passwd", None),
        ("FE/form.md", "https://example.com/x.png", None),
        ("FE/form.md", "#heading", None),
        ("FE/form.md", "mailto:a@b.c", None),
        ("FE/form.md", "folder/", None),
    ],
)
def test_find(note: str, url: str, expected: tuple[str, str | None] | None) -> None:
    assert FILES.find(note, url) == expected


def test_link_targets_of_every_form() -> None:
    text = """![a](<../img/그림 (1).png>) [b](x(1).md "title") [c]( y.md )
<img src="raw.png" width="300"> <a href='page.html'>p</a>
[ref]: <ref file.pdf>
   [other]: other.md "t"
```
not a link ![x](in-code.png)
```
"""
    found = link_targets(text)
    for url in ("../img/그림 (1).png", "x(1).md", "y.md", "raw.png", "page.html", "ref file.pdf", "other.md"):
        assert url in found
    assert "in-code.png" in found  # harmless: only files that exist are published, and code links none


def test_local_path() -> None:
    assert local_path("/img/x%20y.png") == ("img/x y.png", True)
    assert local_path("img/x.png#frag") == ("img/x.png", False)
    assert local_path("//cdn.example.com/x.png") is None
    assert local_path("http://[bad") is None


def test_links_to_the_notes_on_github_are_found_on_the_site(tmp_path: Path) -> None:
    from tilsite.notes.targets import GitHubRepository, github_repository

    paths = ["README.md", "Web/OSI 7 계층.md", "Web/README.md", "img/a.png"]
    files = RepositoryFiles(paths, GitHubRepository("me", "TIL"))
    site = "https://github.com/me/TIL"
    assert files.find("README.md", f"{site}/blob/main/Web/OSI%207%20계층.md#osi") == ("Web/OSI 7 계층.md", "github")
    assert files.find("x.md", "https://github.com/ME/til/blob/0123abc/img/a.png?raw=true") == ("img/a.png", "github")
    assert files.find("x.md", "https://raw.githubusercontent.com/me/TIL/main/img/a.png") == ("img/a.png", "github")
    assert files.find("x.md", f"{site}/tree/main/Web") == ("Web/README.md", "github")  # a folder: its README
    assert files.find("x.md", f"{site}/tree/main/") == ("README.md", "github")
    moved = RepositoryFiles(["sparta/_NOTES/pip_freeze.md"], GitHubRepository("me", "TIL"))  # moved since
    found = moved.find("sparta/DAY22.md", f"{site}/blob/main/_NOTES/pip_freeze.md")
    assert found == ("sparta/_NOTES/pip_freeze.md", "folder")
    for elsewhere in (
        site,  # the repository's page, its issues, another repository, a file the repository does not hold
        f"{site}/issues/3",
        "https://github.com/other/TIL/blob/main/img/a.png",
        f"{site}/blob/main/missing.md",
        f"{site}/tree/main/img",  # a folder without a README
        f"{site}/blob/main/../../etc/passwd",
    ):
        assert files.find("x.md", elsewhere) is None, elsewhere

    # Notes in a folder of the repository (docs/): addresses are of the repository, paths of the notes folder.
    (tmp_path / ".git").mkdir()
    (tmp_path / "docs").mkdir()
    github = github_repository("https://github.com/me/TIL/", tmp_path / "docs")
    assert github == GitHubRepository("me", "TIL", "docs")
    in_docs = RepositoryFiles(["img/a.png", "README.md"], github)
    assert in_docs.find("x.md", f"{site}/blob/main/docs/img/a.png") == ("img/a.png", "github")
    assert in_docs.find("x.md", f"{site}/blob/main/img/a.png") is None  # outside the notes folder
    assert github_repository("https://github.com/me/TIL.git", tmp_path) == GitHubRepository("me", "TIL")
    assert github_repository("https://gitlab.com/me/TIL", tmp_path) is None
    assert github_repository(None, tmp_path) is None
