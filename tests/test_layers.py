"""The import graph, read with `ast`: no circle between our modules, and no import from a
lower folder to a higher one (from the ground up: core and parsers, store, notifier, intake,
then web and bench). Imports under `if TYPE_CHECKING:` count too: a type-only edge is still
a dependency a reader must follow."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RANK = {"core": 0, "parsers": 0, "store": 1, "notifier": 2, "intake": 3, "web": 4, "bench": 4}


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _graph() -> dict[str, set[str]]:
    modules = {_module(p): p for folder in RANK for p in (ROOT / folder).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets.add(node.module)
                targets.update(f"{node.module}.{a.name}" for a in node.names)
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def test_the_graph_sees_our_modules() -> None:
    graph = _graph()
    assert "core.config" in graph["intake.app"]
    assert "parsers.office" in graph["parsers.report"]


def test_no_module_imports_from_a_higher_folder() -> None:
    upward = [
        f"{src} -> {dst}"
        for src, dsts in _graph().items()
        for dst in dsts
        if RANK[dst.split(".")[0]] > RANK[src.split(".")[0]]
    ]
    assert upward == []


def test_no_import_circle() -> None:
    graph = _graph()
    state: dict[str, int] = {}  # 1: on the path, 2: done
    circles: list[str] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                circles.append(" -> ".join([*path[path.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    assert circles == []
