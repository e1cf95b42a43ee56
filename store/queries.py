"""What `status`, the digest and the workbook read: plain frozen dataclasses built from the store.

The query functions live below the types; notifier code takes only these types, never a session.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from parsers.facts import Nomination, TableRow
from parsers.vietnamese import collation_key
from store import facts
from store.models import (
    Attachment,
    Heartbeat,
    LedgerEntry,
    LedgerState,
    Message,
    MessageState,
    Submission,
    SubmissionState,
    Unit,
    UnitAddress,
    split_items,
)
from store.submissions import Requirements, in_campaign

STATES = tuple(SubmissionState)
# Unit kinds in the order the district lists them (status, digest, workbook all follow it).
KIND_ORDER = ("ubnd", "htcd", "mn", "th", "thcs", "thpt", "gdnn-gdtx")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Items:
    report: bool = False
    data_table: bool = False
    photos: int = 0
    nominations: bool = False


@dataclass(frozen=True)
class Forward:
    """A message filed to a unit because it forwards that unit's own email: who forwarded it."""

    message: int  # Message.id
    by: str  # the forwarder's address
    by_unit: str | None  # the forwarder's unit code, when its address is known


@dataclass(frozen=True)
class UnitStatus:
    code: str
    name: str
    kind: str
    emails: tuple[str, ...]
    state: str  # one of STATES
    late: bool
    submitted_at: datetime | None  # first filed message's server receipt time (UTC, aware)
    last_message_at: datetime | None
    messages: int
    items: Items
    total_classes: int | None
    total_participants: int | None
    missing: tuple[str, ...]  # required item keys still missing: "report", "data_table", "photos"
    deadline: datetime  # effective deadline (per-unit extension applied), aware
    files: tuple[tuple[str, str], ...] = ()  # (item, original filename) of what was received
    forwarded: tuple[Forward, ...] = ()  # its messages that another sender forwarded
    # past its deadline and still missing or incomplete ("quá hạn"); `late` also covers a unit
    # that completed after it ("nộp muộn": late and complete)
    overdue: bool = False

    @property
    def submitted_late(self) -> bool:
        """Completed, but after its deadline ("nộp muộn")."""
        return self.late and self.state == SubmissionState.COMPLETE


@dataclass(frozen=True)
class LooseMessage:
    """A message that is not (yet) a unit's submission: unassigned, quarantined or ignored."""

    id: int
    message_id: str
    from_addr: str
    subject: str
    received_at: datetime | None
    reason: str
    candidates: tuple[str, ...] = ()
    # an unassigned message waits for its "unit" (candidates are unit codes) or, its unit
    # known, for its "campaign" (candidates are campaign ids); "" for every other list
    waits_for: str = ""


@dataclass(frozen=True)
class RetryingMessage:
    """Mail waiting for another attempt: a stored message whose filing failed (`id` > 0), or a
    message on the server whose fetch or store failed (`fetched` False, `id` = -ledger row; no
    sender or subject known yet, `subject` says where it is)."""

    id: int
    message_id: str
    from_addr: str
    subject: str
    received_at: datetime | None
    attempts: int
    next_attempt_at: datetime | None
    last_error: str
    fetched: bool = True


@dataclass(frozen=True)
class AccountHealth:
    account: str
    last_success_at: datetime | None
    failing_since: datetime | None
    last_error: str


@dataclass(frozen=True)
class CampaignStatus:
    campaign_id: str
    title: str
    deadline: datetime  # aware
    timezone: str  # e.g. "Asia/Ho_Chi_Minh"
    units: tuple[UnitStatus, ...]
    unassigned: tuple[LooseMessage, ...] = ()
    quarantined: tuple[LooseMessage, ...] = ()
    ignored: tuple[LooseMessage, ...] = ()
    health: tuple[AccountHealth, ...] = ()
    # filed messages whose sender failed DMARC at our receiving server: flagged, not trusted
    unverified: tuple[LooseMessage, ...] = ()
    # failed, waiting for the next attempt (quarantined after the last one), soonest first
    retrying: tuple[RetryingMessage, ...] = ()


