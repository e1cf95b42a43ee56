"""The store on real databases (a SQLite file, and PostgreSQL when reachable): migrations,
the ledger's unique key, message dedupe, aware UTC datetimes, the file store, the roster."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from core.errors import ConfigError
from intake.filing import learn_address
from intake.poll import store_raw
from intake.roster import import_roster, read_roster
from store.db import current_revision, head_revision, open_store, upgrade
from store.files import FileStore
from store.models import LedgerEntry, Message, Unit, UnitAddress
from tests.support.config import ROSTER
from tests.support.unitmail import unit_mail

NOW = datetime(2021, 10, 5, 2, 0, tzinfo=UTC)


def _mail(body: str = "Kính gửi Phòng GD&ĐT", extra: str = "") -> bytes:
    """Kim Bài's one Message-ID with `body`, and with Gmail's label header when `extra` is given
    (the dedupe cases: the same bytes, an exported copy, another body)."""
    return unit_mail(
        1,
        "thcs-kim-bai@thanhoai.example",
        "Trường THCS Kim Bài",
        subject="Báo cáo tuần lễ HTSĐ năm 2021",
        body=body,
        tag="store",
        date="Tue, 05 Oct 2021 09:12:00 +0700",
        headers=[("X-Gmail-Labels", extra)] if extra else (),
    )


def test_migrations_reach_head_and_are_idempotent(db_url: str) -> None:
    engine, _ = open_store(db_url)
    assert current_revision(engine) == head_revision(engine) is not None
    upgrade(engine)  # again: nothing to do, no error
    names = set(sa.inspect(engine).get_table_names())
    assert {"units", "ledger", "messages", "attachments", "submissions", "heartbeats"} <= names
    engine.dispose()


def test_migrated_schema_matches_the_models(db_url: str) -> None:
    """What the migrations build is what the models declare (indexes included): a model change
    without its migration fails here."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from store.models import Base

    engine, _ = open_store(db_url)
    with engine.connect() as c:
        diff = compare_metadata(MigrationContext.configure(c), Base.metadata)
    engine.dispose()
    assert diff == []


