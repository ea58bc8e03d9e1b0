"""The shape the style guide asks for: layers a newcomer can see, imports one way, a thin MkDocs adapter."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).parents[1] / "tilsite"
LAYERS = {"errors": 0, "files": 0, "workdir": 0, "notes": 1, "model": 2, "index": 3, "results": 4, "site": 5}
"""notes → sections → vectors → index → related/search → site; the adapter and the CLI come after all of them."""
ADAPTERS = {"plugin": 6, "cli": 7, "__main__": 7}


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """The tilsite modules a module imports (anywhere in it, type-checking imports included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tilsite"):
            names = [f"{node.module}.{alias.name}" for alias in node.names]
            found.update(
                name if (PACKAGE.parent / name.replace(".", "/")).with_suffix(".py").exists() else node.module
                for name in names
            )
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("tilsite"))
    return found


def _graph() -> dict[str, set[str]]:
    return {_module(path): _imports(path) - {_module(path)} for path in sorted(PACKAGE.rglob("*.py"))}


def _layer(module: str) -> int:
    first = module.split(".")[1] if "." in module else ""
    return {**LAYERS, **ADAPTERS}.get(first, 0)


def test_every_module_belongs_to_a_layer_and_imports_absolutely() -> None:
    for path in PACKAGE.rglob("*.py"):
        module = _module(path)
        if module != "tilsite":
            assert module.split(".")[1] in {**LAYERS, **ADAPTERS}, f"{module}: add its package to LAYERS"
        relative = [
            node
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.ImportFrom) and node.level
        ]
        assert not relative, f"{module}: a relative import, which these checks do not follow"


def test_imports_run_one_way_through_the_layers() -> None:
    graph = _graph()
    upward = [
        f"{module} imports {target}"
        for module, targets in graph.items()
        for target in targets
        if target in graph and _layer(target) > _layer(module)
    ]
    assert not upward


def test_there_are_no_import_cycles() -> None:
    graph = _graph()
    state: dict[str, int] = {}
    cycles: list[str] = []

    def visit(module: str, trail: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph.get(module, ())):
            if target not in graph:
                continue
            if state.get(target) == 1:
                cycles.append(" → ".join([*trail[trail.index(target) :], target]) if target in trail else target)
            elif target not in state:
                visit(target, [*trail, target])
        state[module] = 2

    for module in graph:
        if module not in state:
            visit(module, [module])
    assert not cycles


def test_the_mkdocs_adapter_reaches_at_most_four_core_modules() -> None:
    graph = _graph()
    reached = {
        target
        for module, targets in graph.items()
        if module.startswith("tilsite.plugin")
        for target in targets
        if not target.startswith("tilsite.plugin")
    }
    assert len(reached) <= 4, sorted(reached)


def test_one_module_names_the_work_folder_and_its_files() -> None:
    names = ('".tilsite"', '"embeddings.sqlite"', '"index"', '"docs"', "related.json", "web-model.json")
    naming = {
        _module(path): [name for name in names if name in path.read_text(encoding="utf-8")]
        for path in PACKAGE.rglob("*.py")
    }
    assert {module for module, found in naming.items() if found} == {"tilsite.workdir"}


def test_no_pytorch_in_the_package_and_sentence_transformers_only_behind_the_extra() -> None:
    heavy = {"torch", "transformers", "sentence_transformers", "safetensors", "optimum"}
    found: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            modules = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                modules = [node.module]
            hits = {name.split(".")[0] for name in modules} & heavy
            if hits:
                found.setdefault(_module(path), set()).update(hits)
    assert found == {"tilsite.model.models": {"sentence_transformers"}}


def _modules_after(code: str) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(result.stdout.split())


def test_core_never_imports_mkdocs() -> None:
    core = [module for module in _graph() if _layer(module) <= max(LAYERS.values()) and module != "tilsite"]
    loaded = _modules_after("\n".join(f"import {module}" for module in core))
    assert not {name for name in loaded if name == "mkdocs" or name.startswith("mkdocs.")}


def test_help_does_not_import_heavy_libraries() -> None:
    loaded = _modules_after(
        "from click.testing import CliRunner\nfrom tilsite.cli import cli\n"
        "assert CliRunner().invoke(cli, ['--help']).exit_code == 0\n"
        "assert CliRunner().invoke(cli, ['search', '--help']).exit_code == 0"
    )
    assert not loaded & {"torch", "sentence_transformers", "faiss", "transformers", "numpy", "mkdocs", "onnxruntime"}


def test_loading_the_plugin_imports_no_numerical_or_model_library() -> None:
    # What every `mkdocs build` does first; a build whose notes did not change never needs them.
    loaded = _modules_after("import tilsite.plugin.plugin")
    assert not loaded & {"numpy", "faiss", "onnxruntime", "tokenizers", "onnx", "torch"}
