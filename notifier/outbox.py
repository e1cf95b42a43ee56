"""The transactional outbox: every email to send is a row created in the same transaction as
the decision to send it, unique on (campaign, kind, unit, slot), and delivered afterwards.

Delivery marks a row `sending` (committed) before talking SMTP and `sent` after; SMTP failures
put it back to `pending` with backoff, and after the last try mark it `failed` with the reason.
A crash before the send leaves `pending` (sent once after restart); a crash between the end of
our DATA and our commit of `sent` — up to the SMTP timeout, while the server is slow to say
"250 OK" — leaves `sending`, and a timeout there puts the row back to `pending`: either way it
is retried with the same Message-ID, so mail clients fold the copy if the server had in fact
accepted the first — documented, not hidden. Waits are wall-clock times in the row; one set
further ahead than `LONGEST_WAIT` can only come from a clock stepped back, and is due at once.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from core.clock import Clock
from core.errors import CredentialsError, TransientError
from notifier.smtp import Mailer, PermanentSendError
from store.files import FileStore
from store.models import AuditEntry, OutboxMail, OutboxState

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BACKOFF_BASE = timedelta(minutes=1)
STALE_SENDING = timedelta(minutes=10)
# the longest wait deliver_due ever sets; a row due later than this from now was set before the
# wall clock stepped back, and is due at once instead of days later
LONGEST_WAIT = timedelta(hours=2)


def backoff(attempts: int) -> timedelta:
    return min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), LONGEST_WAIT)


def exists(s: Session, campaign_id: str, kind: str, unit_code: str, slot: str) -> bool:
    return (
        s.scalar(
            select(OutboxMail.id).where(
                OutboxMail.campaign_id == campaign_id,
                OutboxMail.kind == kind,
                OutboxMail.unit_code == unit_code,
                OutboxMail.slot == slot,
            )
        )
        is not None
    )


def sent_keys(s: Session, campaign_id: str, kinds: tuple[str, ...]) -> set[tuple[str, str]]:
    """(unit_code, slot) pairs already queued for these kinds (whatever their state)."""
    rows = s.execute(
        select(OutboxMail.unit_code, OutboxMail.slot).where(
            OutboxMail.campaign_id == campaign_id, OutboxMail.kind.in_(kinds)
        )
    )
    return {(r[0], r[1]) for r in rows}


def last_sent(s: Session, campaign_id: str, kinds: tuple[str, ...]) -> dict[str, datetime]:
    """Per unit code, when this campaign's latest mail of these kinds reached the unit (sent),
    or was queued for it (not sent yet: it is on its way)."""
    out: dict[str, datetime] = {}
    for unit, sent_at, created_at in s.execute(
        select(OutboxMail.unit_code, OutboxMail.sent_at, OutboxMail.created_at).where(
            OutboxMail.campaign_id == campaign_id,
            OutboxMail.kind.in_(kinds),
            OutboxMail.state != OutboxState.FAILED,
        )
    ):
        at = sent_at or created_at
        if at is None:
            continue
        if at.tzinfo is None:  # SQLite gives naive UTC back
            at = at.replace(tzinfo=UTC)
        if unit not in out or at > out[unit]:
            out[unit] = at
    return out


def enqueue(
    s: Session,
    files: FileStore,
    msg: EmailMessage,
    *,
    campaign_id: str,
    kind: str,
    unit_code: str,
    slot: str,
    now: datetime,
) -> OutboxMail | None:
    """Queue `msg` unless the same (campaign, kind, unit, slot) is queued already. The caller
    commits together with whatever decided this."""
    if exists(s, campaign_id, kind, unit_code, slot):
        return None
    blob = msg.as_bytes(policy=email.policy.SMTP)
    row = OutboxMail(
        campaign_id=campaign_id,
        kind=kind,
        unit_code=unit_code,
        slot=slot[:128],
        recipients=", ".join(str(a) for a in msg.get_all("To", [])),
        subject=str(msg.get("Subject", "")),
        message_id=str(msg.get("Message-ID", "")),
        blob_sha256=files.put(blob),
        state=OutboxState.PENDING,
        attempts=0,
        created_at=now,
        last_error="",
    )
    s.add(row)
    s.flush()
    return row


def requeue(
    s: Session, now: datetime, *, failed: bool, by: str, ids: Collection[int] | None = None
) -> tuple[list[int], list[int]]:
    """Make queued mail due again (`intake outbox retry`): rows waiting out a backoff are due
    now, and with `failed` the rows given up on (a 550, or the last try) go back to `pending`
    with their attempts reset; `ids` limits both to those rows (the console's per-row "Gửi lại").
    Only `pending` and `failed` rows are touched: a `sent` row is never sent again, and a
    `sending` one (the server may have it) is left to the stale guard.

    Each change is one conditional UPDATE ... RETURNING, the first statement of its kind in the
    transaction: of two callers at once (two officers, or the console and the CLI) the second
    waits for the first's lock and then matches no row, so a row is requeued and audited once.
    Returns (ids made due now, failed ids requeued); the requeue is audited."""
    only = [] if ids is None else [OutboxMail.id.in_(list(ids))]
    waiting = sorted(
        s.scalars(
            update(OutboxMail)
            .where(OutboxMail.state == OutboxState.PENDING, OutboxMail.next_attempt_at > now, *only)
            .values(next_attempt_at=None)
            .returning(OutboxMail.id)
            .execution_options(synchronize_session=False)
        )
    )
    again: list[int] = []
    if failed:
        again = sorted(
            s.scalars(
                update(OutboxMail)
                .where(OutboxMail.state == OutboxState.FAILED, *only)
                .values(state=OutboxState.PENDING, attempts=0, next_attempt_at=None)
                .returning(OutboxMail.id)
                .execution_options(synchronize_session=False)
            )
        )
    if waiting or again:
        s.add(
            AuditEntry(
                at=now,
                actor=by,
                action="outbox-retry",
                detail=json.dumps({"due_now": waiting, "requeued_failed": again}),
            )
        )
    return waiting, again


@dataclass
class Delivery:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    error: str = ""


def deliver_due(
    sessions: sessionmaker[Session],
    files: FileStore,
    mailer: Mailer,
    clock: Clock,
    *,
    max_attempts: int = MAX_ATTEMPTS,
) -> Delivery:
    out = Delivery()
    now = clock.now()

    def is_due(at: datetime) -> ColumnElement[bool]:
        come = or_(OutboxMail.next_attempt_at <= at, OutboxMail.next_attempt_at > at + LONGEST_WAIT)
        return or_(
            (OutboxMail.state == OutboxState.PENDING)
            & or_(OutboxMail.next_attempt_at.is_(None), come),
            (OutboxMail.state == OutboxState.SENDING) & come,
        )

    with sessions() as s:
        ids = list(s.scalars(select(OutboxMail.id).where(is_due(now)).order_by(OutboxMail.id)))
    parser = email.parser.BytesParser(policy=email.policy.default)
    for pk in ids:
        with sessions.begin() as s:
            # claimed with a conditional UPDATE: of two deliverers (the daemon, and `intake
            # remind` or `intake outbox retry`), only one sends a row
            at = clock.now()
            claim = s.execute(
                update(OutboxMail)
                .where(OutboxMail.id == pk, is_due(at))
                .values(
                    state=OutboxState.SENDING,
                    attempts=OutboxMail.attempts + 1,
                    next_attempt_at=at + STALE_SENDING,
                )
                .execution_options(synchronize_session=False)
            )
            if getattr(claim, "rowcount", 0) != 1:
                continue
            blob_sha = s.scalar(select(OutboxMail.blob_sha256).where(OutboxMail.id == pk))
            assert blob_sha is not None
        try:
            raw = files.get(blob_sha)
        except OSError as e:  # this row's file is gone or unreadable: it alone fails
            _unreadable(sessions, pk, blob_sha, e, clock, max_attempts, out)
            continue
        msg = parser.parsebytes(raw)
        try:
            mailer.send(msg)
        except (TransientError, CredentialsError, PermanentSendError) as e:
            with sessions.begin() as s:
                row = s.get(OutboxMail, pk)
                assert row is not None
                row.last_error = str(e)[:2000]
                if isinstance(e, PermanentSendError) or row.attempts >= max_attempts:
                    row.state = OutboxState.FAILED
                    row.next_attempt_at = None
                    out.failed += 1
                    log.error("outbox %d (%s) failed for good: %s", pk, row.kind, e)
                else:
                    row.state = OutboxState.PENDING
                    row.next_attempt_at = clock.now() + backoff(row.attempts)
                    out.retried += 1
                    log.warning("outbox %d (%s) will be retried: %s", pk, row.kind, e)
            if isinstance(e, TransientError | CredentialsError):
                out.error = str(e)
                break  # the server is down or refuses us: the rest would fail the same way
            continue
        with sessions.begin() as s:
            row = s.get(OutboxMail, pk)
            assert row is not None
            row.state = OutboxState.SENT
            row.sent_at = clock.now()
            row.next_attempt_at = None
            row.last_error = ""
            log.info(
                "sent %s for %s to %s (outbox %d)",
                row.kind,
                row.unit_code or "the officer",
                row.recipients,
                pk,
            )
        out.sent += 1
    return out


def _unreadable(
    sessions: sessionmaker[Session],
    pk: int,
    blob_sha: str,
    e: OSError,
    clock: Clock,
    max_attempts: int,
    out: Delivery,
) -> None:
    """The built message of row `pk` cannot be read from the file store. A missing file will
    not come back: the row fails at once, with the reason. Another read error (EIO) is retried
    with backoff like a send. Either way the other rows go on."""
    with sessions.begin() as s:
        row = s.get(OutboxMail, pk)
        assert row is not None
        missing = isinstance(e, FileNotFoundError)
        if missing:
            row.last_error = (
                f"the built message is missing from the file store "
                f"(blob {blob_sha[:12]}): it cannot be sent"
            )
        else:
            row.last_error = f"the built message cannot be read from the file store: {e}"[:2000]
        if missing or row.attempts >= max_attempts:
            row.state = OutboxState.FAILED
            row.next_attempt_at = None
            out.failed += 1
            log.error("outbox %d (%s) failed for good: %s", pk, row.kind, row.last_error)
        else:
            row.state = OutboxState.PENDING
            row.next_attempt_at = clock.now() + backoff(row.attempts)
            out.retried += 1
            log.warning("outbox %d (%s) will be retried: %s", pk, row.kind, row.last_error)