def test_sqlite_pragmas(tmp_path: Path) -> None:
    engine, _ = open_store(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    with engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert c.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert c.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    engine.dispose()


def test_ledger_key_is_unique(db_url: str) -> None:
    engine, sessions = open_store(db_url)
    row = dict(account="a", folder="INBOX", uidvalidity=7, uid=1, first_seen_at=NOW, updated_at=NOW)
    with sessions.begin() as s:
        s.add(LedgerEntry(**row))
    with pytest.raises(IntegrityError), sessions.begin() as s:
        s.add(LedgerEntry(**row))
    with sessions.begin() as s:  # another UIDVALIDITY epoch is another key
        s.add(LedgerEntry(**{**row, "uidvalidity": 8}))
        assert s.scalar(sa.select(sa.func.count()).select_from(LedgerEntry)) == 2
    engine.dispose()


def test_datetimes_come_back_aware_utc(db_url: str) -> None:
    engine, sessions = open_store(db_url)
    hanoi = timezone(timedelta(hours=7))
    local = datetime(2021, 10, 9, 23, 59, tzinfo=hanoi)
    with sessions.begin() as s:
        s.add(Unit(code="u", name="U", kind="th", created_at=local, updated_at=local))
    with sessions() as s:
        u = s.scalar(sa.select(Unit))
        assert u is not None and u.created_at == local and u.created_at.tzinfo is not None
        assert u.created_at.utcoffset() == timedelta(0)
    with pytest.raises(sa.exc.StatementError, match="naive"), sessions.begin() as s:
        s.add(Unit(code="v", name="V", kind="th", created_at=datetime(2021, 1, 1), updated_at=NOW))  # noqa: DTZ001
    engine.dispose()


def test_message_dedupe(db_url: str, tmp_path: Path) -> None:
    engine, sessions = open_store(db_url)
    files = FileStore(tmp_path / "files")
    raw = _mail()
    with sessions.begin() as s:
        first, created = store_raw(s, files, raw, source="imap", received_at=NOW, now=NOW)
        assert created
    with sessions.begin() as s:  # identical bytes
        again, created = store_raw(s, files, raw, source="import", received_at=NOW, now=NOW)
        assert not created and again.id == first.id
    # exported copy: same Message-ID and body, an extra header line (Gmail Takeout adds labels)
    exported = _mail(extra="Inbox,Important")
    assert exported != raw
    with sessions.begin() as s:
        again, created = store_raw(s, files, exported, source="import", received_at=NOW, now=NOW)
        assert not created and again.id == first.id
    # same Message-ID, different content: a different message, kept
    with sessions.begin() as s:
        other, created = store_raw(
            s, files, _mail(body="Bổ sung ảnh"), source="imap", received_at=NOW, now=NOW
        )
        assert created and other.id != first.id
        assert s.scalar(sa.select(sa.func.count()).select_from(Message)) == 2
        assert other.subject == "Báo cáo tuần lễ HTSĐ năm 2021"
        assert other.from_addr == "thcs-kim-bai@thanhoai.example"
    assert files.get(first.sha256) == raw
    engine.dispose()


def test_file_store(tmp_path: Path) -> None:
    fs = FileStore(tmp_path)
    digest = fs.put(b"abc")
    assert fs.put(b"abc") == digest
    p = fs.path(digest)
    assert p.relative_to(tmp_path).parts == (digest[:2], digest[2:4], digest)
    orphan = p.parent / ".x.tmp"
    orphan.write_bytes(b"half")
    assert fs.sweep() == 1 and not orphan.exists() and p.exists()
    with pytest.raises(ValueError):
        fs.path("../../etc/passwd")
    stray = fs.path(fs.put(b"unreferenced"))
    assert fs.sweep(keep={digest}) == 1 and not stray.exists() and p.exists()


def test_roster_import_and_reimport(db_url: str) -> None:
    engine, sessions = open_store(db_url)
    rows = read_roster(ROSTER)
    assert len(rows) == 111
    with sessions.begin() as s:
        assert import_roster(s, rows, NOW) == (111, 0)
    with sessions.begin() as s:
        unit = s.scalar(sa.select(Unit).where(Unit.code == "thcs-thanh-mai"))
        assert unit is not None and unit.kind == "thcs" and unit.name == "Trường THCS Thanh Mai"
        assert learn_address(s, unit, "NguyenThiLan1980@gmail.com", "officer", NOW)
        assert not learn_address(s, unit, "nguyenthilan1980@gmail.com", "officer", NOW)
    with sessions.begin() as s:
        assert import_roster(s, rows, NOW) == (0, 111)
        assert s.scalar(sa.select(sa.func.count()).select_from(Unit)) == 111
        learned = s.scalar(sa.select(UnitAddress).where(UnitAddress.source == "learned"))
        assert learned is not None and learned.address == "nguyenthilan1980@gmail.com"
    engine.dispose()


@pytest.mark.parametrize(
    "text, match",
    [
        ("code,name,kind,emails\nx,X,school,a@b\n", "kind 'school'"),
        ("code,name,kind,emails\nx,X,th,a@b\ny,Y,th,A@b\n", "also the address of x"),
        ("code,name,kind,emails\nx,X,th,a@b\nx,Y,th,c@d\n", "repeats line 2"),
        ("code,name\nx,X\n", "missing column"),
        ("code,name,kind,emails\nx,X,th,not-an-address\n", "not an email"),
    ],
)
def test_roster_errors_name_the_line(tmp_path: Path, text: str, match: str) -> None:
    p = tmp_path / "r.csv"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=match):
        read_roster(p)


def test_roster_xlsx(tmp_path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["code", "name", "kind", "emails", "aliases"])
    ws.append(
        [
            "th-kim-an",
            "Trường Tiểu học Kim An",
            "th",
            "th-kim-an@x.vn; hieutruong.kiman@gmail.com",
            "TH Kim An",
        ]
    )
    ws.append([None, None, None, None, None])
    wb.save(tmp_path / "r.xlsx")
    rows = read_roster(tmp_path / "r.xlsx")
    assert len(rows) == 1 and rows[0].emails == ("th-kim-an@x.vn", "hieutruong.kiman@gmail.com")


def test_orphan_sweep_keeps_every_referenced_blob(db_url: str, tmp_path: Path) -> None:
    import json
    import os

    from store.gc import sweep_orphans
    from store.models import Attachment

    engine, sessions = open_store(db_url)
    files = FileStore(tmp_path / "files")
    thumb = files.put(b"\xff\xd8thumbnail")
    with sessions.begin() as s:
        msg, _ = store_raw(s, files, _mail(), source="imap", received_at=NOW, now=NOW)
        s.add(
            Attachment(
                message=msg,
                sha256=files.put(b"xlsx bytes"),
                filename="Số liệu.xlsx",
                content_type="application/octet-stream",
                kind="spreadsheet",
                fmt="xlsx",
                size=10,
                items="data_table",
                photos=0,
                problem="",
                facts=json.dumps({"photos": [{"thumbnail_sha256": thumb}]}),
            )
        )
    crashed = files.put(b"written, then the transaction never committed")
    in_flight = files.put(b"another daemon is committing this one right now")
    half = files.path(crashed).parent / ".abc.tmp"
    half.write_bytes(b"half a write")
    hour_ago = NOW.timestamp() - 7200
    for p in (files.path(crashed), half):
        os.utime(p, (hour_ago, hour_ago))
    for p in files.root.glob("*/*/*"):  # everything but the in-flight blob is old
        if p.name != in_flight:
            os.utime(p, (hour_ago, hour_ago))
    assert sweep_orphans(sessions, files, NOW) == 2
    assert not files.exists(crashed) and not half.exists()
    assert files.exists(in_flight) and files.exists(thumb) and files.exists(msg.sha256)
    with sessions() as s:
        assert all(files.exists(sha) for sha in s.scalars(sa.select(Attachment.sha256)))
    engine.dispose()


