"""The console's server time (issue 17): Tổng quan of a campaign of 5,000 units (target
≤ 300 ms) and one unit's page (≤ 50 ms), on a real SQLite store filled by bench/synth.py, through
the real Flask app (guard, session lookup, queries, templates) in process: the time from the
request entering the app to the body written, median of `repeat` after a warm-up.

    .venv/bin/python bench/web.py [--units 5000] [--repeat 7]

`bench/run.py --only web` runs it among the others.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TARGETS = {"overview": 0.300, "unit": 0.050}
PASSWORD = "mat-khau-do-toc-do"


def _config(work: Path) -> Path:
    from intake.demo_mail import OFFICE

    path = work / "config.toml"
    path.write_text(
        "[store]\n"
        f'url = "sqlite:///{work / "intake.sqlite3"}"\nfiles = "{work / "files"}"\n'
        "[units]\n"
        f'office_addresses = ["{OFFICE}"]\n'
        "[limits]\nparse_workers = 0\n", encoding="utf-8")
    return path


def _timed(client: Any, path: str, repeat: int) -> tuple[float, int]:
    """Median seconds of GET `path` (the body read), and the body's size."""
    r = client.get(path)  # warm: templates compiled, caches filled
    assert r.status_code == 200, (path, r.status_code)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        r = client.get(path)
        body = r.get_data()
        times.append(time.perf_counter() - t0)
        assert r.status_code == 200
    return statistics.median(times), len(body)


def measure(work: Path, *, units: int = 5000, repeat: int = 7) -> dict[str, Any]:
    from bench import synth
    from core import config as config_mod
    from core.clock import FixedClock
    from intake.filing import requirements
    from store.db import open_store
    from store.files import FileStore
    from web.accounts import add_user
    from web.app import create_app
    from web.console import build_console

    cfg = config_mod.load(_config(work))
    c = cfg.campaign
    engine, sessions = open_store(cfg.store_url, migrate=True, files_root=cfg.files_dir)
    counts = synth.fill(sessions, FileStore(cfg.files_dir), units=units, campaign_id=c.id,
                        deadline=c.deadline_at, req=requirements(c))
    clock = FixedClock(c.deadline_at)
    with sessions.begin() as s:
        add_user(s, "co.hoa", "officer", PASSWORD, by="bench", now=clock.now())
    engine.dispose()
    console, close = build_console(cfg, clock)
    try:
        client = create_app(console).test_client()
        page = client.get("/login").get_data(as_text=True)
        m = re.search(r'name="csrf" value="([^"]+)"', page)
        assert m
        r = client.post("/login", data={"csrf": m[1], "name": "co.hoa", "password": PASSWORD})
        assert r.status_code == 303, r.status_code
        overview, size = _timed(client, "/", repeat)
        filtered, _ = _timed(client, "/?state=incomplete&kind=th&q=thanh", repeat)
        unit, unit_size = _timed(client, "/units/th-kim-bai", repeat)
    finally:
        close()
    return {"units": units, "messages": counts["messages"], "overview_s": overview,
            "overview_kb": size / 1000, "filtered_s": filtered, "unit_s": unit,
            "unit_kb": unit_size / 1000}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--units", type=int, default=5000)
    p.add_argument("--repeat", type=int, default=7)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="intake-bench-web-") as tmp:
        out = measure(Path(tmp), units=args.units, repeat=args.repeat)
    rows = [
        (f"Tổng quan, {out['units']} units", out["overview_s"], TARGETS["overview"],
         f"{out['overview_kb']:.0f} KB"),
        ("Tổng quan, filtered", out["filtered_s"], TARGETS["overview"], ""),
        ("unit page", out["unit_s"], TARGETS["unit"], f"{out['unit_kb']:.0f} KB"),
    ]
    for name, value, target, note in rows:
        verdict = "PASS" if value <= target else "MISS"
        print(f"{name:<28} {value * 1000:8.1f} ms   target ≤ {target * 1000:.0f} ms  {verdict}  {note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
