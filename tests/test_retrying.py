"""Mail waiting for a retry is visible: `intake status` (table and --json) and the digest list
it with its next attempt and last error, until the retry succeeds."""

from __future__ import annotations

import json
from datetime import timedelta

from click.testing import CliRunner

from core.clock import FixedClock
from intake.app import App
from intake.cli import cli
from intake.poll import store_raw
from notifier.digest import compose_digest
from notifier.render import make_env
from store.models import LedgerEntry
from store.queries import status_json
from tests.support.config import ROSTER
from tests.support.mailgen import campaign_mailbox


def _stored_without_raw_file(app: App) -> tuple[int, bytes]:
    """A unit's message in the ledger whose raw file cannot be read for now (as while the file
    store is restored from a backup): filing it fails and is retried."""
    raw = campaign_mailbox(ROSTER, 1, seed=21)[0]
    now = app.clock.now()
    with app.sessions.begin() as s:
        msg, created = store_raw(s, app.files, raw, source="import", received_at=now, now=now)
        assert created
        pk, sha = msg.id, msg.sha256
    app.files.path(sha).unlink()
    return pk, raw


def _digest_text(app: App) -> tuple[str, str]:
    mail = compose_digest(
        app.status(),
        since=None,
        now=app.clock.now(),
        workbook=b"xlsx",
        env=make_env(),
        recipients=("totrunghoc-thanhoai@thanhoai.example",),
    )
    return mail.text, mail.html or ""


def test_a_failed_filing_is_listed_with_its_next_attempt_until_the_retry_succeeds(
    app: App, clock: FixedClock
) -> None:
    pk, raw = _stored_without_raw_file(app)
    assert app.filer.process_pending() == 1
    data = status_json(app.status())
    (entry,) = data["retrying"]
    assert entry["id"] == pk and entry["fetched"] is True and entry["attempts"] == 1
    assert "@" in entry["from"] and entry["subject"]
    assert entry["next_attempt_at"] == (clock.now() + timedelta(minutes=2)).isoformat()
    assert "FileNotFoundError" in entry["last_error"]
    assert data["quarantined"] == [] and data["unassigned"] == []

    r = CliRunner().invoke(cli, ["--config", app.cfg.source, "status"])
    assert r.exit_code == 0, r.output
    assert "chờ xử lý lại: 1" in r.output
    line = r.output.split("Thư đang chờ xử lý lại:\n", 1)[1].splitlines()[0]
    assert line.startswith(f"  #{pk} 05/10 09:00 {entry['from']}")
    assert "lần thử 1 lỗi, thử lại 05/10 09:02: lý do kỹ thuật (FileNotFoundError" in line
    r = CliRunner().invoke(cli, ["--config", app.cfg.source, "status", "--json"])
    assert json.loads(r.output)["retrying"] == data["retrying"]

    text, html = _digest_text(app)
    assert (
        "THƯ ĐANG CHỜ XỬ LÝ LẠI (1): hệ thống gặp lỗi khi xử lý các thư này và sẽ tự thử lại"
        in text
    )
    assert (
        f'  - 09:00 ngày 05/10/2021 | {entry["from"]} | "{entry["subject"]}" | đã thử 1 lần, '
        "thử lại lúc 09:02 ngày 05/10/2021 | lỗi: lý do kỹ thuật (FileNotFoundError"
    ) in text
    assert "Thư đang chờ xử lý lại (1):" in html and "09:02 ngày 05/10/2021" in html

    clock.advance(timedelta(minutes=1))
    assert app.filer.process_pending() == 0  # not due yet
    app.files.put(raw)  # the file is back
    clock.advance(timedelta(minutes=2))
    assert app.filer.process_pending() == 1
    assert status_json(app.status())["retrying"] == []
    text, html = _digest_text(app)
    assert "CHỜ XỬ LÝ LẠI" not in text and "chờ xử lý lại" not in html


def test_a_server_message_whose_store_failed_is_listed_before_it_is_fetched(
    app: App, clock: FixedClock
) -> None:
    now = clock.now()
    with app.sessions.begin() as s:
        s.add(
            LedgerEntry(
                account="totrunghoc@imap.example",
                folder="INBOX",
                uidvalidity=7,
                uid=42,
                state="pending",
                attempts=2,
                error="store failed: disk I/O error",
                next_attempt_at=now + timedelta(minutes=4),
                first_seen_at=now - timedelta(minutes=3),
                updated_at=now,
            )
        )
        s.add(
            LedgerEntry(  # never tried yet: not a retry
                account="totrunghoc@imap.example",
                folder="INBOX",
                uidvalidity=7,
                uid=43,
                state="pending",
                first_seen_at=now,
                updated_at=now,
            )
        )
    (entry,) = status_json(app.status())["retrying"]
    assert entry["fetched"] is False and entry["subject"] == "INBOX UID 42"
    assert entry["attempts"] == 2 and entry["last_error"] == "store failed: disk I/O error"
    text, _ = _digest_text(app)
    assert (
        "  - 08:57 ngày 05/10/2021 | thư chưa tải được từ máy chủ (INBOX UID 42) | đã thử 2 lần, "
        "thử lại lúc 09:04 ngày 05/10/2021 | lỗi: chưa lưu được thư vào kho dữ liệu; sẽ thử lại"
    ) in text
