"""The console's pages: Tổng quan (the campaign, live), Đơn vị (one unit: messages, files,
deadline), Chờ xử lý (mail waiting for the officer), Tải về (the workbook now), Tình trạng hệ
thống (heartbeat, outbox, quarantined mail), and the stored files by their id.

Changes go through the same functions the CLI uses (intake.officer.assign / extend), audited
under the account's name. Assigning claims the message first with a conditional UPDATE, so of
two officers assigning one message at once one wins and the other is told who did it.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from sqlalchemy import CursorResult, update

from core.errors import IntakeError
from intake.officer import assign, extend
from notifier.render import KIND_LABELS
from notifier.workbook import XLSX_TYPE, build_workbook
from store.models import Attachment, Message
from store.queries import STATES, CampaignStatus, UnitStatus, campaign_status, unit_data
from web import data
from web.console import Console, console, who

bp = Blueprint("views", __name__)

NOTICES = {
    "assigned": "Đã giao thư cho đơn vị.",
    "extended": "Đã gia hạn thời hạn nộp cho đơn vị.",
}
FILE_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'none'"


def _status(c: Console) -> CampaignStatus:
    k = c.cfg.campaign
    with c.sessions() as s:
        return campaign_status(s, campaign_id=k.id, title=k.title, deadline=k.deadline_at,
                               timezone=k.timezone, required=tuple(k.required),
                               min_photos=k.min_photos, now=c.now())


def _notice() -> str:
    return NOTICES.get(request.args.get("ok", ""), "")


@bp.get("/")
def overview() -> Any:
    c = console()
    cs = _status(c)
    q, state, kind = (request.args.get(k, "").strip()[:100] for k in ("q", "state", "kind"))
    overdue = request.args.get("overdue") == "1"
    units = data.filter_units(cs, q=q, state=state if state in STATES else "",
                              kind=kind if kind in KIND_LABELS else "", overdue=overdue)
    counts = {st: sum(1 for u in cs.units if u.state == st) for st in STATES}
    late = sum(1 for u in cs.units if u.late and u.state != "complete")
    return render_template("overview.html", cs=cs, units=units, counts=counts, late=late,
                           q=q, state=state, kind=kind, overdue=overdue, kinds=KIND_LABELS,
                           states=STATES, now=c.now())


@bp.get("/units/<code>")
def unit(code: str, error: str = "", status: int = 200) -> Any:
    c = console()
    cs = _status(c)
    u = next((x for x in cs.units if x.code == code), None)
    if u is None:
        abort(404)
    with c.sessions() as s:
        row = data.unit_by_code(s, code)
        assert row is not None
        messages = data.unit_messages(s, row.id)
        extended = row.extended_until
        ud = next((d for d in unit_data(s, c.cfg.campaign.id) if d.code == code), None)
    return render_template("unit.html", u=u, messages=messages, extended=extended, ud=ud,
                           notice=_notice(), error=error), status


def _end_of_day(text: str, c: Console) -> datetime | None:
    """A bare date from the form means the end of that day, local time (as in the CLI)."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None
    return datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=c.cfg.campaign.tz)


@bp.post("/units/<code>/extend")
def extend_deadline(code: str) -> Any:
    c = console()
    until = _end_of_day(request.form.get("until", ""), c)
    if until is None:
        return unit(code, error="Ngày gia hạn không hợp lệ: hãy chọn một ngày (ngày/tháng/năm).",
                    status=400)
    try:
        with c.sessions.begin() as s:
            extend(s, code, until, by=who().name, now=c.now())
    except IntakeError:
        abort(404)
    return redirect(url_for("views.unit", code=code, ok="extended"), 303)


@bp.get("/pending")
def pending(error: str = "", status: int = 200) -> Any:
    c = console()
    cs = _status(c)
    names = {u.code: u.name for u in cs.units}
    with c.sessions() as s:
        rows = data.waiting(s, names)
    return render_template("pending.html", rows=rows, units=cs.units, notice=_notice(),
                           error=error), status


