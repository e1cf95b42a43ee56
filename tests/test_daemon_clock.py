"""`intake run` under libfaketime (`FAKETIME_DONT_FAKE_MONOTONIC=1`: only the wall clock is
faked), against Dovecot and aiosmtpd, the wall clock stepped while it runs: a day back, mail is
still polled (with and without IDLE) and answered at once; 8 days forward, mail is still filed
and the jump is logged with the reminders held, not sent."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from core.config import Config
from tests.support.config import ROSTER
from tests.support.daemon import PW_ENV, Daemon, Store, daemon_config, wait_for
from tests.support.mailgen import campaign_mailbox
from tests.support.noticemail import report_mail
from tests.support.smtpserver import SmtpServer

pytestmark = [pytest.mark.dovecot, pytest.mark.slow]

LIBFAKETIME = next(
    iter(sorted(Path("/usr/lib").glob("*/faketime/libfaketimeMT.so.1"))),
    Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"),
)


@pytest.fixture
def faketime(tmp_path: Path, dovecot: Any) -> Iterator[tuple[dict[str, str], Path]]:
    """The daemon's environment under libfaketime, and the file holding its offset ("+0"),
    which the daemon re-reads every second."""
    if not LIBFAKETIME.is_file():
        if os.environ.get("CI", "").lower() not in ("", "0", "false"):
            pytest.fail("libfaketime is required in CI (make test installs faketime)")
        pytest.skip("libfaketime is not installed (apt-get install faketime)")
    offset = tmp_path / "faketime.rc"
    offset.write_text("+0\n")
    env = dict(os.environ)
    env.pop("INTAKE_CONFIG", None)
    env.update(
        {
            PW_ENV: dovecot.password,
            "LD_PRELOAD": str(LIBFAKETIME),
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",
            "FAKETIME_TIMESTAMP_FILE": str(offset),
            "FAKETIME_CACHE_DURATION": "1",
        }
    )
    yield env, offset


@pytest.fixture
def started(tmp_path: Path) -> Iterator[list[Daemon]]:
    out: list[Daemon] = []
    yield out
    for d in out:
        d.kill()


def _step(offset: Path, value: str) -> None:
    offset.write_text(value + "\n")
    time.sleep(2.5)  # libfaketime re-reads the file once a second; one more for the jobs to see it


def _config(tmp_path: Path, dovecot: Any, smtp: SmtpServer, **extra: dict[str, object]) -> Config:
    return daemon_config(
        tmp_path, dovecot, smtp, mailbox={"poll_interval": 2}, digest={"recipients": []}, **extra
    )


@pytest.mark.parametrize("idle", [False, True], ids=["no-idle", "idle"])
def test_a_day_back_mail_is_still_polled_and_answered_at_once(
    tmp_path: Path,
    dovecot: Any,
    smtp_server: SmtpServer,
    faketime: tuple[dict[str, str], Path],
    started: list[Daemon],
    idle: bool,
) -> None:
    env, offset = faketime
    cfg = _config(tmp_path, dovecot, smtp_server, notify={"reminder_days": [], "overdue": False})
    store = Store(cfg)
    d = Daemon(cfg, env, tmp_path / "run.log", *([] if idle else ["--no-idle"]))
    started.append(d)
    wait_for(
        "the first poll",
        lambda: store.scalar("SELECT last_success_at FROM heartbeats") is not None,
        30,
        d,
    )
    wait_for("the first notices tick", lambda: "notices tick" in d.text(), 30, d)
    time.sleep(1.0)  # let the IDLE watcher settle into IDLE
    _step(offset, "-1d")
    dovecot.append([report_mail("th-kim-an@thanhoai.example", "Trường Tiểu học Kim An", 1)])
    t0 = time.monotonic()
    wait_for("the new mail to be filed", lambda: store.done() == 1, 20, d)
    wait_for("its receipt", lambda: len(smtp_server.received) == 1, 20, d)
    took = time.monotonic() - t0
    assert took < 20, f"filed and answered after {took:.0f} s"
    # the sink has the mail before the outbox commits 'sent' (its crash contract): wait for both
    wait_for(
        "the receipt to be marked sent",
        lambda: store.count("outbox", "kind = 'receipt' AND state = 'sent'") == 1,
        10,
        d,
    )
    # the daemon really ran a day behind: the stored times say so
    last = store.scalar("SELECT max(created_at) FROM outbox")
    stored = last if isinstance(last, datetime) else datetime.fromisoformat(str(last))
    behind = datetime.now(UTC) - (stored if stored.tzinfo else stored.replace(tzinfo=UTC))
    assert timedelta(hours=23) < behind < timedelta(hours=25)
    assert "wall clock jumped back by" in d.text()
    assert d.stop() == 0


def test_eight_days_forward_mail_is_filed_and_reminders_are_held_not_burst(
    tmp_path: Path,
    dovecot: Any,
    smtp_server: SmtpServer,
    faketime: tuple[dict[str, str], Path],
    started: list[Daemon],
) -> None:
    env, offset = faketime
    # a deadline three days ahead: at start nothing is due; 8 days later every unit is overdue
    deadline = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0).isoformat()
    cfg = _config(
        tmp_path,
        dovecot,
        smtp_server,
        campaign={"deadline": deadline},
        notify={"reminder_days": [1], "receipts": False},
    )
    store = Store(cfg)
    d = Daemon(cfg, env, tmp_path / "run.log", "--no-idle")
    started.append(d)
    wait_for("the first notices tick", lambda: "notices tick" in d.text(), 30, d)
    wait_for(
        "the first poll",
        lambda: store.scalar("SELECT last_success_at FROM heartbeats") is not None,
        30,
        d,
    )
    assert store.count("outbox") == 0
    _step(offset, "+8d")
    dovecot.append(campaign_mailbox(ROSTER, n=1, seed=12))  # filing it ticks the notifier
    wait_for("the new mail to be filed", lambda: store.done() == 1, 20, d)
    wait_for("the jump to be noticed", lambda: "wall clock jumped forward by 8d" in d.text(), 20, d)
    assert "held for 60 min" in d.text()
    time.sleep(3.0)
    assert store.count("outbox") == 0 and smtp_server.received == [], "notices burst after the jump"
    assert d.stop() == 0
