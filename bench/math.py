"""Math in real repositories: the formulas tilsite finds in the notes, and the TeX a reader still sees on the site.

Usage: python bench/math.py NAME=REPO[@SITE] ... [--obsidian NAME ...] [--json OUT]

REPO is a checkout of a repository (fetched with the library's `fetch`; nothing is fetched here), SITE a site
built from it. For the notes: formulas in the Markdown (inline, display, ```math fences) and in HTML blocks
(MathJax's rendered containers, TeX in the HTML's text), and those whose TeX could not be read. For the site:
MathML elements in the pages' articles, and what still looks like TeX to a reader there (`$$`, or `$...$` by
the same rules, outside code, MathML and the related-notes block) or MathJax's containers.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tilsite.notes.math import find_math, mathml
from tilsite.notes.parsing import parser

_CONTAINER = re.compile(r"<mjx-container\b.*?</mjx-container>", re.DOTALL)
_ARTICLE = re.compile(r"<article.*?</article>", re.DOTALL)
_RELATED = re.compile(r'<aside class="tilsite-related".*?</aside>', re.DOTALL)
_NOT_TEXT = re.compile(r"<(pre|code|math|script|style)\b.*?</\1>", re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_INLINE_TEX = re.compile(r"(?<![\\$])\$(?=\S)[^$\n]*?\S\$(?!\d)")


def _notes(repo: Path) -> list[Path]:
    skipped = {"site", ".tilsite", ".git", "node_modules"}
    return sorted(
        path
        for path in repo.rglob("*")
        if path.suffix.lower() == ".md"
        and path.is_file()
        and not skipped & set(path.relative_to(repo).parts[:-1])
        and not any(part.startswith(".") for part in path.relative_to(repo).parts)
    )


def notes_counts(repo: Path, obsidian: bool) -> dict[str, int]:
    counts = dict.fromkeys(["notes", "notes with math", "inline", "display", "fences", "unread"], 0)
    counts |= {"html: MathJax containers": 0, "html: TeX in text": 0}
    for path in _notes(repo):
        text = path.read_text(encoding="utf-8", errors="replace")
        counts["notes"] += 1
        containers = text.count("<mjx-container")
        counts["html: MathJax containers"] += containers
        text = _CONTAINER.sub("", text)  # as the build does first: each is its MathML, its TeX copy left out
        found = find_math(text, obsidian)
        html_lines = set()
        for token in parser().parse(text) if found else []:
            if token.type == "html_block" and token.map:
                html_lines.update(range(*token.map))
        if found or containers:
            counts["notes with math"] += 1
        for formula in found:
            if text.count("\n", 0, formula.start) in html_lines:
                counts["html: TeX in text"] += 1
            else:
                fence = text[formula.start : formula.start + 1] in ("`", "~") and formula.display
                counts["fences" if fence else "display" if formula.display else "inline"] += 1
            counts["unread"] += mathml(formula.tex, formula.display) is None
    return counts


def site_counts(site: Path) -> dict[str, int]:
    counts = dict.fromkeys(["pages", "MathML", "pages showing TeX", "TeX shown", "MathJax containers"], 0)
    for page in site.rglob("index.html"):
        match = _ARTICLE.search(page.read_text(encoding="utf-8", errors="replace"))
        if not match:
            continue
        article = _RELATED.sub("", match.group(0))
        counts["pages"] += 1
        counts["MathML"] += article.count("<math")
        counts["MathJax containers"] += article.count("<mjx-container")
        text = _TAG.sub("", _NOT_TEXT.sub("", article))
        shown = text.count("$$") + len(_INLINE_TEX.findall(text.replace("$$", "")))
        counts["TeX shown"] += shown
        counts["pages showing TeX"] += shown > 0
    return counts


def main() -> None:
    arguments = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    arguments.add_argument("repositories", nargs="+", help="NAME=REPO or NAME=REPO@SITE")
    arguments.add_argument("--obsidian", nargs="*", default=[], help="names of Obsidian vaults")
    arguments.add_argument("--json", type=Path)
    options = arguments.parse_args()
    results = {}
    for item in options.repositories:
        name, _, where = item.partition("=")
        repo, _, site = where.partition("@")
        result: dict[str, object] = {"notes": notes_counts(Path(repo), name in options.obsidian)}
        if site:
            result["site"] = site_counts(Path(site))
        results[name] = result
        print(name, json.dumps(result, ensure_ascii=False), flush=True)
    if options.json:
        options.json.write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
