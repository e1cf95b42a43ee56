"""What to send, decided and queued in the outbox, then delivered: receipts for newly filed
messages, due reminders and overdue notices, the daily digest. `tick()` does all of it and is
what the daemon schedules; the CLI calls the parts (`intake remind`, `intake digest`).

Everything is per campaign (`cfg.campaigns`). Reminders and overdue notices go campaign by
campaign, only to that campaign's units (its `units`), on its own deadline, timezone and the
units' extensions; their outbox rows carry the campaign, so each (campaign, unit, slot) is sent
once. A receipt answers one message, once, whichever campaigns it counted in, and names them
all; other mail (no campaign) gets no receipt and never counts for a reminder. The digest is one
letter: a section per open campaign (from its `opens`; dropped `CLOSED_AFTER` after its last
deadline, extensions included), the mailbox-wide lists, and a short count of the other mail with
subjects; its workbook has each campaign's own sheets. No campaign open and nothing waiting for
the officer (unassigned, quarantined or retrying mail, a failing mailbox): no digest that day,
and one log line says why.

Clock jumps. Each tick compares how far the wall clock moved since the last tick with how far
the monotonic clock moved (`core.clock.ClockWatch`); a difference over an hour is a jump,
logged as a warning. After a jump FORWARD (a wrong date set by hand, NTP after a long outage,
a machine resumed after days), reminders and overdue notices are held for `JUMP_SETTLE` (an
hour of real time: if the date was wrong and is put back meanwhile, nothing went out), then
released at most `JUMP_PACE` per tick until none is left due. What is released follows
`reminders.due()`: one letter per unit, the latest slot that has come, never the slots jumped
over. After a jump BACK nothing is held: the outbox already holds every slot, receipt and
digest sent, so none is sent again, and `outbox.deliver_due` tries at once the mail whose retry
time now looks further away than any delay it sets. Receipts and the digest are never held.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from jinja2 import Environment
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.campaignconfig import CampaignConfig
from core.clock import Clock, ClockJump, ClockWatch
from core.config import Config
from notifier import outbox
from notifier.campaigntables import UnitTable, unit_tables
from notifier.digest import LIST_LIMIT, CampaignPart, Cut, OtherEntry, OtherMail, compose_digest
from notifier.message import OutgoingMail, build_message, new_message_id
from notifier.receipts import ReceiptSection, compose_receipt, receipt_block_reason
from notifier.receivedfiles import received
from notifier.reminders import Notice, Schedule, compose_reminder, due
from notifier.render import make_env
from notifier.smtp import Mailer
from notifier.workbook import CampaignBook, build_campaigns_workbook
from parsers.campaigntable import sums
from parsers.mime import kept_headers
from store.campaigns import OTHER, campaigns_of, other_mail
from store.files import FileStore
from store.models import Message, MessageState, OutboxMail, Unit, UnitAddress
from store.queries import CampaignStatus, campaign_status, sealed_reports, unit_data

log = logging.getLogger(__name__)

JUMP_SETTLE = 3600.0  # seconds of real time reminders wait after the clock jumped forward
JUMP_PACE = 10  # reminders and overdue notices queued per tick while catching up after a jump
CLOSED_AFTER = timedelta(days=7)  # a campaign leaves the digest this long after its last deadline
NOTICE_KINDS = ("reminder", "overdue")


def seed_table(c: CampaignConfig) -> bool:
    """The campaign's table is the seed's: read at filing into the facts (`unit_data`)."""
    return {"classes", "participants"} <= set(c.table.totals)


@dataclass
class TickResult:
    receipts: int = 0
    reminders: int = 0
    digests: int = 0
    delivery: outbox.Delivery = field(default_factory=outbox.Delivery)
    jump: ClockJump | None = None  # the wall clock jumped since the last tick
    held: bool = False  # reminders held after a forward jump


class Notifier:
    def __init__(
        self,
        cfg: Config,
        sessions: sessionmaker[Session],
        files: FileStore,
        clock: Clock,
        mailer: Mailer | None,
        env: Environment | None = None,
    ) -> None:
        self.cfg = cfg
        self.sessions = sessions
        self.files = files
        self.clock = clock
        self.mailer = mailer
        templates = cfg.path(cfg.notify.templates) if cfg.notify.templates else None
        self.env = env or make_env(templates)
        self.sender = cfg.smtp.sender or "intake@localhost"
        self.schedules = {
            c.id: Schedule(
                offsets_days=tuple(cfg.notify.reminder_days),
                at=cfg.notify.reminder_time,
                tz=c.timezone,
            )
            for c in cfg.campaigns
        }
        self.schedule = self.schedules[cfg.campaign.id]
        self.min_gap = timedelta(hours=cfg.notify.reminder_min_gap)
        self.watch = ClockWatch()
        self.held_until: float | None = None  # monotonic: reminders held after a forward jump
        self.pacing = False  # catching up after a jump: at most JUMP_PACE notices a tick
        self.no_receipt_said: set[int] = set()  # messages whose "no receipt" was logged
        self.digest_skipped: str | None = None  # the digest slot found with nothing to send

    # -- shared --------------------------------------------------------------------------------
    def status(
        self, s: Session, now: datetime, campaign: CampaignConfig | None = None
    ) -> CampaignStatus:
        """One campaign's status (the first campaign's when none is named): its units only."""
        c = campaign or self.cfg.campaign
        return campaign_status(
            s,
            campaign_id=c.id,
            title=c.title,
            deadline=c.deadline_at,
            timezone=c.timezone,
            required=tuple(c.required),
            min_photos=c.min_photos,
            now=now,
            units_scope=tuple(c.units),
        )

    def _enqueue(
        self, s: Session, mail: OutgoingMail, *, campaign: str, unit: str, slot: str, now: datetime
    ) -> bool:
        msg = build_message(
            mail, sender=self.sender, now=now, message_id=new_message_id(self.sender)
        )
        return (
            outbox.enqueue(
                s,
                self.files,
                msg,
                campaign_id=campaign,
                kind=mail.kind,
                unit_code=unit,
                slot=slot,
                now=now,
            )
            is not None
        )

    # -- receipts ------------------------------------------------------------------------------
    def queue_receipts(self, now: datetime) -> int:
        """A receipt for each filed message not yet answered, received in the last
        `receipt_max_age_hours` (a backfill of old mail stays quiet); at most one per message,
        whatever campaigns it counts in. Other mail gets none."""
        if not self.cfg.notify.receipts:
            return 0
        oldest = now - timedelta(hours=self.cfg.notify.receipt_max_age_hours)
        with self.sessions() as s:
            answered = set(s.scalars(select(OutboxMail.slot).where(OutboxMail.kind == "receipt")))
            candidates = [
                pk
                for pk in s.scalars(
                    select(Message.id)
                    .where(
                        Message.state == MessageState.FILED,
                        Message.campaign_id != "",
                        Message.campaign_id != OTHER,
                        Message.received_at >= oldest,
                    )
                    .order_by(Message.id)
                )
                if f"message-{pk}" not in answered
            ]
        queued = 0
        for pk in candidates:
            with self.sessions.begin() as s:
                queued += self._receipt(s, pk, now)
        return queued

    def _no_receipt(self, pk: int, reason: str) -> None:
        """Say once (per message, per run) why a message gets no receipt: it stays a candidate
        every tick for `receipt_max_age_hours`, since an assign, a move or a taught address
        can change the answer."""
        if pk not in self.no_receipt_said:
            self.no_receipt_said.add(pk)
            log.info("no receipt for message %d: %s", pk, reason)

    def _receipt(self, s: Session, pk: int, now: datetime) -> int:
        msg = s.get(Message, pk)
        if msg is None or msg.unit_id is None:
            return 0
        unit = s.get(Unit, msg.unit_id)
        assert unit is not None
        raw = self.files.get(msg.sha256)
        headers = kept_headers(raw)
        addresses = set(
            s.scalars(select(UnitAddress.address).where(UnitAddress.unit_id == unit.id))
        )
        reason = receipt_block_reason(msg.from_addr, "assigned", headers, unit_addresses=addresses)
        if reason:
            self._no_receipt(pk, reason)
            return 0
        counted = campaigns_of(s, msg)
        sections = []
        for c in self.cfg.campaigns:
            if c.id not in counted:
                continue
            status = self.status(s, now, c)
            unit_status = next((u for u in status.units if u.code == unit.code), None)
            if unit_status is None:
                log.debug(
                    "message %d counts in %s, whose units do not include %s", pk, c.id, unit.code
                )
                continue
            sections.append(ReceiptSection(status, unit_status, tuple(c.required), seed_table(c)))
        if not sections:
            self._no_receipt(pk, "it counts in no configured campaign of its unit")
            return 0
        first = sections[0]
        mail = compose_receipt(
            first.unit,
            first.status,
            received=received(s, self.files, msg, raw=raw),
            to=msg.from_addr,
            in_reply_to=msg.message_id,
            now=now,
            env=self.env,
            received_at=msg.received_at,
            original_subject=msg.subject,
            sections=sections,
        )
        home = msg.campaign_id if msg.campaign_id in counted else first.status.campaign_id
        return int(
            self._enqueue(s, mail, campaign=home, unit=unit.code, slot=f"message-{pk}", now=now)
        )

    # -- reminders -----------------------------------------------------------------------------
    def due_reminders(self, now: datetime) -> tuple[list[CampaignStatus], list[Notice]]:
        """Every campaign's status and the notices due now, campaign by campaign (a notice
        carries its campaign)."""
        statuses, notices = [], []
        with self.sessions() as s:
            for c in self.cfg.campaigns:
                status = self.status(s, now, c)
                sent = outbox.sent_keys(s, c.id, NOTICE_KINDS)
                last = outbox.last_sent(s, c.id, NOTICE_KINDS)
                statuses.append(status)
                notices += due(
                    status,
                    self.schedules[c.id],
                    now,
                    sent,
                    {},
                    last_reminded=last,
                    min_gap=self.min_gap,
                )
        if not self.cfg.notify.overdue:
            notices = [n for n in notices if n.kind != "overdue"]
        return statuses, notices

    def queue_reminders(self, now: datetime, *, limit: int | None = None) -> int:
        """Queue the due notices (the first `limit` of them, when given)."""
        statuses, notices = self.due_reminders(now)
        by_id = {st.campaign_id: st for st in statuses}
        queued = 0
        if limit is not None and len(notices) <= limit:
            self.pacing = False  # caught up: the rest go out as they come due
        for notice in notices[:limit]:
            status = by_id[notice.campaign]
            unit = next(u for u in status.units if u.code == notice.unit)
            mail = compose_reminder(notice, unit, status, now, self.env)
            with self.sessions.begin() as s:
                queued += self._enqueue(
                    s, mail, campaign=notice.campaign, unit=notice.unit, slot=notice.slot, now=now
                )
        return queued

    # -- digest --------------------------------------------------------------------------------
    def digest_slot(self, now: datetime) -> str | None:
        """Today's digest slot (local date) once its hour has come, else None."""
        local = now.astimezone(ZoneInfo(self.cfg.campaign.timezone))
        if local.time() < self.cfg.digest.at_time:
            return None
        return local.date().isoformat()

    @staticmethod
    def is_open(status: CampaignStatus, now: datetime) -> bool:
        """Shown in the digest: until `CLOSED_AFTER` past its last deadline (extensions count)."""
        last = max([status.deadline, *(u.deadline for u in status.units)])
        return now <= last + CLOSED_AFTER

    def in_digest(self, c: CampaignConfig, status: CampaignStatus, now: datetime) -> bool:
        """A section in the digest: from its `opens` (when it has one) until `CLOSED_AFTER`
        past its last deadline."""
        opens = c.opens_at
        return (opens is None or now >= opens) and self.is_open(status, now)

    @staticmethod
    def waiting(status: CampaignStatus) -> list[str]:
        """What the digest's mailbox-wide lists hold that waits for the officer (or tells of a
        failure): unassigned, quarantined or retrying mail, a mailbox that cannot be read."""
        what = [
            f"{n} {label}"
            for n, label in (
                (len(status.unassigned), "message(s) waiting for a unit or campaign"),
                (len(status.quarantined), "quarantined"),
                (len(status.retrying), "retrying"),
                (sum(1 for h in status.health if h.failing_since), "mailbox(es) failing"),
            )
            if n
        ]
        return what

    def digest_skip(self, now: datetime) -> str:
        """Why no digest goes out at `now` ("" when one does): no campaign is in the digest
        (none has opened, or each closed `CLOSED_AFTER` past its last deadline) and nothing
        waits for the officer."""
        closed = []
        with self.sessions() as s:
            first = None
            for c in self.cfg.campaigns:
                status = self.status(s, now, c)
                if self.in_digest(c, status, now):
                    return ""
                first = first or status
                last = max([status.deadline, *(u.deadline for u in status.units)])
                opens = c.opens_at
                closed.append(
                    f"{c.id} opens {opens.isoformat()}"
                    if opens is not None and now < opens
                    else f"{c.id} closed {(last + CLOSED_AFTER).isoformat()}"
                )
        assert first is not None
        if self.waiting(first):
            return ""
        return f"no campaign open ({'; '.join(closed)}) and nothing waits for the officer"

    def _part(
        self, s: Session, c: CampaignConfig, status: CampaignStatus
    ) -> tuple[CampaignPart, CampaignBook]:
        sealed = sealed_reports(s, c.id)
        book = campaign_book(s, self.files, c, status)
        if book.table is None:
            return CampaignPart(status, sealed=sealed), book
        kinds = {u.code: u.kind for u in status.units}
        by_kind: dict[tuple[str, str], int] = {}
        for t in book.tables:
            for key, value in sums(t.rows, c.table.totals).items():
                for kind in ("", kinds[t.code]):
                    by_kind[(kind, key)] = by_kind.get((kind, key), 0) + value
        columns = tuple((col.headers[0].lower(), col.key) for col in c.table.columns if col.total)
        return CampaignPart(status, total_columns=columns, sums=by_kind, sealed=sealed), book

    def _other(self, s: Session, since: datetime | None) -> OtherMail:
        others = other_mail(s)
        names = {code: name for code, name in s.execute(select(Unit.code, Unit.name))}
        recent = [
            o
            for o in others
            if since is None or (o.received_at is not None and o.received_at > since)
        ]
        recent.sort(key=lambda o: (o.received_at is None, o.received_at), reverse=True)
        entries = [
            OtherEntry(o.subject, names.get(o.unit or "", ""), o.from_addr, o.received_at)
            for o in recent
        ]
        limit = min(LIST_LIMIT, 20)
        return OtherMail(len(others), Cut(tuple(entries[:limit]), max(len(entries) - limit, 0)))

    def build_digest(self, now: datetime) -> tuple[OutgoingMail, bytes]:
        parts, books = [], []
        with self.sessions() as s:
            first = None
            for c in self.cfg.campaigns:
                status = self.status(s, now, c)
                first = first or status
                if self.in_digest(c, status, now):
                    part, book = self._part(s, c, status)
                    parts.append(part)
                    books.append(book)
            assert first is not None
            since = s.scalar(
                select(OutboxMail.created_at)
                .where(OutboxMail.campaign_id == self.cfg.campaign.id, OutboxMail.kind == "digest")
                .order_by(OutboxMail.created_at.desc())
                .limit(1)
            )
            other = self._other(s, since)
        workbook = build_campaigns_workbook(books, now=now)
        mail = compose_digest(
            parts[0].status if parts else first,
            since=since,
            now=now,
            workbook=workbook,
            env=self.env,
            recipients=tuple(self.cfg.digest.recipients),
            campaigns=parts,
            other=other,
            base_url=self.cfg.web.base_url,
            campaign_titles={c.id: c.title for c in self.cfg.campaigns},
        )
        return mail, workbook

    def queue_digest(self, now: datetime, *, force: bool = False) -> int:
        """Queue today's digest once its hour has passed (a digest missed while the daemon was
        down goes out when it comes back); `force` queues one now regardless of the hour and of
        what it holds. Without `force`, a day when no campaign is in the digest and nothing
        waits for the officer gets none (`digest_skip`): decided once at the digest's hour,
        and said in one log line."""
        if not self.cfg.digest.recipients:
            return 0
        slot = self.digest_slot(now)
        if force:
            day = now.astimezone(ZoneInfo(self.cfg.campaign.timezone)).date()
            slot = f"{day.isoformat()}-manual-{now:%H%M%S}"
        if slot is None:
            return 0
        with self.sessions() as s:
            if outbox.exists(s, self.cfg.campaign.id, "digest", "", slot):
                return 0
        if not force:
            if self.digest_skipped == slot:
                return 0
            why = self.digest_skip(now)
            if why:
                self.digest_skipped = slot
                log.info("digest of %s not sent: %s", slot, why)
                return 0
        mail, _ = self.build_digest(now)
        with self.sessions.begin() as s:
            return int(
                self._enqueue(s, mail, campaign=self.cfg.campaign.id, unit="", slot=slot, now=now)
            )

    # -- the tick ------------------------------------------------------------------------------
    def deliver(self) -> outbox.Delivery:
        if self.mailer is None:
            return outbox.Delivery(error="no SMTP configured")
        return outbox.deliver_due(self.sessions, self.files, self.mailer, self.clock)

    def clock_jumped(self, jump: ClockJump, mono: float) -> None:
        if not jump.forward:
            log.warning("%s; nothing already sent is sent again", jump.describe())
            return
        self.held_until, self.pacing = mono + JUMP_SETTLE, True
        log.warning(
            "%s; reminders and overdue notices held for %.0f min, then at most %d per "
            "tick (one per unit: the latest slot due, not the slots jumped over)",
            jump.describe(),
            JUMP_SETTLE / 60,
            JUMP_PACE,
        )

    def tick(self) -> TickResult:
        now, mono = self.clock.now(), self.clock.monotonic()
        jump = self.watch.observe(now, mono)
        if jump is not None:
            self.clock_jumped(jump, mono)
        held = self.held_until is not None and mono < self.held_until
        if self.held_until is not None and not held:
            self.held_until = None
            log.info("clock jump: releasing reminders, at most %d per tick", JUMP_PACE)
        result = TickResult(
            receipts=self.queue_receipts(now),
            reminders=0
            if held
            else self.queue_reminders(now, limit=JUMP_PACE if self.pacing else None),
            digests=self.queue_digest(now),
            jump=jump,
            held=held,
        )
        result.delivery = self.deliver()
        log.debug(
            "notices tick: %d receipt(s), %d reminder(s), %d digest(s) queued%s; %d sent",
            result.receipts,
            result.reminders,
            result.digests,
            " (reminders held)" if held else "",
            result.delivery.sent,
        )
        return result


def campaign_book(
    s: Session, files: FileStore, c: CampaignConfig, status: CampaignStatus
) -> CampaignBook:
    """The campaign's part of the workbook: the seed's data from the stored facts, or its own
    table read back by its columns (`notifier.campaigntables`), its units only."""
    if seed_table(c):
        return CampaignBook(status, unit_data(s, c.id))
    scope = {u.code: u.kind for u in status.units}
    return CampaignBook(
        status, table=c.table, tables=_in_scope(unit_tables(s, files, c.id, c.table), scope)
    )


def _in_scope(tables: list[UnitTable], scope: dict[str, str]) -> list[UnitTable]:
    return [t for t in tables if t.code in scope]
