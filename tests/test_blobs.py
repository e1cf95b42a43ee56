"""Blobs in the file store and the rows that name them: the orphan sweep keeps every referenced
blob (one list of blob columns beside the models, checked here against every model), queued
mail survives the sweep a daemon restart runs, and an outbox row whose file is missing fails
alone while the rest are sent."""

from __future__ import annotations

import os
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from core.clock import FixedClock, SystemClock
from intake.app import App
from intake.importer import import_paths
from notifier import outbox
from notifier.message import OutgoingMail, build_message, new_message_id
from store.gc import live_blobs, sweep_orphans
from store.models import BLOB_COLUMNS, BLOB_JSON_KEYS, NOT_BLOBS, Base, OutboxMail
from tests.support.config import ROSTER, make_config
from tests.support.daemon import Daemon, Store, daemon_config, wait_for
from tests.support.docgen_media import phone_jpeg
from tests.support.smtpserver import SmtpServer

SENDER = "Phòng GD&ĐT huyện Thanh Oai <totrunghoc-thanhoai@thanhoai.example>"
BLOBISH = re.compile(r"sha\d*|blob|digest|hash|thumb", re.I)
QUIET = {"receipts": False, "reminder_days": [], "overdue": False}


def _notice(i: int, now: datetime) -> Any:
    mail = OutgoingMail(
        kind="reminder",
        to=(f"unit-{i}@thanhoai.example",),
        subject=f"Nhắc gửi báo cáo Tuần lễ HTSĐ ({i})",
        text=f"Kính gửi đơn vị {i}: đề nghị gửi báo cáo trước hạn.",
    )
    return build_message(mail, sender=SENDER, now=now, message_id=new_message_id(SENDER))


def _queue(app: App, n: int, now: datetime) -> list[str]:
    with app.sessions.begin() as s:
        rows = [
            outbox.enqueue(
                s,
                app.files,
                _notice(i, now),
                campaign_id=app.cfg.campaign.id,
                kind="reminder",
                unit_code=f"u{i}",
                slot="d-1",
                now=now,
            )
            for i in range(n)
        ]
        return [r.blob_sha256 for r in rows if r is not None]


def test_every_blob_column_of_every_model_is_listed_for_the_sweep() -> None:
    listed = {(c.table.name, c.name) for c in (*BLOB_COLUMNS, *NOT_BLOBS)}
    listed |= {(c.table.name, c.name) for c, _ in BLOB_JSON_KEYS}
    blobish = {
        (table.name, column.name)
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if BLOBISH.search(column.name)
    }
    assert blobish, "the pattern finds nothing: the check would pass for any model"
    unlisted = blobish - listed
    assert not unlisted, (
        f"{sorted(unlisted)} look like file-store blobs: list them in store.models BLOB_COLUMNS "
        "(or NOT_BLOBS when they name no file), or the orphan sweep deletes their files"
    )


def test_every_hash_in_a_filled_store_that_names_a_blob_is_kept(tmp_path: Path) -> None:
    """Independent of column names: every 64-hex value anywhere in a store that holds mail,
    photos, thumbnails and queued notices, and names a file, is in live_blobs."""
    clock = FixedClock(datetime(2021, 10, 5, 2, 0, tzinfo=UTC))
    with App(make_config(tmp_path, limits={"parse_workers": 0}), clock) as app:
        app.import_roster(ROSTER)
        from email.message import EmailMessage

        m = EmailMessage()
        m["From"] = "Trường Tiểu học Kim An <th-kim-an@thanhoai.example>"
        m["Subject"] = "Báo cáo Tuần lễ HTSĐ 2021"
        m["Message-ID"] = "<blobs-1@thanhoai.example>"
        m.set_content("Kính gửi Phòng GD&ĐT, đơn vị gửi ảnh hoạt động.")
        m.add_attachment(
            phone_jpeg(1, size=(640, 480))[0],
            maintype="image",
            subtype="jpeg",
            filename="Ảnh hoạt động.jpg",
        )
        (tmp_path / "a.eml").write_bytes(bytes(m))
        import_paths([tmp_path / "a.eml"], app.sessions, app.files, clock)
        app.filer.process_pending()
        _queue(app, 2, clock.now())
        hexes: set[str] = set()
        with app.engine.connect() as c:
            for table in Base.metadata.sorted_tables:
                for row in c.execute(sa.select(table)):
                    for value in row:
                        if isinstance(value, str):
                            hexes.update(re.findall(r"\b[0-9a-f]{64}\b", value))
        on_disk = {h for h in hexes if app.files.exists(h)}
        assert len(on_disk) >= 5  # raw mail, photo, its thumbnail, two notices
        with app.sessions() as s:
            assert on_disk <= live_blobs(s)


