"""The readable `intake status` table (plain text, fixed-width, local time)."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from zoneinfo import ZoneInfo

from store.queries import CampaignStatus

STATE_LABEL = {"missing": "missing", "incomplete": "incomplete", "complete": "complete"}


def _width(text: str) -> int:
    return sum(0 if unicodedata.combining(c) else 1 for c in unicodedata.normalize("NFC", text))


def _pad(text: str, width: int) -> str:
    if _width(text) > width:
        text = text[: width - 1] + "…"
    return text + " " * (width - _width(text))


def _local(dt: datetime | None, tz: ZoneInfo) -> str:
    return dt.astimezone(tz).strftime("%d/%m %H:%M") if dt else "-"


def render(cs: CampaignStatus, *, only: str | None = None) -> str:
    tz = ZoneInfo(cs.timezone)
    counts = {s: sum(1 for u in cs.units if u.state == s) for s in STATE_LABEL}
    lines = [
        f"{cs.title} — deadline {cs.deadline.astimezone(tz).strftime('%d/%m/%Y %H:%M')}",
        f"units: {len(cs.units)}  complete: {counts['complete']}  incomplete: "
        f"{counts['incomplete']}  missing: {counts['missing']}  late: "
        f"{sum(1 for u in cs.units if u.late)}  unassigned: {len(cs.unassigned)}  "
        f"quarantined: {len(cs.quarantined)}  retrying: {len(cs.retrying)}",
        "",
        f"{_pad('CODE', 22)} {_pad('NAME', 34)} {_pad('STATE', 10)} LATE  MSGS "
        f"RPT TBL PHOTOS NOM  {_pad('FIRST', 11)} {'CLASSES':>7} {'PEOPLE':>7}",
    ]
    for u in cs.units:
        if only and u.state != only:
            continue
        lines.append(
            f"{_pad(u.code, 22)} {_pad(u.name, 34)} {_pad(u.state, 10)} "
            f"{'yes ' if u.late else '-   '}  {u.messages:>4} "
            f"{'x' if u.items.report else '-':>3} {'x' if u.items.data_table else '-':>3} "
            f"{u.items.photos:>6} {'x' if u.items.nominations else '-':>3}  "
            f"{_pad(_local(u.submitted_at, tz), 11)} "
            f"{'' if u.total_classes is None else u.total_classes:>7} "
            f"{'' if u.total_participants is None else u.total_participants:>7}"
        )
    for title, rows in (("Unassigned", cs.unassigned), ("Quarantined", cs.quarantined)):
        if rows:
            lines += ["", f"{title}:"]
            for m in rows:
                lines.append(
                    f"  #{m.id} {_local(m.received_at, tz)} {_pad(m.from_addr or '-', 32)} "
                    f"{_pad(m.subject or '-', 40)} — {m.reason}"
                )
    if cs.retrying:
        lines += ["", "Waiting for a retry:"]
        for r in cs.retrying:
            what = r.from_addr or ("-" if r.fetched else "(not fetched yet)")
            lines.append(
                f"  #{r.id} {_local(r.received_at, tz)} {_pad(what, 32)} "
                f"{_pad(r.subject or '-', 40)} — attempt {r.attempts} failed, next "
                f"{_local(r.next_attempt_at, tz)}: {r.last_error or '-'}"
            )
    return "\n".join(lines)
