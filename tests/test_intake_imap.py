"""The intake spine against a real Dovecot: poll, re-poll, a killed session mid-batch, a
recreated folder (new UIDVALIDITY), a failing commit, and a local import after a poll."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from intake.app import App
from intake.cli import cli
from intake.clock import FixedClock
from intake.config import Config
from store.models import Attachment, LedgerEntry, Message
from tests.conftest import ROSTER, make_config
from tests.mailgen import campaign_mailbox

pytestmark = pytest.mark.dovecot


def _cfg(tmp_path: Path, dovecot, **extra: dict[str, object]) -> Config:  # type: ignore[no-untyped-def]
    sections: dict[str, dict[str, object]] = {
        "mailbox": {"host": "127.0.0.1", "port": dovecot.port, "security": "none",
                    "username": dovecot.user, "password_env": "INTAKE_TEST_IMAP_PW",
                    "batch_size": 10, "timeout": 10.0},
        "limits": {"parse_workers": 0},
    }
    for name, values in extra.items():
        sections.setdefault(name, {}).update(values)
    return make_config(tmp_path, **sections)


@pytest.fixture
def imap_env(monkeypatch: pytest.MonkeyPatch, dovecot) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("INTAKE_TEST_IMAP_PW", dovecot.password)


@pytest.fixture
def messages() -> list[bytes]:
    return campaign_mailbox(ROSTER, n=50, seed=7)


def _count(app: App, model: type) -> int:
    with app.sessions() as s:
        return s.scalar(sa.select(sa.func.count()).select_from(model)) or 0


def test_poll_files_50_and_repoll_fetches_no_body(
    tmp_path: Path, dovecot, imap_env: None, messages: list[bytes], clock: FixedClock  # type: ignore[no-untyped-def]
) -> None:
    dovecot.append(messages)
    cfg = _cfg(tmp_path, dovecot)
    with App(cfg, clock) as app:
        app.import_roster(ROSTER)
        r = app.poll_once()
        assert r.error == "" and r.new_uids == 50 and r.stored + r.duplicates == 50
        assert _count(app, LedgerEntry) == 50 and _count(app, Message) == r.stored
        with app.sessions() as s:
            for m in s.scalars(sa.select(Message)):
                assert app.files.exists(m.sha256)
                assert m.state in ("filed", "unassigned", "ignored")
            atts = list(s.scalars(sa.select(Attachment)))
        assert atts and all(app.files.exists(a.sha256) for a in atts)
        assert all(a.filename and "/" not in a.filename for a in atts)
        assert dovecot.keywords_count("INBOX", "$IntakeFiled") == 50
        before = dovecot.body_fetches()
        r = app.poll_once()
        assert (r.new_uids, r.stored, r.fetched) == (0, 0, 0)
        assert dovecot.body_fetches() == before
    result = CliRunner(env={"INTAKE_TEST_IMAP_PW": dovecot.password}).invoke(
        cli, ["--config", cfg.source, "status", "--json"]
    )
    data = json.loads(result.output)
    units = {u["code"]: u for u in data["units"]}
    filed = sum(u["messages"] for u in units.values())
    assert filed + len(data["unassigned"]) + len(data["ignored"]) + len(data["quarantined"]) == 50
    assert len(data["ignored"]) == 2  # the two bounces (every 20th message)
    assert not data["quarantined"]
    assert filed >= 40, "most unit emails name their unit clearly"
    sent = [u for u in units.values() if u["messages"]]
    assert all(u["state"] in ("complete", "incomplete") for u in sent)
    assert any(u["state"] == "complete" and u["items"]["photos"] >= 2 and u["totals"]["participants"]
               for u in sent)


def _server_messages(dovecot, folder: str = "INBOX") -> int:  # type: ignore[no-untyped-def]
    return int(dovecot.folder_count(folder))


def test_killed_session_mid_batch_next_poll_finishes(
    tmp_path: Path, dovecot, imap_env: None, messages: list[bytes], clock: FixedClock  # type: ignore[no-untyped-def]
) -> None:
    from intake.imap import ImapMailbox

    dovecot.append(messages)
    cfg = _cfg(tmp_path, dovecot, mailbox={"batch_size": 5})
    fetched_batches = 0
    original = ImapMailbox.fetch

    def fetch_then_kill(self: ImapMailbox, uids):  # type: ignore[no-untyped-def]
        nonlocal fetched_batches
        fetched_batches += 1
        if fetched_batches == 3:  # the server process of this session dies mid-batch
            dovecot.kill_sessions()
        yield from original(self, uids)

    with App(cfg, clock) as app:
        app.import_roster(ROSTER)
        ImapMailbox.fetch = fetch_then_kill  # type: ignore[method-assign]
        try:
            first = app.poll_once()
        finally:
            ImapMailbox.fetch = original  # type: ignore[method-assign]
        assert first.error, "the killed session must surface as a poll error"
        assert 0 < _count(app, Message) < 50
        second = app.poll_once()
        assert second.error == ""
        assert _count(app, LedgerEntry) == 50
        assert _count(app, Message) == 50
        with app.sessions() as s:
            assert s.scalar(sa.select(sa.func.count()).select_from(LedgerEntry)
                            .where(LedgerEntry.message_fk.is_(None))) == 0
            assert s.scalar(sa.select(sa.func.count(sa.distinct(Message.sha256)))) == 50
    assert dovecot.keywords_count("INBOX", "$IntakeFiled") == 50


def test_recreated_folder_new_uidvalidity_no_duplicates(
    tmp_path: Path, dovecot, imap_env: None, messages: list[bytes], clock: FixedClock  # type: ignore[no-untyped-def]
) -> None:
    dovecot.append(messages[:20], folder="Reports")
    cfg = _cfg(tmp_path, dovecot, mailbox={"folder": "Reports"})
    with App(cfg, clock) as app:
        app.import_roster(ROSTER)
        assert app.poll_once().stored == 20
        before = dovecot.uidvalidity("Reports")
        dovecot.recreate_folder("Reports")
        assert dovecot.uidvalidity("Reports") != before
        r = app.poll_once()
        assert r.uidvalidity_changed and r.error == ""
        assert (r.stored, r.duplicates) == (0, 20)
        assert _count(app, Message) == 20
        assert _count(app, LedgerEntry) == 40  # one row per server location, both epochs
    assert dovecot.keywords_count("Reports", "$IntakeFiled") == 20


def test_failing_commit_leaves_the_message_untouched_on_the_server(
    tmp_path: Path, dovecot, imap_env: None, messages: list[bytes], clock: FixedClock  # type: ignore[no-untyped-def]
) -> None:
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    dovecot.append(messages[:6])
    cfg = _cfg(tmp_path, dovecot, mailbox={"processed_folder": "Processed"})
    import email

    victim = str(email.message_from_bytes(messages[3])["Message-ID"])

    def refuse(session: Session) -> None:
        for obj in list(session.identity_map.values()):  # flushed already: look at the map
            if isinstance(obj, Message) and obj.message_id.strip("<>") == victim.strip("<>"):
                raise sa.exc.OperationalError("COMMIT", {}, Exception("disk I/O error"))

    with App(cfg, clock) as app:
        app.import_roster(ROSTER)
        event.listen(Session, "before_commit", refuse)
        try:
            r = app.poll_once()
        finally:
            event.remove(Session, "before_commit", refuse)
        assert r.error or r.failed >= 1
        assert _count(app, Message) == 5
        # the five committed moved; the victim is still in INBOX, unflagged
        assert dovecot.folder_count("Processed") == 5
        assert dovecot.folder_count("INBOX") == 1
        assert dovecot.keywords_count("INBOX", "$IntakeFiled") == 0
        # and is taken on a later poll, after the backoff
        clock.advance(timedelta(minutes=5))
        r = app.poll_once()
        assert _count(app, Message) == 6
    assert dovecot.folder_count("INBOX") == 0 and dovecot.folder_count("Processed") == 6


def test_import_after_poll_eml_mbox_maildir_adds_nothing(
    tmp_path: Path, dovecot, imap_env: None, messages: list[bytes], clock: FixedClock  # type: ignore[no-untyped-def]
) -> None:
    import mailbox

    some = messages[:12]
    dovecot.append(some)
    cfg = _cfg(tmp_path, dovecot)
    eml = tmp_path / "eml"
    eml.mkdir()
    for i, raw in enumerate(some):
        (eml / f"{i:02d}.eml").write_bytes(raw)
    mbox_path = tmp_path / "All mail.mbox"
    box = mailbox.mbox(str(mbox_path))
    for raw in some:  # Takeout adds its own header: different bytes, same Message-ID and body
        box.add(b"X-Gmail-Labels: Inbox,Opened\r\n" + raw)
    box.close()
    maildir = mailbox.Maildir(str(tmp_path / "Maildir"))
    for raw in some:
        maildir.add(raw)
    with App(cfg, clock) as app:
        app.import_roster(ROSTER)
        assert app.poll_once().stored == 12
        for path in (eml, mbox_path, tmp_path / "Maildir"):
            r = app.import_paths([path])
            assert (r.seen, r.stored, r.duplicates) == (12, 0, 12), path
        assert _count(app, Message) == 12
