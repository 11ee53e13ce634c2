"""No import circle in ``src/mlops_actions``, counting imports inside functions.

An import inside a function hides a circle from Python at import time, not
from the reader: the two modules still cannot be understood apart. The graph
is read from the source with ``ast``; imports under ``if TYPE_CHECKING:``
never run and are left out.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def modules(src: Path, package: str) -> dict[str, Path]:
    """Dotted name -> file for every module of ``package`` under ``src``."""
    found = {}
    for path in sorted((src / package).rglob("*.py")):
        parts = path.relative_to(src).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def import_graph(src: Path, package: str) -> dict[str, set[str]]:
    """Module -> the modules of ``package`` it imports, anywhere in its body.

    ``from pkg import name`` counts as importing ``pkg.name`` when that is a
    module, else ``pkg``; relative imports are resolved against the module.
    """
    known = modules(src, package)
    graph = {}
    for name, path in known.items():
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        targets = set()
        for node in _runtime_nodes(tree):
            for target in _imported(node, name, is_package):
                while target and target not in known:  # a.b.func -> a.b
                    target = target.rpartition(".")[0]
                if target and target != name:
                    targets.add(target)
        graph[name] = targets
    return graph


def _runtime_nodes(tree: ast.AST):
    """Every node, except what sits under ``if TYPE_CHECKING:``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                stack.extend(child.orelse)
                continue
            stack.append(child)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported(node: ast.AST, module: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    base = node.module or ""
    if node.level:
        parts = module.split(".")
        keep = len(parts) - node.level + (1 if is_package else 0)
        base = ".".join([*parts[:keep], *([base] if base else [])])
    return [f"{base}.{alias.name}" for alias in node.names]


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle as ``[a, b, ..., a]``, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return path[path.index(target) :] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def all_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Circles one at a time: report one, drop its closing edge, look again."""
    graph = {k: set(v) for k, v in graph.items()}
    found = []
    while cycle := find_cycle(graph):
        found.append(cycle)
        graph[cycle[-2]].discard(cycle[-1])
    return found


def test_no_import_cycle_in_src():
    cycles = all_cycles(import_graph(SRC, "mlops_actions"))
    assert not cycles, "import circles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_the_graph_sees_the_imports_it_must():
    graph = import_graph(SRC, "mlops_actions")
    # module level, `from pkg import module`, and inside a function body
    assert "mlops_actions.cli.options" in graph["mlops_actions.cli"]
    assert "mlops_actions.registry.register" in graph["mlops_actions.cli.model"]
    assert "mlops_actions.settings" in graph["mlops_actions.cli.options"]


def _package(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_a_planted_cycle_through_a_function_import_is_found(tmp_path):
    src = _package(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from pkg import b\n",
            "pkg/b.py": "def later():\n    from . import c\n",
            "pkg/c.py": "import pkg.a\n",
            "pkg/d.py": "from pkg.a import something\n",
        },
    )
    assert find_cycle(import_graph(src, "pkg")) == ["pkg.a", "pkg.b", "pkg.c", "pkg.a"]


def test_relative_imports_in_a_subpackage_and_type_checking(tmp_path):
    src = _package(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/sub/__init__.py": "from .x import thing\n",
            "pkg/sub/x.py": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n    from pkg.sub import y\n"
                "def f():\n    from ..top import value\n"
            ),
            "pkg/sub/y.py": "from pkg.sub.x import f\n",
            "pkg/top.py": "def g():\n    from pkg.sub import y\n",
        },
    )
    graph = import_graph(src, "pkg")
    assert graph["pkg.sub"] == {"pkg.sub.x"}
    assert graph["pkg.sub.x"] == {"pkg.top"}  # the TYPE_CHECKING import left out
    # x -> top -> y -> x, all through function-level imports
    assert find_cycle(graph) == ["pkg.sub.x", "pkg.top", "pkg.sub.y", "pkg.sub.x"]
