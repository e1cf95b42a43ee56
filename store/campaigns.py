"""The campaigns in the store and the message → campaign links: the configured campaigns
registered, the "other mail" listed, a message moved between campaigns (or to "other") by the
officer. Each submission touched is recomputed by the caller (`intake.campaignmoves`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from store.models import Attachment, Campaign, Message, MessageState, Unit

OTHER = "other"


@dataclass(frozen=True)
class OtherMessage:
    """A message of no campaign: kept, filed under its unit when known, counted nowhere."""

    id: int
    message_id: str
    from_addr: str
    unit: str | None  # unit code
    subject: str
    received_at: datetime | None
    reason: str


def register(
    s: Session, campaigns: Iterable[tuple[str, str, datetime, datetime | None]], now: datetime
) -> None:
    """Record the configured campaigns (id, title, deadline, opens); idempotent, and safe
    when another filer on the same store registers the same campaign at the same moment (the
    insert runs in a savepoint; losing the race means the row is there)."""
    for cid, title, deadline, opens in campaigns:
        row = s.get(Campaign, cid)
        if row is None:
            try:
                with s.begin_nested():
                    s.add(
                        Campaign(
                            id=cid, title=title, deadline=deadline, opens=opens, updated_at=now
                        )
                    )
                continue
            except IntegrityError:
                row = s.get(Campaign, cid, populate_existing=True)
                if row is None:
                    raise
        if (row.title, row.deadline, row.opens) != (title, deadline, opens):
            row.title, row.deadline, row.opens, row.updated_at = title, deadline, opens, now


def other_mail(s: Session) -> tuple[OtherMessage, ...]:
    codes = {uid: code for uid, code in s.execute(select(Unit.id, Unit.code))}
    return tuple(
        OtherMessage(
            m.id,
            m.message_id,
            m.from_addr,
            codes.get(m.unit_id) if m.unit_id else None,
            m.subject,
            m.received_at,
            m.campaign_reason or m.reason,
        )
        for m in s.scalars(
            select(Message)
            .where(Message.state == MessageState.OTHER)
            .order_by(Message.received_at, Message.id)
        )
    )


def campaigns_of(s: Session, msg: Message) -> set[str]:
    """Every campaign a message counts in (its own and its files' placed apart)."""
    ids = {msg.campaign_id} | set(
        s.scalars(
            select(Attachment.campaign_id).where(
                Attachment.message_fk == msg.id, Attachment.campaign_id != ""
            )
        )
    )
    return {c for c in ids if c and c != OTHER}
