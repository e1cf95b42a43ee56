"""A unit's submission for a campaign, recomputed from its filed messages.

Items accumulate over messages in receipt order (a later email adds to what came before); the
latest data table wins for the totals; `completed_at` is the receipt time of the message that
first made the submission complete, which is what `late` is judged on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.models import Attachment, Message, Submission


@dataclass(frozen=True)
class Requirements:
    required: tuple[str, ...] = ("report", "data_table", "photos")
    min_photos: int = 2

    def missing(self, report: bool, data_table: bool, photos: int, nominations: bool) -> tuple[str, ...]:
        have = {
            "report": report,
            "data_table": data_table,
            "photos": photos >= self.min_photos,
            "nominations": nominations,
        }
        return tuple(item for item in self.required if not have[item])


def _photo_shas(att: Attachment) -> set[str]:
    """Evidence photos an attachment provides, by content hash (the same photo attached and
    embedded in a .docx counts once)."""
    photos = json.loads(att.facts).get("photos", []) if att.facts else []
    if not photos:
        return {att.sha256} if att.photos else set()
    return {p["sha256"] for p in photos if p.get("evidence", True)}


def attachments_for(s: Session, campaign_id: str, unit_id: int) -> list[tuple[Message, Attachment]]:
    """(message, attachment) pairs that count for this unit: attachments of messages filed to
    it, plus attachments attributed to it one by one inside other messages."""
    rows = s.execute(
        select(Message, Attachment)
        .join(Attachment, Attachment.message_fk == Message.id)
        .where(
            Message.campaign_id == campaign_id,
            Message.state == "filed",
            ((Message.unit_id == unit_id) & Attachment.unit_id.is_(None))
            | (Attachment.unit_id == unit_id),
        )
        .order_by(Message.received_at, Message.id, Attachment.id)
    ).all()
    return [(m, a) for m, a in rows]


def recompute(
    s: Session, campaign_id: str, unit_id: int, req: Requirements, now: datetime
) -> Submission:
    sub = s.scalar(
        select(Submission).where(Submission.campaign_id == campaign_id, Submission.unit_id == unit_id)
    )
    if sub is None:
        sub = Submission(campaign_id=campaign_id, unit_id=unit_id, updated_at=now)
        s.add(sub)
    messages = list(
        s.scalars(
            select(Message)
            .where(Message.campaign_id == campaign_id, Message.state == "filed", Message.unit_id == unit_id)
            .order_by(Message.received_at, Message.id)
        )
    )
    pairs = attachments_for(s, campaign_id, unit_id)
    report = data_table = nominations = False
    photos: set[str] = set()
    totals: tuple[int | None, int | None] = (None, None)
    completed_at = None
    received: list[datetime] = [m.received_at for m in messages]
    for msg, att in pairs:
        items = set(filter(None, att.items.split(",")))
        report |= "report" in items
        nominations |= "nominations" in items
        if "data_table" in items:
            data_table = True
            facts = json.loads(att.facts) if att.facts else {}
            table = facts.get("data_table") or {}
            totals = (table.get("total_classes"), table.get("total_participants"))
        if "photo" in items:
            photos |= _photo_shas(att)
        received.append(msg.received_at)
        if completed_at is None and not req.missing(report, data_table, len(photos), nominations):
            completed_at = msg.received_at
    sub.report, sub.data_table, sub.nominations = report, data_table, nominations
    sub.photos = len(photos)
    sub.total_classes, sub.total_participants = totals
    sub.messages = len({m.id for m in messages} | {m.id for m, _ in pairs})
    sub.submitted_at = min(received) if received else None
    sub.last_message_at = max(received) if received else None
    sub.completed_at = completed_at
    if not received:
        sub.state = "missing"
    elif req.missing(report, data_table, len(photos), nominations):
        sub.state = "incomplete"
    else:
        sub.state = "complete"
    sub.updated_at = now
    return sub
