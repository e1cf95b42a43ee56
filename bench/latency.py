"""APPEND → visible in `intake status`, with IDLE (issue 19 item 4): `intake run` as a
subprocess against a throwaway Dovecot, a regular poll only every ten minutes (so every quick
answer comes from IDLE), and `samples` realistic unit emails (bench/seed.py) APPENDed one at a
time; each waits until the one before it showed. A watcher reads the store every 10 ms the way
`intake status` does (the messages past `received`) and notes when each APPENDed Message-ID
first shows. Returns the latencies in seconds.

    .venv/bin/python bench/latency.py [--samples 20]
"""

from __future__ import annotations

import argparse
import email
import email.policy
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import seed  # noqa: E402
from bench.server import running  # noqa: E402
from bench.stores import PW_ENV, write_config  # noqa: E402
from store.models import MessageState  # noqa: E402

INTAKE = str(Path(sys.executable).with_name("intake"))


def p95(values: list[float]) -> float:
    """The 95th percentile, nearest rank."""
    ordered = sorted(values)
    return ordered[max(0, -(-95 * len(ordered) // 100) - 1)]


def _visible(db: Path) -> set[str]:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.5) as c:
            return {
                str(m)
                for (m,) in c.execute(
                    f"SELECT message_id FROM messages WHERE state <> '{MessageState.RECEIVED}'"
                )
            }
    except sqlite3.Error:  # not created yet, or busy for a moment
        return set()


def _wait(
    what: str, ok: Callable[[], bool], timeout: float, proc: subprocess.Popen[bytes], log: Path
) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if ok():
            return
        if proc.poll() is not None:
            raise RuntimeError(f"intake run exited: {log.read_text()[-2000:]}")
        time.sleep(0.05)
    raise RuntimeError(f"{what} not seen in {timeout:.0f} s: {log.read_text()[-2000:]}")


def measure(samples: int = 20, timeout: float = 20.0, keep_log: Path | None = None) -> list[float]:
    work = Path(tempfile.mkdtemp(prefix="intake-latency-"))
    mails = seed.unit_messages(samples + 1, seed=19)
    ids = [
        str(email.message_from_bytes(m, policy=email.policy.default)["Message-ID"]).strip()
        for m in mails
    ]
    out: list[float] = []
    try:
        with running() as server:
            env = dict(os.environ, **{PW_ENV: server.password})
            cfg = write_config(work, "latency", server, mailbox={"poll_interval": 600})
            db = work / "latency" / "intake.sqlite3"
            log = work / "latency" / "run.log"
            with log.open("ab") as fh:
                proc = subprocess.Popen(
                    [INTAKE, "--config", str(cfg), "-v", "run"],
                    stdout=fh,
                    stderr=fh,
                    env=env,
                    start_new_session=True,
                    cwd=ROOT,
                )
            try:
                _wait(
                    "the IDLE watcher", lambda: "IDLE: watching" in log.read_text(), 90, proc, log
                )
                with server.client() as c:
                    c.append("INBOX", mails[0])  # a first message: the workers warm
                    _wait("the first message", lambda: ids[0] in _visible(db), 60, proc, log)
                    time.sleep(1.0)
                    for raw, mid in zip(mails[1:], ids[1:], strict=True):
                        t0 = time.monotonic()
                        c.append("INBOX", raw)
                        while mid not in _visible(db):
                            if time.monotonic() - t0 > timeout:
                                raise RuntimeError(f"{mid} not visible in {timeout:.0f} s")
                            time.sleep(0.01)
                        out.append(time.monotonic() - t0)
                        time.sleep(0.5)  # the daemon back in IDLE
            finally:
                proc.terminate()
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                if keep_log is not None:
                    shutil.copyfile(log, keep_log)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--samples", type=int, default=20)
    p.add_argument("--keep-log", type=Path, help="copy the daemon's log here")
    args = p.parse_args(argv)
    lat = measure(args.samples, keep_log=args.keep_log)
    print(
        f"{len(lat)} samples: median {statistics.median(lat):.3f} s, p95 {p95(lat):.3f} s, "
        f"min {min(lat):.3f}, max {max(lat):.3f}: " + " ".join(f"{x:.2f}" for x in lat)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
