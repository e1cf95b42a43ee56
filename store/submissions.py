"""A unit's submission for a campaign, recomputed from its filed messages.

Items accumulate over messages in receipt order (a later email adds to what came before); the
latest data table wins for the totals; `completed_at` is the receipt time of the message that
first made the submission complete, which is what `late` is judged on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from store import facts
from store.models import Attachment, Message, MessageState, Submission, SubmissionState, split_items


@dataclass(frozen=True)
class Requirements:
    required: tuple[str, ...] = ("report", "data_table", "photos")
    min_photos: int = 2

    def missing(
        self, report: bool, data_table: bool, photos: int, nominations: bool
    ) -> tuple[str, ...]:
        have = {
            "report": report,
            "data_table": data_table,
            "photos": photos >= self.min_photos,
            "nominations": nominations,
        }
        return tuple(item for item in self.required if not have[item])


_AttRow = tuple[int, datetime, str, str, int, str]  # see attachments_for


def in_campaign(campaign_id: str) -> Any:
    """The condition on Message ⋈ Attachment rows that count in `campaign_id`."""
    return or_(
        Attachment.campaign_id == campaign_id,
        and_(Attachment.campaign_id == "", Message.campaign_id == campaign_id),
    )


def attachments_for(s: Session, campaign_id: str, unit_id: int) -> list[_AttRow]:
    """The attachments that count for this unit, as rows (message_id, received_at, items,
    sha256, photos, facts) in receipt order: attachments of messages filed to it, plus
    attachments attributed to it one by one inside other messages. Plain columns, not ORM
    objects: recompute runs for every unit a filing chunk touches."""
    columns = (
        Message.id,
        Message.received_at,
        Attachment.items,
        Attachment.sha256,
        Attachment.photos,
        Attachment.facts,
        Attachment.id,
    )
    # an attachment counts in its own campaign when placed apart (one email, several
    # campaigns' files), else in its message's
    filed = (in_campaign(campaign_id), Message.state == MessageState.FILED)
    # two indexed queries (messages.unit_id, attachments.unit_id) instead of one OR that
    # makes the database scan every attachment of the campaign
    own = s.execute(
        select(*columns)
        .join(Attachment, Attachment.message_fk == Message.id)
        .where(*filed, Message.unit_id == unit_id, Attachment.unit_id.is_(None))
    )
    apart = s.execute(
        select(*columns)
        .join(Attachment, Attachment.message_fk == Message.id)
        .where(*filed, Attachment.unit_id == unit_id)
    )
    rows = sorted([*own, *apart], key=lambda r: (r[1], r[0], r[6]))
    return [cast(_AttRow, tuple(r[:6])) for r in rows]


def recompute(
    s: Session, campaign_id: str, unit_id: int, req: Requirements, now: datetime
) -> Submission:
    sub = s.scalar(
        select(Submission).where(
            Submission.campaign_id == campaign_id, Submission.unit_id == unit_id
        )
    )
    if sub is None:
        sub = Submission(campaign_id=campaign_id, unit_id=unit_id, updated_at=now)
        s.add(sub)
    messages = list(
        s.execute(
            select(Message.id, Message.received_at)
            .where(
                Message.campaign_id == campaign_id,
                Message.state == MessageState.FILED,
                Message.unit_id == unit_id,
            )
            .order_by(Message.received_at, Message.id)
        )
    )
    pairs = attachments_for(s, campaign_id, unit_id)
    report = data_table = nominations = False
    photos: set[str] = set()
    totals: tuple[int | None, int | None] = (None, None)
    completed_at = None
    received: list[datetime] = [m.received_at for m in messages]
    for _msg_id, msg_received, att_items, att_sha, att_photos, att_facts in pairs:
        items = set(split_items(att_items))
        report |= "report" in items
        nominations |= "nominations" in items
        if "data_table" in items:
            data_table = True
            totals = facts.totals(att_facts)
        if "photo" in items:
            photos |= facts.evidence_photos(att_sha, att_photos, att_facts)
        received.append(msg_received)
        if completed_at is None and not req.missing(report, data_table, len(photos), nominations):
            completed_at = msg_received
    sub.report, sub.data_table, sub.nominations = report, data_table, nominations
    sub.photos = len(photos)
    sub.total_classes, sub.total_participants = totals
    sub.messages = len({m.id for m in messages} | {row[0] for row in pairs})
    sub.submitted_at = min(received) if received else None
    sub.last_message_at = max(received) if received else None
    sub.completed_at = completed_at
    if not received:
        sub.state = SubmissionState.MISSING
    elif req.missing(report, data_table, len(photos), nominations):
        sub.state = SubmissionState.INCOMPLETE
    else:
        sub.state = SubmissionState.COMPLETE
    sub.updated_at = now
    return sub
