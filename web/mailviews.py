"""The mail the officer handles: Chờ xử lý (mail waiting for a unit or a campaign: assign it by
name, mark it as other mail, move it to another campaign), Thư khác (other mail, kept, with
"this belongs to campaign X" for mistakes), and on Tình trạng hệ thống quarantined mail tried
again and failed outgoing mail requeued.

Every waiting message is `id="message-<id>"` on /pending (the digest links there). Assigning
claims the message first with a conditional UPDATE, as web.actions does for its changes, so of
two officers acting on one message at once one wins and the other is told who did it.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, redirect, render_template, request
from sqlalchemy import CursorResult, update

from core.campaignconfig import OTHER
from intake.officer import assign
from store.models import LedgerState, Message, MessageState
from store.queries import UnitStatus
from web import actions, data
from web.console import console, who
from web.views import campaign, here, notice, status, system

bp = Blueprint("mail", __name__)


@bp.get("/pending")
def pending(error: str = "", status_code: int = 200) -> Any:
    c = console()
    cs = status(c)
    names = {u.code: u.name for u in cs.units}
    with c.sessions() as s:
        rows = data.waiting(s, names)
    return render_template(
        "pending.html",
        rows=rows,
        units=cs.units,
        notice=notice(),
        error=error,
        campaigns=c.cfg.campaigns,
    ), status_code


@bp.post("/messages/<int:message_id>/assign")
def assign_message(message_id: int) -> Any:
    c = console()
    text = request.form.get("unit", "")[:300]
    k = campaign(c)
    named = c.statuses.status_with_names(k, c.now())
    found = data.resolve_unit(named.cs.units, named.folded, text)
    if not isinstance(found, UnitStatus):
        if not found:
            return pending(
                error=f"Không tìm thấy đơn vị “{text}”. Hãy gõ tên đơn vị và chọn "
                "trong danh sách gợi ý.",
                status_code=400,
            )
        return pending(
            error=f"“{text}” khớp với {len(found)} đơn vị: "
            + "; ".join(f"{u.name} ({u.code})" for u in found[:5])
            + ". Hãy gõ tên đầy đủ hơn.",
            status_code=400,
        )
    name = who().name
    with c.sessions.begin() as s:
        # The claim comes first in the transaction: on SQLite it takes the write lock, on
        # PostgreSQL the row lock; the loser sees state != unassigned and changes nothing.
        result: CursorResult[Any] = s.execute(  # type: ignore[assignment]
            update(Message)
            .where(Message.id == message_id, Message.state == MessageState.UNASSIGNED)
            .values(assigned_by=name)
        )
        claimed = result.rowcount
        if claimed:
            assign(
                s, k, str(message_id), found.code, by=name, now=c.now(), campaigns=c.cfg.campaigns
            )
    if not claimed:
        with c.sessions() as s:
            msg = s.get(Message, message_id)
        if msg is None:
            abort(404)
        by = msg.assigned_by if msg.assigned_by not in ("", "auto") else msg.campaign_by
        return pending(
            error=f"Thư số {message_id} đã được {by or 'người khác'} xử lý "
            "trước bạn; không có thay đổi nào.",
            status_code=409,
        )
    return redirect(here("mail.pending", ok="assigned"), 303)


@bp.post("/messages/<int:message_id>/move")
def move_message(message_id: int) -> Any:
    """To another campaign (`campaign_to`), or to other mail (`campaign_to=other`); `back`
    names the page the form was on (pending or other)."""
    c = console()
    target = request.form.get("campaign_to", "")[:64]
    back = "mail.other" if request.form.get("back") == "other" else "mail.pending"
    try:
        actions.move_message(
            c, message_id, target, request.form.get("seen", "")[:200], by=who().name
        )
    except actions.Refused as e:
        if e.status == 404:
            abort(404)
        page = other if back == "mail.other" else pending
        return page(error=e.text, status_code=e.status)
    return redirect(here(back, ok="other" if target == OTHER else "moved"), 303)


@bp.get("/other")
def other(error: str = "", status_code: int = 200) -> Any:
    c = console()
    with c.sessions() as s:
        rows = data.other(s)
    return render_template(
        "other.html", rows=rows, notice=notice(), error=error, campaigns=c.cfg.campaigns
    ), status_code


@bp.post("/system/retry")
def retry() -> Any:
    """Quarantined mail tried again (web.actions.retry)."""
    c = console()
    try:
        state = actions.retry(c, request.form.get("message", "")[:32], by=who().name)
    except actions.Refused as e:
        return system(error=e.text, status_code=e.status)
    return redirect(
        here("views.system", ok="refetch" if state == LedgerState.PENDING else "retried"), 303
    )


@bp.post("/system/outbox/requeue")
def requeue_outbox() -> Any:
    actions.requeue_failed(console(), by=who().name)
    return redirect(here("views.system", ok="requeued"), 303)


@bp.post("/system/outbox/<int:outbox_id>/requeue")
def requeue_one(outbox_id: int) -> Any:
    """One failed outgoing mail requeued (web.actions.requeue_one); 409 if it is failed no
    longer."""
    try:
        actions.requeue_one(console(), outbox_id, by=who().name)
    except actions.Refused as e:
        if e.status == 404:
            abort(404)
        return system(error=e.text, status_code=e.status)
    return redirect(here("views.system", ok="requeued_one"), 303)
