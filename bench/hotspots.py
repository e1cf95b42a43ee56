"""Where one message's time goes: cProfile over the real pipeline, in one process.

    .venv/bin/python bench/hotspots.py [--messages 300] [--top 10] [--phase intake|pipeline]

Seeds a throwaway Dovecot with the bench's unit emails (bench/seed.py), then runs
`App.poll_once` with `parse_workers = 0`, so parsing, matching and filing run in this process
under cProfile next to the fetch. Prints the wall and CPU time per message of the intake phase
(fetch, store, commit, mark) and of the filing phase (parse and file), and the top functions by
own time (tottime) for each, our modules marked `*`. This is what docs/performance.md quotes.
`--phase intake` profiles the intake phase alone (the stored mail is not filed)."""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import seed  # noqa: E402
from bench.server import inbox_maildir, running  # noqa: E402
from bench.stores import PW_ENV, app_for, write_config  # noqa: E402

OURS = ("/core/", "/parsers/", "/store/", "/intake/", "/notifier/")


def _ours(filename: str) -> bool:
    return str(ROOT) in filename and ".venv" not in filename and any(p in filename for p in OURS)


def top(
    profile: cProfile.Profile, n: int, per: int, ours: bool = False
) -> list[tuple[str, float, float, int]]:
    """The `n` functions (of ours only, with `ours`) with the most own time: (name, own ms per
    message, cumulative ms per message, calls per message ×100)."""
    stats = pstats.Stats(profile)
    rows = []
    for (filename, line, name), (_cc, calls, tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if ours and not _ours(filename):
            continue
        short = filename.replace(str(ROOT) + "/", "")
        if ".venv/lib/python3.11/site-packages/" in short:
            short = short.split("site-packages/", 1)[1]
        label = f"{'*' if _ours(filename) else ' '} {short}:{line}({name})"
        rows.append((label, tt * 1000 / per, ct * 1000 / per, round(calls * 100 / per)))
    rows.sort(key=lambda r: -r[1])
    return rows[:n]


def ours_share(profile: cProfile.Profile, per: int) -> float:
    """Own time (ms per message) spent in functions of our modules."""
    stats = pstats.Stats(profile)
    return (
        sum(
            tt
            for (f, _l, _n), (_c, _k, tt, _ct, _cl) in stats.stats.items()  # type: ignore[attr-defined]
            if _ours(f)
        )
        * 1000
        / per
    )


def run(messages: int, phase: str) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="intake-profile-"))
    try:
        mails = seed.unit_messages(messages, seed=1)
        with running() as server:
            seed.write_maildir(inbox_maildir(server), mails)
            with server.client() as c:
                c.select_folder("INBOX", readonly=True)
            os.environ[PW_ENV] = server.password
            cfg = write_config(work, "profile", server, limits={"parse_workers": 0})
            with app_for(cfg) as app:
                app.import_roster(seed.ROSTER)
                poller = app.poller()
                process = poller.process
                intake_prof, filing_prof = cProfile.Profile(), cProfile.Profile()
                marks: dict[str, float] = {}

                def file_now() -> int:
                    intake_prof.disable()
                    marks["filing"], marks["filing_cpu"] = time.perf_counter(), time.process_time()
                    if phase != "pipeline":
                        return 0  # intake only: the stored mail is left unfiled
                    filing_prof.enable()
                    done = int(process()) if process is not None else 0
                    filing_prof.disable()
                    return done

                poller.process = file_now
                t0, c0 = time.perf_counter(), time.process_time()
                intake_prof.enable()
                result = poller.poll_once()
                intake_prof.disable()
                t1, c1 = time.perf_counter(), time.process_time()
        n = max(1, result.fetched)
        mid, mid_cpu = marks.get("filing", t1), marks.get("filing_cpu", c1)
        return {
            "messages": n,
            "result": result,
            "intake_ms": (mid - t0) * 1000 / n,
            "intake_cpu_ms": (mid_cpu - c0) * 1000 / n,
            "filing_ms": (t1 - mid) * 1000 / n,
            "filing_cpu_ms": (c1 - mid_cpu) * 1000 / n,
            "intake": intake_prof,
            "filing": filing_prof if phase == "pipeline" else None,
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def report(out: dict[str, Any], n_top: int) -> str:
    buf = io.StringIO()
    n = out["messages"]
    print(
        f"{n} messages; intake {out['intake_ms']:.2f} ms wall ({out['intake_cpu_ms']:.2f} ms "
        f"CPU) a message, filing {out['filing_ms']:.2f} ms wall ({out['filing_cpu_ms']:.2f} ms "
        "CPU) a message, profiler overhead included",
        file=buf,
    )
    for name in ("intake", "filing"):
        prof = out[name]
        if prof is None:
            continue
        print(f"\n{name}: own time in our modules {ours_share(prof, n):.2f} ms a message", file=buf)
        print(
            f"{'own ms/msg':>10} {'cum ms/msg':>10} {'calls/100':>9}  function (* ours)", file=buf
        )
        for label, own, cum, calls in top(prof, n_top, n):
            print(f"{own:>10.3f} {cum:>10.3f} {calls:>9}  {label}", file=buf)
        print(f"{name}: our own functions", file=buf)
        for label, own, cum, calls in top(prof, n_top, n, ours=True):
            print(f"{own:>10.3f} {cum:>10.3f} {calls:>9}  {label}", file=buf)
    return buf.getvalue()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--messages", type=int, default=300, help="unit emails to seed")
    p.add_argument("--top", type=int, default=10, help="functions listed per phase")
    p.add_argument(
        "--phase",
        choices=("intake", "pipeline"),
        default="pipeline",
        help="profile the intake phase only, or the filing too",
    )
    args = p.parse_args(argv)
    print(report(run(args.messages, args.phase), args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
