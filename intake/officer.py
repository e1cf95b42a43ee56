"""The officer's hand: assign a message to a unit (teaching its sender address), unassign it,
extend a unit's deadline, requeue quarantined mail once its cause is fixed. Every change is
audited; both units' submissions are recomputed."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.campaignconfig import OTHER
from core.config import CampaignConfig
from core.errors import IntakeError
from intake.filing import learn_address, requirements
from store.models import (
    AuditEntry,
    LedgerEntry,
    LedgerState,
    Message,
    MessageState,
    Unit,
    UnitAddress,
)
from store.submissions import recompute


class NotFound(IntakeError):
    """No such message or unit."""


def _unit(s: Session, code: str) -> Unit:
    unit = s.scalar(select(Unit).where(Unit.code == code.strip().lower()))
    if unit is None:
        raise NotFound(f"no unit with code {code!r} (see: intake units list)")
    return unit


def _message(s: Session, message: str) -> Message:
    msg = None
    if message.isdigit():
        msg = s.get(Message, int(message))
    if msg is None:
        msg = s.scalar(select(Message).where(Message.message_id == message).order_by(Message.id))
    if msg is None:
        raise NotFound(
            f"no message {message!r} (give the number from intake status, or a Message-ID)"
        )
    return msg


def audit(s: Session, actor: str, action: str, now: datetime, **detail: object) -> None:
    s.add(
        AuditEntry(
            at=now, actor=actor, action=action, detail=json.dumps(detail, ensure_ascii=False)
        )
    )


def assign(
    s: Session,
    campaign: CampaignConfig,
    message: str,
    code: str,
    *,
    by: str,
    now: datetime,
    learn: bool = True,
    campaigns: Sequence[CampaignConfig] = (),
) -> tuple[Message, bool]:
    """File `message` under unit `code`; returns (message, whether the address was learned).
    It is filed in its campaign; other mail stays other mail (now under that unit); a message
    whose campaign is unclear among several `campaigns` waits for `intake move`."""
    msg, unit = _message(s, message), _unit(s, code)
    old = msg.unit_id
    every = tuple(campaigns) or (campaign,)
    msg.unit_id, msg.state, msg.assigned_by = unit.id, "filed", by
    msg.reason = f"assigned by {by}"
    if msg.campaign_id == OTHER:
        msg.state = MessageState.OTHER
    elif not msg.campaign_id and len(every) > 1:
        msg.state = MessageState.UNASSIGNED
        msg.reason = f"assigned to {unit.code} by {by}; campaign unclear (intake move)"
    else:
        msg.campaign_id = msg.campaign_id or campaign.id
    learned = learn and learn_address(s, unit, msg.from_addr, by, now)
    audit(
        s,
        by,
        "assign",
        now,
        message=msg.id,
        unit=unit.code,
        previous=old,
        learned=learned,
        address=msg.from_addr,
    )
    s.flush()
    for c in every:
        req = requirements(c)
        for uid in {old, unit.id} - {None}:
            assert uid is not None
            if c.submits(*_code_kind(s, uid)):
                recompute(s, c.id, uid, req, now)
    return msg, learned


def _code_kind(s: Session, unit_id: int) -> tuple[str, str]:
    u = s.get(Unit, unit_id)
    return (u.code, u.kind) if u is not None else ("", "")


def unassign(
    s: Session,
    campaign: CampaignConfig,
    message: str,
    *,
    by: str,
    now: datetime,
    campaigns: Sequence[CampaignConfig] = (),
) -> Message:
    msg = _message(s, message)
    old = msg.unit_id
    msg.unit_id, msg.state, msg.assigned_by = None, "unassigned", by
    msg.reason = f"unassigned by {by}"
    audit(s, by, "unassign", now, message=msg.id, previous=old)
    s.flush()
    if old is not None:
        for c in tuple(campaigns) or (campaign,):
            if c.submits(*_code_kind(s, old)):
                recompute(s, c.id, old, requirements(c), now)
    return msg


def extend(s: Session, code: str, until: datetime, *, by: str, now: datetime) -> Unit:
    if until.tzinfo is None:
        raise IntakeError("the new deadline needs a time zone (ISO 8601 with offset)")
    unit = _unit(s, code)
    audit(
        s,
        by,
        "extend",
        now,
        unit=unit.code,
        until=until.isoformat(),
        previous=unit.extended_until.isoformat() if unit.extended_until else None,
    )
    unit.extended_until = until
    return unit


def learned_addresses(s: Session) -> list[tuple[str, str, str, datetime | None]]:
    rows = s.execute(
        select(Unit.code, UnitAddress.address, UnitAddress.learned_by, UnitAddress.learned_at)
        .join(UnitAddress, UnitAddress.unit_id == Unit.id)
        .where(UnitAddress.source == "learned")
        .order_by(Unit.code, UnitAddress.address)
    )
    return [(r[0], r[1], r[2], r[3]) for r in rows]


@dataclass
class Requeued:
    messages: list[int] = field(default_factory=list)  # stored messages, to be filed again
    entries: list[int] = field(default_factory=list)  # mailbox UIDs never fetched, fetched again


def requeue(s: Session, message: str | None, *, by: str, now: datetime) -> Requeued:
    """Put quarantined mail back in the queue with its attempts reset: one message (`message`,
    as `intake status` numbers it: `42`, or `#-7` for a mailbox entry that was never fetched),
    or every quarantined message and entry (`message` None). A stored message is filed again
    (state `received`); an entry is fetched again at the next poll (state `pending`). Audited."""
    out = Requeued()
    if message is None:
        msgs = list(
            s.scalars(
                select(Message)
                .where(Message.state == MessageState.QUARANTINED)
                .order_by(Message.id)
            )
        )
        entries = list(
            s.scalars(
                select(LedgerEntry)
                .where(LedgerEntry.state == LedgerState.QUARANTINED)
                .order_by(LedgerEntry.id)
            )
        )
    else:
        ref = message.strip().lstrip("#")
        if ref.startswith("-") and ref[1:].isdigit():
            entry = s.get(LedgerEntry, int(ref[1:]))
            if entry is None:
                raise NotFound(f"no mailbox entry #{ref} (see: intake status)")
            if entry.state != LedgerState.QUARANTINED:
                raise IntakeError(f"mailbox entry #{ref} is {entry.state}, not quarantined")
            msgs, entries = [], [entry]
        else:
            msg = _message(s, ref)
            if msg.state != MessageState.QUARANTINED:
                raise IntakeError(
                    f"message {message} is {msg.state}, not quarantined "
                    "(intake reparse reads a message again)"
                )
            msgs, entries = [msg], []
    for msg in msgs:
        out.messages.append(msg.id)
        msg.state, msg.attempts, msg.next_attempt_at = "received", 0, None
        msg.reason = f"requeued by {by} (was: {msg.reason})"[:2000]
    for entry in entries:
        out.entries.append(entry.id)
        entry.state, entry.attempts, entry.next_attempt_at = "pending", 0, None
        entry.error, entry.updated_at = f"requeued by {by} (was: {entry.error})"[:2000], now
    if out.messages or out.entries:
        audit(s, by, "requeue", now, messages=out.messages, entries=out.entries)
    return out
