"""Reminders before the deadline and one overdue notice after it: when each is due (pure), and
the letters.

Slots, per unit and per effective deadline (the unit's extension, else the campaign's):
`before-5d`, `before-3d`, `before-1d` at `Schedule.at` local time on the day N days before the
deadline's local date (kept only when earlier than the deadline), and `overdue` at the first
`Schedule.at` on or after the deadline. A slot key carries the deadline's local date
(`before-3d@2021-10-10`), so an extension or a moved deadline opens fresh slots instead of being
silenced by the ones already sent for the old date.

`due()` rules:
- only units whose state is "missing" or "incomplete" (complete units get nothing);
- a slot is due once its time has come (`slot.at <= now`);
- of the slots that have come, only the LATEST is considered: when the daemon was down across
  several slots, the unit gets one letter (the most recent, e.g. the overdue notice), not a
  burst of stale reminders;
- a (unit, slot) pair already in `sent` (what the outbox holds) is never due again, and because
  only the latest slot is considered, an earlier slot can never be sent after a later one;
- units without a contact address are skipped with a warning (the digest lists them);
- with a `min_gap` (`[notify] reminder_min_gap`): a slot the daemon MISSED (its time passed
  more than `MISSED_AFTER` ago: it was down, or started mid-schedule) is sent only if the next
  slot is not due within the gap — else that next slot, coming soon, is the one letter; and no
  slot is sent while a reminder of this campaign reached the unit less than the gap ago
  (`last_reminded`, from the outbox; the slot is due again once the gap has passed). Started at
  07:50 on the 3-day morning, the daemon sends the 3-day reminder at 08:00, not a stale 5-day
  one first.

Reminders are per campaign: the caller passes one campaign's status (its units only) and
`sent`/`last_reminded` read from that campaign's outbox rows.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from jinja2 import Environment

from notifier.message import OutgoingMail
from notifier.render import DEFAULT_TZ, render
from store.queries import CampaignStatus, UnitStatus

log = logging.getLogger(__name__)

OPEN_STATES = ("missing", "incomplete")
# a slot whose time passed longer ago than this was missed (not a tick's ordinary lateness)
MISSED_AFTER = timedelta(hours=1)


@dataclass(frozen=True)
class Schedule:
    offsets_days: tuple[int, ...] = (5, 3, 1)
    at: time = time(8, 0)  # local time of day the letters go out
    tz: str = DEFAULT_TZ

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)


@dataclass(frozen=True)
class Slot:
    key: str  # "before-5d@2021-10-10" | "overdue@2021-10-10"
    kind: str  # "reminder" | "overdue"
    at: datetime  # aware, UTC


@dataclass(frozen=True)
class Notice:
    unit: str  # unit code
    kind: str  # "reminder" | "overdue"
    slot: str  # Slot.key
    to: tuple[str, ...]
    missing: tuple[str, ...]
    deadline: datetime  # the effective deadline the notice speaks of
    at: datetime  # when the slot came due
    campaign: str = ""  # the campaign's id (its outbox rows carry it)


def slots(deadline: datetime, schedule: Schedule) -> list[Slot]:
    """The reminder slots and the overdue slot of one deadline, in time order."""
    if deadline.tzinfo is None:
        raise ValueError("slots() needs an aware deadline")
    tz = schedule.zone
    local_deadline = deadline.astimezone(tz)
    day = local_deadline.date()
    tag = day.isoformat()
    out = []
    for n in sorted({n for n in schedule.offsets_days if n > 0}, reverse=True):
        at = datetime.combine(day - timedelta(days=n), schedule.at, tzinfo=tz)
        if at < local_deadline:
            out.append(Slot(f"before-{n}d@{tag}", "reminder", at.astimezone(UTC)))
    overdue = datetime.combine(day, schedule.at, tzinfo=tz)
    if overdue < local_deadline:
        overdue = datetime.combine(day + timedelta(days=1), schedule.at, tzinfo=tz)
    out.append(Slot(f"overdue@{tag}", "overdue", overdue.astimezone(UTC)))
    return sorted(out, key=lambda s: s.at)


def due(
    status: CampaignStatus,
    schedule: Schedule,
    now: datetime,
    sent: set[tuple[str, str]],
    extensions: dict[str, datetime],
    *,
    last_reminded: Mapping[str, datetime] | None = None,
    min_gap: timedelta = timedelta(0),
) -> list[Notice]:
    """The notices to queue now (see the module docstring for the rules).

    `extensions` maps unit codes to an extended deadline; it wins over `UnitStatus.deadline`
    (which already carries the store's extension, so passing `{}` is fine in the daemon).
    `last_reminded` maps unit codes to when this campaign's latest reminder or overdue notice
    reached (or was queued for) the unit; `min_gap` is `reminder_min_gap`.
    """
    if now.tzinfo is None:
        raise ValueError("due() needs an aware `now`")
    last_reminded = last_reminded or {}
    out = []
    for u in status.units:
        if u.state not in OPEN_STATES:
            continue
        deadline = extensions.get(u.code, u.deadline)
        all_slots = slots(deadline, schedule)
        come = [s for s in all_slots if s.at <= now]
        if not come:
            continue
        latest = come[-1]
        if (u.code, latest.key) in sent:
            continue
        if min_gap and _too_close(
            latest, all_slots[len(come) :], last_reminded.get(u.code), now, min_gap
        ):
            continue
        if not u.emails:
            log.warning("unit %s has no contact address; %s not sent", u.code, latest.key)
            continue
        out.append(
            Notice(
                unit=u.code,
                kind=latest.kind,
                slot=latest.key,
                to=u.emails,
                missing=u.missing,
                deadline=deadline,
                at=latest.at,
                campaign=status.campaign_id,
            )
        )
    return out


def _too_close(
    slot: Slot, later: list[Slot], last: datetime | None, now: datetime, gap: timedelta
) -> bool:
    """Whether sending `slot` now would put two reminders of one campaign within `gap`."""
    if last is not None and now - last < gap:
        return True  # a reminder reached the unit moments ago; this one waits out the gap
    missed = now - slot.at > MISSED_AFTER
    return missed and bool(later) and later[0].at - now < gap


def compose_reminder(
    notice: Notice,
    unit_status: UnitStatus,
    campaign: CampaignStatus,
    now: datetime,
    env: Environment,
) -> OutgoingMail:
    """The reminder or overdue letter for `notice` (template `reminder` or `overdue`)."""
    tz = ZoneInfo(campaign.timezone)
    days_left = (notice.deadline.astimezone(tz).date() - now.astimezone(tz).date()).days
    subject, text, html = render(
        env,
        notice.kind,
        unit=unit_status,
        missing=notice.missing,
        deadline=notice.deadline,
        days_left=max(days_left, 0),
        title=campaign.title,
        tz=campaign.timezone,
        now=now,
    )
    return OutgoingMail(kind=notice.kind, to=notice.to, subject=subject, text=text, html=html)
