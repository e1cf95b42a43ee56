"""The officer's digest: one letter (HTML + text, Vietnamese) with the campaigns' progress and the
consolidated workbook attached.

Several campaigns: one letter, a section per open campaign ("A. <title>", its parts numbered
A.1–A.5; a campaign with its own table shows the sums of its `total = true` columns), then the
mailbox-wide lists once (unassigned, DMARC warnings, retrying, quarantined), a short "Thư khác"
count with the subjects of other mail received since the previous digest, and the health. With
one campaign the letter reads as it always did. Each section's dates (deadline, arrivals,
extensions) are in its campaign's own `timezone`; the mailbox-wide lists in the first one's.
With `[web] base_url`, each unit links to `{base_url}/units/<code>` and each unassigned message
to `{base_url}/pending#message-<id>`; a unit whose scanned report carries a red seal reads
"có dấu đỏ" where it is listed as arrived.

Contents: counts by state and by unit kind; a progress bar per kind drawn as an HTML table
(coloured cells with percentage widths: it renders in Gmail, Outlook and phone clients without
loading an image, and reads as numbers in the text part); what arrived since the previous
digest; missing units with their contact addresses; incomplete units with what they lack; units
past their deadline ("quá hạn": still missing or incomplete) apart from units that completed
after it ("nộp muộn"); units given a later deadline; unassigned messages with their number (what
`intake assign` takes) and the candidate units by name and code; quarantined messages with the
reasons, and mail waiting for a retry (next attempt, last error); the sums of classes/contests
and participants; the daemon's health per account.

The HTML reads on a phone (360–414 px) without sideways scrolling and on a desktop: every list
is one column of entries (a name, then a small line of facts) instead of a wide table, long
addresses and subjects may break anywhere, and only tables and inline styles are used (Gmail and
Outlook drop `<style>`).

Long lists are cut at `list_limit` entries ("… và N đơn vị khác"): the workbook holds them all,
and Gmail clips an HTML body beyond ~100 KB.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from jinja2 import Environment

from notifier.message import OutgoingMail
from notifier.render import KIND_LABELS, kind_label, kind_order, render
from notifier.workbook import XLSX_TYPE
from store.models import SubmissionState
from store.queries import CampaignStatus, LooseMessage, UnitStatus, unit_order

log = logging.getLogger(__name__)

LIST_LIMIT = 100
COLOURS = {"complete": "#2e8b57", "incomplete": "#e0a030", "missing": "#c8463c"}


@dataclass(frozen=True)
class Bar:
    """One progress bar: (state, count, percent width) segments with a non-zero count."""

    segments: tuple[tuple[str, int, int], ...]


@dataclass(frozen=True)
class KindRow:
    kind: str
    label: str
    total: int
    complete: int
    incomplete: int
    missing: int
    overdue: int  # past the deadline, still missing or incomplete ("quá hạn")
    late: int  # completed after the deadline ("nộp muộn")
    classes: int
    participants: int
    bar: Bar


@dataclass(frozen=True)
class Cut:
    """The first `limit` entries of a list, and how many were left out."""

    shown: tuple[object, ...]
    more: int


def _cut(items: Iterable[object], limit: int) -> Cut:
    items = list(items)
    return Cut(tuple(items[:limit]), max(len(items) - limit, 0))


def _bar(counts: dict[str, int]) -> Bar:
    """Widths in whole percent that add up to 100 (largest remainder), zero segments dropped."""
    total = sum(counts.values())
    if total == 0:
        return Bar(())
    exact = {k: v * 100 / total for k, v in counts.items()}
    widths = {k: int(x) for k, x in exact.items()}
    rest = 100 - sum(widths.values())
    for k in sorted(exact, key=lambda k: exact[k] - widths[k], reverse=True)[:rest]:
        widths[k] += 1
    return Bar(
        tuple(
            (k, counts[k], widths[k])
            for k in ("complete", "incomplete", "missing")
            if counts.get(k)
        )
    )


def _kind_row(kind: str, units: list[UnitStatus]) -> KindRow:
    counts = {
        s: sum(1 for u in units if u.state == s) for s in ("complete", "incomplete", "missing")
    }
    return KindRow(
        kind=kind,
        label=kind_label(kind),
        total=len(units),
        complete=counts["complete"],
        incomplete=counts["incomplete"],
        missing=counts["missing"],
        overdue=sum(1 for u in units if u.overdue),
        late=sum(1 for u in units if u.submitted_late),
        classes=sum(u.total_classes or 0 for u in units),
        participants=sum(u.total_participants or 0 for u in units),
        bar=_bar(counts),
    )


def _by_kind(units: Iterable[UnitStatus]) -> list[KindRow]:
    groups: dict[str, list[UnitStatus]] = {k: [] for k in KIND_LABELS}
    for u in units:
        groups.setdefault(u.kind, []).append(u)
    return [
        _kind_row(k, us) for k, us in sorted(groups.items(), key=lambda kv: kind_order(kv[0])) if us
    ]


def _arrived(units: Iterable[UnitStatus], since: datetime | None) -> list[UnitStatus]:
    got = [
        u
        for u in units
        if u.last_message_at is not None and (since is None or u.last_message_at > since)
    ]
    return sorted(got, key=lambda u: u.last_message_at or u.deadline, reverse=True)


def _ordered(units: Iterable[UnitStatus]) -> list[UnitStatus]:
    return sorted(units, key=lambda u: unit_order(u.kind, u.name))


@dataclass(frozen=True)
class Loose:
    """An unassigned message as the officer acts on it: its number and the candidate units as
    (name, code) pairs."""

    msg: LooseMessage
    candidates: tuple[tuple[str, str], ...]


def _loose(messages: Iterable[LooseMessage], names: dict[str, str]) -> list[Loose]:
    return [Loose(m, tuple((names.get(c, c), c) for c in m.candidates)) for m in messages]


def waits_for_campaign(m: LooseMessage, campaigns: Mapping[str, str]) -> bool:
    """Its unit is known and its campaign unclear (the officer names it with `intake move`):
    its reason says so and its candidates are campaigns (ids in `campaigns`). A message whose
    unit is unknown too has unit candidates, or none, and waits for `intake assign` first."""
    return (
        "campaign unclear" in m.reason
        and bool(m.candidates)
        and all(c in campaigns for c in m.candidates)
    )


@dataclass(frozen=True)
class CampaignPart:
    """What the digest shows of one campaign beyond its status: the columns its table sums
    (`total_columns`: (label, key); empty = the seed's classes and participants, read from
    `UnitStatus`), their sums by unit kind (`sums[(kind, key)]`, kind "" for all units), and
    the units whose scanned report carries a red seal ("có dấu đỏ")."""

    status: CampaignStatus
    total_columns: tuple[tuple[str, str], ...] = ()
    sums: Mapping[tuple[str, str], int] = field(default_factory=dict)
    sealed: frozenset[str] = frozenset()


@dataclass(frozen=True)
class OtherEntry:
    """A message of no campaign, as the digest lists it."""

    subject: str
    name: str  # its unit's name, "" when the sender is no unit
    from_addr: str
    received_at: datetime | None


@dataclass(frozen=True)
class OtherMail:
    total: int
    recent: Cut  # of OtherEntry: since the previous digest


def _campaign_ctx(
    part: CampaignPart,
    index: int,
    several: bool,
    since: datetime | None,
    now: datetime,
    list_limit: int,
) -> dict[str, object]:
    status = part.status
    units = status.units
    letter = chr(ord("A") + index) if index < 26 else str(index + 1)
    return {
        "id": status.campaign_id,
        "title": status.title,
        "tz": status.timezone,  # its dates in its own zone (`|deadline(c.tz)`)
        "letter": letter,
        "prefix": f"{letter}." if several else "",
        "deadline": status.deadline,
        "overall": _kind_row("", list(units)),
        "kinds": _by_kind(units),
        "arrived": _cut(_arrived(units, since), list_limit),
        "missing": _cut(
            _ordered(u for u in units if u.state == SubmissionState.MISSING), list_limit
        ),
        "incomplete": _cut(
            _ordered(u for u in units if u.state == SubmissionState.INCOMPLETE), list_limit
        ),
        "late": _cut(_ordered(u for u in units if u.submitted_late), list_limit),
        "extended": _cut(_ordered(u for u in units if u.deadline != status.deadline), list_limit),
        "past_deadline": now > status.deadline,
        "seed": not part.total_columns,
        "total_columns": part.total_columns,
        "sums": dict(part.sums),
        "sealed": part.sealed,
    }


def compose_digest(
    status: CampaignStatus,
    *,
    since: datetime | None,
    now: datetime,
    workbook: bytes,
    env: Environment,
    recipients: tuple[str, ...] | list[str],
    list_limit: int = LIST_LIMIT,
    campaigns: Sequence[CampaignPart] | None = None,
    other: OtherMail | None = None,
    base_url: str = "",
    campaign_titles: Mapping[str, str] | None = None,
) -> OutgoingMail:
    """The digest letter at `now`; `since` is the previous digest's time (None: the first).

    `status` gives the mailbox-wide lists (unassigned, quarantined, retrying mail, health) and,
    when `campaigns` is None, the one campaign shown. `campaigns` are the open campaigns, a
    section each (none: only the mailbox-wide lists). `base_url` is the web console's address:
    each unit links to `{base_url}/units/<code>`, each unassigned message to
    `{base_url}/pending#message-<id>`. `campaign_titles` (every configured campaign's id →
    title; default: the sections') tells the waiting mail whose campaign is unclear, listed
    apart with `intake move` and its candidate campaigns by title.
    """
    parts = list(campaigns) if campaigns is not None else [CampaignPart(status)]
    several = len(parts) != 1
    sections = [_campaign_ctx(p, i, several, since, now, list_limit) for i, p in enumerate(parts)]
    names = {u.code: u.name for p in [*parts, CampaignPart(status)] for u in p.status.units}
    titles = dict(campaign_titles or {p.status.campaign_id: p.status.title for p in parts})
    local_now = now.astimezone(ZoneInfo(status.timezone))
    first = (
        sections[0] if sections else _campaign_ctx(CampaignPart(status), 0, False, since, now, 0)
    )
    ctx = {
        **first,  # one campaign: its parts at the top level too (subject, header)
        "campaigns": sections,
        "title": status.title if not sections else first["title"],
        "tz": status.timezone,
        "now": now,
        "since": since,
        "colours": COLOURS,
        "unassigned": _cut(
            _loose((m for m in status.unassigned if not waits_for_campaign(m, titles)), names),
            list_limit,
        ),
        "by_campaign": _cut(
            _loose((m for m in status.unassigned if waits_for_campaign(m, titles)), titles),
            list_limit,
        ),
        "quarantined": _cut(status.quarantined, list_limit),
        "retrying": _cut(status.retrying, list_limit),
        "ignored": len(status.ignored),
        "unverified": _cut(_loose(status.unverified, names), list_limit),
        "health": status.health,
        "other": other or OtherMail(0, Cut((), 0)),
        "base_url": base_url.rstrip("/"),
    }
    subject, text, html = render(env, "digest", **ctx)
    tag = status.campaign_id if not several else "cac-ke-hoach"
    name = f"tong-hop-{tag}-{local_now:%Y%m%d-%H%M}.xlsx"
    return OutgoingMail(
        kind="digest",
        to=tuple(recipients),
        subject=subject,
        text=text,
        html=html,
        attachments=((name, workbook, XLSX_TYPE),),
    )
