"""The package's shape from its own imports: lines per package, import cycles, levels, the adapter's reach.

    python bench/layout.py [PACKAGE_FOLDER ...]     # default: this checkout's tilsite/

For each folder: lines of Python per top-level package or module, the strongly
connected components of the import graph that hold more than one module (import
cycles, imports inside functions included), the number of levels (the longest
chain of imports), and the core modules that the MkDocs adapter (``plugin``)
imports. Prints a Markdown table.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent


def modules(package: Path) -> dict[str, Path]:
    found = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(path: Path, known: set[str]) -> set[str]:
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tilsite"):
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        targets.update(name for name in names if name in known)
    return targets


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in graph[module]:
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for module in graph:
        if module not in index:
            visit(module)
    return found


def levels(graph: dict[str, set[str]]) -> int:
    """The longest import chain, counting modules (a cycle counts once)."""
    depth: dict[str, int] = {}

    def visit(module: str, trail: frozenset[str]) -> int:
        if module in depth:
            return depth[module]
        below = [visit(target, trail | {module}) for target in graph[module] if target not in trail]
        depth[module] = 1 + max(below, default=0)
        return depth[module]

    return max((visit(module, frozenset()) for module in graph), default=0)


def describe(package: Path) -> dict[str, object]:
    found = modules(package)
    known = set(found)
    graph = {name: imports(path, known) - {name, "tilsite"} for name, path in found.items()}
    lines: dict[str, int] = defaultdict(int)
    for name, path in found.items():
        parts = name.split(".")
        lines[parts[1] if len(parts) > 1 else "(package)"] += len(path.read_text(encoding="utf-8").splitlines())
    reach = sorted(
        {target for name, targets in graph.items() if name.startswith("tilsite.plugin") for target in targets}
        - {name for name in known if name.startswith("tilsite.plugin")}
    )
    return {
        "modules": len(found),
        "lines": sum(lines.values()),
        "by_package": dict(sorted(lines.items(), key=lambda item: -item[1])),
        "cycles": cycles(graph),
        "levels": levels(graph),
        "adapter_reach": reach,
    }


def main() -> None:
    folders = [Path(arg) for arg in sys.argv[1:]] or [HERE.parent / "tilsite"]
    print("| tree | modules | lines | levels | import cycles | core modules the MkDocs adapter imports |")
    print("| --- | ---: | ---: | ---: | --- | --- |")
    for folder in folders:
        shape = describe(folder.resolve())
        cycle_text = "; ".join(" ↔ ".join(name.removeprefix("tilsite.") for name in cycle) for cycle in shape["cycles"])  # type: ignore[union-attr]
        reach = shape["adapter_reach"]
        print(
            f"| {folder} | {shape['modules']} | {shape['lines']:,} | {shape['levels']} | {cycle_text or 'none'} |"
            f" {len(reach)}: {', '.join(name.removeprefix('tilsite.') for name in reach)} |"  # type: ignore[union-attr,arg-type]
        )
        print(f"|  | lines by package: {', '.join(f'{k} {v:,}' for k, v in shape['by_package'].items())} | | | | |")  # type: ignore[union-attr]


if __name__ == "__main__":
    main()