@dataclass(frozen=True)
class RosterUnit:
    """A unit as `intake units list` shows it: every address, roster and learned, oldest first."""

    code: str
    name: str
    kind: str
    emails: tuple[str, ...]


@dataclass(frozen=True)
class UnitData:
    """One unit's latest data-table rows and nominations, for the consolidated workbook."""

    code: str
    name: str
    kind: str
    rows: tuple[TableRow, ...] = ()
    nominations: tuple[Nomination, ...] = field(default=())


def unit_order(kind: str, name: str) -> tuple[object, ...]:
    """The one order of units everywhere: by kind (the district's order), then by name in
    Vietnamese collation (`Bích Hòa` < `Bình Minh` < `Cao Dương`, `Đ` after `D`)."""
    rank = KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)
    return (rank, kind, _name_key(name))


@lru_cache(maxsize=20_000)
def _name_key(name: str) -> tuple[tuple[int, ...], ...]:
    """collation_key, kept per name: the same few thousand unit names are sorted again at every
    computation of a status, and the key was most of its time (≈0.1 ms a name)."""
    return collation_key(name)


# -- queries ----------------------------------------------------------------------------------


def campaign_status(
    s: Session,
    *,
    campaign_id: str,
    title: str,
    deadline: datetime,
    timezone: str,
    required: tuple[str, ...],
    min_photos: int,
    now: datetime,
    units_scope: tuple[str, ...] = (),
) -> CampaignStatus:
    """The whole picture of one campaign at `now`, for `status`, the digest and reminders."""
    units = _unit_statuses(
        s, campaign_id, deadline, Requirements(required, min_photos), now, units_scope
    )
    stuck = tuple(
        LooseMessage(
            id=-e.id,
            message_id="",
            from_addr="",
            subject=f"{e.folder} UID {e.uid}",
            received_at=e.first_seen_at,
            reason=e.error,
        )
        for e in s.scalars(select(LedgerEntry).where(LedgerEntry.state == LedgerState.QUARANTINED))
    )
    health = tuple(
        AccountHealth(h.account, h.last_success_at, h.failing_since, h.last_error)
        for h in s.scalars(select(Heartbeat).order_by(Heartbeat.account))
    )
    return CampaignStatus(
        campaign_id=campaign_id,
        title=title,
        deadline=deadline,
        timezone=timezone,
        units=units,
        unassigned=_loose(s, MessageState.UNASSIGNED),
        quarantined=_loose(s, MessageState.QUARANTINED) + stuck,
        ignored=_loose(s, MessageState.IGNORED),
        health=health,
        unverified=_unverified(s),
        retrying=retrying(s),
    )


def unit_status(
    s: Session,
    *,
    campaign_id: str,
    code: str,
    deadline: datetime,
    required: tuple[str, ...],
    min_photos: int,
    now: datetime,
    units_scope: tuple[str, ...] = (),
) -> UnitStatus | None:
    """One unit's entry of `campaign_status` (the same value), read from that unit's rows alone
    (the console's unit page, where the whole campaign is thousands of units); None when the
    unit is unknown, inactive or not asked to submit for this campaign."""
    unit_id = s.scalar(select(Unit.id).where(Unit.code == code))
    if unit_id is None:
        return None
    found = _unit_statuses(
        s, campaign_id, deadline, Requirements(required, min_photos), now, units_scope, unit_id
    )
    return found[0] if found else None


