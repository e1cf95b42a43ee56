"""The readable `intake status` table, in the officer's Vietnamese (plain text, fixed-width,
local time). Unit codes stay as they are (what `intake assign` and `units extend` take); reasons
are shown in Vietnamese (`notifier.reasons`); `--json` keeps the English keys and stored reasons.

Columns: MÃ ĐƠN VỊ, TÊN ĐƠN VỊ, TÌNH TRẠNG (đã đủ / chưa đủ / chưa gửi), HẠN ("quá hạn": past its
deadline and still missing or incomplete; "nộp muộn": completed after it; "gia hạn": a later
deadline of its own, not yet past), THƯ (messages), BC (report), BẢNG (data table), ẢNH
(photos), KT (nominations), GỬI LẦN ĐẦU, SỐ LỚP (classes/contests), SỐ NGƯỜI (participants)."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from notifier.reasons import vi as reason_vi
from notifier.render import fmt_deadline, fmt_number, fmt_until
from store.campaigns import OtherMessage
from store.queries import CampaignStatus, UnitStatus

STATE_LABEL = {"missing": "chưa gửi", "incomplete": "chưa đủ", "complete": "đã đủ"}


def _width(text: str) -> int:
    return sum(0 if unicodedata.combining(c) else 1 for c in unicodedata.normalize("NFC", text))


def _pad(text: str, width: int) -> str:
    text = unicodedata.normalize("NFC", text)
    if _width(text) > width:
        text = text[: width - 1] + "…"
    return text + " " * (width - _width(text))


def _local(dt: datetime | None, tz: ZoneInfo) -> str:
    return dt.astimezone(tz).strftime("%d/%m %H:%M") if dt else "-"


def _deadline_mark(u: UnitStatus, campaign_deadline: datetime) -> str:
    if u.overdue:
        return "quá hạn"
    if u.submitted_late:
        return "nộp muộn"
    if u.deadline != campaign_deadline:
        return "gia hạn"
    return "-"


def render(cs: CampaignStatus, *, only: str | None = None) -> str:
    tz = ZoneInfo(cs.timezone)
    counts = {s: sum(1 for u in cs.units if u.state == s) for s in STATE_LABEL}
    names = {u.code: u.name for u in cs.units}
    lines = [
        f"{cs.title} — hạn nộp {fmt_deadline(cs.deadline, cs.timezone)}",
        f"đơn vị: {len(cs.units)}  đã đủ: {counts['complete']}  chưa đủ: "
        f"{counts['incomplete']}  chưa gửi: {counts['missing']}  quá hạn: "
        f"{sum(1 for u in cs.units if u.overdue)}  nộp muộn: "
        f"{sum(1 for u in cs.units if u.submitted_late)}  chưa rõ đơn vị: {len(cs.unassigned)}  "
        f"cách ly: {len(cs.quarantined)}  chờ xử lý lại: {len(cs.retrying)}",
        "",
        f"{_pad('MÃ ĐƠN VỊ', 22)} {_pad('TÊN ĐƠN VỊ', 34)} {_pad('TÌNH TRẠNG', 10)} "
        f"{_pad('HẠN', 8)} THƯ   BC BẢNG  ẢNH  KT  {_pad('GỬI LẦN ĐẦU', 11)} {'SỐ LỚP':>7} "
        f"{'SỐ NGƯỜI':>9}",
    ]
    for u in cs.units:
        if only and u.state != only:
            continue
        lines.append(
            f"{_pad(u.code, 22)} {_pad(u.name, 34)} {_pad(STATE_LABEL.get(u.state, u.state), 10)} "
            f"{_pad(_deadline_mark(u, cs.deadline), 8)} {u.messages:>3} "
            f"{'x' if u.items.report else '-':>4} {'x' if u.items.data_table else '-':>4} "
            f"{u.items.photos:>4} {'x' if u.items.nominations else '-':>3}  "
            f"{_pad(_local(u.submitted_at, tz), 11)} "
            f"{'' if u.total_classes is None else fmt_number(u.total_classes):>7} "
            f"{'' if u.total_participants is None else fmt_number(u.total_participants):>9}"
        )
    extended = [u for u in cs.units if u.deadline != cs.deadline and (not only or u.state == only)]
    if extended:
        lines += ["", "Đơn vị được gia hạn:"]
        lines += [
            f"  {_pad(u.code, 22)} {_pad(u.name, 34)} {fmt_until(u.deadline, cs.timezone)}"
            for u in extended
        ]
    if cs.unassigned:
        lines += ["", "Thư chưa xác định được đơn vị (ghi nhận: intake assign SỐ-THƯ MÃ-ĐƠN-VỊ):"]
        for m in cs.unassigned:
            lines.append(
                f"  #{m.id} {_local(m.received_at, tz)} {_pad(m.from_addr or '-', 32)} "
                f"{_pad(m.subject or '-', 40)} — {reason_vi(m.reason)}"
            )
            if m.candidates:
                lines.append(
                    "      có thể là: "
                    + "; ".join(f"{names.get(c, c)} ({c})" for c in m.candidates)
                )
    if cs.quarantined:
        lines += ["", "Thư bị cách ly (sau khi khắc phục: intake requeue SỐ-THƯ):"]
        for m in cs.quarantined:
            lines.append(
                f"  #{m.id} {_local(m.received_at, tz)} {_pad(m.from_addr or '-', 32)} "
                f"{_pad(m.subject or '-', 40)} — {reason_vi(m.reason)}"
            )
    if cs.retrying:
        lines += ["", "Thư đang chờ xử lý lại:"]
        for r in cs.retrying:
            what = r.from_addr or ("-" if r.fetched else "(chưa tải về)")
            lines.append(
                f"  #{r.id} {_local(r.received_at, tz)} {_pad(what, 32)} "
                f"{_pad(r.subject or '-', 40)} — lần thử {r.attempts} lỗi, thử lại "
                f"{_local(r.next_attempt_at, tz)}: {reason_vi(r.last_error) or '-'}"
            )
    return "\n".join(lines)


def render_other(others: Sequence[OtherMessage], tz: str = "Asia/Ho_Chi_Minh") -> str:
    """Mail of no campaign: kept, filed under its unit, counted nowhere (`intake move` puts one
    in a campaign)."""
    zone = ZoneInfo(tz)
    lines = [
        f"Thư khác, không thuộc kế hoạch nào ({len(others)}; chuyển: intake move SỐ-THƯ MÃ-KẾ-HOẠCH):"
    ]
    for m in others:
        lines.append(
            f"  #{m.id} {_local(m.received_at, zone)} {_pad(m.unit or m.from_addr or '-', 32)} "
            f"{_pad(m.subject or '-', 40)} — {reason_vi(m.reason)}"
        )
    return "\n".join(lines)
