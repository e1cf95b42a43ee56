"""States live in store/ as StrEnums (store.models: MessageState, LedgerState, OutboxState,
SubmissionState): code outside store/ names them by member, never by a bare string. This reads
every module outside store/ with `ast` and fails on a state's value written as a literal where a
state is compared, assigned, passed as `state=`, or written into SQL (`state = 'filed'`)."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path

from store.models import LedgerState, MessageState, OutboxState, SubmissionState

STATES: tuple[type[StrEnum], ...] = (MessageState, LedgerState, OutboxState, SubmissionState)
VALUES = {m.value for e in STATES for m in e}
ROOT = Path(__file__).resolve().parent.parent
OUTSIDE_STORE = ("core", "parsers", "notifier", "intake", "web", "bench")
SQL = re.compile(r"\bstate\s*(?:=|!=|<>|\bIN\b|\bNOT IN\b)\s*\(?\s*'(\w+)'", re.I)


def _is_state(node: ast.expr) -> bool:
    """`x.state`, `state`, `entry_state`: an expression that holds a state."""
    name = (
        node.attr
        if isinstance(node, ast.Attribute)
        else node.id
        if isinstance(node, ast.Name)
        else ""
    )
    return name == "state" or name.endswith("_state")


def _strings(node: ast.expr | None) -> Iterator[ast.Constant]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node
    elif isinstance(node, ast.Tuple | ast.List | ast.Set):
        for item in node.elts:
            yield from _strings(item)


def bare_states(source: str) -> Iterator[tuple[int, str]]:
    """(line, literal) for each state value written as a bare string in `source`."""
    for node in ast.walk(ast.parse(source)):
        found: list[ast.Constant] = []
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(_is_state(s) for s in sides):
                found = [c for s in sides for c in _strings(s)]
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(_is_state(t) for t in targets):
                found = list(_strings(node.value))
        elif isinstance(node, ast.Call):
            found = [c for kw in node.keywords if kw.arg == "state" for c in _strings(kw.value)]
            if isinstance(node.func, ast.Attribute) and node.func.attr in ("in_", "not_in"):
                if _is_state(node.func.value):
                    found += [c for a in node.args for c in _strings(a)]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            for m in SQL.finditer(node.value):
                if m.group(1) in VALUES:
                    yield node.lineno, m.group(0)
        for c in found:
            if c.value in VALUES:
                yield c.lineno, repr(c.value)


def test_the_check_sees_each_way_a_bare_state_is_written() -> None:
    source = """
msg.state = "filed"
if entry.state != "quarantined": pass
q = select(Message).where(Message.state.in_(("received", "other")))
update(OutboxMail).values(state="pending")
ok = u.state == SubmissionState.COMPLETE or kind == "filed"
c.execute("SELECT id FROM messages WHERE state = 'unassigned'")
"""
    assert sorted(line for line, _ in bare_states(source)) == [2, 3, 4, 4, 5, 7]


def test_no_bare_state_literal_outside_store() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}: {text}"
        for folder in OUTSIDE_STORE
        for path in sorted((ROOT / folder).rglob("*.py"))
        for line, text in bare_states(path.read_text(encoding="utf-8"))
    ]
    assert found == [], "use the StrEnums of store.models:\n" + "\n".join(found)


def test_the_folders_checked_are_all_there_is_outside_store() -> None:
    packages = {p.parent.name for p in Path(ROOT).glob("*/__init__.py")} - {"store", "tests"}
    assert packages <= set(OUTSIDE_STORE)
