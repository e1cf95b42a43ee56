"""Tests you can find (issue 14): every test module stands alone and what tests share lives in
tests/support/. Read with `ast`, no module imported: a tests/test_*.py (or conftest, or a
tests/support module) that imports a tests.test_* module fails, and so does a bench/*.py that
imports anything under tests/ but tests.support. Imports inside functions count, and relative
ones are resolved against the file's package."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _imported(source: str, module: str) -> set[str]:
    """What `source` (the text of the module named `module`) imports, by absolute name: X for
    `import X`, P.N for `from P import N` (N a module or a name in P)."""
    package = module.split(".")[:-1]
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            parts = [*package[: len(package) - node.level + 1]] if node.level else []
            base = ".".join([*parts, node.module] if node.module else parts)
            names.update(f"{base}.{a.name}" for a in node.names)
    return names


def _under(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def bad_imports(source: str, module: str) -> list[str]:
    """The imports of `module` (dotted, e.g. tests.test_blobs or bench.run) the layout forbids:
    a tests.test_* module anywhere, and from bench anything under tests but tests.support."""
    bad = set()
    for name in _imported(source, module):
        parts = name.split(".")
        if len(parts) >= 2 and parts[0] == "tests" and parts[1].startswith("test_"):
            bad.add(".".join(parts[:2]))
        elif module.startswith("bench.") and _under(name, "tests"):
            if not _under(name, "tests.support"):
                bad.add(name)
    return sorted(f"{module} imports {n}" for n in bad)


def _module(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def _checked_files() -> list[Path]:
    tests = ROOT / "tests"
    return sorted(
        [
            *tests.glob("test_*.py"),
            tests / "conftest.py",
            *(tests / "support").glob("*.py"),
            *(ROOT / "bench").glob("*.py"),
        ]
    )


def test_the_check_catches_a_test_module_importing_another() -> None:
    for source in (
        "from tests.test_daemon import Daemon\n",
        "import tests.test_daemon\n",
        "from tests import test_daemon\n",
        "from .test_daemon import Daemon\n",
        "def f():\n    from tests.test_workbook import make_campaign\n",
    ):
        assert bad_imports(source, "tests.test_blobs"), source
    assert bad_imports("from tests.test_logs import Run\n", "tests.support.daemon")
    assert bad_imports("from tests.test_daemon import Store\n", "tests.test_daemon") == [
        "tests.test_daemon imports tests.test_daemon"
    ]
    for source in (
        "from tests.support.daemon import Daemon\n",
        "from tests.support import docgen_reports\n",
        "from .support.config import ROSTER\n",
        "import pytest\nfrom intake.app import App\n",
    ):
        assert bad_imports(source, "tests.test_blobs") == [], source


def test_the_check_catches_bench_importing_tests_beyond_support() -> None:
    for source in (
        "from tests.test_pipeline_e2e import phone_jpeg\n",
        "from tests.conftest import ROSTER\n",
        "import tests\n",
        "from tests import test_perf\n",
        "import tests.conftest\n",
    ):
        assert bad_imports(source, "bench.run"), source
    for source in (
        "from tests.support.config import ROSTER\n",
        "from tests.support import mailgen\n",
        "import tests.support.docgen_media\n",
        "from intake.app import App\n",
    ):
        assert bad_imports(source, "bench.run") == [], source


def test_the_check_reads_the_tree() -> None:
    files = _checked_files()
    names = {_module(p) for p in files}
    assert {"tests.test_daemon", "tests.test_layout", "tests.support.daemon", "bench.run"} <= names
    # the tree's own imports are seen: this module's ast import, a test's support import
    assert "ast" in _imported((ROOT / "tests/test_layout.py").read_text(encoding="utf-8"), "x.y")
    blobs = (ROOT / "tests/test_blobs.py").read_text(encoding="utf-8")
    assert "tests.support.daemon.Daemon" in _imported(blobs, "tests.test_blobs")


def test_no_test_module_imports_another_and_bench_imports_only_support() -> None:
    bad = [
        line
        for path in _checked_files()
        for line in bad_imports(path.read_text(encoding="utf-8"), _module(path))
    ]
    assert bad == []
