"""Notes render with the blocks GitHub shows: markdown-it-py (CommonMark with GitHub's tables) is the reference."""

from __future__ import annotations

from html.parser import HTMLParser

import markdown
import pytest
from markdown_it import MarkdownIt

from tilsite.notes.github import github_blocks
from tilsite.plugin.github import GithubMarkdown

EXTENSIONS = [
    "toc",
    "admonition",
    "tables",
    "footnotes",
    "sane_lists",
    "pymdownx.highlight",
    "pymdownx.superfences",
    "pymdownx.tasklist",
    "pymdownx.tilde",
]
"""What ``tilsite init`` writes into mkdocs.yml (tilsite's own extension is added per test)."""

SHAPES = {
    "lists nested by 2 spaces": "- a\n  - b\n    - c\n- d\n",
    "ordered list with bullets at its text column": "1. one\n   - x\n   - y\n2. two\n   1. inner\n",
    "list right under a paragraph line": "오늘 배운 것:\n- git add\n- git commit\n",
    "table right under a paragraph line": "표:\n| a | b |\n|---|---|\n| 1 | 2 |\n",
    "markdown between HTML blocks": (
        '<details>\n<summary>정리</summary>\n<div markdown="1">\n\n'
        "### 1. **urls.py**\n\n- a\n  - b\n\n</div>\n</details>\n"
    ),
    "unclosed div": '<div align="center">\n\n## 제목\n\n- a\n  - b\n',
    "fence on the list marker's line": "- ```\n  <br> code\n  ```\n\n```bash\nls\n```\n",
    "fence inside a nested item": "1. step\n   ```bash\n   ls -al\n   ```\n2. next\n",
    "hash without a space is text": "#Title\n\n# Real title\n",
    "quote with a nested list": "> 인용\n> - a\n>   - b\n",
    "tab-indented nested list": "- a\n\t- b\n",
    "html comment between lists": "- a\n<!-- note -->\n- b\n",
    "heading inside a div after a blank line": "<div>\n\n## 숨은 제목\n\n본문\n\n</div>\n",
    "setext heading and rule": "Title\n===\n\ntext\n\n---\n\n- a\n",
    "loose list with paragraphs": "- a\n\n  more a\n\n- b\n  - c\n",
    "closing fence longer than the opening": "```bash\nls\n````\n\n## after\n\n- item\n  ```py\n  x\n  `````\n",
    "unclosed fence": "text\n\n```\ncode\n# not a heading\n",
    "typora contents marker": "[TOC]\n\n# A\n\n## B\n",
    "numbered list on a bullet's line": "- 9. 무엇\n- 54. 다른\n  - 하위\n- plain\n",
    "numbered list on a bullet's line after a fence": "- 1. a\n  ```js\n  x\n  ```\n- 2. b\n",
    "fence with any text after the backticks": "```/**\n * doc\n */\n```\n\n~~~test/factories.rb\nx\n~~~\n",
    "closing fence indented otherwise": "```bash\nls\n ```\n\ntext\n",
    "heading underlined on lines of text": "Example:\n|1 2|\n*\n|3 2|\n=\n\ntext\n\nTwo\nlines\n---\n",
    "list-like lines inside a paragraph": "두 단계:\n1. 캡쳐\n    2. 이벤트 발생\n\n- item\n  text\n  - 3) x\n  #tag\n",
    "empty list items": "- a\n- \n- b\n\n  -\n",
    "heading underlined in a list item": "- a\n  text\n  -\n- 1. b\n   ===\n",
    "fence right after a nested list": "1. a\n2. b\n   1. c\n   ```js\n   x\n   ```\n   - d\n",
    "next item right after a fence": "1. a\n   ```js\n   x\n   ```\n2. b\n- c\n  ~~~\n  y\n  ~~~\n- d\n",
    "hash in a quote in an item": "- a\n\n  > #주석\n  > text\n",
    "fence indented by a space": "- a\n\n ```ruby\n  x = 1\n y\n ```\n\ntext\n",
    "items with fences and paragraphs": (
        "3. run:\n    ```bash\n    ls\n    ```\n4. then:\n    ```\n    x\n    ```\n\n    more\n5. end\n"
    ),
    "html block indented by a space": "### 입력\n\n <p>두 줄</p>\n\n <ul>\n\t<li>A</li>\n</ul>\n",
    "hash at the start of an item": "- #content 를 로드\n- 2. #tag\n",
    "list eleven levels deep": "".join(f"{'  ' * level}- level {level}\n" for level in range(11)) + "\n## after\n",
    # heyoon2j/Yoon-TIL: tables, code and lists in items, and an item's typo'd fence.
    "table in a list item": "* 메소드\n\n    | a | b |\n    |---|---|\n    | 1 | 2 |\n    | 3 | 4 |\n    | 5 | 6 |\n",
    "items opening with code of three backticks": "로그:\n\n* ```/var/log/dmesg``` : 부팅\n* ```/var/log``` : 로그\n",
    "fence indented past the item's text": "3. DROP\n    * 삭제\n    ```\n   # 필드 삭제\n   DROP c;\n    ```\n4. b\n",
    "list under an image in an item": "1. __Push__\n\n    ![p](p.png)\n    * Origin\n    1) first\n2. Pull\n",
    "a fence's line that looks like a closing fence": (
        "- a\n   ````\n     ```\n   ````\n- b\n   ```\n       ```\n   x\n   ```\n"
    ),
    "heading indented by a space": "- a\n\n ## 제목\n\n   ### 셋\n\n글\n",
    "heading indented past its item's text": "- 14:18\n\t### Function()\n\t용법\n\t- args\n- b\n   ## 둘\n",
    "quotes with a blank line between them": "> 첫 인용\n\n> 둘째 인용\n\n글\n\n> 셋째\n> 이어서\n",
    "quotes a blank line apart in an item": "- 항목\n\n    > 하나\n\n    > 둘\n- 다음\n  > 셋\n\n  > 넷\n",
    "unclosed fence in an item, then a heading": "* a\n    ```\n    code\n    ``\n</br>\n\n1. b\n\n## 설정\n* c\n",
}


