"""Run one full ingest (App.poll_once: fetch, store, parse, file) in a fresh process and print,
as JSON, its peak RSS and that of its children (the forkserver and the parse workers).

Usage: python bench/rss_child.py CONFIG.toml   (the mailbox password in the configured env var)

Two traps of ru_maxrss are avoided here:
- Linux keeps a process's peak across exec: a process started from the (large) benchmark
  would report the benchmark's RSS. The ingest therefore runs in a process forked from this
  small one right after start-up; that fork's own peak is what is reported.
- The forkserver is started by exec from the process that first needs it and inherits its
  peak the same way: it is started first thing, while the ingest process is still small.
  RUSAGE_CHILDREN counts only children that were waited for: the parse pool is shut down
  (App.close) and the forkserver stopped before it is read; the workers are the forkserver's
  children, and Linux carries their peak up to it when it reaps them.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def ingest(config_path: str) -> dict[str, object]:
    import multiprocessing.forkserver as forkserver
    import resource
    import time

    forkserver.ensure_running()
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from bench.seed import ROSTER
    from core import config as config_mod
    from core.clock import SystemClock
    from intake.app import App

    cfg = config_mod.load(Path(config_path))
    with App(cfg, SystemClock()) as app:
        app.import_roster(ROSTER)
        before = _status_kb("VmRSS")
        t0 = time.perf_counter()
        result = app.poll_once()
        seconds = time.perf_counter() - t0
    forkserver._forkserver._stop()  # type: ignore[attr-defined]
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "rss_before_poll_kb": before,
        "self_maxrss_kb": me.ru_maxrss,
        "self_vmhwm_kb": _status_kb("VmHWM"),
        "children_maxrss_kb": kids.ru_maxrss,
        "seconds": seconds,
        "stored": result.stored,
        "processed": result.processed,
        "error": result.error,
    }


def main(config_path: str) -> int:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the ingest process
        os.close(r)
        code = 0
        try:
            out: dict[str, object] = ingest(config_path)
        except BaseException as e:  # noqa: BLE001 - reported to the parent, which fails loudly
            out = {"exception": f"{type(e).__name__}: {e}"}
            code = 1
        with os.fdopen(w, "w") as fh:
            json.dump(out, fh)
        os._exit(code)
    os.close(w)
    with os.fdopen(r) as fh:
        data = fh.read()
    _, status = os.waitpid(pid, 0)
    sys.stdout.write(data)
    return 0 if status == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
