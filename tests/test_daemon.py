"""`intake run` as a subprocess against Dovecot and aiosmtpd: IDLE files new mail within
seconds; SIGTERM mid-backfill exits 0 and a restart finishes the job with nothing lost or
doubled; a second daemon is refused (or waits with --standby and takes over); a Dovecot outage
is backed off, shows in the health, and is recovered from; `intake doctor` names a wrong
password and a missing folder."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.config import ROSTER
from tests.support.daemon import INTAKE, PW_ENV, Daemon, Store, daemon_config, wait_for
from tests.support.mailgen import campaign_mailbox
from tests.support.smtpserver import SmtpServer

pytestmark = [pytest.mark.dovecot, pytest.mark.slow]


def test_idle_files_new_mail_within_seconds_and_sigterm_exits_0(
    tmp_path: Path,
    dovecot: Any,
    smtp_server: SmtpServer,
    run_env: dict[str, str],
    daemons: list[Daemon],
) -> None:
    # the default IMAP timeout: a stop must not wait for it
    cfg = daemon_config(
        tmp_path, dovecot, smtp_server, mailbox={"poll_interval": 600, "timeout": 30.0}
    )
    store = Store(cfg)
    d = Daemon(cfg, run_env, tmp_path / "run.log")
    daemons.append(d)
    wait_for(
        "the daemon to start", lambda: "IDLE" in d.text() or "intake running" in d.text(), 30, d
    )
    wait_for(
        "the first poll",
        lambda: store.scalar("SELECT last_success_at FROM heartbeats") is not None,
        30,
        d,
    )
    time.sleep(1.0)  # let the IDLE watcher settle into IDLE
    mail = campaign_mailbox(ROSTER, n=1, seed=11)
    t0 = time.monotonic()
    dovecot.append(mail)
    wait_for("the new mail to be filed", lambda: store.done() == 1, 15, d)
    took = time.monotonic() - t0
    assert took < 10, f"filed after {took:.1f} s, poll_interval is 600 s: IDLE did not work"
    assert "IDLE: new mail" in d.text()
    time.sleep(2.0)  # IDLE quiet for a while: the watcher sits in its wait loop
    t0 = time.monotonic()
    assert d.stop() == 0
    stopped = time.monotonic() - t0
    assert stopped < 5, (
        f"SIGTERM with IDLE took {stopped:.1f} s (the watcher waited for the IMAP timeout)"
    )
    assert "intake stopped" in d.text()


def test_sigterm_mid_backfill_then_restart_finishes_nothing_lost_or_doubled(
    tmp_path: Path,
    dovecot: Any,
    smtp_server: SmtpServer,
    run_env: dict[str, str],
    daemons: list[Daemon],
) -> None:
    mail = campaign_mailbox(ROSTER, n=160, seed=5)
    dovecot.append(mail)
    cfg = daemon_config(
        tmp_path, dovecot, smtp_server, mailbox={"poll_interval": 2, "batch_size": 5}
    )
    store = Store(cfg)
    d1 = Daemon(cfg, run_env, tmp_path / "run1.log", "--no-idle")
    daemons.append(d1)
    wait_for("the backfill to start", lambda: store.count("messages") >= 15, 60, d1)
    t0 = time.monotonic()
    assert d1.stop() == 0, d1.text()[-3000:]
    assert time.monotonic() - t0 < 15
    first = store.count("ledger", "message_fk IS NOT NULL")
    assert 15 <= first < 160, "the backfill was not interrupted: make the mailbox larger"

    d2 = Daemon(cfg, run_env, tmp_path / "run2.log", "--no-idle")
    daemons.append(d2)
    wait_for("the backfill to finish", lambda: store.done() == 160, 120, d2)
    wait_for(
        "every message to be marked on the server",
        lambda: dovecot.keywords_count("INBOX", "$IntakeFiled") == 160,
        30,
        d2,
    )
    assert d2.stop() == 0
    assert store.count("ledger") == 160
    assert store.count("ledger", "message_fk IS NULL") == 0
    assert store.count("messages") == 160
    assert store.scalar("SELECT count(DISTINCT sha256) FROM messages") == 160
    assert (
        store.scalar(
            "SELECT count(*) FROM "
            "(SELECT message_fk, sha256, filename, count(*) AS n FROM attachments "
            "GROUP BY message_fk, sha256, filename HAVING count(*) > 1) AS d"
        )
        == 0
    )
    # one receipt per filed message at most, never two for the same message
    assert (
        store.scalar(
            "SELECT count(*) FROM (SELECT slot FROM outbox WHERE kind = 'receipt' "
            "GROUP BY slot HAVING count(*) > 1) AS d"
        )
        == 0
    )


def test_second_daemon_refused_standby_takes_over(
    tmp_path: Path,
    dovecot: Any,
    smtp_server: SmtpServer,
    run_env: dict[str, str],
    daemons: list[Daemon],
) -> None:
    cfg = daemon_config(tmp_path, dovecot, smtp_server)
    store = Store(cfg)
    leader = Daemon(cfg, run_env, tmp_path / "leader.log", "--no-idle")
    daemons.append(leader)
    wait_for(
        "the leader's first poll",
        lambda: store.scalar("SELECT last_success_at FROM heartbeats") is not None,
        30,
        leader,
    )
    second = subprocess.run(
        [INTAKE, "--config", cfg.source, "run"],
        env=run_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode != 0
    assert "already runs" in second.stderr
    standby = Daemon(cfg, run_env, tmp_path / "standby.log", "--no-idle", "--standby")
    daemons.append(standby)
    wait_for("the standby to wait", lambda: "standby:" in standby.text(), 30, standby)
    assert leader.stop() == 0
    wait_for("the standby to take over", lambda: "taking over" in standby.text(), 30, standby)
    dovecot.append(campaign_mailbox(ROSTER, n=2, seed=3))
    wait_for("the standby to file new mail", lambda: store.done() == 2, 30, standby)
    assert standby.stop() == 0


def test_dovecot_outage_backs_off_shows_in_health_and_recovers(
    tmp_path: Path,
    dovecot: Any,
    smtp_server: SmtpServer,
    run_env: dict[str, str],
    daemons: list[Daemon],
) -> None:
    cfg = daemon_config(
        tmp_path, dovecot, smtp_server, mailbox={"poll_interval": 1, "timeout": 2.0}
    )
    store = Store(cfg)
    d = Daemon(cfg, run_env, tmp_path / "run.log", "--no-idle")
    daemons.append(d)
    wait_for(
        "the first poll",
        lambda: store.scalar("SELECT last_success_at FROM heartbeats") is not None,
        30,
        d,
    )
    dovecot.stop()
    wait_for(
        "the failure to be recorded",
        lambda: store.scalar("SELECT failing_since FROM heartbeats") is not None,
        30,
        d,
    )
    wait_for(
        "backoff", lambda: "next try in 4 s" in d.text() or "next try in 8 s" in d.text(), 30, d
    )
    error = store.scalar("SELECT last_error FROM heartbeats")
    assert error and f"IMAP connect to 127.0.0.1:{dovecot.port} failed" in error
    status = subprocess.run(
        [INTAKE, "--config", cfg.source, "status", "--json"],
        env=run_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert status.returncode == 0
    (health,) = json.loads(status.stdout)["health"]
    assert health["failing_since"] is not None and "IMAP connect" in health["last_error"]
    polls_before = d.text().count("poll failed")
    time.sleep(6)
    polls_after = d.text().count("poll failed")
    assert polls_after - polls_before <= 3, "no backoff: it kept polling every second"
    dovecot.start()
    dovecot.append(campaign_mailbox(ROSTER, n=1, seed=21))
    wait_for("recovery", lambda: store.done() == 1, 90, d)
    wait_for(
        "the health to clear",
        lambda: store.scalar("SELECT failing_since FROM heartbeats") is None,
        30,
        d,
    )
    # the heartbeat is committed before the poll's result is logged: wait for the line too
    wait_for("the recovery to be logged", lambda: "poll recovered" in d.text(), 10, d)
    assert d.stop() == 0


def test_doctor_names_wrong_password_and_missing_folder(
    tmp_path: Path, dovecot: Any, smtp_server: SmtpServer, run_env: dict[str, str]
) -> None:
    cfg = daemon_config(tmp_path, dovecot, smtp_server)
    fresh = subprocess.run(
        [INTAKE, "--config", cfg.source, "doctor"],
        env=run_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (
        fresh.returncode == 1
        and "FAIL database" in fresh.stdout
        and "intake db upgrade" in fresh.stdout
    )
    subprocess.run(
        [INTAKE, "--config", cfg.source, "db", "upgrade"],
        env=run_env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    ok = subprocess.run(
        [INTAKE, "--config", cfg.source, "doctor"],
        env=run_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    lines = ok.stdout.splitlines()
    for name in ("config", "timezone", "roster", "database", "disk", "imap", "smtp"):
        assert any(line.startswith("ok") and f" {name} " in line for line in lines), (
            name,
            ok.stdout,
        )
    assert "IDLE" in ok.stdout and "MOVE" in ok.stdout

    wrong = dict(run_env, **{PW_ENV: "not-the-password"})
    bad = subprocess.run(
        [INTAKE, "--config", cfg.source, "doctor"],
        env=wrong,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 1
    assert "FAIL imap" in bad.stdout
    assert "password" in bad.stdout.split("FAIL imap", 1)[1].split("\n", 2)[1]  # the fix line
    assert "not-the-password" not in bad.stdout + bad.stderr

    cfg2 = daemon_config(
        tmp_path / "2", dovecot, smtp_server, mailbox={"processed_folder": "Da-xu-ly"}
    )
    subprocess.run(
        [INTAKE, "--config", cfg2.source, "db", "upgrade"],
        env=run_env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    missing = subprocess.run(
        [INTAKE, "--config", cfg2.source, "doctor"],
        env=run_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 0, missing.stdout  # the poller creates it at its first MOVE
    assert "'Da-xu-ly' does not exist yet: it will be created at the first poll" in missing.stdout
