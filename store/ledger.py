"""Ledger operations: which UIDs exist, which are still to fetch, the dedupe of messages, the
mailbox heartbeat.

Every function takes an open Session and leaves committing to the caller, so the caller decides
what one transaction holds (one message, in the poller).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.orm import Session

from store.models import FolderState, Heartbeat, LedgerEntry, LedgerState, Message

BACKOFF_BASE = timedelta(minutes=2)
BACKOFF_MAX = timedelta(hours=6)


def backoff(attempts: int) -> timedelta:
    """2 min, 4, 8, … capped at 6 h: the delay before attempt `attempts + 1`."""
    return min(BACKOFF_BASE * (1 << max(attempts - 1, 0)), BACKOFF_MAX)


def folder_state(
    s: Session, account: str, folder: str, uidvalidity: int, now: datetime
) -> FolderState:
    row = s.scalar(
        select(FolderState).where(
            FolderState.account == account,
            FolderState.folder == folder,
            FolderState.uidvalidity == uidvalidity,
        )
    )
    if row is None:
        row = FolderState(
            account=account, folder=folder, uidvalidity=uidvalidity, last_seen_uid=0, updated_at=now
        )
        s.add(row)
        s.flush()
    return row


def record_uids(
    s: Session, account: str, folder: str, uidvalidity: int, uids: list[int], now: datetime
) -> int:
    """Add pending ledger rows for UIDs not seen before; return how many were new."""
    if not uids:
        return 0
    known = set(
        s.scalars(
            select(LedgerEntry.uid).where(
                LedgerEntry.account == account,
                LedgerEntry.folder == folder,
                LedgerEntry.uidvalidity == uidvalidity,
                LedgerEntry.uid >= min(uids),
            )
        )
    )
    new = [u for u in uids if u not in known]
    s.add_all(
        LedgerEntry(
            account=account,
            folder=folder,
            uidvalidity=uidvalidity,
            uid=u,
            state=LedgerState.PENDING,
            first_seen_at=now,
            updated_at=now,
        )
        for u in new
    )
    return len(new)


def to_fetch(
    s: Session, account: str, folder: str, uidvalidity: int, now: datetime
) -> list[LedgerEntry]:
    """Pending entries whose next attempt is due, oldest UID first."""
    return list(
        s.scalars(
            select(LedgerEntry)
            .where(
                LedgerEntry.account == account,
                LedgerEntry.folder == folder,
                LedgerEntry.uidvalidity == uidvalidity,
                LedgerEntry.state == LedgerState.PENDING,
                or_(LedgerEntry.next_attempt_at.is_(None), LedgerEntry.next_attempt_at <= now),
            )
            .order_by(LedgerEntry.uid)
        )
    )


def server_pending(s: Session, account: str, folder: str, uidvalidity: int) -> list[int]:
    """UIDs committed locally whose server action (MOVE/keyword) has not been done yet."""
    return list(
        s.scalars(
            select(LedgerEntry.uid)
            .where(
                LedgerEntry.account == account,
                LedgerEntry.folder == folder,
                LedgerEntry.uidvalidity == uidvalidity,
                LedgerEntry.state == LedgerState.STORED,
                LedgerEntry.server_done.is_(False),
            )
            .order_by(LedgerEntry.uid)
        )
    )


def mark_server_done(
    s: Session, account: str, folder: str, uidvalidity: int, uids: Iterable[int], now: datetime
) -> None:
    uid_list = list(uids)
    for chunk_start in range(0, len(uid_list), 500):
        chunk = uid_list[chunk_start : chunk_start + 500]
        s.execute(
            update(LedgerEntry)
            .where(
                LedgerEntry.account == account,
                LedgerEntry.folder == folder,
                LedgerEntry.uidvalidity == uidvalidity,
                LedgerEntry.uid.in_(chunk),
            )
            .values(server_done=True, updated_at=now)
        )


def find_message(s: Session, sha256: str, message_id: str, body_sha256: str) -> Message | None:
    """The same message seen before: identical bytes, or same Message-ID and same body."""
    cond = Message.sha256 == sha256
    if message_id:
        cond = or_(cond, and_(Message.message_id == message_id, Message.body_sha256 == body_sha256))
    return s.scalars(select(Message).where(cond).order_by(Message.id).limit(1)).first()


def match_message(
    rows: Iterable[Message], sha256: str, message_id: str, body_sha256: str
) -> Message | None:
    """The first of `rows` (in id order) that find_message would have returned."""
    for m in rows:
        if m.sha256 == sha256 or (
            message_id and m.message_id == message_id and m.body_sha256 == body_sha256
        ):
            return m
    return None


def find_messages(s: Session, keys: Sequence[tuple[str, str, str]]) -> list[Message | None]:
    """find_message for several (sha256, message_id, body_sha256) keys with one query."""
    if not keys:
        return []
    cond: ColumnElement[bool] = Message.sha256.in_({k[0] for k in keys})
    mids = {k[1] for k in keys if k[1]}
    if mids:
        cond = or_(cond, Message.message_id.in_(mids))
    rows = list(s.scalars(select(Message).where(cond).order_by(Message.id)))
    return [match_message(rows, sha, mid, body) for sha, mid, body in keys]


def fail_entry(entry: LedgerEntry, error: str, now: datetime, max_attempts: int) -> None:
    """Count a failed fetch/store; quarantine after `max_attempts`, else back off."""
    entry.attempts += 1
    entry.error = error[:2000]
    entry.updated_at = now
    if entry.attempts >= max_attempts:
        entry.state = LedgerState.QUARANTINED
        entry.next_attempt_at = None
    else:
        entry.next_attempt_at = now + backoff(entry.attempts)


def entries(
    s: Session, account: str, folder: str, uidvalidity: int, uids: Sequence[int]
) -> dict[int, LedgerEntry]:
    """The ledger rows of `uids` in one folder epoch, by UID."""
    rows = s.scalars(
        select(LedgerEntry).where(
            LedgerEntry.account == account,
            LedgerEntry.folder == folder,
            LedgerEntry.uidvalidity == uidvalidity,
            LedgerEntry.uid.in_(list(uids)),
        )
    )
    return {e.uid: e for e in rows}


def other_epoch_seen(s: Session, account: str, folder: str, uidvalidity: int) -> bool:
    """Whether the ledger holds UIDs of this folder under another UIDVALIDITY."""
    found = s.scalar(
        select(LedgerEntry.id)
        .where(
            LedgerEntry.account == account,
            LedgerEntry.folder == folder,
            LedgerEntry.uidvalidity != uidvalidity,
        )
        .limit(1)
    )
    return found is not None


def beat(s: Session, account: str, now: datetime, error: str = "") -> None:
    """Record a poll of `account` in its heartbeat: the attempt, and either the success or the
    error with the time the failures began."""
    hb = s.get(Heartbeat, account)
    if hb is None:
        hb = Heartbeat(account=account, last_error="")
        s.add(hb)
    hb.last_attempt_at = now
    if error:
        hb.last_error = error[:2000]
        if hb.failing_since is None:
            hb.failing_since = now
    else:
        hb.last_success_at = now
        hb.failing_since = None
        hb.last_error = ""
