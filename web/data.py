"""What the console's pages read, as plain dataclasses: a unit's messages and files, the mail
waiting for the officer with its files and candidate units, the system's state. Sender-written
text is carried as it is; the templates escape it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core.campaignconfig import CampaignConfig
from core.config import Config
from parsers.vietnamese import fold
from store import facts
from store.models import (
    Attachment,
    Message,
    MessageState,
    OutboxMail,
    OutboxState,
    SubmissionState,
    Unit,
)
from store.queries import CampaignStatus, UnitStatus

INLINE_IMAGES = {"jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif", "webp": "image/webp"}


@dataclass(frozen=True)
class FileRow:
    id: int
    filename: str
    kind: str
    fmt: str
    size: int
    items: tuple[str, ...]
    problem: str
    thumbnail: bool  # a thumbnail is stored for it

    @property
    def opens_inline(self) -> bool:
        return self.fmt in INLINE_IMAGES or self.fmt == "pdf"


@dataclass(frozen=True)
class MessageRow:
    id: int
    from_addr: str
    from_name: str
    subject: str
    received_at: datetime
    state: str
    reason: str
    assigned_by: str
    files: tuple[FileRow, ...]
    candidates: tuple[tuple[str, str], ...] = ()  # (code, name)
    campaign_id: str = ""  # "" undecided, a campaign's id, or "other"
    unit_code: str = ""  # the unit it is filed under, if any
    campaign_by: str = ""  # who decided its campaign: "auto" or an officer
    campaign_reason: str = ""

    @property
    def seen(self) -> str:
        """What the page showed of it (web.actions: two officers at once)."""
        return f"{self.state}:{self.campaign_id}"


def thumbnail_of(facts_json: str) -> str | None:
    """The file-store digest of an attachment's first photo thumbnail, if any."""
    return facts.thumbnail(facts_json)


def _files(
    s: Session, message_ids: list[int], unit_id: int | None = None
) -> dict[int, list[FileRow]]:
    out: dict[int, list[FileRow]] = {}
    if not message_ids:
        return out
    q = (
        select(Attachment)
        .where(Attachment.message_fk.in_(message_ids))
        .order_by(Attachment.message_fk, Attachment.id)
    )
    for a in s.scalars(q):
        if unit_id is not None and a.unit_id is not None and a.unit_id != unit_id:
            continue  # filed apart to another unit
        out.setdefault(a.message_fk, []).append(
            FileRow(
                id=a.id,
                filename=a.filename,
                kind=a.kind,
                fmt=a.fmt,
                size=a.size,
                items=tuple(filter(None, a.items.split(","))),
                problem=a.problem,
                thumbnail=thumbnail_of(a.facts) is not None,
            )
        )
    return out


def _rows(
    s: Session, msgs: list[Message], unit_id: int | None = None, names: dict[str, str] | None = None
) -> list[MessageRow]:
    files = _files(s, [m.id for m in msgs], unit_id)
    units = {m.unit_id for m in msgs if m.unit_id is not None}
    codes = {i: c for i, c in s.execute(select(Unit.id, Unit.code).where(Unit.id.in_(units)))}
    rows = []
    for m in msgs:
        found = facts.unit_candidates(m.candidates)
        rows.append(
            MessageRow(
                id=m.id,
                from_addr=m.from_addr,
                from_name=m.from_name,
                subject=m.subject,
                received_at=m.received_at,
                state=m.state,
                reason=m.reason,
                assigned_by=m.assigned_by,
                files=tuple(files.get(m.id, ())),
                candidates=tuple((c, (names or {}).get(c, c)) for c in found),
                campaign_id=m.campaign_id,
                unit_code=codes.get(m.unit_id, "") if m.unit_id else "",
                campaign_by=m.campaign_by,
                campaign_reason=m.campaign_reason,
            )
        )
    return rows


def unit_messages(s: Session, unit_id: int) -> list[MessageRow]:
    """The unit's messages (and messages with a file filed apart to it), oldest first."""
    apart = select(Attachment.message_fk).where(Attachment.unit_id == unit_id)
    msgs = list(
        s.scalars(
            select(Message)
            .where(or_(Message.unit_id == unit_id, Message.id.in_(apart)))
            .order_by(Message.received_at, Message.id)
        )
    )
    return _rows(s, msgs, unit_id)


def waiting(s: Session, names: dict[str, str]) -> list[MessageRow]:
    """Unassigned mail, oldest first, with its files and candidate units by name."""
    msgs = list(
        s.scalars(
            select(Message)
            .where(Message.state == MessageState.UNASSIGNED)
            .order_by(Message.received_at, Message.id)
        )
    )
    return _rows(s, msgs, names=names)


def other(s: Session) -> list[MessageRow]:
    """Other mail (of no campaign): kept, newest first, with its files."""
    msgs = list(
        s.scalars(
            select(Message)
            .where(Message.state == MessageState.OTHER)
            .order_by(Message.received_at.desc(), Message.id.desc())
        )
    )
    return _rows(s, msgs)


def outbox_counts(s: Session) -> dict[str, int]:
    return {
        state: n
        for state, n in s.execute(select(OutboxMail.state, func.count()).group_by(OutboxMail.state))
    }


def outbox_queue(s: Session, limit: int = 50) -> list[OutboxMail]:
    """Mail not yet sent (pending, sending, failed), oldest first."""
    return list(
        s.scalars(
            select(OutboxMail)
            .where(OutboxMail.state != OutboxState.SENT)
            .order_by(OutboxMail.created_at, OutboxMail.id)
            .limit(limit)
        )
    )


def unit_by_code(s: Session, code: str) -> Unit | None:
    return s.scalar(select(Unit).where(Unit.code == code))


def resolve_unit(
    units: tuple[UnitStatus, ...], folded: Mapping[str, str], text: str
) -> UnitStatus | list[UnitStatus]:
    """The unit `text` names: its code, its name (with or without diacritics) or a part of the
    name that only one unit has; otherwise the units it could mean (maybe none). `folded` is
    each unit's name folded, by code (web.statuscache keeps it beside the status)."""
    wanted = fold(text)
    if not wanted:
        return []
    code = text.strip().lower()
    for u in units:
        if u.code == code or folded[u.code] == wanted:
            return u
    found = [u for u in units if wanted in folded[u.code]]
    return found[0] if len(found) == 1 else found


def filter_units(
    cs: CampaignStatus,
    folded: Mapping[str, str],
    *,
    q: str = "",
    state: str = "",
    kind: str = "",
    overdue: bool = False,
) -> list[UnitStatus]:
    """The overview's filters: name or code (diacritics optional), state, kind, overdue;
    `folded` as for resolve_unit."""
    wanted = fold(q)
    out = []
    for u in cs.units:
        if wanted and wanted not in folded[u.code] and wanted not in u.code:
            continue
        if state and u.state != state:
            continue
        if kind and u.kind != kind:
            continue
        if overdue and not (u.late and u.state != SubmissionState.COMPLETE):
            continue
        out.append(u)
    return out


def chosen_campaign(cfg: Config, campaign_id: str) -> CampaignConfig:
    """The campaign a page asks for (`?campaign=ID`); the first one when none or unknown."""
    return next((k for k in cfg.campaigns if k.id == campaign_id), cfg.campaign)
