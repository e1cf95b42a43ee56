"""The readable `intake status` table, in the officer's Vietnamese (plain text, fixed-width,
local time). Unit codes stay as they are (what `intake assign` and `units extend` take); reasons
are shown in Vietnamese (`notifier.reasons`); `--json` keeps the English keys and stored reasons.

Columns: MÃ ĐƠN VỊ, TÊN ĐƠN VỊ, TÌNH TRẠNG (đã đủ / chưa đủ / chưa gửi), HẠN ("quá hạn": past its
deadline and still missing or incomplete; "nộp muộn": completed after it; "gia hạn": a later
deadline of its own, not yet past), THƯ (messages), BC (report), BẢNG (data table), ẢNH
(photos), KT (nominations), GỬI LẦN ĐẦU, then the campaign's total columns (the seed's: SỐ LỚP
(classes/contests), SỐ NGƯỜI (participants); another table's: its `total = true` columns, headed
by their first wording).

The mailbox-wide lists follow (once, however many campaigns): mail whose unit is unclear (`intake
assign`), mail whose campaign is unclear (its unit known; `intake move` names the campaign, or
"other"), quarantined mail, mail waiting for a retry."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from notifier.digest import waits_for_campaign
from notifier.reasons import vi as reason_vi
from notifier.render import fmt_deadline, fmt_number, fmt_until
from store.campaigns import OtherMessage
from store.queries import CampaignStatus, UnitStatus

STATE_LABEL = {"missing": "chưa gửi", "incomplete": "chưa đủ", "complete": "đã đủ"}
SEED_COLUMNS = (("SỐ LỚP", "classes"), ("SỐ NGƯỜI", "participants"))
Totals = Mapping[str, Mapping[str, int | None]]  # unit code → {total column key: sum}


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


def render(
    cs: CampaignStatus,
    *,
    only: str | None = None,
    columns: Sequence[tuple[str, str]] = SEED_COLUMNS,
    totals: Totals | None = None,
    campaigns: Mapping[str, str] | None = None,
    lists: bool = True,
) -> str:
    """One campaign's table. `columns` are its total columns as (heading, key) and `totals`
    their sums per unit (default: the seed's classes and participants from the facts);
    `campaigns` maps every campaign id to its title (to tell mail whose campaign is unclear);
    `lists=False` leaves the mailbox-wide lists to `render_lists`, printed once."""
    tz = ZoneInfo(cs.timezone)
    titles = campaigns if campaigns is not None else {cs.campaign_id: cs.title}
    counts = {s: sum(1 for u in cs.units if u.state == s) for s in STATE_LABEL}
    by_campaign = sum(1 for m in cs.unassigned if waits_for_campaign(m, titles))
    widths = [max(_width(label), 7) for label, _ in columns]
    heads = " ".join(f"{label:>{w}}" for (label, _), w in zip(columns, widths, strict=True))
    lines = [
        f"{cs.title} — hạn nộp {fmt_deadline(cs.deadline, cs.timezone)}",
        f"đơn vị: {len(cs.units)}  đã đủ: {counts['complete']}  chưa đủ: "
        f"{counts['incomplete']}  chưa gửi: {counts['missing']}  quá hạn: "
        f"{sum(1 for u in cs.units if u.overdue)}  nộp muộn: "
        f"{sum(1 for u in cs.units if u.submitted_late)}  chưa rõ đơn vị: "
        f"{len(cs.unassigned) - by_campaign}  chờ xác định kế hoạch: {by_campaign}  "
        f"cách ly: {len(cs.quarantined)}  chờ xử lý lại: {len(cs.retrying)}",
        "",
        f"{_pad('MÃ ĐƠN VỊ', 22)} {_pad('TÊN ĐƠN VỊ', 34)} {_pad('TÌNH TRẠNG', 10)} "
        f"{_pad('HẠN', 8)} THƯ   BC BẢNG  ẢNH  KT  {_pad('GỬI LẦN ĐẦU', 11)} {heads}",
    ]
    for u in cs.units:
        if only and u.state != only:
            continue
        sums = (
            totals.get(u.code, {})
            if totals is not None
            else {"classes": u.total_classes, "participants": u.total_participants}
        )
        cells = " ".join(
            f"{'' if sums.get(key) is None else fmt_number(sums.get(key)):>{w}}"
            for (_, key), w in zip(columns, widths, strict=True)
        )
        lines.append(
            f"{_pad(u.code, 22)} {_pad(u.name, 34)} {_pad(STATE_LABEL.get(u.state, u.state), 10)} "
            f"{_pad(_deadline_mark(u, cs.deadline), 8)} {u.messages:>3} "
            f"{'x' if u.items.report else '-':>4} {'x' if u.items.data_table else '-':>4} "
            f"{u.items.photos:>4} {'x' if u.items.nominations else '-':>3}  "
            f"{_pad(_local(u.submitted_at, tz), 11)} {cells}".rstrip()
        )
    extended = [u for u in cs.units if u.deadline != cs.deadline and (not only or u.state == only)]
    if extended:
        lines += ["", "Đơn vị được gia hạn:"]
        lines += [
            f"  {_pad(u.code, 22)} {_pad(u.name, 34)} {fmt_until(u.deadline, cs.timezone)}"
            for u in extended
        ]
    if lists:
        listed = render_lists(cs, titles)
        if listed:
            lines += ["", listed]
    return "\n".join(lines)


def render_lists(cs: CampaignStatus, campaigns: Mapping[str, str] | None = None) -> str:
    """The mailbox-wide lists (the same in every campaign's status): mail whose unit or
    campaign is unclear, quarantined mail, mail waiting for a retry; "" when all are empty."""
    tz = ZoneInfo(cs.timezone)
    titles = campaigns if campaigns is not None else {cs.campaign_id: cs.title}
    names = {u.code: u.name for u in cs.units}
    by_unit = [m for m in cs.unassigned if not waits_for_campaign(m, titles)]
    by_campaign = [m for m in cs.unassigned if waits_for_campaign(m, titles)]
    lines: list[str] = []
    if by_unit:
        lines += ["", "Thư chưa xác định được đơn vị (ghi nhận: intake assign SỐ-THƯ MÃ-ĐƠN-VỊ):"]
        for m in by_unit:
            lines.append(
                f"  #{m.id} {_local(m.received_at, tz)} {_pad(m.from_addr or '-', 32)} "
                f"{_pad(m.subject or '-', 40)} — {reason_vi(m.reason)}"
            )
            if m.candidates:
                lines.append(
                    "      có thể là: "
                    + "; ".join(f"{names.get(c, c)} ({c})" for c in m.candidates)
                )
    if by_campaign:
        lines += [
            "",
            "Thư đang chờ xác định thuộc kế hoạch nào (chưa tính vào kế hoạch nào; chọn kế hoạch: "
            "intake move SỐ-THƯ MÃ-KẾ-HOẠCH, hoặc intake move SỐ-THƯ other nếu là thư khác):",
        ]
        for m in by_campaign:
            lines.append(
                f"  #{m.id} {_local(m.received_at, tz)} {_pad(m.from_addr or '-', 32)} "
                f"{_pad(m.subject or '-', 40)} — {reason_vi(m.reason)}"
            )
            if m.candidates:
                lines.append(
                    "      có thể thuộc: "
                    + "; ".join(f"{titles.get(c, c)} ({c})" for c in m.candidates)
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
    return "\n".join(lines[1:])


def render_other(others: Sequence[OtherMessage], tz: str = "Asia/Ho_Chi_Minh") -> str:
    """Mail of no campaign: kept, filed under its unit, counted nowhere (`intake move` puts one
    in a campaign)."""
    zone = ZoneInfo(tz)
    lines = [
        f"Thư khác, không thuộc kế hoạch nào ({len(others)}; "
        f"chuyển: intake move SỐ-THƯ MÃ-KẾ-HOẠCH):"
    ]
    for m in others:
        lines.append(
            f"  #{m.id} {_local(m.received_at, zone)} {_pad(m.unit or m.from_addr or '-', 32)} "
            f"{_pad(m.subject or '-', 40)} — {reason_vi(m.reason)}"
        )
    return "\n".join(lines)
