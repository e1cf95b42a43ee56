"""What `status`, the digest and the workbook read: plain frozen dataclasses built from the store.

The query functions live below the types; notifier code takes only these types, never a session.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from parsers.facts import Nomination, TableRow

STATES = ("missing", "incomplete", "complete")


@dataclass(frozen=True)
class Items:
    report: bool = False
    data_table: bool = False
    photos: int = 0
    nominations: bool = False


@dataclass(frozen=True)
class UnitStatus:
    code: str
    name: str
    kind: str
    emails: tuple[str, ...]
    state: str  # one of STATES
    late: bool
    submitted_at: datetime | None  # first filed message's server receipt time (UTC, aware)
    last_message_at: datetime | None
    messages: int
    items: Items
    total_classes: int | None
    total_participants: int | None
    missing: tuple[str, ...]  # required item keys still missing: "report", "data_table", "photos"
    deadline: datetime  # effective deadline (per-unit extension applied), aware
    files: tuple[tuple[str, str], ...] = ()  # (item, original filename) of what was received


@dataclass(frozen=True)
class LooseMessage:
    """A message that is not (yet) a unit's submission: unassigned, quarantined or ignored."""

    id: int
    message_id: str
    from_addr: str
    subject: str
    received_at: datetime | None
    reason: str
    candidates: tuple[str, ...] = ()


@dataclass(frozen=True)
class AccountHealth:
    account: str
    last_success_at: datetime | None
    failing_since: datetime | None
    last_error: str


@dataclass(frozen=True)
class CampaignStatus:
    campaign_id: str
    title: str
    deadline: datetime  # aware
    timezone: str  # e.g. "Asia/Ho_Chi_Minh"
    units: tuple[UnitStatus, ...]
    unassigned: tuple[LooseMessage, ...] = ()
    quarantined: tuple[LooseMessage, ...] = ()
    ignored: tuple[LooseMessage, ...] = ()
    health: tuple[AccountHealth, ...] = ()


@dataclass(frozen=True)
class UnitData:
    """One unit's latest data-table rows and nominations, for the consolidated workbook."""

    code: str
    name: str
    kind: str
    rows: tuple[TableRow, ...] = ()
    nominations: tuple[Nomination, ...] = field(default=())
