"""Our own store failing is the daemon's failure, never a message's. A file store on a small
tmpfs filled mid-poll (while raw mail is stored, or while attachments are filed) for longer than
`max_attempts` backoffs loses nothing: the poll backs off, the heartbeat says why, no message
is charged, and once space is freed every message ends filed. A read-only SQLite store is
refused at start with one line (exit 2); a read-only error at run time drops the pooled
connections, and the daemon files again as soon as the store can be written.

These tests mount tmpfs file systems (root only; elsewhere they skip, in CI they fail)."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from core.clock import FixedClock
from core.config import Config
from intake.app import App
from intake.daemon import Daemon as DaemonObject
from intake.fakemailbox import FakeMailbox
from store.models import Heartbeat, LedgerEntry, Message
from tests.support.config import ROSTER, make_config
from tests.support.daemon import INTAKE
from tests.support.unitmail import sender_of, unit_mail

PW_ENV = "INTAKE_TEST_IMAP_PW"


@contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        if os.environ.get("CI", "").lower() not in ("", "0", "false"):
            pytest.fail(f"cannot mount a tmpfs: {done.stderr.strip()}")
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def remount(path: Path, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(path)], check=True, capture_output=True)


def _mail(i: int, size: int = 150_000) -> bytes:
    """Mail `i` with `size` random bytes (seeded by `i`) of figures: large, and each distinct."""
    return unit_mail(
        i,
        sender_of(i),
        subject=f"Báo cáo Tuần lễ học tập suốt đời năm 2021 (lần {i})",
        body=f"Kính gửi Phòng GD&ĐT huyện Thanh Oai.\nĐơn vị gửi số liệu lần {i}.",
        attachments=[
            (
                f"Tổng hợp số liệu {i}.dat",
                random.Random(i).randbytes(size),
                "application/octet-stream",
            )
        ],
        tag="faults",
    )


def _fill(root: Path, leave: int) -> Path:
    """A filler file that leaves about `leave` bytes free on `root`'s file system."""
    filler = root / "filler"
    st = os.statvfs(root)
    free = st.f_bavail * st.f_frsize
    with filler.open("wb") as fh:
        fh.write(b"\0" * max(free - leave, 0))
    return filler


def _states(app: App) -> tuple[dict[str, int], dict[str, int], int, int]:
    with app.sessions() as s:
        msgs = dict(
            s.execute(sa.select(Message.state, sa.func.count()).group_by(Message.state)).all()
        )
        ledger = dict(
            s.execute(
                sa.select(LedgerEntry.state, sa.func.count()).group_by(LedgerEntry.state)
            ).all()
        )
        charged = s.scalar(sa.select(sa.func.coalesce(sa.func.sum(Message.attempts), 0))) or 0
        charged_ledger = (
            s.scalar(sa.select(sa.func.coalesce(sa.func.sum(LedgerEntry.attempts), 0))) or 0
        )
    return msgs, ledger, int(charged), int(charged_ledger)


