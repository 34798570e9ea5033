"""Print the shape of the rockway package: modules per wing, lines, import edges between files, import cycles.

Edges are counted twice: between files (modules), and between parts, where a part is a wing (a subpackage, one node
whatever its size) or a module at the root (a kernel module): the plan a newcomer reads, which a split inside a
wing does not change.

Usage: python3 scripts/structure_report.py [--json]
Reads imports with grimp (installed with import-linter, a dev dependency); TYPE_CHECKING-only imports are left out,
as the import contracts in pyproject.toml leave them out.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import grimp

PACKAGE = Path(__import__("rockway").__file__).resolve().parent  # the package imported: run with PYTHONPATH=<checkout>/tooling to measure another checkout


def _wing(module: str, packages: set[str]) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "(root package)"
    return parts[1] if "rockway." + parts[1] in packages else "(kernel)"


def _part(module: str, packages: set[str]) -> str:
    """The wing of a module, or the module itself when it sits at the root."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and "rockway." + parts[1] in packages else module


def _cycles(graph: grimp.ImportGraph, modules: list[str]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]
    sys.setrecursionlimit(10_000)

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.find_modules_directly_imported_by(node):
            if not nxt.startswith("rockway"):
                continue
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in modules:
        if module not in index:
            visit(module)
    return found


def report() -> dict[str, object]:
    graph = grimp.build_graph("rockway", exclude_type_checking_imports=True, cache_dir=None)
    modules = sorted(m for m in graph.modules if m.startswith("rockway"))
    packages = {m for m in modules if (PACKAGE.parent / m.replace(".", "/") / "__init__.py").exists()}
    files = [m for m in modules if m not in packages or (PACKAGE.parent / m.replace(".", "/") / "__init__.py").stat().st_size]
    lines: Counter[str] = Counter()
    count: Counter[str] = Counter()
    longest: list[tuple[int, str]] = []
    for module in files:
        path = PACKAGE.parent / module.replace(".", "/")
        path = path / "__init__.py" if module in packages else path.with_suffix(".py")
        n = len(path.read_text().splitlines())
        wing = _wing(module, packages)
        lines[wing] += n
        count[wing] += 1
        longest.append((n, str(path.relative_to(PACKAGE.parent.parent))))
    edges = sum(1 for m in modules for i in graph.find_modules_directly_imported_by(m) if i.startswith("rockway"))
    root = [m for m in modules if m.count(".") == 1 and m not in packages]
    part_edges = {(_part(m, packages), _part(i, packages)) for m in modules
                  for i in graph.find_modules_directly_imported_by(m) if i.startswith("rockway")}
    return {
        "modules": len(files),
        "root_modules": len(root),
        "edges": edges,
        "part_edges": sum(1 for a, b in part_edges if a != b),
        "cycles": _cycles(graph, modules),
        "wings": {w: {"modules": count[w], "lines": lines[w]} for w in sorted(count)},
        "over_450_lines": [f"{p} ({n})" for n, p in sorted(longest, reverse=True) if n > 450],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    data = report()
    if args.json:
        print(json.dumps(data, indent=2))
        return
    print(f"modules {data['modules']}  root modules {data['root_modules']}  import edges {data['edges']}  "
          f"between parts {data['part_edges']}  cycles {len(data['cycles'])}")  # type: ignore[arg-type]
    for wing, figures in data["wings"].items():  # type: ignore[attr-defined]
        print(f"  {wing:16} {figures['modules']:3} modules {figures['lines']:6} lines")
    for cycle in data["cycles"]:  # type: ignore[attr-defined]
        print("  cycle: " + " <-> ".join(cycle))
    for item in data["over_450_lines"]:  # type: ignore[attr-defined]
        print("  over 450 lines: " + item)


if __name__ == "__main__":
    main()
