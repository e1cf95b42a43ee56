"""What the officer changes from the console beyond assigning and extending (web.views): a
message marked as other mail or moved to a campaign, quarantined mail read again, a reminder
sent now, failed outgoing mail requeued. Each goes through the function the CLI uses
(intake.campaignmoves.move, Filer.reparse, intake.officer.requeue, notifier.outbox), audited
under the account's name.

Two officers at once. A form carries what its page showed (`seen`: the message's state and
campaign); the transaction begins with a conditional UPDATE on exactly that, which takes the
write lock (SQLite) or the row lock (PostgreSQL, where the loser's WHERE is evaluated again on
the winner's row). The winner changes the state or the campaign, so the loser's claim matches no
row: `Conflict` says who acted first, and nothing is done twice. A reminder's key in the outbox
is unique, so a second one the same day is refused by the store itself.

Errors are `Refused` (the officer's input, 400/404) and `Conflict` (someone else was first, 409),
with a Vietnamese sentence to show."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.campaignconfig import OTHER, CampaignConfig
from core.errors import IntakeError
from intake.campaignmoves import move
from intake.campaignstatus import status_for
from intake.officer import audit, requeue
from notifier import outbox
from notifier.message import build_message, new_message_id
from notifier.reminders import OPEN_STATES, Notice, compose_reminder

__all__ = ["OPEN_STATES", "Conflict", "Refused"]
from notifier.render import make_env
from store.models import LedgerState, Message, MessageState, OutboxMail
from web.console import Console


class Refused(Exception):
    """The request cannot be done as asked; `text` tells the officer why (Vietnamese)."""

    status = 400

    def __init__(self, text: str, status: int | None = None) -> None:
        super().__init__(text)
        self.text = text
        if status is not None:
            self.status = status


class Conflict(Refused):
    """Another officer acted on the same thing first; nothing was changed."""

    status = 409


def seen_of(state: str, campaign_id: str) -> str:
    """What a form says its page showed of a message (see the module docstring)."""
    return f"{state}:{campaign_id}"


def _claim(s: Session, message_id: int, seen: str) -> bool:
    state, _, campaign = seen.partition(":")
    result: CursorResult[Any] = s.execute(  # type: ignore[assignment]
        update(Message)
        .where(Message.id == message_id, Message.state == state, Message.campaign_id == campaign)
        .values(campaign_by=Message.campaign_by)
    )
    return bool(result.rowcount)


def _taken(c: Console, message_id: int) -> Conflict:
    with c.sessions() as s:
        msg = s.get(Message, message_id)
    if msg is None:
        return Conflict(f"Không có thư số {message_id}.", 404)
    who = msg.campaign_by if msg.campaign_by not in ("", "auto") else msg.assigned_by
    return Conflict(
        f"Thư số {message_id} đã được {who or 'người khác'} xử lý trước bạn; "
        "không có thay đổi nào. Trang đã được tải lại."
    )


def move_message(c: Console, message_id: int, target: str, seen: str, *, by: str) -> Message:
    """Put the message in campaign `target`, or in other mail (`OTHER`), as `intake move` does:
    the move, then its files read again as that campaign's."""
    if target != OTHER and target not in {k.id for k in c.cfg.campaigns}:
        raise Refused("Hãy chọn một đợt báo cáo trong danh sách.")
    with c.sessions.begin() as s:
        if not _claim(s, message_id, seen):
            raise _taken(c, message_id)
        try:
            msg = move(s, c.cfg, str(message_id), target, by=by, now=c.now())
        except IntakeError as e:  # received or quarantined: not a message to move
            raise Refused(
                f"Thư số {message_id} đang được xử lý hoặc đang bị tạm giữ: chưa chuyển được.", 409
            ) from e
        pk = msg.id
    with c.filing:
        c.filer().reparse([pk])
    with c.sessions() as s:
        out = s.get(Message, pk)
        assert out is not None
        s.expunge(out)
    return out


