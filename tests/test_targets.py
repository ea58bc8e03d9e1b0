"""Links found again where their files are: the note's folders first, then a unique file of that name."""

from __future__ import annotations

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
