"""Throwaway stores for the benchmarks: a config.toml for a fresh SQLite store and file store
under a work folder (the app's real loader reads it), and the App over it. Shared by
bench/run.py, bench/hotspots.py and bench/latency.py."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import seed  # noqa: E402
from bench.server import Dovecot  # noqa: E402

PW_ENV = "INTAKE_BENCH_IMAP_PASSWORD"


def write_config(work: Path, name: str, server: Dovecot | None, **sections: dict[str, Any]) -> Path:
    """A config.toml for a fresh store under work/name (the app's real loader reads it)."""
    from intake.demo_mail import OFFICE

    d = work / name
    d.mkdir(parents=True, exist_ok=True)
    data: dict[str, dict[str, Any]] = {
        "store": {"url": f"sqlite:///{d / 'intake.sqlite3'}", "files": str(d / "files")},
        "units": {"roster": str(seed.ROSTER), "office_addresses": [OFFICE]},
    }
    if server is not None:
        data["mailbox"] = {
            "host": server.host,
            "port": server.port,
            "security": "none",
            "username": server.user,
            "password_env": PW_ENV,
        }
    for key, values in sections.items():
        data.setdefault(key, {}).update(values)
    lines = []
    for key, values in data.items():
        lines.append(f"[{key}]")
        lines += [f"{k} = {json.dumps(v, ensure_ascii=False)}" for k, v in values.items()]
    path = d / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@contextmanager
def app_for(config: Path) -> Iterator[Any]:
    from core import config as config_mod
    from core.clock import SystemClock
    from intake.app import App

    app = App(config_mod.load(config), SystemClock())
    try:
        yield app
    finally:
        app.close()
