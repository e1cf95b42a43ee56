"""The benchmark of issue 7: intake against the bare-fetch limit, the re-poll of a big mailbox,
peak memory with a 25 MB attachment, and the digest + workbook of a large campaign.

    .venv/bin/python bench/run.py [--messages 2000] [--repoll-messages 10000] [--units 5000]
                                  [--attachment-mb 25] [--json] [--only SECTION ...]

Each section starts its own throwaway Dovecot (tests/support/dovecot.py) and store in one temp
directory, removed at the end with the servers; progress goes to stderr, the table (or JSON
with --json) to stdout. Disk-bound figures vary ±30 % between runs: compare the ratios, which
are measured within one run.

Sections:
- fetch: N realistic unit emails (.docx report, .xlsx table, phone JPEGs; ~200 KB) seeded as
  Maildir files. Baselines: an imapclient loop (`debug = 0`) fetching BODY.PEEK[] in batches of
  50 and writing each message to its own file with fsync (median of --repeat runs), and
  `mbsync` into a Maildir when isync is installed. The parse floor (bench/floor.py): the
  libraries the product reads with (calamine, lxml, Pillow) alone opening 500 of the
  emails on every core, and again with the readers before issue 19 (openpyxl, python-docx);
  the readers' CPU per email (parsers.documents on 200 emails, one process, by format).
  Then the full pipeline
  (App.poll_once: fetch, store, mark, parse, file) on the same mailbox into a fresh store,
  default config.
- repoll: 10,000 small emails; the first poll fills the ledger (the real pipeline, timed too);
  then re-polls with no new mail (median of 5), one with 10 new messages, and the server's
  count of body FETCHes during the idle re-polls.
- rss: one email with a 25 MB video attachment ingested by bench/rss_child.py in its own
  process; its ru_maxrss and that of its children (the parse workers).
- digest: a real SQLite store with 5,000 units' filed mail (bench/synth.py); the notifier's
  digest build timed in its parts: campaign_status + unit_data, workbook, digest letter.
- latency: APPEND → visible in `intake status` with IDLE, `intake run` against Dovecot,
  20 unit emails one at a time (bench/latency.py): median and 95th percentile (issue 19).
- ocr: CPU per page of OCR (bench/ocr.py): the stamped scanned report at 300 dpi and phone
  photos of its pages (issue 20: ≤ 3 s per page).
- web: the console's server time (bench/web.py): Tổng quan of --units units (≤ 300 ms) and one
  unit's page (≤ 50 ms), through the Flask app in process (issue 17).
- campaigns: the campaign classifier's CPU per message against the filing's, on a mailbox of two
  campaigns and other mail (bench/campaigns.py; issue 15: ≤ 5 %).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import seed  # noqa: E402
from bench.server import Dovecot, available, inbox_maildir, running  # noqa: E402
from bench.stores import PW_ENV, app_for, write_config  # noqa: E402

MB = 1_000_000
SECTIONS = ("fetch", "repoll", "rss", "digest", "ocr", "web", "campaigns", "latency")


@dataclass
class Figure:
    section: str
    name: str
    value: float
    unit: str
    target: float | None = None
    higher_is_better: bool = False
    note: str = ""

    @property
    def verdict(self) -> str:
        if self.target is None:
            return ""
        ok = self.value >= self.target if self.higher_is_better else self.value <= self.target
        return "PASS" if ok else "MISS"


def say(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# -- the machine ------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) // 1024
    except OSError:
        pass
    dovecot = mbsync = ""
    if shutil.which("dovecot"):
        dovecot = subprocess.run(
            ["dovecot", "--version"], capture_output=True, text=True
        ).stdout.strip()
    if shutil.which("mbsync"):
        mbsync = subprocess.run(
            ["mbsync", "--version"], capture_output=True, text=True
        ).stdout.strip()
    import sqlite3

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_mb": mem,
        "os": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "dovecot": dovecot,
        "isync": mbsync,
    }


# -- helpers ----------------------------------------------------------------------------------


def bare_fetch(server: Dovecot, out: Path, batch: int = 50) -> tuple[int, int, float]:
    """The baseline: connect, log in, fetch BODY.PEEK[] in batches, write + fsync each message
    to its own file. Returns (messages, bytes, seconds)."""
    from imapclient import IMAPClient

    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    c = IMAPClient(server.host, port=server.port, ssl=False, timeout=60)
    c._imap.debug = 0  # imaplib's debug formatting costs time even with logging off
    c.login(server.user, server.password)
    c.select_folder("INBOX", readonly=True)
    uids = sorted(c.search(["ALL"]))
    count = total = 0
    for i in range(0, len(uids), batch):
        resp = c.fetch(uids[i : i + batch], [b"BODY.PEEK[]"])
        for uid, data in resp.items():
            body = data[b"BODY[]"]
            with open(out / str(uid), "wb") as fh:
                fh.write(body)
                fh.flush()
                os.fsync(fh.fileno())
            count += 1
            total += len(body)
    c.logout()
    return count, total, time.perf_counter() - t0


MBSYNCRC = """\
FSync yes

