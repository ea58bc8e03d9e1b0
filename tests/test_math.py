"""Math as GitHub and Obsidian show it: where formulas are found, the MathML written, headings' ids."""

from __future__ import annotations

import re

import markdown
import pytest

from tilsite.notes.math import find_math, math_markdown, math_text, mathml
from tilsite.notes.reading import Note
from tilsite.notes.sections import parse_headings, split_sections
from tilsite.notes.slugs import SlugSettings
from tilsite.plugin.github import GithubMarkdown

from .test_github_markdown import EXTENSIONS

FOUND = {
    "inline": ("Let $x$ and $y_1$ be", [("x", False), ("y_1", False)]),
    "followed by a Korean particle": ("상자 $K$개를 옮긴다", [("K", False)]),
    "display on its lines": ("이다\n$$\nP(t) = \\frac{1}{2}\n$$\n- next", [("\nP(t) = \\frac{1}{2}\n", True)]),
    "display within a line": ("so $$a^2$$ holds", [("a^2", True)]),
    "fence": ("text\n\n```math\n\\sum_i i\n```\n", [("\\sum_i i\n", True)]),
    "code math": ("$`a^2`$ as GitHub also writes it", [("a^2", False)]),
    "prices": ("costs $5 and $10 a month", []),
    "space inside": ("a $ x $ b", []),
    "digit after the closing": ("from $20,000 to $30,000", []),
    "escaped": ("a \\$x$ and \\$\\$ y", []),
    "inline code": ("`$HOME$` and ``a $b$ c``", []),
    "code block": ("```bash\necho $HOME$\n```\n\n    $indented$\n", []),
    "HTML tags": ("<span>$</span> and <span>$</span>", []),
    "HTML's text": (
        '<div align="center">\n$x$ <b>$y$</b> &lt;$a&lt;b$\n</div>\n',
        [("x", False), ("y", False), ("a<b", False)],
    ),
    "HTML's code": ("<pre>\n$x$\n</pre>\n\n<script>\nlet a = $b$;\n</script>\n", []),
    "not across lines": ("$a\nb$", []),
    "display not across a blank line": ("$$\na\n\nb\n$$", []),
    "table cell": ("| a | b |\n|---|---|\n| $|x|$ | $y$ |\n", [("y", False)]),
    "quote": ("> $$\n> x^2\n> $$\n", [("\nx^2\n", True)]),
    "a cell's escaped pipe": ("| a |\n|---|\n| $\\|x\\|$ |\n", [("|x|", False)]),
    "image's alt text": ("![graph of $y=x^2$](a.png) and $z$", [("z", False)]),
    "link's title": ('[a](/u "cost $x$") and [see $w$](b.md)', [("w", False)]),
    "link reference definition": ("[r]: /n/$x$/y\n\ntext $q$", [("q", False)]),
    "quoted > in a tag": ('<img alt="1 > 0 and $x$"> $p$', [("p", False)]),
    "code element in a paragraph": ("text <code>$a$ and $b$</code> `<code>` $c$", [("c", False)]),
    "display not past its paragraph": ("costs $$5 total\n## Next $$ heading", []),
    "display not across list items": ("- one $$\n- two $$", []),
    "display not across table cells": ("| a | b |\n|---|---|\n| $$x | y$$ |\n", []),
}


@pytest.mark.parametrize("name", FOUND)
def test_formulas_are_found_where_github_finds_them(name: str) -> None:
    text, expected = FOUND[name]
    assert [(formula.tex, formula.display) for formula in find_math(text)] == expected


def test_obsidian_blocks_may_hold_blank_lines() -> None:
    text = "$$\n\\begin{cases} a \\\\\n\nb\n\\end{cases}\n$$\n"
    assert find_math(text) == []
    assert [formula.display for formula in find_math(text, obsidian=True)] == [True]


def _site(text: str, **options: bool) -> str:
    return markdown.markdown(text, extensions=[*EXTENSIONS, GithubMarkdown(alerts=True, math=True, **options)])


