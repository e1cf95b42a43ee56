"""A campaign's status and data rows, computed once per change of the store.

`store.queries.campaign_status` and `unit_data` read every unit, submission and file of a
campaign (about 0.25 s and 0.3 s at 5,000 units), and Tổng quan needs the whole status (a unit's
page reads that unit alone when the copy is out of date: `StatusCache.unit`). A
page is served from the copy made for the store as it is now: the copy is keyed by a fingerprint
the store answers in one cheap statement (a few milliseconds), which changes whenever anything
the status shows can have changed:

- mail: how many messages, the newest id, the latest `processed_at` (every filing and reparse
  sets it) and the sum of `attempts` (a failed try sets no time);
- the officer: the newest audit entry (assign, move, extend, requeue, reminder, … all audited);
- the roster: how many units and addresses, the latest unit `updated_at`;
- the mailbox: how many ledger entries, the latest ledger `updated_at`, and the heartbeats;
- the time: the minute of `now` (a deadline passing makes units late).

As a backstop a copy is never used after `TTL`, whatever the fingerprint says.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.campaignconfig import CampaignConfig
from intake.campaignstatus import status_for, unit_status_for
from parsers.vietnamese import fold
from store.models import AuditEntry, Heartbeat, LedgerEntry, Message, Unit, UnitAddress
from store.queries import CampaignStatus, UnitData, UnitStatus, unit_data

TTL = 60.0  # seconds


def fingerprint(s: Session, now: datetime) -> tuple[Any, ...]:
    """What changes whenever the status of any campaign can have changed (see above)."""

    def one(*cols: Any) -> Any:
        return select(*cols).scalar_subquery()

    row = s.execute(
        select(
            one(func.count(Message.id)),
            one(func.max(Message.id)),
            one(func.max(Message.processed_at)),
            one(func.sum(Message.attempts)),
            one(func.max(AuditEntry.id)),
            one(func.count(Unit.id)),
            one(func.max(Unit.updated_at)),
            one(func.count(UnitAddress.id)),
            one(func.count(LedgerEntry.id)),
            one(func.max(LedgerEntry.updated_at)),
            one(func.max(Heartbeat.last_success_at)),
            one(func.max(Heartbeat.failing_since)),
        )
    ).one()
    return (*row, now.replace(second=0, microsecond=0))


@lru_cache(maxsize=20_000)
def folded_name(name: str) -> str:
    """fold(name), kept per name: the same unit names come back at every new copy."""
    return fold(name)


@dataclass(frozen=True)
class Status:
    """A campaign's status with each unit's name folded (`parsers.vietnamese.fold`), by code."""

    cs: CampaignStatus
    folded: dict[str, str]


@dataclass
class _Copy:
    key: tuple[Any, ...]
    made: float  # monotonic
    value: Any


class StatusCache:
    """Thread-safe; two threads missing at once may both compute (the same result).

    A page about one unit does not compute the whole campaign when the copy is out of date: it
    takes the unit from a fresh copy if there is one, else reads that unit's rows alone
    (`store.queries.unit_status`, `unit_data(code=)`: the same values as its entries in the
    whole)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        ttl: float = TTL,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sessions = sessions
        self.ttl = ttl
        self.monotonic = monotonic
        self._copies: dict[tuple[str, str], _Copy] = {}
        self._lock = threading.Lock()

    def _fresh(self, what: str, campaign: CampaignConfig, key: tuple[Any, ...]) -> _Copy | None:
        with self._lock:
            copy = self._copies.get((what, campaign.id))
        if copy is not None and copy.key == key and self.monotonic() - copy.made < self.ttl:
            return copy
        return None

    def _get(
        self, what: str, campaign: CampaignConfig, now: datetime, compute: Callable[[Session], Any]
    ) -> Any:
        with self.sessions() as s:
            key = fingerprint(s, now)
            copy = self._fresh(what, campaign, key)
            if copy is not None:
                return copy.value
            value = compute(s)
        with self._lock:
            self._copies[(what, campaign.id)] = _Copy(key, self.monotonic(), value)
        return value

    def _status(self, campaign: CampaignConfig, now: datetime) -> Status:
        def compute(s: Session) -> Status:
            cs = status_for(s, campaign, now)
            return Status(cs, {u.code: folded_name(u.name) for u in cs.units})

        out: Status = self._get("status", campaign, now, compute)
        return out

    def status(self, campaign: CampaignConfig, now: datetime) -> CampaignStatus:
        return self._status(campaign, now).cs

    def status_with_names(self, campaign: CampaignConfig, now: datetime) -> Status:
        """The status and each unit's name folded for searching (web.data.filter_units),
        folded once per copy rather than at every view."""
        return self._status(campaign, now)

    def unit_data(self, campaign: CampaignConfig, now: datetime) -> dict[str, UnitData]:
        """Each unit's latest data-table rows and nominations, by unit code."""
        out: dict[str, UnitData] = self._get(
            "data", campaign, now, lambda s: {d.code: d for d in unit_data(s, campaign.id)}
        )
        return out

    def unit(
        self, campaign: CampaignConfig, now: datetime, code: str
    ) -> tuple[UnitStatus | None, UnitData | None]:
        """One unit's status and data rows: from fresh copies of the whole campaign when there
        are some, else read from that unit's rows alone."""
        with self.sessions() as s:
            key = fingerprint(s, now)
            status = self._fresh("status", campaign, key)
            if status is not None:
                u = next((x for x in status.value.cs.units if x.code == code), None)
            else:
                u = unit_status_for(s, campaign, now, code)
            if u is None:
                return None, None
            rows = self._fresh("data", campaign, key)
            if rows is not None:
                return u, rows.value.get(code)
            return u, next(iter(unit_data(s, campaign.id, code=code)), None)

    def clear(self) -> None:
        with self._lock:
            self._copies.clear()