IMAPAccount bench
Host {host}
Port {port}
User {user}
Pass "{password}"
SSLType None
AuthMechs LOGIN

IMAPStore bench-far
Account bench

MaildirStore bench-near
Path {path}/
Inbox {path}/INBOX

Channel bench
Far :bench-far:
Near :bench-near:
Patterns INBOX
Create Near
Sync Pull
SyncState *
"""


def mbsync(server: Dovecot, work: Path) -> tuple[int, int, float] | None:
    """`mbsync` (isync) into a Maildir with fsync on; None when isync is not installed."""
    exe = shutil.which("mbsync")
    if exe is None:
        return None
    d = work / "mbsync"
    (d / "mail").mkdir(parents=True, exist_ok=True)
    rc = d / "mbsyncrc"
    rc.write_text(
        MBSYNCRC.format(
            host=server.host,
            port=server.port,
            user=server.user,
            password=server.password,
            path=d / "mail",
        )
    )
    rc.chmod(0o600)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [exe, "-c", str(rc), "-q", "-a"], capture_output=True, text=True, timeout=600
    )
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        say(f"mbsync failed ({proc.returncode}): {proc.stderr.strip()[:500]}")
        return None
    files = [p for sub in ("cur", "new") for p in (d / "mail" / "INBOX" / sub).iterdir()]
    return len(files), sum(p.stat().st_size for p in files), seconds


def message_states(app: Any) -> dict[str, int]:
    from sqlalchemy import func, select

    from store.models import Message

    with app.sessions() as s:
        return {
            st: n
            for st, n in s.execute(select(Message.state, func.count()).group_by(Message.state))
        }


def timed_poll(app: Any) -> tuple[Any, float, float]:
    """App.poll_once, split into the intake phase (connect … fetch, store, commit, mark) and
    the filing phase (parse + file). Returns (result, intake seconds, filing seconds)."""
    poller = app.poller()
    process = poller.process
    marks: dict[str, float] = {}

    def file_now() -> int:
        marks["filing"] = time.perf_counter()
        return int(process()) if process is not None else 0

    poller.process = file_now
    t0 = time.perf_counter()
    result = poller.poll_once()
    t1 = time.perf_counter()
    mid = marks.get("filing", t1)
    return result, mid - t0, t1 - mid


# -- sections ---------------------------------------------------------------------------------


def section_fetch(work: Path, args: argparse.Namespace) -> list[Figure]:
    figs: list[Figure] = []
    n = args.messages
    say(f"generating {n} unit emails …")
    t = time.perf_counter()
    messages = seed.unit_messages(n, seed=1)
    say(
        f"  {n} emails, mean {seed.mean_size(messages) / 1000:.0f} KB, "
        f"in {time.perf_counter() - t:.1f} s"
    )
    from bench.floor import parse_floor, reader_cpu

    sample = messages[: min(n, 500)]
    f_wall, f_cpu, f_opened = parse_floor(sample)
    floor_per_msg, floor_cpu = f_wall / len(sample), f_cpu / len(sample)
    say(
        f"parse floor: {len(sample)} emails ({f_opened} attachments) opened in {f_wall:.2f} s, "
        f"{floor_cpu * 1000:.1f} ms CPU per email"
    )
    o_wall, o_cpu, _ = parse_floor(sample, spreadsheets="openpyxl", docx="python-docx")
    say(
        f"  with openpyxl and python-docx (the readers before): {o_wall:.2f} s, "
        f"{o_cpu / len(sample) * 1000:.1f} ms CPU per email"
    )
    readers_cpu, by_format = reader_cpu(sample[:200])
    say(
        f"readers (parsers.documents on every attachment): {readers_cpu * 1000:.1f} ms CPU per "
        "email: " + ", ".join(f"{k} {v * 1000:.1f}" for k, v in by_format.items())
    )
    floor_n = len(sample)
    del sample
    with running() as server:
        t = time.perf_counter()
        count, size = seed.write_maildir(inbox_maildir(server), messages)
        seconds = time.perf_counter() - t
        del messages
        say(f"seeded {count} messages ({size / MB:.0f} MB) as Maildir files in {seconds:.1f} s")
        figs.append(
            Figure(
                "fetch",
                "seeding: Maildir files written",
                count / seconds,
                "msg/s",
                note=f"{count} messages, {size / MB:.0f} MB, mean {size / count / 1000:.0f} KB",
            )
        )
        with server.client() as c:  # let Dovecot index the folder before anything is timed
            c.select_folder("INBOX", readonly=True)

        runs = []
        for r in range(args.repeat):
            shutil.rmtree(work / "bare", ignore_errors=True)
            runs.append(bare_fetch(server, work / "bare"))
            say(f"bare fetch run {r + 1}: {runs[-1][0]} msgs in {runs[-1][2]:.2f} s")
        shutil.rmtree(work / "bare", ignore_errors=True)
        b_count, b_bytes, b_sec = sorted(runs, key=lambda x: x[2])[len(runs) // 2]
        figs.append(
            Figure(
                "fetch",
                "baseline: imapclient, batches of 50, fsync",
                b_count / b_sec,
                "msg/s",
                note=f"{b_bytes / MB / b_sec:.0f} MB/s, {b_sec:.2f} s, median of {len(runs)}",
            )
        )
        mb = mbsync(server, work)
        if mb is not None:
            m_count, m_bytes, m_sec = mb
            figs.append(
                Figure(
                    "fetch",
                    "baseline: mbsync into a Maildir, fsync",
                    m_count / m_sec,
                    "msg/s",
                    note=f"{m_bytes / MB / m_sec:.0f} MB/s, {m_sec:.2f} s",
                )
            )
        shutil.rmtree(work / "mbsync", ignore_errors=True)

        figs.append(
            Figure(
                "fetch",
                f"parse floor: libraries only, {os.cpu_count()} processes",
                1 / floor_per_msg,
                "msg/s",
                note=f"{floor_cpu * 1000:.1f} ms CPU per email (bench/floor.py)",
            )
        )
        figs.append(
            Figure(
                "fetch",
                "parse floor with openpyxl, python-docx (before)",
                floor_n / o_wall,
                "msg/s",
                note=f"{o_cpu / floor_n * 1000:.1f} ms CPU per email",
            )
        )
        figs.append(
            Figure(
                "fetch",
                "readers: CPU per email, one process",
                readers_cpu * 1000,
                "ms",
                note=", ".join(f"{k} {v * 1000:.1f}" for k, v in by_format.items()),
            )
        )
        say("full pipeline backfill (App.poll_once) …")
        os.environ[PW_ENV] = server.password
        cfg = write_config(work, "pipeline", server)
        with app_for(cfg) as app:
            app.import_roster(seed.ROSTER)
            result, intake_s, filing_s = timed_poll(app)
            states = message_states(app)
        shutil.rmtree(work / "pipeline", ignore_errors=True)
        if result.error:
            raise RuntimeError(f"the pipeline poll failed: {result.error}")
        total_s = intake_s + filing_s
        say(
            f"  stored {result.stored}, filed {result.processed}: intake {intake_s:.2f} s, "
            f"filing {filing_s:.2f} s; states {states}"
        )
        figs += [
            Figure(
                "fetch",
                "intake: fetch, store, commit, mark",
                result.fetched / intake_s,
                "msg/s",
                note=f"{b_bytes / MB / intake_s:.0f} MB/s, {intake_s:.2f} s",
            ),
            Figure(
                "fetch",
                "full pipeline: + parse and file",
                result.fetched / total_s,
                "msg/s",
                note=f"{b_bytes / MB / total_s:.1f} MB/s, {total_s:.1f} s "
                f"(filing {filing_s:.1f} s); {_states(states)}",
            ),
            Figure("fetch", "ratio intake / baseline (time)", intake_s / b_sec, "×", target=1.3),
            Figure(
                "fetch",
                "ratio full pipeline / baseline (time)",
                total_s / b_sec,
                "×",
                note="issue 19 judges the pipeline against the parse floor (next line)",
            ),
            Figure(
                "fetch",
                "ratio full pipeline / parse floor (time)",
                total_s / (floor_per_msg * count),
                "×",
                target=1.5,
                note="our code on top of the readers",
            ),
            Figure(
                "fetch",
                "ratio parse floor / baseline (time)",
                floor_per_msg * count / b_sec,
                "×",
                target=5.0,
                note="any pipeline on these libraries costs at least baseline + floor",
            ),
        ]
        if mb is not None:
            figs.append(
                Figure("fetch", "ratio full pipeline / mbsync (time)", total_s / mb[2], "×")
            )
    return figs


def _states(states: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(states.items()))


def section_repoll(work: Path, args: argparse.Namespace) -> list[Figure]:
    n = args.repoll_messages
    say(f"re-poll: seeding {n} small emails …")
    messages = seed.small_messages(n)
    figs: list[Figure] = []
    with running() as server:
        seed.write_maildir(inbox_maildir(server), messages)
        os.environ[PW_ENV] = server.password
        cfg = write_config(work, "repoll", server)
        with app_for(cfg) as app:
            app.import_roster(seed.ROSTER)
            say("  first poll (fills the ledger with the real pipeline) …")
            result, intake_s, filing_s = timed_poll(app)
            if result.error or result.stored != n:
                raise RuntimeError(f"first poll: stored {result.stored}/{n}: {result.error}")
            figs.append(
                Figure(
                    "repoll",
                    f"first poll of {n} small emails",
                    intake_s + filing_s,
                    "s",
                    note=f"intake {intake_s:.1f} s + filing {filing_s:.1f} s",
                )
            )
            fetches_before = server.body_fetches()
            times = []
            for _ in range(5):
                t = time.perf_counter()
                r = app.poll_once()
                times.append(time.perf_counter() - t)
                if r.error or r.fetched:
                    raise RuntimeError(f"re-poll fetched {r.fetched}: {r.error}")
            idle_fetches = server.body_fetches() - fetches_before
            figs.append(
                Figure(
                    "repoll",
                    f"re-poll, {n} in the ledger, no new mail",
                    statistics.median(times),
                    "s",
                    target=0.2,
                    note=f"median of 5 (min {min(times):.3f}, max {max(times):.3f}); "
                    f"body FETCHes by the server: {idle_fetches}",
                )
            )
            server.append(seed.small_messages(10, start=n, seed=99))
            t = time.perf_counter()
            r = app.poll_once()
            with_new = time.perf_counter() - t
            if r.fetched != 10 or r.processed != 10:
                raise RuntimeError(f"re-poll with 10 new: fetched {r.fetched}, filed {r.processed}")
            figs.append(
                Figure(
                    "repoll",
                    "re-poll with 10 new emails on top",
                    with_new,
                    "s",
                    note="fetched 10, filed 10",
                )
            )
            t = time.perf_counter()
            app.poll_once()
            figs.append(
                Figure(
                    "repoll",
                    "re-poll after that, no new mail",
                    time.perf_counter() - t,
                    "s",
                    target=0.2,
                )
            )
        shutil.rmtree(work / "repoll", ignore_errors=True)
    return figs


def section_rss(work: Path, args: argparse.Namespace) -> list[Figure]:
    say(f"peak RSS: one email with a {args.attachment_mb} MB attachment …")
    raw = seed.big_message(args.attachment_mb * 2**20)
    with running() as server:
        seed.write_maildir(inbox_maildir(server), [raw])
        os.environ[PW_ENV] = server.password
        cfg = write_config(work, "rss", server)
        proc = subprocess.run(
            [sys.executable, str(Path(__file__).parent / "rss_child.py"), str(cfg)],
            capture_output=True,
            text=True,
            timeout=900,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"rss child failed: {proc.stderr[-2000:]}")
        out = json.loads(proc.stdout)
        shutil.rmtree(work / "rss", ignore_errors=True)
    if out.get("stored") != 1 or out.get("processed") != 1:
        raise RuntimeError(f"rss child did not ingest the message: {out}")
    note = f"message {len(raw) / 2**20:.1f} MiB with a {args.attachment_mb} MiB video"
    return [
        Figure(
            "rss",
            "peak RSS, the daemon process (ru_maxrss)",
            out["self_maxrss_kb"] / 1024,
            "MiB",
            target=200,
            note=f"VmHWM {out['self_vmhwm_kb'] / 1024:.0f} MiB; "
            f"{out['rss_before_poll_kb'] / 1024:.0f} MiB before the poll; {note}; "
            f"ingest {out['seconds']:.1f} s",
        ),
        Figure(
            "rss",
            "peak RSS, parse workers (RUSAGE_CHILDREN)",
            out["children_maxrss_kb"] / 1024,
            "MiB",
            target=200,
            note="the largest of the forkserver and its workers",
        ),
    ]


def section_digest(work: Path, args: argparse.Namespace) -> list[Figure]:
    from bench import synth
    from intake.filing import requirements
    from notifier.digest import compose_digest
    from notifier.workbook import build_workbook
    from store.queries import unit_data

    n = args.units
    say(f"digest: a store with {n} units …")
    cfg_path = write_config(
        work, "digest", None, digest={"recipients": ["totrunghoc@thanhoai.example"]}
    )
    figs: list[Figure] = []
    with app_for(cfg_path) as app:
        c = app.cfg.campaign
        counts = synth.fill(
            app.sessions,
            app.files,
            units=n,
            campaign_id=c.id,
            deadline=c.deadline_at,
            req=requirements(c),
        )
        notifier = app.notifier()
        now = c.deadline_at
        notifier.build_digest(now)  # warm: templates compiled, imports done
        best: dict[str, float] = {}
        for _ in range(3):
            t0 = time.perf_counter()
            with app.sessions() as s:
                status = notifier.status(s, now)
                data = unit_data(s, c.id)
            t1 = time.perf_counter()
            blob = build_workbook(status, data, now=now)
            t2 = time.perf_counter()
            mail = compose_digest(
                status,
                since=None,
                now=now,
                workbook=blob,
                env=notifier.env,
                recipients=tuple(app.cfg.digest.recipients),
            )
            t3 = time.perf_counter()
            for k, v in (
                ("queries", t1 - t0),
                ("workbook", t2 - t1),
                ("letter", t3 - t2),
                ("total", t3 - t0),
            ):
                best[k] = min(best.get(k, v), v)
        t = time.perf_counter()
        notifier.build_digest(now)
        whole = time.perf_counter() - t
    shutil.rmtree(work / "digest", ignore_errors=True)
    rows = sum(len(d.rows) for d in data)
    figs += [
        Figure(
            "digest",
            f"digest + workbook, {n} units",
            best["total"],
            "s",
            target=2.0,
            note=f"queries {best['queries']:.2f} + workbook {best['workbook']:.2f} + letter "
            f"{best['letter']:.2f} s (best of 3); Notifier.build_digest {whole:.2f} s",
        ),
        Figure(
            "digest",
            "workbook size",
            len(blob) / 2**20,
            "MiB",
            note=f"{counts['messages']} messages, {counts['attachments']} attachments, "
            f"{rows} table rows; letter {len(mail.html or '') // 1000} KB HTML",
        ),
    ]
    return figs


def section_ocr(work: Path, args: argparse.Namespace) -> list[Figure]:
    from bench.ocr import measure

    say("ocr: the scanned report and photos of its pages …")
    out = measure()
    note = f"Tesseract 'vie' model load {out['model_load_s']:.2f} s once per worker"
    return [
        Figure(
            "ocr",
            "OCR CPU per page, scan at 300 dpi",
            out["scan_page_cpu_s"],
            "s",
            target=3.0,
            note=f"{out['scan_pages']} pages, confidence {out['confidence']:.0f}; {note}",
        ),
        Figure(
            "ocr",
            "OCR CPU per page, phone photo",
            out["photo_page_cpu_s"],
            "s",
            target=3.0,
            note="worst of 2; includes page detection, perspective and deskew",
        ),
        *_ordinary_photo_figures(),
    ]


def _ordinary_photo_figures() -> list[Figure]:
    from bench.ocr import worker_memory

    say("ocr: what ordinary photos cost a parse worker …")
    mem = worker_memory()
    cheap, old = mem["cheap-first"], mem["cv2-always"]
    return [
        Figure(
            "ocr",
            "worker address space after ordinary photos",
            cheap["as_mb"],
            "MB",
            note=f"VmPeak; {old['as_mb']:.0f} MB when every photo >= 600 px loaded OpenCV "
            f"(limits.parse_memory_mb caps this); cv2 loaded: {cheap['cv2']}",
        ),
        Figure(
            "ocr",
            "worker peak RSS after ordinary photos",
            cheap["rss_mib"],
            "MiB",
            note=f"VmHWM; {old['rss_mib']:.0f} MiB with OpenCV for every photo",
        ),
    ]


def section_web(work: Path, args: argparse.Namespace) -> list[Figure]:
    """The console's server time (bench/web.py): Tổng quan of --units units, one unit's page."""
    from bench.web import TARGETS, measure

    say(f"web: the console over a store with {args.units} units …")
    (work / "web").mkdir(parents=True, exist_ok=True)
    out = measure(work / "web", units=args.units)
    shutil.rmtree(work / "web", ignore_errors=True)
    return [
        Figure(
            "web",
            f"Tổng quan, {out['units']} units",
            out["overview_s"] * 1000,
            "ms",
            target=TARGETS["overview"] * 1000,
            note=f"median; {out['overview_kb']:.0f} KB",
        ),
        Figure(
            "web",
            "unit page",
            out["unit_s"] * 1000,
            "ms",
            target=TARGETS["unit"] * 1000,
            note=f"median; {out['unit_kb']:.0f} KB",
        ),
    ]


def section_campaigns(work: Path, args: argparse.Namespace) -> list[Figure]:
    """The campaign classifier's share of the filing CPU (bench/campaigns.py)."""
    from bench.campaigns import TARGET_PERCENT, measure

    say("campaigns: filing a mailbox of two campaigns and other mail …")
    out = measure(work / "campaigns")
    shutil.rmtree(work / "campaigns", ignore_errors=True)
    return [
        Figure(
            "campaigns",
            "classification share of filing CPU",
            out["percent"],
            "%",
            target=TARGET_PERCENT,
            note=f"{out['classify_s'] * 1000:.2f} ms of "
            f"{out['filing_s'] * 1000:.0f} ms CPU per message; {out['messages']} messages",
        ),
    ]