def _unit_statuses(
    s: Session,
    campaign_id: str,
    deadline: datetime,
    req: Requirements,
    now: datetime,
    units_scope: tuple[str, ...],
    unit_id: int | None = None,
) -> tuple[UnitStatus, ...]:
    """Each active unit asked to submit, from its submission row, in the district's order; with
    `unit_id`, that unit alone (every query restricted to it)."""
    one_sub = () if unit_id is None else (Submission.unit_id == unit_id,)
    one_address = () if unit_id is None else (UnitAddress.unit_id == unit_id,)
    one_unit = () if unit_id is None else (Unit.id == unit_id,)
    # Plain Core rows unpacked as tuples, and what thousands of units share computed once (the
    # deadline's test, the items and what is missing): this loop is most of a cold Tổng quan.
    conn = s.connection()
    subs = {
        row[0]: row[1:]
        for row in conn.execute(
            select(
                Submission.unit_id,
                Submission.state,
                Submission.report,
                Submission.data_table,
                Submission.photos,
                Submission.nominations,
                Submission.messages,
                Submission.total_classes,
                Submission.total_participants,
                Submission.submitted_at,
                Submission.last_message_at,
                Submission.completed_at,
            ).where(Submission.campaign_id == campaign_id, *one_sub)
        ).all()  # fetched at once: iterating a result fetches row by row
    }
    files_by_unit = _files_by_unit(s, campaign_id, unit_id)
    forwards = _forwards(s, campaign_id, unit_id)
    emails: dict[int, list[str]] = {}
    for owner, address in conn.execute(
        select(UnitAddress.unit_id, UnitAddress.address)
        .where(UnitAddress.source == "roster", *one_address)
        .order_by(UnitAddress.id)
    ).all():
        emails.setdefault(owner, []).append(address)
    units = []
    shared: dict[tuple[bool, bool, int, bool], tuple[Items, tuple[str, ...]]] = {}
    nothing = Items()
    past_deadline = now > deadline
    for uid, code, name, kind, extended in conn.execute(
        select(Unit.id, Unit.code, Unit.name, Unit.kind, Unit.extended_until)
        .where(Unit.active.is_(True), *one_unit)
        .order_by(Unit.code)
    ).all():
        if units_scope and code not in units_scope and kind not in units_scope:
            continue  # not asked to submit for this campaign
        sub = subs.get(uid)
        if extended is None:
            unit_deadline, past = deadline, past_deadline
        else:
            unit_deadline, past = extended, now > extended
        state: str
        if sub is None or sub[5] == 0:
            state, items, missing = SubmissionState.MISSING, nothing, req.required
            submitted = last = completed = None
            n_msgs, classes, people = 0, None, None
        else:
            (state, report, table, photos, noms, n_msgs, classes, people) = sub[:8]
            submitted, last, completed = sub[8:]
            have = (report, table, photos, noms)
            if (parts := shared.get(have)) is None:  # a few combinations, 5,000 units
                parts = shared[have] = (Items(*have), req.missing(*have))
            items, missing = parts
        units.append(
            UnitStatus(
                code=code,
                name=name,
                kind=kind,
                emails=tuple(emails.get(uid, ())),
                state=state,
                late=(completed > unit_deadline) if completed is not None else past,
                submitted_at=submitted,
                last_message_at=last,
                messages=n_msgs,
                items=items,
                total_classes=classes,
                total_participants=people,
                missing=missing,
                deadline=unit_deadline,
                files=tuple(files_by_unit.get(uid, ())),
                forwarded=tuple(forwards.get(uid, ())),
                overdue=state != SubmissionState.COMPLETE and past,
            )
        )
    units.sort(key=lambda u: unit_order(u.kind, u.name))
    return tuple(units)


def _of_unit(s: Session, unit_id: int) -> ColumnElement[bool]:
    """A filed file counts for the unit it was filed to, else for its message's unit. The ids
    of the few attachments that can count for it are read first, by the indexes on
    attachments.unit_id and messages.unit_id, so that the campaign's query reads those rows
    alone (given the whole condition at once, SQLite reads every file of the campaign)."""
    near = s.scalars(
        select(Attachment.id).where(
            or_(
                Attachment.unit_id == unit_id,
                Attachment.message_fk.in_(select(Message.id).where(Message.unit_id == unit_id)),
            )
        )
    )
    return and_(
        Attachment.id.in_(list(near)),
        or_(
            Attachment.unit_id == unit_id,
            and_(Attachment.unit_id.is_(None), Message.unit_id == unit_id),
        ),
    )