class _Blocks(HTMLParser):
    """Headings (levels), list items (depths), tables, code blocks and images, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.headings: list[int] = []
        self.items: list[int] = []
        self.tables = self.rows = self.code = self.images = self.quotes = 0
        self.blocks_in_paragraphs = 0
        """Blocks opened inside a ``<p>`` (a browser would end the paragraph there: Markdown read as text)."""
        self._lists = 0
        self._paragraph = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "p":
            self._paragraph = True
        elif self._paragraph and tag in ("div", "pre", "ul", "ol", "table", "blockquote", "h1", "h2", "h3", "p"):
            self.blocks_in_paragraphs += 1
        if len(tag) == 2 and tag[0] == "h" and tag[1].isdigit():
            self.headings.append(int(tag[1]))
        elif tag in ("ul", "ol"):
            self._lists += 1
        elif tag == "li":
            self.items.append(self._lists)
        elif tag == "table":
            self.tables += 1
        elif tag == "tr":
            self.rows += 1
        elif tag == "blockquote":
            self.quotes += 1
        elif tag == "pre":
            self.code += 1
        elif tag == "img":
            self.images += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "p":
            self._paragraph = False
        if tag in ("ul", "ol"):
            self._lists -= 1


def _structure(html: str) -> tuple[object, ...]:
    blocks = _Blocks()
    blocks.feed(html)
    return blocks.headings, blocks.items, (blocks.tables, blocks.rows), blocks.code, blocks.images, blocks.quotes


def _github(text: str) -> str:
    return MarkdownIt("commonmark", {"html": True, "maxNesting": 100}).enable(["table", "strikethrough"]).render(text)


def _site(text: str, github_markdown: bool = True) -> str:
    extensions: list[object] = [*EXTENSIONS, GithubMarkdown(alerts=True)] if github_markdown else list(EXTENSIONS)
    return markdown.markdown(text, extensions=extensions)


@pytest.mark.parametrize("name", SHAPES)
def test_blocks_agree_with_github(name: str) -> None:
    text = SHAPES[name]
    site = _site(text)
    assert _structure(site) == _structure(_github(text))
    blocks = _Blocks()
    blocks.feed(site)
    assert not blocks.blocks_in_paragraphs, site


def test_the_shapes_differ_without_it() -> None:
    """Most of these shapes are what plain Python-Markdown gets wrong (the test above is not vacuous)."""
    differ = [name for name, text in SHAPES.items() if _structure(_site(text, False)) != _structure(_github(text))]
    assert len(differ) >= 8, differ


def test_markdown_between_html_blocks_is_rendered_and_the_html_kept() -> None:
    html = _site(SHAPES["markdown between HTML blocks"])
    assert "<details>" in html and "</details>" in html and "<summary>정리</summary>" in html
    assert "<h3" in html and "<strong>urls.py</strong>" in html and "###" not in html


def test_alerts_become_admonitions() -> None:
    html = _site("> [!WARNING]\n> 조심할 것\n> - a\n>   - b\n\n> [!note]\n> 소문자도\n")
    assert '<div class="admonition warning">' in html and '<p class="admonition-title">Warning</p>' in html
    assert '<div class="admonition note">' in html and "[!" not in html
    assert _structure(html)[1] == [1, 2]


def test_plain_quotes_and_code_stay_as_written() -> None:
    text = "> [!NOTE] with text after it is a quote\n\n```\n- a\n  - b\n<div>\n```\n"
    html = _site(text)
    assert "<blockquote>" in html and "[!NOTE] with text after it is a quote" in html
    assert "- a\n  - b\n&lt;div&gt;" in html


def test_only_the_blocks_change() -> None:
    seen: list[str] = []

    def stash(html: str) -> str:
        seen.append(html)
        return f"@@{len(seen)}@@"

    text = "문단\n- a\n  - b\n\n<div>\n<b>x</b>\n</div>\n\n끝 `code`\n"
    assert github_blocks(text, stash) == "문단\n\n- a\n    - b\n\n@@1@@\n\n끝 `code`\n"
    assert seen == ["<div>\n<b>x</b>\n</div>"]


def test_mermaid_fences_become_diagrams_for_the_theme_to_draw() -> None:
    text = "# 흐름\n\n```mermaid\ngraph LR\n  A -->|a & b| B(<x>)\n```\n\n```mermaid\nsequenceDiagram\n"
    extension = GithubMarkdown(alerts=True, diagrams=True)
    html = markdown.markdown(text, extensions=[*EXTENSIONS, extension])
    # GitHub draws both (the second runs to the end of the note); the text is the diagram's, escaped once.
    assert html.count('<pre class="mermaid"><code>') == 2
    assert "graph LR\n  A --&gt;|a &amp; b| B(&lt;x&gt;)\n</code></pre>" in html
    assert extension.drawn == ["graph LR\n  A -->|a & b| B(<x>)\n", "sequenceDiagram\n"]
    # Without a theme that draws them (or in a list item, where it is rare), a diagram stays code.
    assert 'class="mermaid"' not in _site(text)
    listed = GithubMarkdown(alerts=True, diagrams=True)
    assert 'class="mermaid"' not in markdown.markdown(
        "- a\n\n  ```mermaid\n  graph LR\n  ```\n", extensions=[*EXTENSIONS, listed]
    )
    assert not listed.drawn


def test_a_fence_opening_an_item_is_code_without_its_backticks() -> None:
    # Bullets, ordered, tight or loose: Python-Markdown read the fence under the bare marker as indented code,
    # showing the backticks; `` ```a``` text `` (backticks after the opening ones) is inline code, as on GitHub.
    for text in ("- a\n- ```python\n  print(1)\n  ```\n- b\n", "1. a\n\n2. ```python\n   print(1)\n   ```\n\n3. b\n"):
        html = _site(text)
        assert '<span class="nb">print</span>' in html and "```" not in html, html
    assert "<code>/var/log</code> : 로그" in _site("* ```/var/log``` : 로그\n* ```/etc``` : 설정\n")


def test_a_backslash_escapes_any_punctuation_as_on_github() -> None:
    # Python-Markdown escapes a few marks only: `\<script>` showed its backslash and passed the tag on as HTML.
    html = _site("통해 만든 \\<script>는 실행되지 않는다, \\<link>는 head에\n\n## \\<meta> 태그 \\& 기호\n")
    assert "통해 만든 &lt;script&gt;는 실행되지 않는다, &lt;link&gt;는 head에" in html and "\\" not in html
    assert "&lt;meta&gt; 태그 &amp; 기호</h2>" in html
    # The heading's id is the one tilsite computes for its links (markdown-it reads escapes as CommonMark does).
    from markdown.extensions.toc import slugify_unicode

    from tilsite.notes.reading import Note
    from tilsite.notes.sections import parse_headings
    from tilsite.notes.slugs import SlugSettings

    text = "# 노트\n\n## \\<meta> 태그 \\& 기호\n\n본문\n"
    configs = {"toc": {"slugify": slugify_unicode}}
    rendered = markdown.markdown(text, extensions=["toc", GithubMarkdown(alerts=True)], extension_configs=configs)
    slugs = SlugSettings.from_markdown_config(["toc"], configs, github_markdown=True)
    anchors = [heading.anchor for heading in parse_headings(Note("a.md", text, 0), slugs)[2]]
    assert anchors == ["노트", "meta-태그-기호"] and 'id="meta-태그-기호"' in rendered


def test_a_line_of_code_like_a_closing_fence_keeps_its_indentation() -> None:
    # Only a fence's last line closes it; inside, ```` ``` ```` is code (indented as written, past the fence's).
    html = _site("- a\n   ````\n     ```\n   ````\n- b\n   ```\n       ```\n   x\n   ```\n\n## 다음\n")
    assert "<code>  ```\n</code>" in html and "<code>    ```\nx\n</code>" in html
    assert ">다음</h2>" in html
