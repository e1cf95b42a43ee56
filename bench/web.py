"""The console's server time (issue 17): Tổng quan of a campaign of 5,000 units (target
≤ 300 ms) and one unit's page (≤ 50 ms), on a real SQLite store filled by bench/synth.py, served
by the real `intake web` (waitress) in its own process: the time from sending the request on
loopback to the last byte of the body, median of `repeat` after a warm-up (loopback adds well
under a millisecond). bench/ sits beside web/, so it drives the console as a client, by its
command line, never by importing it.

    .venv/bin/python bench/web.py [--units 5000] [--repeat 7]

`bench/run.py --only web` runs it among the others.
"""

from __future__ import annotations

import argparse
import http.client
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TARGETS = {"overview": 0.300, "unit": 0.050}
PASSWORD = "mat-khau-do-toc-do"


def _config(work: Path, port: int) -> Path:
    from intake.demo_mail import OFFICE

    path = work / "config.toml"
    path.write_text(
        "[store]\n"
        f'url = "sqlite:///{work / "intake.sqlite3"}"\nfiles = "{work / "files"}"\n'
        "[units]\n"
        f'office_addresses = ["{OFFICE}"]\n'
        "[limits]\nparse_workers = 0\n"
        f"[web]\nport = {port}\n",
        encoding="utf-8",
    )
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Client:
    """Cookies kept, no redirects followed (http.client)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(
        self, method: str, path: str, form: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        data = r.read()
        for line in r.headers.get_all("Set-Cookie") or []:
            name, _, rest = line.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        conn.close()
        return r.status, data


def _timed(client: _Client, path: str, repeat: int) -> tuple[float, int]:
    """Median seconds of GET `path` (the body read), and the body's size."""
    status, body = client.request("GET", path)  # warm: templates compiled, caches filled
    assert status == 200, (path, status)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        status, body = client.request("GET", path)
        times.append(time.perf_counter() - t0)
        assert status == 200
    return statistics.median(times), len(body)


def measure(work: Path, *, units: int = 5000, repeat: int = 7) -> dict[str, Any]:
    from bench import synth
    from core import config as config_mod
    from intake.filing import requirements
    from store.db import open_store
    from store.files import FileStore

    port = _free_port()
    path = _config(work, port)
    cfg = config_mod.load(path)
    c = cfg.campaign
    engine, sessions = open_store(cfg.store_url, migrate=True, files_root=cfg.files_dir)
    counts = synth.fill(
        sessions,
        FileStore(cfg.files_dir),
        units=units,
        campaign_id=c.id,
        deadline=c.deadline_at,
        req=requirements(c),
    )
    intake = str(Path(sys.executable).parent / "intake")
    subprocess.run(
        [
            intake,
            "--config",
            str(path),
            "users",
            "add",
            "co.hoa",
            "--role",
            "officer",
            "--password-stdin",
            "--by",
            "bench",
        ],
        input=PASSWORD + "\n",
        text=True,
        check=True,
        capture_output=True,
    )
    server = subprocess.Popen(
        [intake, "--config", str(path), "web"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        client = _Client(port)
        for _ in range(300):
            try:
                status, page = client.request("GET", "/login")
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("intake web did not answer")
        m = re.search(r'name="csrf" value="([^"]+)"', page.decode())
        assert m
        status, _ = client.request(
            "POST", "/login", {"csrf": m[1], "name": "co.hoa", "password": PASSWORD}
        )
        assert status == 303, status
        overview, size = _timed(client, "/", repeat)
        filtered, _ = _timed(client, "/?state=incomplete&kind=th&q=thanh", repeat)
        unit, unit_size = _timed(client, "/units/th-kim-bai", repeat)
        cold = {
            path: _after_a_change(client, sessions, path, 3) for path in ("/", "/units/th-kim-bai")
        }
    finally:
        server.terminate()
        server.wait(timeout=30)
        engine.dispose()
    return {
        "units": units,
        "messages": counts["messages"],
        "overview_s": overview,
        "overview_kb": size / 1000,
        "filtered_s": filtered,
        "unit_s": unit,
        "unit_kb": unit_size / 1000,
        "overview_cold_s": cold["/"],
        "unit_cold_s": cold["/units/th-kim-bai"],
    }


def _after_a_change(client: _Client, sessions: Any, path: str, repeat: int) -> float:
    """Median seconds of GET `path` right after the store changed (an audited officer action
    made elsewhere): Tổng quan computes the campaign's status again, a unit page reads that
    unit alone (web.statuscache)."""
    from intake.officer import audit

    times = []
    for i in range(repeat):
        with sessions.begin() as s:
            audit(s, "bench", "bench.change", datetime.now(UTC), n=i)
        t0 = time.perf_counter()
        status, _ = client.request("GET", path)
        times.append(time.perf_counter() - t0)
        assert status == 200
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--units", type=int, default=5000)
    p.add_argument("--repeat", type=int, default=7)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="intake-bench-web-") as tmp:
        out = measure(Path(tmp), units=args.units, repeat=args.repeat)
    rows = [
        (
            f"Tổng quan, {out['units']} units",
            out["overview_s"],
            TARGETS["overview"],
            f"{out['overview_kb']:.0f} KB, store unchanged since the last view",
        ),
        ("Tổng quan, filtered", out["filtered_s"], TARGETS["overview"], ""),
        (
            "Tổng quan, after a change",
            out["overview_cold_s"],
            TARGETS["overview"],
            "status computed again",
        ),
        ("unit page", out["unit_s"], TARGETS["unit"], f"{out['unit_kb']:.0f} KB"),
        (
            "unit page, after a change",
            out["unit_cold_s"],
            TARGETS["unit"],
            "that unit's status and data rows read alone",
        ),
    ]
    for name, value, target, note in rows:
        verdict = "PASS" if value <= target else "MISS"
        print(
            f"{name:<28} {value * 1000:8.1f} ms   "
            f"target ≤ {target * 1000:.0f} ms  {verdict}  {note}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
