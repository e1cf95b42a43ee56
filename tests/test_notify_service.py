"""The notifier wired to the store and a real aiosmtpd server: receipts after filing, reminders
walked across their slots by an injected clock, the digest with its workbook, and the outbox's
promises — a crash between commit and send, or SMTP down, still gives exactly one delivery."""

from __future__ import annotations

import email
import email.policy
import io
import os
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa

from core.clock import FixedClock
from intake.app import App
from intake.officer import assign
from store.models import Message, OutboxMail
from tests.support.config import ROOT, ROSTER
from tests.support.noticemail import import_mails, notify_config, report_mail
from tests.support.smtpserver import SmtpServer, free_port


def _parsed(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def test_receipt_once_per_message_and_never_to_robots(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    clock = FixedClock(datetime(2021, 10, 5, 3, 0, tzinfo=UTC))
    quiet = {"reminder_days": [], "overdue": False}
    with App(
        notify_config(tmp_path, smtp_server.port, notify=quiet, digest={"recipients": []}), clock
    ) as app:
        app.import_roster(ROSTER)
        import_mails(
            app,
            tmp_path,
            report_mail("th-kim-an@thanhoai.example", "Trường Tiểu học Kim An", 1),
            report_mail("stranger@gmail.com", "Ai đó", 2),
            report_mail(
                "mn-kim-bai@thanhoai.example",
                "Trường Mầm non Kim Bài",
                3,
                extra=(("Auto-Submitted", "auto-replied"),),
            ),
        )
        n = app.notifier()
        result = n.tick()
        assert result.receipts == 1 and result.delivery.sent == 1
        (got,) = smtp_server.received
        assert got.rcpt_tos == ["th-kim-an@thanhoai.example"]
        msg = _parsed(got.data)
        assert msg["In-Reply-To"] == "<svc-1@thanhoai.example>"
        assert msg["Auto-Submitted"] == "auto-generated"
        body = msg.get_body(("plain",))
        assert body is not None
        text = body.get_content()
        assert "Ảnh hoạt động 1.jpg" in text and "10/10/2021" in text
        # a second tick, and a new notifier (a restart), send nothing more
        assert n.tick().delivery.sent == 0
        assert app.notifier().tick().receipts == 0
        assert len(smtp_server.received) == 1


def test_why_a_message_gets_no_receipt_is_logged_once_not_every_tick(
    tmp_path: Path, smtp_server: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A message filed from an address its unit does not own stays a receipt candidate for
    `receipt_max_age_hours` (the officer may teach the address): why it gets none is said at
    the first tick, not at each one."""
    clock = FixedClock(datetime(2021, 10, 5, 3, 0, tzinfo=UTC))
    quiet = {"reminder_days": [], "overdue": False}
    with App(
        notify_config(tmp_path, smtp_server.port, notify=quiet, digest={"recipients": []}), clock
    ) as app:
        app.import_roster(ROSTER)
        import_mails(
            app,
            tmp_path,
            report_mail(
                "lure@evil.example",
                "Trường Tiểu học Kim An",
                31,
                subject="Báo cáo Tuần lễ HTSĐ 2021 - Trường Tiểu học Kim An",
            ),
        )
        n = app.notifier()
        with caplog.at_level("INFO", logger="notifier.service"):
            for _ in range(3):
                clock.advance(timedelta(minutes=2))
                assert n.tick().receipts == 0
        said = [
            r.getMessage() for r in caplog.records if "no receipt for message" in r.getMessage()
        ]
        assert len(said) == 1 and "not on the unit's roster" in said[0], said
        assert smtp_server.received == []


def test_receipt_only_to_the_units_own_or_taught_address(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    """A stranger whose subject names a unit gets the message filed, but no receipt quoting
    their subject back; a teacher's personal address gets one once the officer taught it."""
    clock = FixedClock(datetime(2021, 10, 5, 3, 0, tzinfo=UTC))
    quiet = {"reminder_days": [], "overdue": False}
    with App(
        notify_config(tmp_path, smtp_server.port, notify=quiet, digest={"recipients": []}), clock
    ) as app:
        app.import_roster(ROSTER)
        import_mails(
            app,
            tmp_path,
            report_mail(
                "lure@evil.example",
                "Trường Tiểu học Kim An",
                31,
                subject="Báo cáo Tuần lễ HTSĐ 2021 - Trường Tiểu học Kim An - xem tại http://phish.example/login",
            ),
            report_mail("hieutruong.kiman@gmail.com", "Trường Tiểu học Kim An", 32),
        )
        with app.sessions() as s:
            filed = {
                m.from_addr: (m.id, m.state, m.unit.code if m.unit else None)
                for m in s.scalars(sa.select(Message))
            }
        assert {a: f[1:] for a, f in filed.items()} == {
            "lure@evil.example": ("filed", "th-kim-an"),
            "hieutruong.kiman@gmail.com": ("filed", "th-kim-an"),
        }
        n = app.notifier()
        assert n.tick().receipts == 0
        assert smtp_server.received == []
        # the officer confirms the teacher's message (intake assign teaches the address)
        with app.sessions.begin() as s:
            assign(
                s,
                app.cfg.campaign,
                str(filed["hieutruong.kiman@gmail.com"][0]),
                "th-kim-an",
                by="officer",
                now=clock.now(),
            )
        assert n.tick().receipts == 1
        (got,) = smtp_server.received
        assert got.rcpt_tos == ["hieutruong.kiman@gmail.com"]
        assert n.tick().receipts == 0  # the stranger stays unanswered


def test_reminders_each_slot_once_complete_units_nothing(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    clock = FixedClock(datetime(2021, 10, 1, 0, 0, tzinfo=UTC))
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "code,name,kind,emails,aliases\n"
        "th-kim-an,Trường Tiểu học Kim An,th,th-kim-an@thanhoai.example,\n"
        "mn-kim-bai,Trường Mầm non Kim Bài,mn,mn-kim-bai@thanhoai.example,\n",
        encoding="utf-8",
    )
    cfg = notify_config(
        tmp_path,
        smtp_server.port,
        campaign={"required": ["photos"], "min_photos": 1},
        notify={"receipts": False},
        digest={"recipients": []},
    )
    with App(cfg, clock) as app:
        app.import_roster(roster)
        import_mails(
            app, tmp_path, report_mail("mn-kim-bai@thanhoai.example", "Trường Mầm non Kim Bài", 7)
        )
        n = app.notifier()
        sent_at = []
        while clock.now() < datetime(2021, 10, 12, tzinfo=UTC):
            before = len(smtp_server.received)
            n.tick()
            sent_at += [clock.now()] * (len(smtp_server.received) - before)
            clock.advance(timedelta(minutes=30))
        to = [r.rcpt_tos for r in smtp_server.received]
        assert to == [["th-kim-an@thanhoai.example"]] * 4  # 5, 3, 1 days before, then overdue
        hanoi = [t.astimezone(cfg.campaign.tz) for t in sent_at]
        assert [(t.day, t.hour) for t in hanoi] == [(5, 8), (7, 8), (9, 8), (10, 8)]
        subjects = [_parsed(r.data)["Subject"] for r in smtp_server.received]
        assert all("Tuần lễ" in s or "báo cáo" in s.lower() for s in subjects)


def test_smtp_down_then_back_delivers_once(tmp_path: Path) -> None:
    port = free_port()
    clock = FixedClock(datetime(2021, 10, 5, 3, 0, tzinfo=UTC))
    quiet = {"reminder_days": [], "overdue": False}
    with App(notify_config(tmp_path, port, notify=quiet, digest={"recipients": []}), clock) as app:
        app.import_roster(ROSTER)
        import_mails(
            app, tmp_path, report_mail("th-kim-an@thanhoai.example", "Trường Tiểu học Kim An", 1)
        )
        n = app.notifier()
        r = n.tick()
        assert r.receipts == 1 and r.delivery.sent == 0 and r.delivery.retried == 1
        assert "SMTP" in r.delivery.error
        from tests.support.smtpserver import _run

        gen = _run(SmtpServer("127.0.0.1", port))
        box = next(gen)
        try:
            assert n.deliver().sent == 0  # still backing off
            clock.advance(timedelta(minutes=2))
            assert n.deliver().sent == 1
            assert n.deliver().sent == 0
            assert len(box.received) == 1
        finally:
            gen.close()


CRASH = textwrap.dedent("""
    import os, signal, sys
    from datetime import datetime
    from intake.app import App
    from core.clock import FixedClock
    from core import config
    cfg = config.load(sys.argv[1])
    app = App(cfg, FixedClock(datetime.fromisoformat(sys.argv[2])))
    n = app.notifier()
    if sys.argv[3] == "before-commit":          # decided, the outbox rows not yet committed
        from sqlalchemy import event
        from sqlalchemy.orm import Session
        event.listen(Session, "before_commit", lambda s: os.kill(os.getpid(), signal.SIGKILL))
        n.queue_reminders(app.clock.now())
    if sys.argv[3] == "after-commit":
        n.queue_reminders(app.clock.now())      # decision + outbox row committed
        os.kill(os.getpid(), signal.SIGKILL)    # ... and the process dies before any SMTP
    real = n.mailer
    class Dying:
        sent = 0
        def send(self, msg):
            if sys.argv[3] == "mid-batch" and Dying.sent < 50:
                Dying.sent += 1                   # 50 delivered and marked sent ...
                return real.send(msg)
            os.kill(os.getpid(), signal.SIGKILL)  # 'sending' committed, killed before DATA
    n.mailer = Dying()
    n.tick()
""")


@pytest.mark.parametrize("point", ["before-commit", "after-commit", "while-sending", "mid-batch"])
def test_killed_between_commit_and_send_delivers_exactly_once(
    tmp_path: Path, smtp_server: SmtpServer, point: str
) -> None:
    at = datetime(2021, 10, 7, 1, 30, tzinfo=UTC)  # 08:30 in Hà Nội, 3 days before
    cfg = notify_config(
        tmp_path, smtp_server.port, notify={"receipts": False}, digest={"recipients": []}
    )
    with App(cfg, FixedClock(at)) as app:
        app.import_roster(ROSTER)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", CRASH, cfg.source, at.isoformat(), point],
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()
    assert len(smtp_server.received) == (50 if point == "mid-batch" else 0)
    clock = FixedClock(at + timedelta(minutes=11))  # past the stale 'sending' guard
    with App(cfg, clock) as app:
        with app.sessions() as s:
            queued = s.scalar(sa.select(sa.func.count()).select_from(OutboxMail))
        # every unit is missing: one reminder each (decided again when the first try died
        # before its commit)
        assert queued == (0 if point == "before-commit" else 111)
        n = app.notifier()
        n.tick()
        n.tick()
        assert len(smtp_server.received) == 111
        assert len({_parsed(r.data)["Message-ID"] for r in smtp_server.received}) == 111


def test_digest_with_workbook_via_cli(tmp_path: Path, smtp_server: SmtpServer) -> None:
    from click.testing import CliRunner

    from intake.cli import cli

    cfg = notify_config(tmp_path, smtp_server.port, notify={"receipts": False})
    clock = FixedClock(datetime(2021, 10, 5, 3, 0, tzinfo=UTC))
    with App(cfg, clock) as app:
        app.import_roster(ROSTER)
        import_mails(
            app, tmp_path, report_mail("th-kim-an@thanhoai.example", "Trường Tiểu học Kim An", 1)
        )
    r = CliRunner().invoke(
        cli, ["--config", cfg.source, "digest", "--send", "--at", "2021-10-05T07:30"]
    )
    assert r.exit_code == 0, r.output
    (got,) = smtp_server.received
    msg = _parsed(got.data)
    assert msg["To"] == "totrunghoc-thanhoai@thanhoai.example"
    xlsx = [p for p in msg.iter_attachments() if (p.get_filename() or "").endswith(".xlsx")]
    assert len(xlsx) == 1
    wb = openpyxl.load_workbook(io.BytesIO(xlsx[0].get_content()), read_only=True)
    assert "Tổng hợp số liệu" in wb.sheetnames
    html = msg.get_body(("html",))
    assert html is not None and "Tiểu học" in html.get_content()
    out = tmp_path / "d.html"
    r = CliRunner().invoke(cli, ["--config", cfg.source, "digest", "--out", str(out)])
    assert r.exit_code == 0 and out.read_text(encoding="utf-8").count("<") > 10