@bp.post("/messages/<int:message_id>/assign")
def assign_message(message_id: int) -> Any:
    c = console()
    text = request.form.get("unit", "")[:300]
    found = data.resolve_unit(_status(c).units, text)
    if not isinstance(found, UnitStatus):
        if not found:
            return pending(error=f"Không tìm thấy đơn vị “{text}”. Hãy gõ tên đơn vị và chọn "
                                 "trong danh sách gợi ý.", status=400)
        return pending(error=f"“{text}” khớp với {len(found)} đơn vị: "
                             + "; ".join(u.name for u in found[:5]) + ". Hãy gõ tên đầy đủ hơn.",
                       status=400)
    name = who().name
    with c.sessions.begin() as s:
        # The claim comes first in the transaction: on SQLite it takes the write lock, on
        # PostgreSQL the row lock; the loser sees state != unassigned and changes nothing.
        result: CursorResult[Any] = s.execute(  # type: ignore[assignment]
            update(Message).where(Message.id == message_id, Message.state == "unassigned")
            .values(assigned_by=name)
        )
        claimed = result.rowcount
        if claimed:
            assign(s, c.cfg.campaign, str(message_id), found.code, by=name, now=c.now())
    if not claimed:
        with c.sessions() as s:
            msg = s.get(Message, message_id)
        if msg is None:
            abort(404)
        return pending(error=f"Thư số {message_id} đã được {msg.assigned_by or 'người khác'} xử lý "
                             "trước bạn; không có thay đổi nào.", status=409)
    return redirect(url_for("views.pending", ok="assigned"), 303)


@bp.get("/download")
def download() -> Any:
    return render_template("download.html")


@bp.get("/download/workbook.xlsx")
def workbook() -> Any:
    c = console()
    now = c.now()
    cs = _status(c)
    with c.sessions() as s:
        ud = unit_data(s, c.cfg.campaign.id)
    body = build_workbook(cs, ud, now=now)
    day = now.astimezone(c.cfg.campaign.tz).strftime("%Y-%m-%d")
    return _file(body, XLSX_TYPE, f"tong-hop-{c.cfg.campaign.id}-{day}.xlsx", inline=False)


@bp.get("/system")
def system() -> Any:
    c = console()
    cs = _status(c)
    with c.sessions() as s:
        counts = data.outbox_counts(s)
        queue = data.outbox_queue(s)
    return render_template("system.html", cs=cs, counts=counts, queue=queue, now=c.now())


def _disposition(filename: str, inline: bool) -> str:
    """`filename` for the header: a plain-ASCII fallback (anything else becomes `_`) and the
    exact name percent-encoded (RFC 6266 / 5987), so no sender text can break out of it."""
    clean = "".join(ch for ch in filename if ch.isprintable()) or "tep"
    ascii_name = re.sub(r"[^A-Za-z0-9._ -]", "_", clean)
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(clean, safe='')}"


def _file(body: bytes, content_type: str, filename: str, *, inline: bool) -> Response:
    resp = Response(body, content_type=content_type)
    resp.headers["Content-Disposition"] = _disposition(filename, inline)
    resp.headers["Content-Security-Policy"] = FILE_CSP + ("" if content_type == "application/pdf"
                                                          else "; sandbox")
    return resp


def _attachment(attachment_id: int) -> Attachment:
    with console().sessions() as s:
        a = s.get(Attachment, attachment_id)
    if a is None:
        abort(404)
    return a


@bp.get("/files/<int:attachment_id>")
def stored_file(attachment_id: int) -> Any:
    """A stored file by its id: images and PDFs open in the browser (by the type sniffed from
    their bytes, never the sender's claim); everything else downloads."""
    a = _attachment(attachment_id)
    try:
        body = console().files.get(a.sha256)
    except FileNotFoundError:
        abort(404)
    if a.fmt in data.INLINE_IMAGES:
        return _file(body, data.INLINE_IMAGES[a.fmt], a.filename, inline=True)
    if a.fmt == "pdf":
        return _file(body, "application/pdf", a.filename, inline=True)
    return _file(body, "application/octet-stream", a.filename, inline=False)


@bp.get("/files/<int:attachment_id>/thumb")
def thumbnail(attachment_id: int) -> Any:
    a = _attachment(attachment_id)
    digest = data.thumbnail_of(a.facts)
    if digest is None:
        abort(404)
    try:
        body = console().files.get(digest)
    except FileNotFoundError:
        abort(404)
    return _file(body, "image/jpeg", f"anh-nho-{attachment_id}.jpg", inline=True)
