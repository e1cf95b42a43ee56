"""The way back once a cause is fixed, through the CLI against a real store: `intake outbox
retry [--failed]` resends mail the SMTP server refused for good (550) exactly once and never a
sent one; `intake requeue MESSAGE|--quarantined` files quarantined mail again with its attempts
reset (a message quarantined as malformed, and a mailbox entry too large to fetch), audited."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from core.clock import FixedClock
from intake.app import App
from intake.cli import cli
from store.models import AuditEntry, LedgerEntry, Message, OutboxMail
from tests.support.config import ROSTER, make_config
from tests.support.noticemail import import_mails, notify_config, report_mail
from tests.support.smtpserver import SmtpServer


def _audit(app: App, action: str) -> list[dict[str, Any]]:
    with app.sessions() as s:
        return [
            json.loads(a.detail)
            for a in s.scalars(
                sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
            )
        ]


def test_outbox_retry_failed_resends_refused_mail_once_never_a_sent_one(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    refused = "th-kim-an@thanhoai.example"
    smtp_server.refuse[refused] = "550 5.1.1 No such user"
    quiet = {"reminder_days": [], "overdue": False}
    cfg = notify_config(tmp_path, smtp_server.port, notify=quiet, digest={"recipients": []})
    with App(cfg, FixedClock(datetime(2021, 10, 5, 3, 0, tzinfo=UTC))) as app:
        app.import_roster(ROSTER)
        import_mails(
            app,
            tmp_path,
            report_mail(refused, "Trường Tiểu học Kim An", 1),
            report_mail("mn-kim-bai@thanhoai.example", "Trường Mầm non Kim Bài", 2),
        )
        d = app.notifier().tick().delivery
        assert (d.sent, d.failed) == (1, 1)
        runner = CliRunner()
        # without --failed, mail given up on stays given up on
        r = runner.invoke(cli, ["--config", cfg.source, "outbox", "retry"])
        assert r.exit_code == 0, r.output
        assert "0 failed mail requeued" in r.output and "0 sent" in r.output
        smtp_server.refuse.clear()  # the cause is fixed (the mailbox was created)
        r = runner.invoke(
            cli, ["--config", cfg.source, "outbox", "retry", "--failed", "--by", "hoa"]
        )
        assert r.exit_code == 0, r.output
        assert "1 failed mail requeued" in r.output and "1 sent" in r.output
        r = runner.invoke(cli, ["--config", cfg.source, "outbox", "retry", "--failed"])
        assert r.exit_code == 0 and "0 failed mail requeued" in r.output and "0 sent" in r.output
        assert sorted(m.rcpt_tos[0] for m in smtp_server.received) == [
            "mn-kim-bai@thanhoai.example",
            refused,
        ]
        with app.sessions() as s:
            assert set(s.scalars(sa.select(OutboxMail.state))) == {"sent"}
        (entry,) = _audit(app, "outbox-retry")
        assert len(entry["requeued_failed"]) == 1


def _many_parts(n: int) -> bytes:
    m = EmailMessage()
    m["From"] = "Trường Tiểu học Kim An <th-kim-an@thanhoai.example>"
    m["To"] = "totrunghoc-thanhoai@thanhoai.example"
    m["Subject"] = "Báo cáo Tuần lễ HTSĐ 2021 - Trường Tiểu học Kim An"
    m["Message-ID"] = f"<parts-{n}@thanhoai.example>"
    m["Date"] = "Tue, 05 Oct 2021 08:00:00 +0700"
    m.set_content("Kính gửi Phòng GD&ĐT huyện Thanh Oai")
    for i in range(n):
        m.add_attachment(
            f"ghi chú {i}".encode(), maintype="text", subtype="plain", filename=f"Ghi chú {i}.txt"
        )
    return bytes(m)


def test_requeue_files_a_quarantined_message_again_after_the_fix(
    tmp_path: Path, clock: FixedClock
) -> None:
    strict = make_config(tmp_path, limits={"parse_workers": 0, "max_mime_parts": 4})
    with App(strict, clock) as app:
        app.import_roster(ROSTER)
        import_mails(
            app,
            tmp_path,
            _many_parts(6),
            report_mail("mn-kim-bai@thanhoai.example", "Trường Mầm non Kim Bài", 3),
        )
        with app.sessions() as s:
            bad = s.scalar(sa.select(Message).where(Message.state == "quarantined"))
            assert bad is not None and "too many MIME parts" in bad.reason and bad.attempts == 1
            bad_id = bad.id
            good = s.scalar(sa.select(Message.id).where(Message.state == "filed"))
    runner = CliRunner()
    r = runner.invoke(cli, ["--config", strict.source, "requeue", str(good)])
    assert r.exit_code == 2 and "is filed, not quarantined" in r.output
    r = runner.invoke(cli, ["--config", strict.source, "requeue"])
    assert r.exit_code == 2 and "give MESSAGE or --quarantined" in r.output
    fixed = make_config(tmp_path, limits={"parse_workers": 0, "max_mime_parts": 1000})
    r = runner.invoke(cli, ["--config", fixed.source, "requeue", "--quarantined", "--by", "hoa"])
    assert r.exit_code == 0, r.output
    assert "1 message(s) requeued and filed again (1 filed)" in r.output
    with App(fixed, clock) as app:
        with app.sessions() as s:
            msg = s.get(Message, bad_id)
            assert msg is not None and msg.state == "filed" and msg.attempts == 0
            assert msg.unit is not None and msg.unit.code == "th-kim-an"
        assert _audit(app, "requeue") == [{"messages": [bad_id], "entries": []}]
    r = runner.invoke(cli, ["--config", fixed.source, "requeue", "--quarantined"])
    assert r.exit_code == 0 and "0 message(s) requeued" in r.output


@pytest.mark.dovecot
def test_requeue_a_mailbox_entry_too_large_to_fetch_then_poll_files_it(
    tmp_path: Path, dovecot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INTAKE_TEST_IMAP_PW", dovecot.password)
    mailbox = {
        "host": "127.0.0.1",
        "port": dovecot.port,
        "security": "none",
        "username": dovecot.user,
        "password_env": "INTAKE_TEST_IMAP_PW",
        "timeout": 5.0,
    }
    big = report_mail("th-kim-an@thanhoai.example", "Trường Tiểu học Kim An", 5)
    dovecot.append([big])
    small = make_config(
        tmp_path, mailbox=mailbox, limits={"parse_workers": 0, "max_message_bytes": 4096}
    )
    runner = CliRunner()
    r = runner.invoke(cli, ["--config", small.source, "poll", "--once"])
    assert r.exit_code == 0 and "1 failed" in r.output, r.output
    r = runner.invoke(cli, ["--config", small.source, "status"])
    with App(small) as app, app.sessions() as s:
        entry = s.scalar(sa.select(LedgerEntry))
        assert entry is not None and entry.state == "quarantined" and "too large" in entry.error
        ref = f"#-{entry.id}"
    assert f"{ref} " in r.output  # the number `intake status` shows is the one to give
    larger = make_config(tmp_path, mailbox=mailbox, limits={"parse_workers": 0})
    r = runner.invoke(cli, ["--config", larger.source, "requeue", ref])
    assert r.exit_code == 0, r.output
    assert (
        "0 message(s) requeued" in r.output
        and "1 mailbox entry to fetch at the next poll" in r.output
    )
    r = runner.invoke(cli, ["--config", larger.source, "poll", "--once"])
    assert r.exit_code == 0, r.output
    assert "1 stored" in r.output and "1 filed" in r.output
    with App(larger) as app, app.sessions() as s:
        assert s.scalar(sa.select(LedgerEntry.state)) == "stored"
        assert s.scalar(sa.select(Message.state)) == "filed"
