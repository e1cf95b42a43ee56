"""The intake spine against a real Dovecot: a 50-message poll and a re-poll that fetches no body,
a session killed (or reset) mid-FETCH, a recreated folder (new UIDVALIDITY), a failing commit,
MOVE only after the commit (and a MOVE lost on the wire redone), and a local import after a poll.

The app talks to Dovecot through `tests.support.faultproxy`, which records its IMAP commands (so a
test
counts body FETCHes and sees the order of commits and MOVEs) and injects the faults; the
`dovecot` helper methods talk to the server directly and are not counted.
"""

from __future__ import annotations

import email
import json
import mailbox
import re
import unicodedata
from collections.abc import Iterator
from datetime import timedelta
from email import policy
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy import event
from sqlalchemy.orm import Session

from core.clock import FixedClock
from core.config import Config
from intake.app import App
from intake.cli import cli
from store.models import Attachment, LedgerEntry, Message
from tests.support.config import ROSTER, make_config
from tests.support.dovecot import Dovecot
from tests.support.faultproxy import FaultProxy, proxied
from tests.support.mailgen import campaign_mailbox

pytestmark = pytest.mark.dovecot

PW_ENV = "INTAKE_TEST_IMAP_PW"
BODY_FETCH = r"^UID FETCH .*BODY\.PEEK\[\]"
Journal = list[tuple[str, str]]


# -- fixtures ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def campaign() -> tuple[bytes, ...]:
    return tuple(campaign_mailbox(ROSTER, n=50, seed=7))


@pytest.fixture
def messages(campaign: tuple[bytes, ...]) -> list[bytes]:
    return list(campaign)


@pytest.fixture
def journal() -> Journal:
    """IMAP commands (from the proxy) and store commits (from SQLAlchemy events), in order."""
    return []


@pytest.fixture
def proxy(dovecot: Dovecot, journal: Journal) -> Iterator[FaultProxy]:
    with proxied(dovecot.host, dovecot.port, journal) as p:
        yield p


@pytest.fixture(autouse=True)
def imap_password(monkeypatch: pytest.MonkeyPatch, dovecot: Dovecot) -> None:
    monkeypatch.setenv(PW_ENV, dovecot.password)


def _cfg(
    tmp_path: Path,
    dovecot: Dovecot,
    via: FaultProxy | None = None,
    db_url: str | None = None,
    **extra: dict[str, object],
) -> Config:
    """A config for the app: the mailbox is `dovecot`, reached through `via` when given."""
    sections: dict[str, dict[str, object]] = {
        "mailbox": {
            "host": (via or dovecot).host,
            "port": (via or dovecot).port,
            "security": "none",
            "username": dovecot.user,
            "password_env": PW_ENV,
            "batch_size": 10,
            "timeout": 10.0,
        },
        "limits": {"parse_workers": 0},
    }
    for name, values in extra.items():
        sections.setdefault(name, {}).update(values)
    return make_config(tmp_path, db_url, **sections)


def _count(app: App, model: type, *where: Any) -> int:
    with app.sessions() as s:
        return s.scalar(sa.select(sa.func.count()).select_from(model).where(*where)) or 0


def _stored_uids(app: App) -> set[int]:
    with app.sessions() as s:
        return set(s.scalars(sa.select(LedgerEntry.uid).where(LedgerEntry.message_fk.is_not(None))))


def _crlf_free(raw: bytes) -> bytes:
    return raw.replace(b"\r\n", b"\n")


def _mid(value: object) -> str:
    return str(value or "").strip().strip("<>")


