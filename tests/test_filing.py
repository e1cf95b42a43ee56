"""intake/filing.py: a stored raw message becomes a filed, waiting, ignored or quarantined one,
on a real store (SQLite and PostgreSQL). The paths from the mailbox run in test_intake_imap.py;
here the Filer is driven directly over messages put in the store as the poller puts them."""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage
from email.utils import formataddr
from pathlib import Path

import sqlalchemy as sa

from core.clock import FixedClock
from intake.app import App
from intake.poll import store_raw
from store import facts, ledger
from store.models import Attachment, Message, MessageState, Submission, Unit
from tests.support.campaignmail import base_mail, campaigns_app, stats_xlsx, write_mails
from tests.support.config import ROSTER
from tests.support.mailgen import campaign_mailbox


def _put(app: App, raw: bytes) -> tuple[int, str]:
    now = app.clock.now()
    with app.sessions.begin() as s:
        msg, created = store_raw(s, app.files, raw, source="import", received_at=now, now=now)
        assert created
        return msg.id, msg.sha256


def _stranger(n: int) -> bytes:
    m = EmailMessage()
    m["From"] = formataddr(("Nguyễn Văn Hùng", f"hung.nv{n}@gmail.com"))
    m["To"] = "totrunghoc-thanhoai@thanhoai.example"
    m["Subject"] = "Gửi báo cáo"
    m["Message-ID"] = f"<stranger-{n}@mail.gmail.com>"
    m["Date"] = "Tue, 05 Oct 2021 08:00:00 +0700"
    m.set_content("Em gửi báo cáo ạ.\n")
    return m.as_bytes()


def _message(app: App, pk: int) -> Message:
    with app.sessions() as s:
        msg = s.get(Message, pk)
        assert msg is not None
        s.expunge(msg)
        return msg


def test_a_units_mail_is_filed_under_it_with_its_files_and_its_submission_counts(
    app: App,
) -> None:
    raw = next(r for r in campaign_mailbox(ROSTER, 5, seed=41) if b"Auto-Submitted" not in r)
    pk, _sha = _put(app, raw)
    assert app.filer.process_pending() == 1
    msg = _message(app, pk)
    assert msg.state == MessageState.FILED and msg.unit_id is not None
    assert msg.processed_at == app.clock.now() and msg.attempts == 0
    assert msg.campaign_id == app.cfg.campaign.id and msg.campaign_by == "auto"
    with app.sessions() as s:
        unit = s.get(Unit, msg.unit_id)
        assert unit is not None
        assert unit.addresses and msg.from_addr in {a.address for a in unit.addresses}
        files = list(s.scalars(sa.select(Attachment).where(Attachment.message_fk == pk)))
        assert files and {a.kind for a in files} >= {"image"}
        sub = s.scalars(
            sa.select(Submission).where(
                Submission.unit_id == msg.unit_id,
                Submission.campaign_id == app.cfg.campaign.id,
            )
        ).one()
        assert sub.messages == 1 and sub.last_message_at == app.clock.now()


def test_a_strangers_mail_waits_for_the_officer_and_counts_for_no_unit(app: App) -> None:
    pk, _ = _put(app, _stranger(1))
    assert app.filer.process_pending() == 1
    msg = _message(app, pk)
    assert msg.state == MessageState.UNASSIGNED and msg.unit_id is None
    with app.sessions() as s:
        assert s.scalar(sa.select(sa.func.sum(Submission.messages))) in (None, 0)


def test_a_bounce_is_ignored_and_counts_for_no_unit(app: App) -> None:
    bounce = campaign_mailbox(ROSTER, 20, seed=3)[19]  # every twentieth is a bounce
    pk, _ = _put(app, bounce)
    assert app.filer.process_pending() == 1
    assert _message(app, pk).state == MessageState.IGNORED
    with app.sessions() as s:
        assert s.scalar(sa.select(sa.func.sum(Submission.messages))) in (None, 0)