def _insert(conn: sa.Connection, table: str, **values: object) -> int:
    """A row with `values` and a plain value for every other required column (a store as an
    older revision left it, written without today's models)."""
    naive = NOW.replace(tzinfo=None) if conn.dialect.name == "sqlite" else NOW
    for col in sa.inspect(conn).get_columns(table):
        if col["name"] in values or col["nullable"] or col["name"] == "id" or col.get("default"):
            continue
        kind = col["type"]
        values[col["name"]] = (
            naive
            if isinstance(kind, sa.DateTime)
            else False
            if isinstance(kind, sa.Boolean)
            else 0
            if isinstance(kind, sa.Integer | sa.BigInteger)
            else ""
        )
    t = sa.table(table, *(sa.column(k) for k in values))
    return int(conn.execute(t.insert().values(**values).returning(sa.column("id"))).scalar_one())


def test_migration_0008_refuses_a_bad_state_and_keeps_what_was_filed(db_url: str) -> None:
    """0008 puts CHECK constraints on the state columns and DMARC in a column: a message
    stored before keeps its attachments through the table rebuild (SQLite), its DMARC verdict
    is read from the stored JSON, and a state outside the enum is refused afterwards."""
    from store.db import make_engine
    from store.models import Attachment, LedgerState, MessageState, OutboxState, SubmissionState

    engine = make_engine(db_url)
    upgrade(engine, "0007")
    with engine.begin() as c:
        failed = _insert(
            c,
            "messages",
            sha256="a" * 64,
            body_sha256="b" * 64,
            state="filed",
            subject="Báo cáo tuần lễ HTSĐ — Trường THCS Kim Bài",
            auth='{"authserv_id": "mx.thanhoai.example", "spf": "pass", "dkim": "none", '
            '"dmarc": "fail"}',
        )
        passed = _insert(
            c,
            "messages",
            sha256="c" * 64,
            body_sha256="d" * 64,
            state="unassigned",
            auth='{"dmarc": "pass"}',
        )
        _insert(
            c,
            "attachments",
            message_fk=failed,
            sha256="e" * 64,
            filename="Báo cáo.docx",
            items="report",
        )
    upgrade(engine)
    assert current_revision(engine) == "0008"
    with engine.connect() as c:
        assert dict(c.execute(sa.text("SELECT id, dmarc FROM messages")).all()) == {
            failed: "fail",
            passed: "pass",
        }
        assert c.execute(sa.select(Attachment.filename, Attachment.message_fk)).all() == [
            ("Báo cáo.docx", failed)
        ]
    for table, good in (
        ("messages", MessageState.FILED),
        ("ledger", LedgerState.STORED),
        ("submissions", SubmissionState.COMPLETE),
        ("outbox", OutboxState.SENT),
    ):
        checks = sa.inspect(engine).get_check_constraints(table)
        assert [ck["name"] for ck in checks] == [f"ck_{table}_state"]
        assert all(f"'{v}'" in checks[0]["sqltext"] for v in type(good))
    with pytest.raises(IntegrityError), engine.begin() as c:
        c.execute(sa.text("UPDATE messages SET state = 'done' WHERE id = :id"), {"id": failed})
    with engine.connect() as c:
        assert (
            c.execute(sa.text("SELECT state FROM messages WHERE id = :id"), {"id": failed}).scalar()
            == "filed"
        )
    engine.dispose()


def test_migration_0008_stops_on_a_state_it_does_not_know(db_url: str) -> None:
    from store.db import make_engine

    engine = make_engine(db_url)
    upgrade(engine, "0007")
    with engine.begin() as c:
        _insert(c, "messages", sha256="a" * 64, body_sha256="b" * 64, state="archived")
    with pytest.raises(RuntimeError, match=r"messages.state holds \['archived'\]"):
        upgrade(engine)
    assert current_revision(engine) == "0007"
    engine.dispose()
