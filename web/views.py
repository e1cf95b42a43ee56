"""The console's pages about units and files: Tổng quan (a campaign, live, filtered), Đơn vị
(one unit: messages, files, data rows, nominations, deadline, a reminder now), Tải về (the
workbook now, a zip of one unit's files or of all units, streamed), Tình trạng hệ thống
(heartbeat, outbox, quarantined mail), and the stored files by their id. The mail the officer
handles (Chờ xử lý, Thư khác) is web.mailviews.

Changes go through the same functions the CLI uses (intake.officer.extend, web.actions),
audited under the account's name. Every page takes `?campaign=ID` (default: the first).
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from sqlalchemy import select

from core.campaignconfig import CampaignConfig
from core.errors import IntakeError
from intake.officer import extend
from notifier.render import KIND_LABELS
from notifier.workbook import XLSX_TYPE, build_workbook
from store.models import Attachment, SubmissionState, Unit
from store.queries import STATES, CampaignStatus
from web import actions, data, zips
from web.console import Console, console, who

bp = Blueprint("views", __name__)

NOTICES = {
    "assigned": "Đã giao thư cho đơn vị.",
    "extended": "Đã gia hạn thời hạn nộp cho đơn vị.",
    "reminder": "Đã xếp thư nhắc vào hàng gửi; dịch vụ tiếp nhận sẽ gửi trong ít phút.",
    "overdue": "Đã xếp thư báo quá hạn vào hàng gửi; dịch vụ tiếp nhận sẽ gửi trong ít phút.",
    "other": "Đã chuyển thư sang Thư khác.",
    "moved": "Đã chuyển thư sang đợt báo cáo khác.",
    "retried": "Đã đọc lại thư.",
    "refetch": "Thư sẽ được lấy lại từ hộp thư ở lần lấy thư tới.",
    "requeued": "Đã đưa thư gửi không được vào hàng gửi lại.",
    "requeued_one": "Đã đưa thư vào hàng gửi lại; dịch vụ tiếp nhận sẽ gửi trong ít phút.",
}
PAGE = 100  # units per page of Tổng quan (the figures count them all)
FILE_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'none'"


def campaign(c: Console) -> CampaignConfig:
    """The campaign of this request (`campaign` in the query or the form)."""
    return data.chosen_campaign(c.cfg, request.values.get("campaign", "")[:64])


def status(c: Console, k: CampaignConfig | None = None) -> CampaignStatus:
    """The campaign's status now (web.statuscache: computed once per change of the store)."""
    return c.statuses.status(k or campaign(c), c.now())


def notice() -> str:
    return NOTICES.get(request.args.get("ok", ""), "")


def here(endpoint: str, **values: Any) -> str:
    """A URL of this console that keeps the request's campaign when it is not the first."""
    k = campaign(console())
    if k.id != console().cfg.campaign.id:
        values["campaign"] = k.id
    return url_for(endpoint, **values)