def retry(c: Console, ref: str, *, by: str) -> str:
    """Try quarantined mail again: a stored message is read again now (`intake reparse`); a
    mailbox entry never fetched (`#-7`) is fetched again at the next poll (`intake requeue`).
    Returns what it became ("filed", "unassigned", …, or "pending" for an entry)."""
    ref = ref.strip()
    if ref.lstrip("#").startswith("-"):
        try:
            with c.sessions.begin() as s:
                requeue(s, ref, by=by, now=c.now())
        except IntakeError as e:
            raise Conflict("Mục này không còn bị tạm giữ (có thể người khác đã thử lại).") from e
        return LedgerState.PENDING
    if not ref.isdigit():
        raise Refused("Không rõ thư nào cần thử lại.")
    pk = int(ref)
    with c.sessions.begin() as s:
        # the claim moves it out of quarantine at once (as the reparse would): a second
        # officer's claim then matches no row
        result: CursorResult[Any] = s.execute(  # type: ignore[assignment]
            update(Message)
            .where(Message.id == pk, Message.state == MessageState.QUARANTINED)
            .values(state=MessageState.RECEIVED, attempts=0, next_attempt_at=None)
        )
        if not result.rowcount:
            raise _taken(c, pk)
        audit(s, by, "reparse", c.now(), message=pk, previous=MessageState.QUARANTINED)
    with c.filing:
        c.filer().reparse([pk])
    with c.sessions() as s:
        return s.scalar(select(Message.state).where(Message.id == pk)) or ""


def requeue_failed(c: Console, *, by: str) -> tuple[list[int], list[int]]:
    """`intake outbox retry --failed`: mail given up on goes back to the queue, mail waiting out
    a backoff is due now; the daemon sends it at its next tick. Never a sent mail again."""
    with c.sessions.begin() as s:
        return outbox.requeue(s, c.now(), failed=True, by=by)


def requeue_one(c: Console, outbox_id: int, *, by: str) -> None:
    """One failed outgoing mail back to the queue (the system page's "Gửi lại" on its row);
    `Conflict` when it is failed no longer: another officer requeued it first, or it has been
    sent since. The requeue's conditional UPDATE is the claim: of two officers at once one
    requeues it, the other is told, and the mail is sent once."""
    with c.sessions.begin() as s:
        waiting, again = outbox.requeue(s, c.now(), failed=True, by=by, ids=[outbox_id])
        if not (waiting or again) and s.get(OutboxMail, outbox_id) is None:
            raise Refused("Không có thư gửi đi này.", 404)
    if not (waiting or again):
        raise Conflict(
            f"Thư gửi đi số {outbox_id} không còn ở tình trạng “không gửi được” (có thể người "
            "khác đã bấm Gửi lại trước bạn, hoặc thư đã được gửi); không có thay đổi nào."
        )


@dataclass(frozen=True)
class Reminded:
    kind: str  # "reminder" | "overdue"
    to: tuple[str, ...]


def remind_now(c: Console, campaign: CampaignConfig, code: str, *, by: str) -> Reminded:
    """Queue a reminder (an overdue notice once the deadline has passed) to one unit now, in
    the notifier's outbox, under the slot `manual@<local date>`: at most one such letter per unit
    a day, however many officers press the button; the daemon sends it at its next tick."""
    now = c.now()
    cfg = c.cfg
    env = make_env(cfg.path(cfg.notify.templates) if cfg.notify.templates else None)
    sender = cfg.smtp.sender or "intake@localhost"  # as notifier.service.Notifier
    with c.sessions() as s:
        cs = status_for(s, campaign, now)
    u = next((x for x in cs.units if x.code == code), None)
    if u is None:
        raise Refused("Không có đơn vị này trong đợt báo cáo.", 404)
    if u.state not in OPEN_STATES:
        raise Refused("Đơn vị đã nộp đủ: không cần nhắc.")
    if not u.emails:
        raise Refused("Đơn vị chưa có địa chỉ thư nào: không gửi được thư nhắc.")
    kind = "overdue" if now >= u.deadline else "reminder"
    slot = f"manual@{now.astimezone(campaign.tz).date().isoformat()}"
    notice = Notice(
        unit=u.code,
        kind=kind,
        slot=slot,
        to=u.emails,
        missing=u.missing,
        deadline=u.deadline,
        at=now,
    )
    mail = compose_reminder(notice, u, cs, now, env)
    msg = build_message(mail, sender=sender, now=now, message_id=new_message_id(sender))
    already = Conflict(
        "Hôm nay đơn vị này đã có một thư nhắc gửi ngay (do bạn hoặc người khác "
        "bấm trước); không gửi thêm."
    )
    try:
        with c.sessions.begin() as s:
            row = outbox.enqueue(
                s,
                c.files,
                msg,
                campaign_id=campaign.id,
                kind=kind,
                unit_code=u.code,
                slot=slot,
                now=now,
            )
            if row is None:
                raise already
            audit(
                s,
                by,
                "remind",
                now,
                unit=u.code,
                campaign=campaign.id,
                kind=kind,
                slot=slot,
                outbox=row.id,
            )
    except IntegrityError as e:  # the same key committed by another officer meanwhile
        raise already from e
    return Reminded(kind, u.emails)