def _files_by_unit(
    s: Session, campaign_id: str, unit_id: int | None = None
) -> dict[int, list[tuple[str, str]]]:
    """unit id → (item, file name) of every file counting for it, in receipt order (of the
    unit `unit_id` alone if given)."""
    one = () if unit_id is None else (_of_unit(s, unit_id),)
    # Plain columns, not ORM entities: a campaign of thousands of units has tens of thousands
    # of attachments, and their facts JSON is not needed here.
    files_by_unit: dict[int, list[tuple[str, str]]] = {}
    keys_of: dict[str, tuple[str, ...]] = {}  # tens of thousands of files, a few item lists
    for msg_unit, att_unit, item_keys, filename in (
        s.connection()
        .execute(
            select(Message.unit_id, Attachment.unit_id, Attachment.items, Attachment.filename)
            .join(Attachment, Attachment.message_fk == Message.id)
            .where(in_campaign(campaign_id), Message.state == MessageState.FILED, *one)
            .order_by(Message.received_at, Attachment.id)
        )
        .all()
    ):
        uid = att_unit or msg_unit
        if uid is None or not item_keys:
            continue
        if (keys := keys_of.get(item_keys)) is None:
            keys = keys_of[item_keys] = split_items(item_keys)
        mine = files_by_unit.setdefault(uid, [])
        for item in keys:
            mine.append((item, filename))
    return files_by_unit


def _forwards(s: Session, campaign_id: str, unit_id: int | None = None) -> dict[int, list[Forward]]:
    """unit id → its messages that someone else forwarded, with the forwarder's unit."""
    forwards: dict[int, list[Forward]] = {}
    one = () if unit_id is None else (Message.unit_id == unit_id,)
    fwd_rows = s.execute(
        select(Message.id, Message.unit_id, Message.forwarded_by)
        .where(
            Message.campaign_id == campaign_id,
            Message.state == MessageState.FILED,
            Message.forwarded_by != "",
            *one,
        )
        .order_by(Message.received_at, Message.id)
    ).all()
    if fwd_rows:
        owner = {
            address: code
            for address, code in s.execute(
                select(UnitAddress.address, Unit.code)
                .join(Unit, Unit.id == UnitAddress.unit_id)
                .where(UnitAddress.address.in_({r.forwarded_by for r in fwd_rows}))
            )
        }
        for pk, unit_id, by in fwd_rows:
            if unit_id is not None:
                forwards.setdefault(unit_id, []).append(Forward(pk, by, owner.get(by)))
    return forwards


def _loose(s: Session, state: MessageState) -> tuple[LooseMessage, ...]:
    """Messages in `state` (unassigned, quarantined, ignored), oldest first."""
    rows = s.scalars(select(Message).where(Message.state == state).order_by(Message.received_at))
    return tuple(
        LooseMessage(
            id=m.id,
            message_id=m.message_id,
            from_addr=m.from_addr,
            subject=m.subject,
            received_at=m.received_at,
            reason=m.reason,
            candidates=_candidates(m),
            waits_for=_waits_for(m),
        )
        for m in rows
    )


def _unverified(s: Session) -> tuple[LooseMessage, ...]:
    """Filed messages whose DMARC failed (messages.dmarc), with the unit they were filed to."""
    failed = (Message.state == MessageState.FILED, Message.dmarc == "fail")
    if s.scalar(select(Message.id).where(*failed).limit(1)) is None:
        return ()
    codes = {u.id: u.code for u in s.scalars(select(Unit))}
    return tuple(
        LooseMessage(
            id=m.id,
            message_id=m.message_id,
            from_addr=m.from_addr,
            subject=m.subject,
            received_at=m.received_at,
            reason=facts.auth_reason(m.auth),
            candidates=(codes[m.unit_id],) if m.unit_id in codes else (),
        )
        for m in s.scalars(select(Message).where(*failed).order_by(Message.received_at))
    )


def _waits_for(m: Message) -> str:
    """What the officer names for an unassigned message: its campaign when its unit is known
    and campaigns were ranked for it, else its unit ("" when it is not unassigned)."""
    if m.state != MessageState.UNASSIGNED:
        return ""
    return "campaign" if m.unit_id is not None and m.campaign_candidates else "unit"


