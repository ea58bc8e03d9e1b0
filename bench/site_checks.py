"""What a reader of a built site sees wrong, counted over its pages (a field check; it fetches and builds nothing).

For each site folder given (``tilsite build``'s output), over the pages of notes:
- ``several_h1``: pages whose note uses more than one H1, and ``outline_missing_h1`` those of them whose table of
  contents (Material's, on the right) leaves one of those H1s out;
- ``date_misplaced``: pages whose date line follows something other than the page's opening H1, or follows the
  first of several H1s that is not the page's title (a section's heading);
- ``related_entries``, ``related_same_title_twice`` (a note listed twice, or beside a copy of itself, shows its
  title twice in one list) and ``related_image_passage`` (an entry that says it matched a section that is only an
  image's name, ``img.png``);
- ``drawings``: pages that show an Obsidian Excalidraw drawing's data;
- ``title_with_markup``: pages whose ``<title>`` holds a tag (a name such as ``List<T>.md`` written unescaped).

Usage: python bench/site_checks.py SITE [SITE ...]   (prints one JSON object per site)
"""

from __future__ import annotations

import html
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tilsite.results.related import image_only

_H1 = re.compile(r'<h1 id="([^"]+)"')
_RELATED = re.compile(r'<aside class="tilsite-related".*?</aside>', re.DOTALL)
_ENTRY = re.compile(r"<li>.*?</li>", re.DOTALL)
_ENTRY_TITLE = re.compile(r'<li><a href="[^"]*">(.*?)(?: &#8250; .*?)?</a>', re.DOTALL)
_PASSAGE = re.compile(r"→\s*(.*?)</li>", re.DOTALL)
_BLOCK = re.compile(r"<(h1|h2|h3|h4|p|ul|ol|table|pre|blockquote|div)\b")
_TAG = re.compile(r"<[^>]+>")


def check(site: Path) -> dict[str, int]:
    counts = dict.fromkeys(
        (
            "pages",
            "several_h1",
            "outline_missing_h1",
            "date_misplaced",
            "related_entries",
            "related_same_title_twice",
            "related_image_passage",
            "drawings",
            "title_with_markup",
        ),
        0,
    )
    for page in sorted(site.rglob("index.html")):
        text = page.read_text(encoding="utf-8", errors="replace")
        if "<article" not in text:
            continue
        counts["pages"] += 1
        article = text[text.index("<article") :]
        body = article.split('<aside class="tilsite-related"')[0]
        h1s = _H1.findall(body)
        if len(h1s) > 1:
            counts["several_h1"] += 1
            start = text.find('data-md-component="toc"')
            outline = text[start : text.find('<div class="md-content"', start)] if start != -1 else ""
            counts["outline_missing_h1"] += not all(f'href="#{anchor}"' in outline for anchor in h1s)
        title = re.search(r"<title>(.*?)</title>", text, re.DOTALL)
        if '<p class="tilsite-date"' in body:
            before = body[body.find(">") + 1 : body.index('<p class="tilsite-date"')]
            blocks = _BLOCK.findall(before)
            heading = html.unescape(_TAG.sub("", before.replace("&para;", ""))).strip()
            titled = bool(title) and html.unescape(title.group(1)).startswith(f"{heading} - ")
            counts["date_misplaced"] += bool(blocks) and (blocks != ["h1"] or (len(h1s) > 1 and not titled))
        related = _RELATED.search(article)
        if related:
            entries = _ENTRY.findall(related.group(0))
            titles = [_TAG.sub("", match) for match in _ENTRY_TITLE.findall(related.group(0))]
            counts["related_entries"] += len(entries)
            counts["related_same_title_twice"] += len(titles) != len(set(titles))
            for entry in entries:
                passage = _PASSAGE.search(entry)
                if passage and image_only(html.unescape(_TAG.sub("", passage.group(1))).strip(" …")):
                    counts["related_image_passage"] += 1
        counts["drawings"] += "EXCALIDRAW VIEW" in body
        counts["title_with_markup"] += bool(title and _TAG.search(title.group(1)))
    return counts


def main() -> None:
    for folder in sys.argv[1:]:
        print(json.dumps({"site": folder, **check(Path(folder))}, ensure_ascii=False))


if __name__ == "__main__":
    main()