def test_a_failing_message_is_retried_with_backoff_then_quarantined_with_its_reason(
    app: App, clock: FixedClock
) -> None:
    pk, sha = _put(app, campaign_mailbox(ROSTER, 1, seed=42)[0])
    app.files.path(sha).unlink()  # its raw file cannot be read (a store being restored)
    limit = app.cfg.mailbox.max_attempts
    for attempt in range(1, limit):
        assert app.filer.process_pending() == 1
        msg = _message(app, pk)
        assert msg.state == MessageState.RECEIVED and msg.attempts == attempt
        assert msg.next_attempt_at == clock.now() + ledger.backoff(attempt)
        assert "FileNotFoundError" in msg.reason
        assert app.filer.process_pending() == 0  # not due before its backoff
        clock.advance(ledger.backoff(attempt) + timedelta(seconds=1))
    assert app.filer.process_pending() == 1
    msg = _message(app, pk)
    assert msg.state == MessageState.QUARANTINED and msg.attempts == limit
    assert msg.next_attempt_at is None and "FileNotFoundError" in msg.reason
    clock.advance(timedelta(days=1))
    assert app.filer.process_pending() == 0  # quarantined for good: the officer retries it


def test_a_message_another_daemon_filed_meanwhile_is_not_filed_twice(app: App) -> None:
    raw = next(r for r in campaign_mailbox(ROSTER, 5, seed=43) if b"Auto-Submitted" not in r)
    pk, sha = _put(app, raw)
    staged = app.filer.stage.run(sha)  # parsed here while the other daemon files it
    assert app.filer.process_pending() == 1
    with app.sessions() as s:
        before = s.scalar(sa.select(sa.func.count()).where(Attachment.message_fk == pk))
    app.filer.apply_chunk([(pk, staged)])
    with app.sessions() as s:
        after = s.scalar(sa.select(sa.func.count()).where(Attachment.message_fk == pk))
        sub = s.scalars(sa.select(Submission).where(Submission.messages > 0)).one()
    assert before and after == before
    assert sub.messages == 1
    assert _message(app, pk).state == MessageState.FILED


def test_a_stop_request_ends_the_run_and_leaves_the_rest_due(app: App) -> None:
    mails = [r for r in campaign_mailbox(ROSTER, 6, seed=44) if b"Auto-Submitted" not in r]
    for raw in mails:
        _put(app, raw)
    app.filer.stop_requested = True
    done = app.filer.process_pending()
    assert done < len(mails)
    app.filer.stop_requested = False
    assert app.filer.process_pending() == len(mails) - done
    with app.sessions() as s:
        left = s.scalar(sa.select(sa.func.count()).where(Message.state == MessageState.RECEIVED))
    assert left == 0


def test_mail_whose_unit_and_campaign_are_both_unclear_keeps_the_units_reason(
    tmp_path: Path, db_url: str
) -> None:
    """A stranger's email naming the week with the start-of-year statistics attached: the
    officer must name the unit first, so its reason is the unit's; the campaign's reason and
    candidates are kept beside it for the move that follows."""
    m = base_mail(
        None,
        "Báo cáo Tuần lễ HTSĐ",
        "Em gửi báo cáo tuần lễ học tập suốt đời ạ.",
        7,
        sender="thuy.nguyen.gv@gmail.com",
    )
    m.add_attachment(
        stats_xlsx("Trường THCS Hồng Dương", [("Khối 6", 5, 198, 11), ("Khối 7", 4, 171, 10)]),
        maintype="application",
        subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        filename="Thong ke dau nam 2021-2022.xlsx",
    )
    with campaigns_app(tmp_path / "app", db_url) as app:
        app.import_paths([write_mails(tmp_path, "mail", [m.as_bytes()])])
        with app.sessions() as s:
            msg = s.scalars(sa.select(Message)).one()
            state, unit, reason = msg.state, msg.unit_id, msg.reason
            campaign_reason = msg.campaign_reason
            candidates = facts.campaign_candidates(msg.campaign_candidates)
    assert state == MessageState.UNASSIGNED and unit is None
    assert reason.startswith("no unit is named clearly"), reason
    assert "tuan-le-htsd-2021" in campaign_reason and "thong-ke-dau-nam-2021" in campaign_reason
    assert set(candidates) == {"tuan-le-htsd-2021", "thong-ke-dau-nam-2021"}