def section_latency(work: Path, args: argparse.Namespace) -> list[Figure]:
    from bench.latency import measure, p95

    say("latency: APPEND -> visible in status, IDLE, 20 emails one at a time …")
    lat = measure(20)
    note = (
        f"{len(lat)} samples, {min(lat):.2f}–{max(lat):.2f} s; Dovecot's IDLE notice alone ~0.5 s"
    )
    return [
        Figure(
            "latency",
            "APPEND → status, IDLE: median",
            statistics.median(lat),
            "s",
            target=0.5,
            note=note,
        ),
        Figure("latency", "APPEND → status, IDLE: p95", p95(lat), "s", target=0.5),
    ]


RUNNERS: dict[str, Callable[[Path, argparse.Namespace], list[Figure]]] = {
    "fetch": section_fetch,
    "repoll": section_repoll,
    "rss": section_rss,
    "digest": section_digest,
    "ocr": section_ocr,
    "web": section_web,
    "campaigns": section_campaigns,
    "latency": section_latency,
}


# -- output -----------------------------------------------------------------------------------


def _fmt(v: float) -> str:
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.3f}" if abs(v) < 1 else f"{v:.2f}"


def table(figs: list[Figure], info: dict[str, Any]) -> str:
    lines = [
        f"machine: {info['cpu']}, {info['cores']} cores, {info['memory_mb']:,} MB RAM; "
        f"{info['os']}",
        f"python {info['python']}, SQLite {info['sqlite']}, Dovecot {info['dovecot'] or '-'}, "
        f"{info['isync'] or 'no isync'}",
        "",
        f"{'figure':<50} {'value':>10} {'unit':<6} {'target':>8}  {'result':<6} note",
        "-" * 120,
    ]
    section = ""
    for f in figs:
        if f.section != section:
            if section:
                lines.append("")
            section = f.section
        target = "" if f.target is None else ("≥ " if f.higher_is_better else "≤ ") + _fmt(f.target)
        lines.append(
            f"{f.name:<50} {_fmt(f.value):>10} {f.unit:<6} {target:>8}  {f.verdict:<6} {f.note}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument(
        "--messages", type=int, default=2000, help="realistic emails for the fetch section"
    )
    p.add_argument("--repeat", type=int, default=3, help="runs of the imapclient baseline (median)")
    p.add_argument(
        "--repoll-messages", type=int, default=10_000, help="ledger size for the re-poll"
    )
    p.add_argument("--attachment-mb", type=int, default=25, help="attachment size for peak RSS")
    p.add_argument("--units", type=int, default=5000, help="units for the digest and workbook")
    p.add_argument("--only", nargs="+", choices=SECTIONS, help="run only these sections")
    p.add_argument("--json", action="store_true", help="print JSON instead of the table")
    args = p.parse_args(argv)
    if not available() and set(args.only or SECTIONS) - {"digest", "ocr", "web", "campaigns"}:
        print("dovecot is not installed: `make system-deps` installs it", file=sys.stderr)
        return 2
    info = machine()
    work = Path(tempfile.mkdtemp(prefix="intake-bench-"))
    figs: list[Figure] = []
    started = time.perf_counter()
    try:
        for name in args.only or SECTIONS:
            figs += RUNNERS[name](work, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    info["bench_seconds"] = round(time.perf_counter() - started, 1)
    if args.json:
        json.dump(
            {"machine": info, "figures": [asdict(f) | {"result": f.verdict} for f in figs]},
            sys.stdout,
            ensure_ascii=False,
            indent=2,
        )
        print()
    else:
        print(table(figs, info))
    return 0


if __name__ == "__main__":
    sys.exit(main())