def test_formulas_become_mathml_and_the_rest_of_the_note_is_unchanged() -> None:
    html = _site(
        "# 정리\n\n로지스틱 회귀의 결괏값은 $0 \\le p_1 * p_2 \\le 1$이다\n\n$$\nP(t) = \\frac{1}{1 + e^{-t}}\n$$\n\n"
        "- 항목 $\\alpha$\n\n```math\nx^2\n```\n\n`$HOME` costs \\$5 and $10.\n"
    )
    assert html.count("<math ") == 4 and html.count('display="block"') == 2
    assert "<em>" not in html  # `*` and `_` inside the formula are TeX, not emphasis
    assert "<mfrac>" in html and "<mi>α</mi>" in html and "language-math" not in html
    assert "<code>$HOME</code> costs $5 and $10." in html  # `\$` is a dollar sign, as in CommonMark


def test_a_fence_in_a_list_item_stays_in_the_item() -> None:
    html = _site("- 식\n  ```math\n  a+b\n  ```\n- 다음\n")
    assert re.search(r"<li>\s*<p>식</p>\s*<p><math[^>]*display=\"block\"", html) or re.search(
        r"<li>식\s*<math[^>]*display=\"block\"", html
    ), html
    assert html.count("<li>") == 2


def test_note_text_inside_formulas_is_escaped() -> None:
    rendered = mathml("\\text{<script>alert(1)</script>} a < b \\& c")
    assert rendered is not None and "<script>" not in rendered
    assert "&lt;script&gt;" in rendered and "<mo>&lt;</mo>" in rendered
    aligned = mathml("\\begin{aligned} a &= b \\\\ c &= d \\end{aligned}")
    assert aligned is not None and re.search(r"&(?!amp;|lt;|gt;|quot;)", aligned) is None


def test_tex_that_cannot_be_read_shows_as_written_and_is_reported() -> None:
    unread: list[str] = []
    stashed: list[str] = []

    def stash(html: str) -> str:
        stashed.append(html)
        return f"@@{len(stashed)}@@"

    assert math_markdown("a $\\frac{1}{$ b $x$", stash, unread) == "a @@1@@ b @@2@@"
    assert stashed[0] == "<code>$\\frac{1}{$</code>" and stashed[1].startswith("<math ")
    assert unread == ["\\frac{1}{"]


CONTAINER = (
    '<mjx-container class="MathJax" jax="CHTML"><mjx-math aria-hidden="true"><mjx-mi>i</mjx-mi></mjx-math>'
    '<mjx-assistive-mml><math xmlns="http://www.w3.org/1998/Math/MathML"><mi>i</mi></math></mjx-assistive-mml>'
    '<span aria-hidden="true" class="no-mathjax mjx-copytext">$i$</span></mjx-container>'
)
"""A formula as MathJax draws it, copied with the page by BaekjoonHub."""


def test_html_from_online_judges_shows_its_math_once() -> None:
    container = CONTAINER
    block = f"<p>상자 $K$개를 옮긴다. <code>$x$</code> {container}번 과목, $a &lt; b$</p>\n"
    for text in (block, f"- 문제\n\n  {block}"):  # at the top, and in a list item
        html = _site(text)
        assert "mjx" not in html and "$i$" not in html and "$K$" not in html, html
        assert '<math xmlns="http://www.w3.org/1998/Math/MathML"><mi>i</mi></math>번' in html
        assert "<mi>K</mi></mrow></math>개를" in html and "<code>$x$</code>" in html
        assert "<mo>&lt;</mo>" in html
    fenced = f"```html\n{container}\n```\n"
    assert "mjx-copytext" in _site(fenced)  # code is shown as written


def test_a_site_without_math_leaves_dollars_alone() -> None:
    text = "a $x$ b \\$"
    assert "<math" not in markdown.markdown(text, extensions=[*EXTENSIONS, GithubMarkdown(alerts=True)])


HEADINGS = "# 복잡도\n\n## 1. $O(N^2)$\n\n## $\\alpha$ and $a + b$\n\n## `code $x$` stays\n\n## 가격 $5\n"


def test_heading_ids_are_the_ones_mkdocs_gives_headings_with_math() -> None:
    slugs = SlugSettings(math=True)
    _, _, headings = parse_headings(Note("a.md", HEADINGS, 0, {}), slugs)
    rendered = markdown.Markdown(extensions=[*EXTENSIONS, GithubMarkdown(alerts=True, math=True)])
    rendered.convert(HEADINGS)
    ids: list[str] = []

    def walk(tokens: list[dict]) -> None:
        for token in tokens:
            ids.append(token["id"])
            walk(token["children"])

    walk(rendered.toc_tokens)  # type: ignore[attr-defined]
    assert [heading.anchor for heading in headings] == ids
    assert [heading.text for heading in headings][1:3] == ["1. O(N2)", "α and a+b"]
    assert math_text("O(N^2)") == "O(N2)"


