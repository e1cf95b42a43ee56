"""What the daemon writes is private to its user whatever the umask: the SQLite database, its
-wal and -shm (0600) and a folder made for it (0700), the export (folders 0700, files 0600);
and no parse worker holds a password, a secret or a token in its environment — measured in
/proc/PID/environ of every process the daemon started."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.clock import FixedClock
from intake.app import App
from tests.support.config import ROSTER, make_config
from tests.support.daemon import PW_ENV, Daemon, Store, daemon_config, wait_for
from tests.support.mailgen import campaign_mailbox
from tests.support.smtpserver import SmtpServer


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_a_new_sqlite_store_its_wal_and_its_folder_are_private(
    tmp_path: Path, clock: FixedClock, umask_022: None
) -> None:
    db = tmp_path / "var" / "lib" / "intake.sqlite3"
    cfg = make_config(tmp_path, f"sqlite:///{db}", limits={"parse_workers": 0})
    with App(cfg, clock) as app:
        app.import_roster(ROSTER)  # a write: the -wal and -shm exist while the engine is open
        made = [db, Path(f"{db}-wal"), Path(f"{db}-shm")]
        assert all(p.exists() for p in made)
        assert {p.name: _mode(p) for p in made} == {p.name: 0o600 for p in made}
        assert _mode(db.parent) == 0o700
        assert _mode(app.files.root) == 0o700


def test_an_existing_world_readable_database_is_named_in_a_warning(
    tmp_path: Path, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "intake.sqlite3"
    cfg = make_config(tmp_path, f"sqlite:///{db}", limits={"parse_workers": 0})
    App(cfg, clock).close()
    db.chmod(0o644)  # made by an older version
    with App(cfg, clock):
        pass
    assert _mode(db) == 0o644  # the admin's file is left alone
    assert any(
        "can be read by every user" in r.getMessage() and str(db) in r.getMessage()
        for r in caplog.records
    )


def test_the_export_is_private(tmp_path: Path, clock: FixedClock, umask_022: None) -> None:
    from intake.export import export_all

    cfg = make_config(tmp_path, limits={"parse_workers": 0})
    with App(cfg, clock) as app:
        app.import_roster(ROSTER)
        inbox = tmp_path / "in"
        inbox.mkdir()
        for i, raw in enumerate(campaign_mailbox(ROSTER, n=3, seed=4)):
            (inbox / f"{i}.eml").write_bytes(raw)
        app.import_paths([inbox])
        out = tmp_path / "export"
        export_all(app, out)
    made = list(out.rglob("*"))
    assert [p for p in made if p.is_file()], "nothing was exported"
    assert _mode(out) == 0o700
    assert {(p.is_dir(), _mode(p)) for p in made} <= {(True, 0o700), (False, 0o600)}


def _descendants(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                parents[int(d.name)] = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        kids = [p for p, pp in parents.items() if pp == pid]
        found += kids
        todo += kids
    return found


@pytest.mark.dovecot
@pytest.mark.slow
def test_no_parse_worker_holds_a_secret_in_its_environment(
    tmp_path: Path,
    dovecot: Any,
    smtp_server: SmtpServer,
    run_env: dict[str, str],
    daemons: list[Daemon],
) -> None:
    secrets = {
        PW_ENV: dovecot.password,
        "INTAKE_SMTP_PASSWORD": "smtp-pa55-not-used",
        "S3_API_TOKEN": "tok-8f1e2d",
        "BACKUP_SECRET_KEY": "sk-77aa",
    }
    env = dict(run_env, **secrets)
    dovecot.append(campaign_mailbox(ROSTER, n=2, seed=9))
    cfg = daemon_config(
        tmp_path,
        dovecot,
        smtp_server,
        limits={"parse_workers": 2},
        notify={"receipts": False, "reminder_days": [], "overdue": False},
    )
    store = Store(cfg)
    d = Daemon(cfg, env, tmp_path / "run.log", "--no-idle")
    daemons.append(d)
    wait_for("the mail to be filed", lambda: store.done() == 2, 60, d)
    time.sleep(0.5)
    own = (Path(f"/proc/{d.proc.pid}/environ")).read_bytes()
    assert dovecot.password.encode() in own  # the daemon itself has it: the check can see it
    children = {}
    for pid in _descendants(d.proc.pid):
        try:
            children[pid] = (
                Path(f"/proc/{pid}/environ").read_bytes(),
                Path(f"/proc/{pid}/cmdline").read_bytes(),
            )
        except OSError:
            continue
    workers = [pid for pid, (_, cmd) in children.items() if b"forkserver" in cmd]
    assert len(workers) >= 3, children.keys()  # the fork server and its two workers
    for pid, (environ, cmd) in children.items():
        for name, value in secrets.items():
            assert value.encode() not in environ, f"{name} is in /proc/{pid}/environ ({cmd[:80]!r})"
            assert f"{name}=".encode() not in environ
    assert d.stop() == 0
