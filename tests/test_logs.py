"""What the daemon's log says (issue 16 item 11), read from the captured stderr of `intake run`
at its default level against Dovecot and aiosmtpd: no line per routine tick or per IDLE burst,
no WARNING for mail arriving, one line per sent mail naming its kind, unit and recipient, and
every line's time with its zone (local with the offset in text, UTC in JSON)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.config import ROSTER
from tests.support.daemon import PW_ENV, Run, Store, daemon_config, wait_for
from tests.support.mailgen import campaign_mailbox
from tests.support.noticemail import report_mail
from tests.support.smtpserver import SmtpServer

TEXT_LINE = re.compile(
    r"^(?P<date>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3})(?P<zone>[+-]\d\d:\d\d) "
    r"(?P<level>DEBUG|INFO|WARNING|ERROR|CRITICAL) (?P<logger>[\w.]+): "
)


def _one_line(env: dict[str, str], *args: str) -> str:
    """The line a fresh process logs at WARNING through intake.logs."""
    code = (
        "import logging, sys\nfrom intake import logs\n"
        f"logs.setup(logging.INFO, {args[0]!r})\n"
        "logging.getLogger('intake.daemon').warning('poll of %s failed: %s', "
        "'hộp thư', 'timeout')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return out.stderr.strip()


@pytest.mark.parametrize(
    ("tz", "offset"),
    [("Asia/Ho_Chi_Minh", "+07:00"), ("UTC", "+00:00"), ("America/New_York", None)],
)
def test_a_text_log_line_carries_its_time_zone(tz: str, offset: str | None) -> None:
    env = dict(os.environ, TZ=tz)
    line = _one_line(env, "text")
    m = TEXT_LINE.match(line)
    assert m, line
    assert line.endswith("WARNING intake.daemon: poll of hộp thư failed: timeout")
    if offset is not None:
        assert m["zone"] == offset
    else:  # New York is -05:00 or -04:00 depending on the date
        assert m["zone"] in ("-05:00", "-04:00")


def test_a_json_log_line_carries_utc() -> None:
    env = dict(os.environ, TZ="Asia/Ho_Chi_Minh")
    record = json.loads(_one_line(env, "json"))
    assert record["ts"].endswith("+00:00")
    assert record["level"] == "warning" and record["logger"] == "intake.daemon"


@pytest.fixture
def runs() -> Iterator[list[Run]]:
    out: list[Run] = []
    yield out
    for r in out:
        if r.proc.poll() is None:
            r.proc.kill()
            r.proc.wait(10)
        r._fh.close()


@pytest.mark.dovecot
@pytest.mark.slow
def test_the_daemon_log_says_what_happened_and_nothing_routine(
    tmp_path: Path, dovecot: Any, smtp_server: SmtpServer, runs: list[Run]
) -> None:
    env = dict(os.environ, TZ="Asia/Ho_Chi_Minh", **{PW_ENV: dovecot.password})
    env.pop("INTAKE_CONFIG", None)
    cfg = daemon_config(
        tmp_path,
        dovecot,
        smtp_server,
        mailbox={"poll_interval": 1},
        digest={"recipients": []},
        notify={"reminder_days": [], "overdue": False},
    )
    store = Store(cfg)
    r = Run(cfg, env, tmp_path / "run.log")
    runs.append(r)
    # the store is read only once the daemon made it (a file the test made would be 0644)
    wait_for("the IDLE watcher", lambda: "IDLE: watching INBOX" in r.text(), 60)
    wait_for(
        "the first poll",
        lambda: store.scalar("SELECT last_success_at FROM heartbeats") is not None,
        30,
    )
    time.sleep(4)  # four idle polls, two notice ticks' worth of nothing
    quiet = r.text()
    assert "poll:" not in quiet and "fetching" not in quiet, quiet  # nothing to say, nothing said

    # a burst of mail while the daemon watches: units on the roster, and a bounce
    sender = [
        ("th-kim-an@thanhoai.example", "Trường Tiểu học Kim An"),
        ("thcs-cu-khe@thanhoai.example", "Trường THCS Cự Khê"),
        ("mn-bich-hoa@thanhoai.example", "Trường Mầm non Bích Hòa"),
    ]
    dovecot.append([report_mail(addr, name, 40 + i) for i, (addr, name) in enumerate(sender)])
    dovecot.append(campaign_mailbox(ROSTER, n=20, seed=3)[19:])  # the twentieth is a bounce
    wait_for("three receipts", lambda: len(smtp_server.received) == 3, 60)
    time.sleep(1.5)
    assert r.stop() == 0
    text = r.text()
    lines = text.splitlines()
    records = [m for m in map(TEXT_LINE.match, lines) if m]
    assert records and all(m["zone"] == "+07:00" for m in records), text
    assert not [m for m in records if m["level"] in ("WARNING", "ERROR", "CRITICAL")], text
    assert not any(m["level"] == "DEBUG" for m in records)
    # one line per sent mail: its kind, unit and recipient
    for addr, _ in sender:
        code = addr.split("@")[0].replace("ubnd-", "xa-")
        assert sum(f"sent receipt for {code} to {addr}" in line for line in lines) == 1, text
    # polls say what they found; nothing per IDLE wake-up
    assert any(re.search(r"poll: [1-9]\d* new", line) for line in lines), text
    assert "IDLE: new mail" not in text
    assert "Context impl" not in text and "Connection closed" not in text
    assert "IDLE connection lost" not in text  # a clean stop is not a lost connection
    assert text.rstrip().endswith("INFO intake.daemon: intake stopped")
    assert all("poll: 0 new, 0 stored, 0 duplicate(s), 0 filed" not in line for line in lines)