def test_sections_read_formulas_mathjax_drew_as_their_tex() -> None:
    """Search and related notes embed the formula's TeX, not hundreds of tokens of MathJax's markup."""
    text = f"# 문제\n\n## 입력\n\n<p>첫 줄에 {CONTAINER} 이 주어진다.</p>\n\n## 출력\n\n정답 {CONTAINER} 을 출력한다.\n"
    sections = split_sections(Note("a.md", text, 0, {}))
    assert [section.text for section in sections] == ["첫 줄에 $i$ 이 주어진다.", "정답 $i$ 을 출력한다."]
    assert "mjx" not in sections[0].source and sections[1].line == 6  # lines as in the note


def test_titles_with_formulas_or_emoji_are_the_ones_mkdocs_gives_the_pages(tmp_path) -> None:
    """Lists of notes (related notes, search, topics) name a page as its navigation and tab do: a formula in
    the title reads as its text there (``A+B−C``), not as TeX, and a shortcode as its emoji."""
    import pymdownx.emoji
    from mkdocs.config import load_config
    from mkdocs.structure.files import File, Files
    from mkdocs.structure.pages import Page

    texts = {
        "31403.md": "# [Bronze IV] $A + B - C$ - 31403\n\n## 문제\n\nx\n",
        "party.md": "# :tada: Party $x^2$ {: #top }\n\ny\n",
        "price.md": "# 가격 $5 and `$x$`\n\nz\n",
    }
    (tmp_path / "docs").mkdir()
    for name, text in texts.items():
        (tmp_path / "docs" / name).write_text(text, encoding="utf-8")
    (tmp_path / "mkdocs.yml").write_text("site_name: t\n", encoding="utf-8")
    config = load_config(str(tmp_path / "mkdocs.yml"))
    config.markdown_extensions[:] = [*EXTENSIONS, "attr_list", "pymdownx.emoji"]
    config.mdx_configs["pymdownx.emoji"] = {
        "emoji_index": pymdownx.emoji.gemoji,
        "emoji_generator": pymdownx.emoji.to_alt,
    }
    slugs = SlugSettings.from_markdown_config(config.markdown_extensions, config.mdx_configs, github_markdown=True)
    config.markdown_extensions.append(GithubMarkdown(alerts=True, math=True))
    files = Files([File(name, config.docs_dir, config.site_dir, True) for name in texts])
    titles = []
    for file in files:
        page = Page(None, file, config)
        page.read_source(config)
        page.render(config, files)
        _, title, _ = parse_headings(Note(file.src_uri, texts[file.src_uri], 0, {}), slugs)
        assert title == page.title, file.src_uri
        titles.append(title)
    assert titles == ["[Bronze IV] A+B−C - 31403", "🎉 Party x2", "가격 $5 and $x$"]


def test_formulas_carry_no_links_styles_or_handlers() -> None:
    """``\\href``, ``\\style`` and ``\\class`` are TeX too; MathML from MathJax's copies (HTML a note copied)
    is rebuilt from MathML's own elements and presentation attributes."""
    rendered = mathml("\\href{javascript:alert(1)}{x} \\style{color:red}{y} \\class{c}{z} \\color{red}{w}")
    assert rendered is not None
    assert re.search(r"\s(href|style|class)=", rendered) is None
    assert 'mathcolor="red"' in rendered
    crafted = CONTAINER.replace("<mi>i</mi>", '<mi onclick="alert(1)" style="x">i</mi><script>bad()</script>')
    html = _site(f"<p>{crafted}</p>\n\n`{crafted}`\n")
    assert "onclick" not in html.split("<code>")[0] and "bad()" not in html.split("<code>")[0]
    assert '<math xmlns="http://www.w3.org/1998/Math/MathML"><mi>i</mi></math>' in html
    assert "<code>&lt;mjx-container" in html  # in code, shown as written


def test_formulas_nested_too_deep_show_as_written() -> None:
    deep = "\\sqrt{" * 300 + "x" + "}" * 300
    assert mathml(deep) is None and mathml("\\sqrt{" * 20 + "x" + "}" * 20) is not None
    assert "<code>$\\sqrt{" in _site(f"a ${deep}$ b")
    assert parse_headings(Note("a.md", f"# ${deep}$\n", 0, {}), SlugSettings(math=True))[1]
