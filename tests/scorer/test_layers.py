"""The scorer's request path reads in one direction: HTTP -> protocol ->
batching -> model, with input logs on the side and two shared leaves.

Every import counts, the ones inside functions and under TYPE_CHECKING too:
a lower layer that reached up, even lazily, would make the layers a tangle
again.
"""

from __future__ import annotations

import ast
from pathlib import Path

import mlops_actions.scorer

SCORER = Path(mlops_actions.scorer.__file__).parent
PACKAGE = "mlops_actions.scorer"
#: group -> the groups its modules may import (their own included)
MAY_IMPORT = {
    "http": {"http", "protocol", "batching", "model", "input_log", "shared"},
    "protocol": {"protocol", "batching", "model", "shared"},
    "batching": {"batching", "model", "shared"},
    "model": {"model", "shared"},
    "input_log": {"input_log", "model", "shared"},
    # settings and the refusal every layer may raise: they import no layer
    "shared": set(),
}
SHARED = {PACKAGE, f"{PACKAGE}.config", f"{PACKAGE}.rejection"}


def group(module: str) -> str | None:
    """The layer ``module`` belongs to; None when it was put in none."""
    if module in SHARED:
        return "shared"
    rest = module[len(PACKAGE) + 1 :]
    head = rest.split(".")[0]
    return head if head in MAY_IMPORT and head != "shared" else None


def scorer_modules() -> dict[str, Path]:
    found = {}
    for path in SCORER.rglob("*.py"):
        parts = list(path.relative_to(SCORER).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join([PACKAGE, *parts])] = path
    return found


def imports(module: str, path: Path) -> set[str]:
    """The scorer modules ``module`` imports, anywhere in its file."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    named: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            named.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            named.add(base)
            named.update(f"{base}.{alias.name}" for alias in node.names)
    return {n for n in named if n == PACKAGE or n.startswith(PACKAGE + ".")}


def violations(graph: dict[str, set[str]]) -> list[str]:
    """``importer -> imported`` for each import that goes the wrong way."""
    known = set(graph)
    wrong = []
    for importer, imported in sorted(graph.items()):
        source = group(importer)
        if source is None:
            wrong.append(f"{importer}: in no layer")
            continue
        for name in sorted(imported):
            while name not in known and "." in name:
                name = name.rpartition(".")[0]  # `from pkg import function`
            if name in (importer, PACKAGE) or importer.startswith(name + "."):
                continue  # itself, or a package above it
            if group(name) not in MAY_IMPORT[source]:
                wrong.append(f"{importer} -> {name}")
    return wrong


def test_no_layer_imports_a_higher_one():
    graph = {m: imports(m, p) for m, p in scorer_modules().items()}
    assert f"{PACKAGE}.http.server" in graph and f"{PACKAGE}.model.loading" in graph
    assert violations(graph) == []


def test_a_model_module_reaching_up_is_caught():
    graph = {
        f"{PACKAGE}.http.app": {f"{PACKAGE}.protocol.inputs"},
        f"{PACKAGE}.protocol.inputs": {f"{PACKAGE}.model.predict.ParsedInput"},
        f"{PACKAGE}.model.predict": {f"{PACKAGE}.http.app"},
        f"{PACKAGE}.batching": {f"{PACKAGE}.input_log.logger"},
        f"{PACKAGE}.input_log.logger": set(),
        f"{PACKAGE}.rejection": {f"{PACKAGE}.model.predict"},
        f"{PACKAGE}.stray": set(),
    }
    assert violations(graph) == [
        f"{PACKAGE}.batching -> {PACKAGE}.input_log.logger",
        f"{PACKAGE}.model.predict -> {PACKAGE}.http.app",
        f"{PACKAGE}.rejection -> {PACKAGE}.model.predict",
        f"{PACKAGE}.stray: in no layer",
    ]


def test_imports_inside_functions_count(tmp_path):
    module = tmp_path / "predict.py"
    module.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from mlops_actions.scorer.http.runtime import ScorerState\n"
        "def f():\n"
        "    from ..protocol import inputs\n"
    )
    assert imports(f"{PACKAGE}.model.predict", module) == {
        f"{PACKAGE}.http.runtime",
        f"{PACKAGE}.http.runtime.ScorerState",
        f"{PACKAGE}.protocol",
        f"{PACKAGE}.protocol.inputs",
    }
