"""The shape the style guide asks for: a framework-free core and a fast `tilsite --help`."""

from __future__ import annotations

import subprocess
import sys

CORE = ["builder", "cache", "converter", "embeddings", "errors", "index", "keywords", "notes", "related", "render"]
CORE += [
    "search",
    "sections",
    "slugs",
    "webmodel",
    "websearch",
    "onnxengine",
    "sources",
    "notebooks",
    "dates",
    "archive",
]


def _modules_after(code: str) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(result.stdout.split())


def test_core_never_imports_mkdocs() -> None:
    loaded = _modules_after("\n".join(f"import tilsite.{name}" for name in CORE))
    assert not {name for name in loaded if name == "mkdocs" or name.startswith("mkdocs.")}


def test_help_does_not_import_heavy_libraries() -> None:
    loaded = _modules_after(
        "from click.testing import CliRunner\nfrom tilsite.cli import cli\n"
        "assert CliRunner().invoke(cli, ['--help']).exit_code == 0\n"
        "assert CliRunner().invoke(cli, ['search', '--help']).exit_code == 0"
    )
    assert not loaded & {"torch", "sentence_transformers", "faiss", "transformers", "numpy", "mkdocs"}
