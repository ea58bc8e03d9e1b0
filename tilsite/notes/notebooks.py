"""Jupyter notebooks as notes: markdown cells as text, code cells as fenced code, their outputs as GitHub shows
them: text kept short, plots as images, tables (pandas' DataFrames) as tables."""

from __future__ import annotations

import base64
import binascii
import html
import json
import re

from tilsite.notes.parsing import rebuilt_html

MAX_OUTPUT_LINES = 20
"""Text output of a code cell shown on the page, in lines."""
IMAGES = ("image/png", "image/jpeg", "image/gif", "image/webp", "image/svg+xml")
"""Output and attachment types shown as images (in the page, as ``data:`` URLs: the notebook holds them so)."""
_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_ATTACHMENT = re.compile(r"\(attachment:([^)\s]+)\)")


class NotebookError(ValueError):
    """The file is not a readable Jupyter notebook."""


def notebook_to_markdown(text: str) -> str:
    """Markdown for the notebook JSON ``text`` (nbformat 4; version 3 files are read where they agree)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotebookError(f"is not valid notebook JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(data, dict):
        raise NotebookError("is not a Jupyter notebook (expected a JSON object with `cells`)")
    cells = data.get("cells")
    if cells is None and isinstance(data.get("worksheets"), list) and data["worksheets"]:
        cells = data["worksheets"][0].get("cells")
    if not isinstance(cells, list):
        raise NotebookError("is not a Jupyter notebook (no `cells` list)")
    language = _language(data.get("metadata"))
    parts: list[str] = []
    for cell in cells:
        if not isinstance(cell, dict):
            continue
        source = _joined(cell.get("source", cell.get("input", "")))
        kind = cell.get("cell_type")
        if kind == "markdown" and source.strip():
            parts.append(_with_attachments(source.strip("\n"), cell.get("attachments")))
        elif kind == "code":
            if source.strip():
                parts.append(_fence(source.strip("\n"), language))
            parts.extend(_outputs(cell.get("outputs")))
        elif kind == "raw" and source.strip():
            parts.append(_fence(source.strip("\n"), ""))
    return "\n\n".join(parts) + "\n"


def _language(metadata: object) -> str:
    if not isinstance(metadata, dict):
        return "python"
    for key in ("kernelspec", "language_info"):
        info = metadata.get(key)
        if isinstance(info, dict):
            name = info.get("language") or info.get("name")
            if isinstance(name, str) and name.isidentifier():
                return name.lower()
    return "python"


def _joined(value: object) -> str:
    if isinstance(value, list):
        return "".join(item for item in value if isinstance(item, str))
    return value if isinstance(value, str) else ""


def _fence(code: str, language: str) -> str:
    # A fence longer than any backtick run inside the code, so the code cannot close it.
    longest = max((len(run) for run in code.split("\n") if set(run.strip()) == {"`"}), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{code}\n{fence}"


def _outputs(outputs: object) -> list[str]:
    """A code cell's outputs in order: text (streams, results, errors) in fences of at most ``MAX_OUTPUT_LINES``
    lines, images, and tables; a result that is an image or a table shows as that, not as its text
    (``<Figure size 640x480 with 1 Axes>``)."""
    if not isinstance(outputs, list):
        return []
    parts: list[str] = []
    text: list[str] = []

    def flush() -> None:
        lines = "\n".join(chunk.rstrip("\n") for chunk in text if chunk.strip()).split("\n")
        if len(lines) > MAX_OUTPUT_LINES:
            lines = [*lines[:MAX_OUTPUT_LINES], f"... ({len(lines) - MAX_OUTPUT_LINES} more lines)"]
        shown = "\n".join(lines).strip("\n")
        if shown:
            parts.append(_fence(shown, "text"))
        text.clear()

    for output in outputs:
        if not isinstance(output, dict):
            continue
        kind = output.get("output_type")
        if kind == "stream":
            text.append(_joined(output.get("text")))
        elif kind in ("execute_result", "display_data", "pyout"):
            data = output.get("data", output)
            if not isinstance(data, dict):
                continue
            shown = next((image for kind in IMAGES if (image := _image(kind, data.get(kind)))), None)
            if shown is None and "text/html" in data:
                shown = _table(_joined(data["text/html"]))
            if shown is None:
                text.append(_joined(data.get("text/plain", data.get("text"))))
            else:
                flush()
                parts.append(shown)
        elif kind in ("error", "pyerr"):
            text.append(f"{output.get('ename', 'Error')}: {output.get('evalue', '')}")
    flush()
    return parts


def _image(kind: str, value: object) -> str | None:
    """An image output as a Markdown image with its data in a ``data:`` URL; None when it holds none."""
    if kind == "image/svg+xml":
        svg = _joined(value)
        data = base64.b64encode(svg.encode("utf-8")).decode("ascii") if svg.strip() else ""
    else:
        data = "".join(_joined(value).split())
        try:
            base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            return None
    if not data or not _BASE64.fullmatch(data):
        return None
    return f"![](data:{kind};base64,{data})"


def _with_attachments(markdown: str, attachments: object) -> str:
    """A markdown cell with the images pasted into it (``![x](attachment:image.png)``) as ``data:`` URLs."""
    if not isinstance(attachments, dict) or "attachment:" not in markdown:
        return markdown

    def url(match: re.Match[str]) -> str:
        files = attachments.get(match.group(1))
        if isinstance(files, dict):
            for kind in IMAGES:
                image = _image(kind, files.get(kind))
                if image is not None:
                    return f"({image[4:-1]})"
        return match.group(0)

    return _ATTACHMENT.sub(url, markdown)


_TABLE_TAGS = frozenset({"table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption"})
_SPANS = frozenset({"colspan", "rowspan"})


def _span(name: str, value: str) -> str:
    """A cell's ``colspan`` or ``rowspan`` of digits; nothing else of a table output's attributes."""
    return f' {name}="{value}"' if name in _SPANS and value.isascii() and value.isdigit() else ""


def _cell_text(data: str) -> str:
    # `$` as a reference: GitHub shows no math in outputs, and `$5 ... $6` in a cell is money.
    return html.escape(" ".join(data.split()), quote=False).replace("$", "&#36;") if data.strip() else ""


_TABLE_START = re.compile(r"<table[ >]")


def _table(markup: str) -> str | None:
    """An HTML output that is a table (pandas' DataFrame), as a table of its text; None for other HTML (widgets,
    scripts), whose text result is shown instead."""
    if "<table" not in markup or "<script" in markup.lower():
        return None
    table = rebuilt_html(markup, _TABLE_TAGS, _span, _cell_text)
    if table is None or len(_TABLE_START.findall(table)) != 1:
        return None
    return table  # one line: an HTML block of its own in the Markdown
