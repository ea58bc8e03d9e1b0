"""How many notes of a checkout render with the blocks GitHub shows, without building the site.

Each Markdown note (front matter cut off) is rendered twice: by Python-Markdown with the extensions
`tilsite init` writes and tilsite's GitHub Markdown pass (what the site shows), and by markdown-it-py
(CommonMark with GitHub's tables and strikethrough, standing in for GitHub). A note matches when both
have the same headings (levels, in order), list items (depths), tables and table rows, code blocks,
images and quotes. GitHub's alerts count as quotes in the reference and as admonitions on the site, so a
note with alerts differs by its quotes.

    python bench/blocks.py CHECKOUT [CHECKOUT ...] [--show N]
"""

from __future__ import annotations

import argparse
import collections
from html.parser import HTMLParser
from pathlib import Path

import markdown
from markdown_it import MarkdownIt

from tilsite.plugin.github import GithubMarkdown

EXTENSIONS = ["toc", "admonition", "tables", "footnotes", "sane_lists", "pymdownx.highlight", "pymdownx.superfences"]
KINDS = ("headings", "items", "tables", "code", "images", "quotes")


class _Blocks(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: dict[str, list[object]] = {kind: [] for kind in KINDS}
        self._lists = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if len(tag) == 2 and tag[0] == "h" and tag[1].isdigit():
            self.found["headings"].append(int(tag[1]))
        elif tag in ("ul", "ol"):
            self._lists += 1
        elif tag == "li":
            self.found["items"].append(self._lists)
        elif tag in ("table", "tr"):
            self.found["tables"].append(tag)
        elif tag == "pre":
            self.found["code"].append(1)
        elif tag == "img":
            self.found["images"].append(1)
        elif tag == "blockquote":
            self.found["quotes"].append(1)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("ul", "ol"):
            self._lists -= 1


def structure(html: str) -> dict[str, list[object]]:
    blocks = _Blocks()
    blocks.feed(html)
    return blocks.found


def differences(text: str) -> list[str]:
    """The kinds of blocks in which the site's rendering of ``text`` differs from the reference's."""
    site = markdown.markdown(text, extensions=[*EXTENSIONS, GithubMarkdown(alerts=True)])
    # markdown-it stops at 20 levels of nesting by default; GitHub (cmark-gfm) goes on.
    github = MarkdownIt("commonmark", {"html": True, "maxNesting": 100}).enable(["table", "strikethrough"])
    reference = github.render(text)
    ours, theirs = structure(site), structure(reference)
    return [kind for kind in KINDS if ours[kind] != theirs[kind]]


def notes(root: Path) -> list[Path]:
    found = []
    for path in sorted(root.rglob("*.md")):
        parts = path.relative_to(root).parts
        if parts[0] not in ("site", "node_modules") and not any(part.startswith(".") for part in parts):
            found.append(path)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkouts", nargs="+", type=Path)
    parser.add_argument("--show", type=int, default=0, help="list this many differing notes per checkout")
    arguments = parser.parse_args()
    for root in arguments.checkouts:
        kinds: collections.Counter[str] = collections.Counter()
        differing: list[tuple[str, list[str]]] = []
        paths = notes(root)
        for path in paths:
            text = path.read_text(encoding="utf-8", errors="replace")
            if text.startswith("---\n") and (end := text.find("\n---", 4)) > 0:
                text = text[end + 4 :]
            found = differences(text)
            if found:
                kinds.update(found)
                differing.append((path.relative_to(root).as_posix(), found))
        matching = len(paths) - len(differing)
        print(f"{root.name}: {matching}/{len(paths)} notes match; differing in {dict(kinds)}")
        for path, found in differing[: arguments.show]:
            print(f"  {path}: {', '.join(found)}")


if __name__ == "__main__":
    main()