def _candidates(m: Message) -> tuple[str, ...]:
    """The ranked campaigns of a message whose campaign is unclear, else its ranked units."""
    if _waits_for(m) == "campaign":
        return facts.campaign_candidates(m.campaign_candidates)
    return facts.unit_candidates(m.candidates)


def retrying(s: Session) -> tuple[RetryingMessage, ...]:
    """Mail that failed and waits for its next attempt: messages whose filing failed (state
    "received" with attempts counted) and server messages whose fetch or store failed (ledger
    rows still "pending" with attempts counted), the soonest next attempt first."""
    filing = [
        RetryingMessage(
            id=m.id,
            message_id=m.message_id,
            from_addr=m.from_addr,
            subject=m.subject,
            received_at=m.received_at,
            attempts=m.attempts,
            next_attempt_at=m.next_attempt_at,
            last_error=m.reason,
        )
        for m in s.scalars(
            select(Message).where(Message.state == MessageState.RECEIVED, Message.attempts > 0)
        )
    ]
    fetching = [
        RetryingMessage(
            id=-e.id,
            message_id="",
            from_addr="",
            subject=f"{e.folder} UID {e.uid}",
            received_at=e.first_seen_at,
            attempts=e.attempts,
            next_attempt_at=e.next_attempt_at,
            last_error=e.error,
            fetched=False,
        )
        for e in s.scalars(
            select(LedgerEntry).where(
                LedgerEntry.state == LedgerState.PENDING, LedgerEntry.attempts > 0
            )
        )
    ]
    return tuple(
        sorted(
            filing + fetching,
            key=lambda r: (
                r.next_attempt_at is None,
                r.next_attempt_at or r.received_at or _EPOCH,
                r.id,
            ),
        )
    )


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt is not None else None


def status_json(cs: CampaignStatus) -> dict[str, Any]:
    """The `intake status --json` shape."""
    return {
        "campaign": {"id": cs.campaign_id, "title": cs.title, "deadline": _iso(cs.deadline)},
        "units": [
            {
                "code": u.code,
                "name": u.name,
                "kind": u.kind,
                "state": u.state,
                "late": u.late,
                "overdue": u.overdue,
                "submitted_at": _iso(u.submitted_at),
                "messages": u.messages,
                "items": {
                    "report": u.items.report,
                    "data_table": u.items.data_table,
                    "photos": u.items.photos,
                    "nominations": u.items.nominations,
                },
                "totals": {"classes": u.total_classes, "participants": u.total_participants},
                "missing": list(u.missing),
                "deadline": _iso(u.deadline),
                "forwarded": [
                    {"id": f.message, "by": f.by, "by_unit": f.by_unit} for f in u.forwarded
                ],
            }
            for u in cs.units
        ],
        "unassigned": [
            {
                "id": m.id,
                "message_id": m.message_id,
                "from": m.from_addr,
                "subject": m.subject,
                "received_at": _iso(m.received_at),
                "reason": m.reason,
                "waits_for": m.waits_for,
                "candidates": list(m.candidates),
            }
            for m in cs.unassigned
        ],
        "quarantined": [
            {
                "id": m.id,
                "message_id": m.message_id,
                "from": m.from_addr,
                "subject": m.subject,
                "reason": m.reason,
            }
            for m in cs.quarantined
        ],
        "ignored": [
            {
                "id": m.id,
                "message_id": m.message_id,
                "from": m.from_addr,
                "subject": m.subject,
                "reason": m.reason,
            }
            for m in cs.ignored
        ],
        "unverified": [
            {
                "id": m.id,
                "message_id": m.message_id,
                "from": m.from_addr,
                "subject": m.subject,
                "received_at": _iso(m.received_at),
                "reason": m.reason,
                "unit": m.candidates[0] if m.candidates else None,
            }
            for m in cs.unverified
        ],
        "retrying": [
            {
                "id": m.id,
                "message_id": m.message_id,
                "from": m.from_addr,
                "subject": m.subject,
                "received_at": _iso(m.received_at),
                "fetched": m.fetched,
                "attempts": m.attempts,
                "next_attempt_at": _iso(m.next_attempt_at),
                "last_error": m.last_error,
            }
            for m in cs.retrying
        ],
        "health": [
            {
                "account": h.account,
                "last_success_at": _iso(h.last_success_at),
                "failing_since": _iso(h.failing_since),
                "last_error": h.last_error,
            }
            for h in cs.health
        ],
    }


