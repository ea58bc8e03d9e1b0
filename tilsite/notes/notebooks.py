"""Jupyter notebooks as notes: markdown cells as text, code cells as fenced code, text outputs kept short."""

from __future__ import annotations

import json

MAX_OUTPUT_LINES = 20
"""Text output of a code cell shown on the page, in lines."""


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
            parts.append(source.strip("\n"))
        elif kind == "code":
            if source.strip():
                parts.append(_fence(source.strip("\n"), language))
            output = _text_output(cell.get("outputs"))
            if output:
                parts.append(_fence(output, "text"))
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


def _text_output(outputs: object) -> str:
    """Plain-text outputs of a code cell (streams, results, errors), cut to ``MAX_OUTPUT_LINES``."""
    if not isinstance(outputs, list):
        return ""
    chunks: list[str] = []
    for output in outputs:
        if not isinstance(output, dict):
            continue
        kind = output.get("output_type")
        if kind == "stream":
            chunks.append(_joined(output.get("text")))
        elif kind in ("execute_result", "display_data", "pyout"):
            data = output.get("data", output)
            if isinstance(data, dict):
                chunks.append(_joined(data.get("text/plain", data.get("text"))))
        elif kind in ("error", "pyerr"):
            chunks.append(f"{output.get('ename', 'Error')}: {output.get('evalue', '')}")
    lines = "\n".join(chunk.rstrip("\n") for chunk in chunks if chunk.strip()).split("\n")
    if len(lines) > MAX_OUTPUT_LINES:
        lines = [*lines[:MAX_OUTPUT_LINES], f"... ({len(lines) - MAX_OUTPUT_LINES} more lines)"]
    return "\n".join(lines).strip("\n")