@pytest.mark.dovecot
@pytest.mark.slow
@pytest.mark.parametrize("full_while", ["storing", "filing"])
def test_a_long_disk_full_loses_no_mail_and_charges_no_message(
    tmp_path: Path, dovecot: Any, db_url: str, full_while: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    n = 12
    dovecot.append([_mail(i) for i in range(n)])
    monkeypatch.setenv(PW_ENV, dovecot.password)
    files = tmp_path / "files"
    clock = FixedClock(datetime(2021, 10, 5, 2, 0, tzinfo=UTC))
    with tmpfs(files, "8m"):
        cfg = make_config(
            tmp_path,
            db_url,
            mailbox={
                "host": "127.0.0.1",
                "port": dovecot.port,
                "security": "none",
                "username": dovecot.user,
                "password_env": PW_ENV,
                "batch_size": 4,
                "max_attempts": 3,
                "poll_interval": 60,
            },
            limits={"parse_workers": 1},
        )
        with App(cfg, clock) as app:
            app.import_roster(ROSTER)
            raw = sum(len(_mail(i)) for i in range(n))
            # "storing": room for about one batch of raw mail; "filing": room for all the raw
            # mail and the attachments of a few messages
            filler = _fill(files, 900_000 if full_while == "storing" else raw + 500_000)
            daemon = DaemonObject(app)
            rounds = []
            for _ in range(cfg.mailbox.max_attempts + 3):  # longer than max_attempts backoffs
                result = daemon.poll_once(force=True)
                assert result is not None
                rounds.append(result)
                clock.advance(timedelta(hours=7))  # past any message's backoff
            msgs, ledger, charged, charged_ledger = _states(app)
            assert (charged, charged_ledger) == (0, 0), "a full disk was charged to messages"
            assert "quarantined" not in msgs and "quarantined" not in ledger
            assert all("No space left on device" in r.error for r in rounds)
            assert daemon.failures == len(rounds) and daemon.next_poll_at is not None
            with app.sessions() as s:
                hb = s.get(Heartbeat, app.poller().mailbox.account)
                assert hb is not None and hb.failing_since is not None
                assert "No space left on device" in hb.last_error
            if full_while == "storing":
                assert 0 < ledger.get("stored", 0) < n  # filled mid-poll
            else:
                assert ledger == {"stored": n} and 0 < msgs.get("received", 0) < n
            assert dovecot.keywords_count("INBOX", "$IntakeFiled") == ledger.get("stored", 0)

            filler.unlink()  # space freed
            result = daemon.poll_once(force=True)
            assert result is not None and not result.error, result.error
            msgs, ledger, charged, _ = _states(app)
            assert msgs == {"filed": n} and ledger == {"stored": n} and charged == 0
            assert dovecot.keywords_count("INBOX", "$IntakeFiled") == n
            with app.sessions() as s:
                hb = s.get(Heartbeat, app.poller().mailbox.account)
                assert hb is not None and hb.failing_since is None and hb.last_error == ""


def _crash_writing(db: Path) -> None:
    """A process killed while writing leaves -wal and -shm behind: a read-only file system then
    still opens the database (read-only) instead of refusing the connection."""
    crash = (
        "import os, signal, sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
        "c.execute('PRAGMA journal_mode=WAL'); c.execute('UPDATE units SET name = name'); "
        "c.commit(); os.kill(os.getpid(), signal.SIGKILL)"
    )
    subprocess.run([sys.executable, "-c", crash, str(db)], check=False)
    assert Path(f"{db}-shm").exists()


def _sqlite_cfg(tmp_path: Path, db_dir: Path, **sections: dict[str, object]) -> Config:
    return make_config(
        tmp_path, f"sqlite:///{db_dir / 'intake.sqlite3'}", limits={"parse_workers": 0}, **sections
    )


@pytest.mark.parametrize("leftover_wal", [False, True], ids=["clean", "after-a-crash"])
def test_the_daemon_refuses_to_start_on_a_read_only_sqlite_store_in_one_line(
    tmp_path: Path, leftover_wal: bool
) -> None:
    db_dir = tmp_path / "db"
    with tmpfs(db_dir, "16m"):
        cfg = _sqlite_cfg(tmp_path, db_dir)
        clock = FixedClock(datetime(2021, 10, 5, 2, 0, tzinfo=UTC))
        App(cfg, clock).close()
        if leftover_wal:
            _crash_writing(db_dir / "intake.sqlite3")
        remount(db_dir, "ro")
        env = {k: v for k, v in os.environ.items() if k != "INTAKE_CONFIG"}
        done = subprocess.run(
            [INTAKE, "--config", cfg.source, "run", "--no-idle"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        remount(db_dir, "rw")
    errors = [line for line in done.stderr.splitlines() if "error" in line.lower()]
    assert done.returncode == 2, done.stderr
    assert len(errors) == 1 and errors[0].startswith("error: the store ("), done.stderr
    assert "Traceback" not in done.stderr
    assert "intake.sqlite3" in errors[0] and "make it writable" in errors[0], errors[0]


@pytest.mark.parametrize("leftover_wal", [False, True], ids=["clean", "after-a-crash"])
def test_a_read_only_error_at_run_time_drops_the_connections_and_filing_resumes(
    tmp_path: Path, clock: FixedClock, leftover_wal: bool
) -> None:
    """A connection opened while the store was read-only stays read-only for good (after a
    crash the -shm file lets it open): the daemon must drop it, or it never files again once
    write access returns."""
    db_dir = tmp_path / "db"
    with tmpfs(db_dir, "16m"):
        cfg = _sqlite_cfg(tmp_path, db_dir, mailbox={"max_attempts": 2})
        with App(cfg, clock) as app:
            app.import_roster(ROSTER)
            box = FakeMailbox()
            box.append(_mail(0, 2000))
            daemon = DaemonObject(app)
            daemon.poller = app.poller(box)
            first = daemon.poll_once(force=True)
            assert first is not None and first.processed == 1
            app.engine.dispose()  # no connection open: the file system can go read-only
            if leftover_wal:
                _crash_writing(db_dir / "intake.sqlite3")
            remount(db_dir, "ro")
            for i in (1, 2, 3):
                box.append(_mail(i, 2000))
            for _ in range(3):
                result = daemon.poll_once(force=True)  # raised a traceback before
                assert result is not None and "database" in result.error, result
                clock.advance(timedelta(hours=7))
            remount(db_dir, "rw")  # write access returns
            result = daemon.poll_once(force=True)
            assert result is not None and not result.error, result.error
            msgs, ledger, charged, charged_ledger = _states(app)
            assert msgs == {"filed": 4} and ledger == {"stored": 4}
            assert (charged, charged_ledger) == (0, 0)