@pytest.mark.dovecot
@pytest.mark.slow
def test_a_queued_notice_survives_the_sweep_of_a_daemon_restart(
    tmp_path: Path,
    dovecot: Any,
    smtp_server: SmtpServer,
    run_env: dict[str, str],
    daemons: list[Daemon],
) -> None:
    cfg = daemon_config(tmp_path, dovecot, smtp_server, notify=QUIET, digest={"recipients": []})
    with App(cfg, SystemClock()) as app:
        (blob,) = _queue(app, 1, SystemClock().now())
        path = app.files.path(blob)
    two_hours_ago = time.time() - 7200  # queued before a restart: older than the sweep's 1 h
    os.utime(path, (two_hours_ago, two_hours_ago))
    d = Daemon(cfg, run_env, tmp_path / "run.log", "--no-idle")
    daemons.append(d)
    wait_for("the queued notice to be sent", lambda: len(smtp_server.received) == 1, 30, d)
    store = Store(cfg)
    wait_for(
        "the row to be marked sent", lambda: store.count("outbox", "state = 'sent'") == 1, 10, d
    )
    assert path.exists()
    assert d.stop() == 0
    assert "Traceback" not in d.text()


def test_a_notice_whose_file_is_missing_fails_alone_and_the_rest_are_sent(
    tmp_path: Path, smtp_server: SmtpServer, db_url: str
) -> None:
    clock = FixedClock(datetime(2021, 10, 7, 1, 30, tzinfo=UTC))
    cfg = make_config(
        tmp_path,
        db_url,
        smtp={"host": "127.0.0.1", "port": smtp_server.port, "security": "none", "sender": SENDER},
        limits={"parse_workers": 0},
    )
    with App(cfg, clock) as app:
        blobs = _queue(app, 3, clock.now())
        app.files.path(blobs[0]).unlink()  # the first in line: it used to block the others
        mailer = app.mailer()
        assert mailer is not None
        got = outbox.deliver_due(app.sessions, app.files, mailer, clock)
        assert (got.sent, got.failed, got.retried) == (2, 1, 0)
        assert len(smtp_server.received) == 2
        with app.sessions() as s:
            rows = {r.blob_sha256: r for r in s.scalars(sa.select(OutboxMail))}
        lost = rows[blobs[0]]
        assert lost.state == "failed" and lost.next_attempt_at is None
        assert "missing from the file store" in lost.last_error
        assert {rows[b].state for b in blobs[1:]} == {"sent"}
        clock.advance(timedelta(hours=3))
        again = outbox.deliver_due(app.sessions, app.files, mailer, clock)
        assert (again.sent, again.failed) == (0, 0)  # nothing stuck in 'sending'


def test_the_sweep_keeps_queued_mail_and_removes_old_orphans(tmp_path: Path, db_url: str) -> None:
    clock = FixedClock(datetime.now(UTC))
    with App(make_config(tmp_path, db_url, limits={"parse_workers": 0}), clock) as app:
        (queued,) = _queue(app, 1, clock.now())
        orphan = app.files.put(b"written, then its transaction never committed")
        old = time.time() - 7200
        for sha in (queued, orphan):
            os.utime(app.files.path(sha), (old, old))
        assert sweep_orphans(app.sessions, app.files, clock.now()) == 1
        assert app.files.exists(queued) and not app.files.exists(orphan)