@bp.get("/")
def overview() -> Any:
    c = console()
    named = c.statuses.status_with_names(campaign(c), c.now())
    cs = named.cs
    q, state, kind = (request.args.get(k, "").strip()[:100] for k in ("q", "state", "kind"))
    overdue = request.args.get("overdue") == "1"
    units = data.filter_units(
        cs,
        named.folded,
        q=q,
        state=state if state in STATES else "",
        kind=kind if kind in KIND_LABELS else "",
        overdue=overdue,
    )
    tally = Counter(u.state for u in cs.units)  # one pass over the units, not one per state
    counts = {st: tally[st] for st in STATES}
    late = sum(1 for u in cs.units if u.late and u.state != SubmissionState.COMPLETE)
    pages = max(1, -(-len(units) // PAGE))
    page = min(max(_int(request.args.get("page", "1")), 1), pages)
    keep: dict[str, Any] = {
        k: v
        for k, v in request.args.items()
        if k in ("q", "state", "kind", "overdue", "campaign") and v
    }
    links = {
        "prev": url_for("views.overview", **keep, page=page - 1) if page > 1 else "",
        "next": url_for("views.overview", **keep, page=page + 1) if page < pages else "",
    }
    return render_template(
        "overview.html",
        cs=cs,
        units=units[(page - 1) * PAGE : page * PAGE],
        found=len(units),
        page=page,
        pages=pages,
        links=links,
        counts=counts,
        late=late,
        q=q,
        state=state,
        kind=kind,
        overdue=overdue,
        kinds=KIND_LABELS,
        states=STATES,
        now=c.now(),
    )


def _int(text: str) -> int:
    return int(text) if text.isdigit() and len(text) < 7 else 1


@bp.get("/units/<code>")
def unit(code: str, error: str = "", status_code: int = 200) -> Any:
    c = console()
    k = campaign(c)
    # this unit alone when the campaign's copy is out of date (web.statuscache)
    u, ud = c.statuses.unit(k, c.now(), code)
    if u is None:
        abort(404)
    with c.sessions() as s:
        row = data.unit_by_code(s, code)
        assert row is not None
        messages = data.unit_messages(s, row.id)
        extended = row.extended_until
    return render_template(
        "unit.html",
        u=u,
        messages=messages,
        extended=extended,
        ud=ud,
        notice=notice(),
        error=error,
        k=k,
        remindable=u.state in actions.OPEN_STATES and bool(u.emails),
    ), status_code


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
        return unit(
            code,
            error="Ngày gia hạn không hợp lệ: hãy chọn một ngày (ngày/tháng/năm).",
            status_code=400,
        )
    try:
        with c.sessions.begin() as s:
            extend(s, code, until, by=who().name, now=c.now())
    except IntakeError:
        abort(404)
    return redirect(here("views.unit", code=code, ok="extended"), 303)


@bp.post("/units/<code>/remind")
def remind(code: str) -> Any:
    """A reminder (or an overdue notice) to the unit now, through the outbox (web.actions)."""
    c = console()
    try:
        sent = actions.remind_now(c, campaign(c), code, by=who().name)
    except actions.Refused as e:
        if e.status == 404:
            abort(404)
        return unit(code, error=e.text, status_code=e.status)
    return redirect(here("views.unit", code=code, ok=sent.kind), 303)


@bp.get("/download")
def download() -> Any:
    c = console()
    return render_template("download.html", cs=status(c), campaigns=c.cfg.campaigns, k=campaign(c))


@bp.get("/download/units/<code>.zip")
def unit_zip(code: str) -> Any:
    """One unit's files, streamed (web.zips)."""
    c = console()
    with c.sessions() as s:
        uid = s.scalar(select(Unit.id).where(Unit.code == code))
        if uid is None:
            abort(404)
        items = zips.entries(s, [uid], c.cfg.campaign.tz)
    return _zip(c, items, f"tep-{code}.zip")


@bp.get("/download/all.zip")
def all_zip() -> Any:
    """Every unit of the campaign, streamed (web.zips)."""
    c = console()
    k = campaign(c)
    codes = [u.code for u in status(c, k).units]
    with c.sessions() as s:
        ids = list(s.scalars(select(Unit.id).where(Unit.code.in_(codes)).order_by(Unit.code)))
        items = zips.entries(s, ids, k.tz)
    day = c.now().astimezone(k.tz).strftime("%Y-%m-%d")
    return _zip(c, items, f"tep-{k.id}-{day}.zip")


def _zip(c: Console, items: list[zips.Entry], filename: str) -> Response:
    resp = Response(zips.stream(c.files, items, c.cfg.campaign.tz), content_type="application/zip")
    resp.headers["Content-Disposition"] = _disposition(filename, inline=False)
    resp.headers["Content-Security-Policy"] = FILE_CSP + "; sandbox"
    return resp


@bp.get("/download/workbook.xlsx")
def workbook() -> Any:
    c = console()
    now = c.now()
    k = campaign(c)
    cs = status(c, k)
    body = build_workbook(cs, list(c.statuses.unit_data(k, now).values()), now=now)
    day = now.astimezone(k.tz).strftime("%Y-%m-%d")
    return _file(body, XLSX_TYPE, f"tong-hop-{k.id}-{day}.xlsx", inline=False)


@bp.get("/system")
def system(error: str = "", status_code: int = 200) -> Any:
    c = console()
    cs = status(c)
    with c.sessions() as s:
        counts = data.outbox_counts(s)
        queue = data.outbox_queue(s)
    return render_template(
        "system.html", cs=cs, counts=counts, queue=queue, now=c.now(), notice=notice(), error=error
    ), status_code


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
    resp.headers["Content-Security-Policy"] = FILE_CSP + (
        "" if content_type == "application/pdf" else "; sandbox"
    )
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
