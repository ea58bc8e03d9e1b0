"""HTML that tilsite adds or repairs in pages."""

from __future__ import annotations

import pytest

from tilsite.site.render import balance_html


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ('<p>a</p><div align="center"><p>b</p>', '<p>a</p><div align="center"><p>b</p></div>'),
        ("<p>a</p></div></div><p>b</p>", "<p>a</p><p>b</p>"),  # would close the theme's own layout
        ("<details><summary>x</summary><p>y</p>", "<details><summary>x</summary><p>y</p></details>"),
        ("<div><span>x</div>", "<div><span>x</div>"),  # closed with its parent, as a browser does
        ('<div title="a>b"><br><img src="x.png"/>', '<div title="a>b"><br><img src="x.png"/></div>'),
        ("<script>if (a < b) { '</div>' }</script>", "<script>if (a < b) { '</div>' }</script>"),
        ("<!-- <div> --><pre><code>&lt;div&gt;</code></pre>", "<!-- <div> --><pre><code>&lt;div&gt;</code></pre>"),
        ("<p>plain</p>", "<p>plain</p>"),
    ],
)
def test_balance_html(html: str, expected: str) -> None:
    assert balance_html(html) == expected
