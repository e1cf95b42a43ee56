"""What to send, decided and queued in the outbox, then delivered: receipts for newly filed
messages, due reminders and overdue notices, the daily digest. `tick(now)` does all of it and is
what the daemon schedules; the CLI calls the parts (`intake remind`, `intake digest`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from intake.clock import Clock
from intake.config import Config
from notifier import outbox
from notifier.digest import compose_digest
from notifier.message import OutgoingMail, build_message, new_message_id
from notifier.receipts import compose_receipt, receipt_block_reason
from notifier.reminders import Notice, Schedule, compose_reminder, due
from notifier.render import make_env
from notifier.smtp import Mailer
from notifier.workbook import build_workbook
from parsers.mime import kept_headers
from store.files import FileStore
from store.models import Attachment, Message, OutboxMail, Unit, UnitAddress
from store.queries import CampaignStatus, campaign_status, unit_data

log = logging.getLogger(__name__)


@dataclass
class TickResult:
    receipts: int = 0
    reminders: int = 0
    digests: int = 0
    delivery: outbox.Delivery = field(default_factory=outbox.Delivery)


class Notifier:
    def __init__(
        self, cfg: Config, sessions: sessionmaker[Session], files: FileStore, clock: Clock,
        mailer: Mailer | None, env: Environment | None = None,
    ) -> None:
        self.cfg = cfg
        self.sessions = sessions
        self.files = files
        self.clock = clock
        self.mailer = mailer
        templates = cfg.path(cfg.notify.templates) if cfg.notify.templates else None
        self.env = env or make_env(templates)
        self.sender = cfg.smtp.sender or "intake@localhost"
        self.schedule = Schedule(
            offsets_days=tuple(cfg.notify.reminder_days), at=cfg.notify.reminder_time,
            tz=cfg.campaign.timezone,
        )

    # -- shared --------------------------------------------------------------------------------
    def status(self, s: Session, now: datetime) -> CampaignStatus:
        c = self.cfg.campaign
        return campaign_status(
            s, campaign_id=c.id, title=c.title, deadline=c.deadline_at, timezone=c.timezone,
            required=tuple(c.required), min_photos=c.min_photos, now=now,
        )

    def _enqueue(self, s: Session, mail: OutgoingMail, *, unit: str, slot: str, now: datetime) -> bool:
        msg = build_message(mail, sender=self.sender, now=now, message_id=new_message_id(self.sender))
        return outbox.enqueue(
            s, self.files, msg, campaign_id=self.cfg.campaign.id, kind=mail.kind,
            unit_code=unit, slot=slot, now=now,
        ) is not None

    # -- receipts ------------------------------------------------------------------------------
    def queue_receipts(self, now: datetime) -> int:
        """A receipt for each filed message not yet answered, received in the last
        `receipt_max_age_hours` (a backfill of old mail stays quiet); at most one per message."""
        if not self.cfg.notify.receipts:
            return 0
        oldest = now - timedelta(hours=self.cfg.notify.receipt_max_age_hours)
        with self.sessions() as s:
            answered = {
                slot for (slot,) in s.execute(
                    select(OutboxMail.slot).where(
                        OutboxMail.campaign_id == self.cfg.campaign.id, OutboxMail.kind == "receipt"
                    )
                )
            }
            candidates = [
                pk for pk in s.scalars(
                    select(Message.id).where(
                        Message.campaign_id == self.cfg.campaign.id, Message.state == "filed",
                        Message.received_at >= oldest,
                    ).order_by(Message.id)
                ) if f"message-{pk}" not in answered
            ]
        queued = 0
        for pk in candidates:
            with self.sessions.begin() as s:
                queued += self._receipt(s, pk, now)
        return queued

    def _receipt(self, s: Session, pk: int, now: datetime) -> int:
        msg = s.get(Message, pk)
        if msg is None or msg.unit_id is None:
            return 0
        unit = s.get(Unit, msg.unit_id)
        assert unit is not None
        headers = kept_headers(self.files.get(msg.sha256))
        addresses = set(s.scalars(select(UnitAddress.address).where(UnitAddress.unit_id == unit.id)))
        reason = receipt_block_reason(msg.from_addr, "assigned", headers, unit_addresses=addresses)
        if reason:
            log.info("no receipt for message %d: %s", pk, reason)
            return 0
        status = self.status(s, now)
        unit_status = next(u for u in status.units if u.code == unit.code)
        files: list[tuple[str, str]] = []
        for att in s.scalars(select(Attachment).where(Attachment.message_fk == pk).order_by(Attachment.id)):
            items = [i for i in att.items.split(",") if i]
            files += [(item, att.filename) for item in items] or [("", att.filename)]
        mail = compose_receipt(
            unit_status, status, received_files=tuple(files), to=msg.from_addr,
            in_reply_to=msg.message_id, now=now, env=self.env, received_at=msg.received_at,
            original_subject=msg.subject,
        )
        return int(self._enqueue(s, mail, unit=unit.code, slot=f"message-{pk}", now=now))

    # -- reminders -----------------------------------------------------------------------------
    def due_reminders(self, now: datetime) -> tuple[CampaignStatus, list[Notice]]:
        with self.sessions() as s:
            status = self.status(s, now)
            sent = outbox.sent_keys(s, self.cfg.campaign.id, ("reminder", "overdue"))
        notices = due(status, self.schedule, now, sent, {})
        if not self.cfg.notify.overdue:
            notices = [n for n in notices if n.kind != "overdue"]
        return status, notices

    def queue_reminders(self, now: datetime) -> int:
        status, notices = self.due_reminders(now)
        by_code = {u.code: u for u in status.units}
        queued = 0
        for notice in notices:
            mail = compose_reminder(notice, by_code[notice.unit], status, now, self.env)
            with self.sessions.begin() as s:
                queued += self._enqueue(s, mail, unit=notice.unit, slot=notice.slot, now=now)
        return queued

    # -- digest --------------------------------------------------------------------------------
    def digest_slot(self, now: datetime) -> str | None:
        """Today's digest slot (local date) once its hour has come, else None."""
        local = now.astimezone(ZoneInfo(self.cfg.campaign.timezone))
        if local.time() < self.cfg.digest.at_time:
            return None
        return local.date().isoformat()

    def build_digest(self, now: datetime) -> tuple[OutgoingMail, bytes]:
        with self.sessions() as s:
            status = self.status(s, now)
            data = unit_data(s, self.cfg.campaign.id)
            since = s.scalar(
                select(OutboxMail.created_at).where(
                    OutboxMail.campaign_id == self.cfg.campaign.id, OutboxMail.kind == "digest"
                ).order_by(OutboxMail.created_at.desc()).limit(1)
            )
        workbook = build_workbook(status, data, now=now)
        mail = compose_digest(
            status, since=since, now=now, workbook=workbook, env=self.env,
            recipients=tuple(self.cfg.digest.recipients),
        )
        return mail, workbook

    def queue_digest(self, now: datetime, *, force: bool = False) -> int:
        """Queue today's digest once its hour has passed (a digest missed while the daemon was
        down goes out when it comes back); `force` queues one now regardless of the hour."""
        if not self.cfg.digest.recipients:
            return 0
        slot = self.digest_slot(now)
        if force:
            slot = f"{now.astimezone(ZoneInfo(self.cfg.campaign.timezone)).date().isoformat()}-manual-{now:%H%M%S}"
        if slot is None:
            return 0
        with self.sessions() as s:
            if outbox.exists(s, self.cfg.campaign.id, "digest", "", slot):
                return 0
        mail, _ = self.build_digest(now)
        with self.sessions.begin() as s:
            return int(self._enqueue(s, mail, unit="", slot=slot, now=now))

    # -- the tick ------------------------------------------------------------------------------
    def deliver(self) -> outbox.Delivery:
        if self.mailer is None:
            return outbox.Delivery(error="no SMTP configured")
        return outbox.deliver_due(self.sessions, self.files, self.mailer, self.clock)

    def tick(self) -> TickResult:
        now = self.clock.now()
        result = TickResult(
            receipts=self.queue_receipts(now),
            reminders=self.queue_reminders(now),
            digests=self.queue_digest(now),
        )
        result.delivery = self.deliver()
        return result


def write_html(mail: OutgoingMail, path: Path) -> None:
    path.write_text(mail.html or mail.text, encoding="utf-8")