def _record_commits(app: App, journal: Journal) -> None:
    """Append ("commit", uids) to `journal` whenever a transaction that stored ledger rows
    commits (the proxy appends the IMAP commands to the same list)."""

    def flushed(session: Session, _ctx: object) -> None:
        for obj in (*session.new, *session.dirty):
            if isinstance(obj, LedgerEntry) and obj.state == "stored":
                session.info.setdefault("stored_uids", set()).add(obj.uid)

    def committed(session: Session) -> None:
        uids = session.info.pop("stored_uids", set())
        if uids:
            journal.append(("commit", ",".join(map(str, sorted(uids)))))

    def rolled_back(session: Session) -> None:
        session.info.pop("stored_uids", None)

    event.listen(app.sessions, "after_flush", flushed)
    event.listen(app.sessions, "after_commit", committed)
    event.listen(app.sessions, "after_rollback", rolled_back)


def _uids_in(command: str) -> list[int]:
    spec = command.split()[2]
    return [int(u) for u in spec.split(",")] if re.fullmatch(r"[\d,]+", spec) else []


# -- a full poll, then a re-poll ---------------------------------------------------------------
def test_poll_files_50_and_repoll_fetches_no_body(
    tmp_path: Path, dovecot: Dovecot, proxy: FaultProxy, messages: list[bytes], clock: FixedClock
) -> None:
    dovecot.append(messages)
    server_uids = dovecot.uids()
    assert len(server_uids) == 50
    cfg = _cfg(tmp_path, dovecot, proxy)
    with App(cfg, clock) as app:
        app.import_roster(ROSTER)
        r = app.poll_once()
        assert r.error == ""
        assert (r.new_uids, r.fetched, r.stored, r.duplicates, r.failed) == (50, 50, 50, 0, 0)
        assert sorted(proxy.fetched_uids()) == server_uids, "each body fetched exactly once"
        assert dovecot.body_fetches() == 50, "the server counted the same"

        sent = {_mid(email.message_from_bytes(raw)["Message-ID"]): raw for raw in messages}
        with app.sessions() as s:
            entries = list(s.scalars(sa.select(LedgerEntry)))
            assert sorted(e.uid for e in entries) == server_uids
            assert all(e.state == "stored" and e.server_done and e.message_fk for e in entries)
            stored = list(s.scalars(sa.select(Message)))
            # the raw message on disk is what was sent (Dovecot hands it back with CRLF)
            assert {_mid(m.message_id): _crlf_free(app.files.get(m.sha256)) for m in stored} == sent
            # every attachment saved, under its decoded NFC name, with its bytes on disk
            for m in stored:
                names = sorted(a.filename for a in m.attachments if a.parent_id is None)
                parsed = email.message_from_bytes(sent[_mid(m.message_id)], policy=policy.default)
                expected = sorted(
                    unicodedata.normalize("NFC", p.get_filename() or "")
                    for p in parsed.iter_attachments()
                )
                assert names == expected, m.subject
            atts = list(s.scalars(sa.select(Attachment)))
        assert len(atts) >= 100 and all(app.files.exists(a.sha256) for a in atts)
        # processed = a keyword; \Seen untouched (people read this mailbox too)
        assert dovecot.keywords_count("INBOX", "$IntakeFiled") == 50
        with dovecot.client() as c:
            c.select_folder("INBOX", readonly=True)
            assert len(c.search(["UNSEEN"])) == 50

    # the re-poll, through the CLI: nothing new, not one body fetched
    commands_before = len(proxy.commands)
    runner = CliRunner(env={PW_ENV: dovecot.password})
    result = runner.invoke(cli, ["--config", cfg.source, "poll", "--once"])
    assert result.exit_code == 0, result.output
    assert "0 new, 0 stored" in result.output
    assert proxy.commands[commands_before:], "the re-poll did talk to the server"
    assert proxy.body_fetches() == -(-50 // cfg.mailbox.batch_size)  # the first poll's, none since
    assert dovecot.body_fetches() == 50

    result = runner.invoke(cli, ["--config", cfg.source, "status", "--json"])
    assert result.exit_code == 0, result.output
    _check_status(json.loads(result.output), messages)


def _check_status(data: dict[str, Any], messages: list[bytes]) -> None:
    """`status --json` against what was sent: every message accounted for once, bounces
    ignored, each unit that wrote from its roster address shown as having sent."""
    from intake.demo_mail import read_units

    roster_units = read_units(ROSTER)
    roster = {u.email: u.code for u in roster_units}
    parsed = [email.message_from_bytes(raw, policy=policy.default) for raw in messages]
    bounces = sum(1 for p in parsed if p["Auto-Submitted"])
    from_roster = {
        roster[p["From"].addresses[0].addr_spec]
        for p in parsed
        if not p["Auto-Submitted"] and p["From"].addresses[0].addr_spec in roster
    }
    units = {u["code"]: u for u in data["units"]}
    assert len(units) == len(roster_units)
    filed = sum(u["messages"] for u in units.values())
    assert filed + len(data["unassigned"]) + len(data["ignored"]) + len(data["quarantined"]) == 50
    assert len(data["ignored"]) == bounces > 0
    assert not data["quarantined"]
    for code in from_roster:
        assert units[code]["messages"] >= 1 and units[code]["state"] != "missing", code
    assert sum(1 for u in units.values() if u["state"] == "missing") >= len(roster_units) - 50
    complete = [u for u in units.values() if u["state"] == "complete"]
    assert complete and all(u["items"]["report"] and u["items"]["data_table"] for u in complete)
    assert any(
        u["items"]["photos"] >= 2 and (u["totals"]["participants"] or 0) > 0 for u in complete
    )


# -- faults mid-FETCH --------------------------------------------------------------------------
@pytest.mark.parametrize("fault", ["kill", "reset"])
def test_fault_mid_batch_next_poll_finishes(
    tmp_path: Path,
    dovecot: Dovecot,
    proxy: FaultProxy,
    messages: list[bytes],
    clock: FixedClock,
    fault: str,
) -> None:
    """The third batch's FETCH dies: "kill" SIGKILLs the session process as the command goes
    out; "reset" resets the connection half-way through the batch's second message. The two
    batches before are filed and flagged, the third is not; the next poll fetches exactly what
    is missing: nothing lost, nothing doubled."""
    some = messages[:25]
    dovecot.append(some)
    batch = 5
    cfg = _cfg(tmp_path, dovecot, proxy, mailbox={"batch_size": batch})
    killed: list[int] = []
    if fault == "kill":
        proxy.fault_on_command(BODY_FETCH, lambda: killed.append(dovecot.kill_sessions()), nth=3)
    else:
        cut = len(some[2 * batch]) + len(some[2 * batch + 1]) // 2
        proxy.fault_in_reply(BODY_FETCH, cut, "reset", nth=3)
    with App(cfg, clock) as app:
        app.import_roster(ROSTER)
        first = app.poll_once()
        assert proxy.fired() == 1 and killed == ([1] if fault == "kill" else [])
        assert "UID FETCH" in first.error, "the fault must surface as a failed FETCH"
        server_uids = dovecot.uids()
        assert _stored_uids(app) == set(server_uids[: 2 * batch])
        assert dovecot.keywords_count("INBOX", "$IntakeFiled") == 2 * batch
        fetched_before = len(proxy.fetched_uids())

        second = app.poll_once()
        assert second.error == ""
        assert proxy.fetched_uids()[fetched_before:] == server_uids[2 * batch :], "only the rest"
        assert _count(app, LedgerEntry) == len(some)
        assert _count(app, LedgerEntry, LedgerEntry.message_fk.is_(None)) == 0
        assert _count(app, Message) == len(some)
        with app.sessions() as s:
            assert s.scalar(sa.select(sa.func.count(sa.distinct(Message.sha256)))) == len(some)
    assert dovecot.keywords_count("INBOX", "$IntakeFiled") == len(some)
    assert dovecot.folder_count("INBOX") == len(some)  # nothing deleted


# -- a new UIDVALIDITY -------------------------------------------------------------------------
def test_recreated_folder_new_uidvalidity_no_duplicates(
    tmp_path: Path, dovecot: Dovecot, messages: list[bytes], clock: FixedClock
) -> None:
    dovecot.append(messages[:20], folder="Báo cáo")
    cfg = _cfg(tmp_path, dovecot, mailbox={"folder": "Báo cáo"})
    with App(cfg, clock) as app:
        app.import_roster(ROSTER)
        assert app.poll_once().stored == 20
        with app.sessions() as s:
            ids_before = sorted(s.scalars(sa.select(Message.id)))
        before = dovecot.uidvalidity("Báo cáo")
        dovecot.recreate_folder("Báo cáo")
        assert dovecot.uidvalidity("Báo cáo") != before
        r = app.poll_once()
        assert r.uidvalidity_changed and r.error == ""
        assert (r.stored, r.duplicates) == (0, 20)
        with app.sessions() as s:
            assert sorted(s.scalars(sa.select(Message.id))) == ids_before
        assert _count(app, LedgerEntry) == 40  # one row per server location, both epochs
        assert _count(app, LedgerEntry, LedgerEntry.uidvalidity == before) == 20
    assert dovecot.keywords_count("Báo cáo", "$IntakeFiled") == 20


# -- a commit that fails -----------------------------------------------------------------------
def test_failing_commit_leaves_the_message_untouched_on_the_server(
    tmp_path: Path,
    dovecot: Dovecot,
    proxy: FaultProxy,
    journal: Journal,
    messages: list[bytes],
    clock: FixedClock,
    db_url: str,
) -> None:
    dovecot.append(messages[:6])
    cfg = _cfg(tmp_path, dovecot, proxy, db_url, mailbox={"processed_folder": "Processed"})
    victim = _mid(email.message_from_bytes(messages[3])["Message-ID"])
    victim_uid = dovecot.uids()[3]

    def inserts_victim(objs: Any) -> bool:
        return any(isinstance(o, Message) and _mid(o.message_id) == victim for o in objs)

    def flushing(session: Session, _ctx: object, _instances: object) -> None:
        if inserts_victim(session.new):  # inserted by a flush before the commit
            session.info["victim"] = True

    # the commit that would insert the victim fails for that message's own data (a failure of
    # the store itself — disk full, I/O error — stops the whole poll instead: test_store_faults)
    def refuse(session: Session) -> None:
        if session.info.pop("victim", False) or inserts_victim(session.new):
            raise sa.exc.IntegrityError("COMMIT", {}, Exception("CHECK constraint failed: victim"))

    with App(cfg, clock) as app:
        app.import_roster(ROSTER)
        event.listen(app.sessions, "before_flush", flushing)
        event.listen(app.sessions, "before_commit", refuse)
        try:
            r = app.poll_once()
        finally:
            event.remove(app.sessions, "before_commit", refuse)
            event.remove(app.sessions, "before_flush", flushing)
        assert r.failed == 1 and r.stored == 5
        assert _count(app, Message) == 5
        with app.sessions() as s:
            entry = s.scalars(sa.select(LedgerEntry).where(LedgerEntry.uid == victim_uid)).one()
            assert entry.message_fk is None and entry.attempts == 1 and not entry.server_done
            assert "CHECK constraint failed" in entry.error and entry.next_attempt_at is not None
            assert entry.next_attempt_at > clock.now()
        # the five committed were moved; the victim is still in INBOX, unflagged, never named
        assert dovecot.folder_count("Processed") == 5
        assert dovecot.folder_count("INBOX") == 1
        assert dovecot.keywords_count("INBOX", "$IntakeFiled") == 0
        moves = [c for kind, c in journal if kind == "imap" and c.upper().startswith("UID MOVE")]
        assert moves and all(victim_uid not in _uids_in(c) for c in moves)

        # before the backoff ends a poll leaves it alone; after, it is taken
        assert app.poll_once().fetched == 0
        clock.advance(timedelta(minutes=5))
        r = app.poll_once()
        assert (r.fetched, r.stored, r.error) == (1, 1, "")
        assert _count(app, Message) == 6
    assert dovecot.folder_count("INBOX") == 0 and dovecot.folder_count("Processed") == 6


# -- MOVE only after the commit ----------------------------------------------------------------
def test_move_only_after_commit_and_a_lost_move_is_redone(
    tmp_path: Path,
    dovecot: Dovecot,
    proxy: FaultProxy,
    journal: Journal,
    messages: list[bytes],
    clock: FixedClock,
) -> None:
    """Every UID in a MOVE was committed before the MOVE was sent; a connection lost on the
    first MOVE leaves committed mail in INBOX, and the next poll moves it without fetching it
    again. Nothing is ever deleted (no STORE \\Deleted, no EXPUNGE with MOVE available)."""
    folder = "Đã nhận"  # a Vietnamese folder name (modified UTF-7 on the wire)
    dovecot.append(messages[:15])
    server_uids = dovecot.uids()
    cfg = _cfg(tmp_path, dovecot, proxy, mailbox={"processed_folder": folder, "batch_size": 5})
    proxy.fault_on_command(r"^UID MOVE ", "reset")
    with App(cfg, clock) as app:
        app.import_roster(ROSTER)
        _record_commits(app, journal)
        first = app.poll_once()
        assert first.error and proxy.fired() == 1
        assert first.stored == 5 and _stored_uids(app) == set(server_uids[:5])
        assert dovecot.folder_count("INBOX") == 15 and dovecot.folder_count(folder) == 0
        fetched_before = len(proxy.fetched_uids())

        second = app.poll_once()
        assert second.error == "" and second.stored == 10
        assert sorted(proxy.fetched_uids()[fetched_before:]) == server_uids[5:]
        assert _count(app, Message) == 15 and _count(app, LedgerEntry) == 15
    assert dovecot.folder_count("INBOX") == 0 and dovecot.folder_count(folder) == 15

    committed: set[int] = set()
    moved: list[int] = []
    for kind, text in journal:
        if kind == "commit":
            committed.update(int(u) for u in text.split(","))
        elif text.upper().startswith("UID MOVE"):
            uids = _uids_in(text)
            assert uids and set(uids) <= committed, f"MOVE before commit: {text}"
            moved += uids
    assert sorted(set(moved)) == server_uids
    commands = [text.upper() for kind, text in journal if kind == "imap"]
    assert not any(c.startswith(("EXPUNGE", "UID EXPUNGE")) or "\\DELETED" in c for c in commands)


# -- a local import after a poll ---------------------------------------------------------------
def test_import_after_poll_eml_mbox_maildir_adds_nothing(
    tmp_path: Path, dovecot: Dovecot, messages: list[bytes], clock: FixedClock
) -> None:
    some = messages[:12]
    dovecot.append(some)
    cfg = _cfg(tmp_path, dovecot)
    eml = tmp_path / "eml"
    eml.mkdir()
    for i, raw in enumerate(some):
        (eml / f"{i:02d}.eml").write_bytes(raw)
    mbox_path = tmp_path / "All mail Including Spam and Trash.mbox"
    box = mailbox.mbox(str(mbox_path))
    for raw in some:  # Takeout adds its own headers: different bytes, same Message-ID and body
        box.add(b"X-GM-THRID: 1712345678901234567\nX-Gmail-Labels: Inbox,Opened\n" + raw)
    box.close()
    maildir = mailbox.Maildir(str(tmp_path / "Maildir"))
    for raw in some:
        maildir.add(raw)
    with App(cfg, clock) as app:
        app.import_roster(ROSTER)
        assert app.poll_once().stored == 12
        for path in (eml, tmp_path / "Maildir"):
            r = app.import_paths([path])
            assert (r.seen, r.stored, r.duplicates) == (12, 0, 12), path
    result = CliRunner(env={PW_ENV: dovecot.password}).invoke(
        cli, ["--config", cfg.source, "import", str(mbox_path)]
    )
    assert result.exit_code == 0, result.output
    assert "12 message(s) read, 0 new, 12 already in the store" in result.output
    with App(cfg, clock) as app:
        assert _count(app, Message) == 12
        assert _count(app, LedgerEntry) == 12