def unit_data(s: Session, campaign_id: str, *, code: str | None = None) -> list[UnitData]:
    """Each unit's latest data-table rows and latest nomination list (by receipt time); with
    `code`, that unit's alone (its rows only are read; the same value as its entry in the
    whole list)."""
    one_unit: tuple[ColumnElement[bool], ...] = ()
    one_file: tuple[ColumnElement[bool], ...] = ()
    if code is not None:
        unit_id = s.scalar(select(Unit.id).where(Unit.code == code))
        if unit_id is None:
            return []
        one_unit, one_file = (Unit.id == unit_id,), (_of_unit(s, unit_id),)
    latest_table: dict[int, dict[str, Any]] = {}
    latest_noms: dict[int, list[dict[str, Any]]] = {}
    q = (
        select(Message.unit_id, Attachment.unit_id, Attachment.items, Attachment.facts)
        .join(Attachment, Attachment.message_fk == Message.id)
        .where(
            in_campaign(campaign_id),
            Message.state == MessageState.FILED,
            # only tables and nomination lists: the facts JSON of reports and photos is not read
            or_(Attachment.items.contains("data_table"), Attachment.items.contains("nominations")),
            *one_file,
        )
        .order_by(Message.received_at, Message.id, Attachment.id)
    )
    for msg_unit, att_unit, items, facts_json in s.execute(q):
        uid = att_unit or msg_unit
        if uid is None or not facts_json:
            continue
        item_set = set(split_items(items))
        if "data_table" in item_set and (table := facts.data_table(facts_json)):
            latest_table[uid] = table
        if "nominations" in item_set and (nominated := facts.nominations(facts_json)):
            latest_noms[uid] = nominated
    out = []
    for unit in s.execute(
        select(Unit.id, Unit.code, Unit.name, Unit.kind)
        .where(Unit.active.is_(True), *one_unit)
        .order_by(Unit.code)
    ):
        table = latest_table.get(unit.id) or {}
        rows = tuple(TableRow(**r) for r in table.get("rows", []))
        noms = tuple(Nomination(**n) for n in latest_noms.get(unit.id, []))
        if rows or noms:
            out.append(UnitData(unit.code, unit.name, unit.kind, rows, noms))
    out.sort(key=lambda d: unit_order(d.kind, d.name))
    return out


def sealed_reports(s: Session, campaign_id: str) -> frozenset[str]:
    """Codes of the units whose report in this campaign is a scan that carries a red seal (con
    dấu, `parsers.facts.Scan.seal`, stored with the file's facts)."""
    out = set()
    for msg_unit, att_unit, facts_json in s.execute(
        select(Message.unit_id, Attachment.unit_id, Attachment.facts)
        .join(Attachment, Attachment.message_fk == Message.id)
        .where(
            in_campaign(campaign_id),
            Message.state == MessageState.FILED,
            Attachment.items.contains("report"),
            Attachment.facts.contains(facts.SEALED_MARK),
        )
    ):
        uid = att_unit or msg_unit
        if uid is not None and facts.sealed(facts_json):
            out.add(uid)
    if not out:
        return frozenset()
    return frozenset(s.scalars(select(Unit.code).where(Unit.id.in_(out))))


def roster_units(s: Session) -> list[RosterUnit]:
    """Every unit (active or not) by code, with its addresses."""
    emails: dict[int, list[str]] = {}
    for unit_id, address in s.execute(
        select(UnitAddress.unit_id, UnitAddress.address).order_by(UnitAddress.id)
    ):
        emails.setdefault(unit_id, []).append(address)
    return [
        RosterUnit(u.code, u.name, u.kind, tuple(emails.get(u.id, ())))
        for u in s.execute(select(Unit.id, Unit.code, Unit.name, Unit.kind).order_by(Unit.code))
    ]
