"""The campaigns of the config: `[[campaigns]]` (several) or the single `[campaign]` table
(one), each with its window, keywords, units and data-table schema; read and checked here,
used as frozen `CampaignConfig` objects everywhere else.

A single `[campaign]` keeps today's meaning: without `opens` it has no lower bound (mail of any
date may be its), and every roster unit submits. In `[[campaigns]]`, `opens` defaults to 30 days
before the deadline. `table` defaults to the seed's "Tổng hợp số liệu" (`SEED_TABLE`, keys
`classes` and `participants` summed), so the seed's table is one schema among others.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.errors import ConfigError

OTHER = "other"  # the campaign of "other mail": a message that is no campaign's
ITEMS = ("report", "data_table", "photos", "nominations")
KINDS = ("ubnd", "htcd", "mn", "th", "thcs", "thpt", "gdnn-gdtx")
COLUMN_TYPES = ("int", "text")
DEFAULT_WINDOW = timedelta(days=30)  # `opens` of a [[campaigns]] entry, before its deadline


@dataclass(frozen=True)
class ColumnConfig:
    key: str = ""
    headers: list[str] = field(default_factory=list)
    type: str = "int"
    total: bool = False


@dataclass(frozen=True)
class TableConfig:
    title: str = ""
    columns: tuple[ColumnConfig, ...] = ()

    @property
    def totals(self) -> tuple[str, ...]:
        """The keys of the columns summed in status, digest and workbook."""
        return tuple(c.key for c in self.columns if c.total)


SEED_TABLE = TableConfig(
    title="Tổng hợp số liệu kết quả tổ chức Tuần lễ",
    columns=(
        ColumnConfig("stt", ["STT", "TT"], "text"),
        ColumnConfig("activity", ["Các hoạt động", "Hoạt động", "Nội dung hoạt động"], "text"),
        ColumnConfig("organizer", ["Đơn vị tổ chức"], "text"),
        ColumnConfig("classes", ["Số lớp/số cuộc thi", "Số lớp", "Số cuộc thi"], "int", True),
        ColumnConfig("participants", ["Người", "Số người", "Số người tham gia"], "int", True),
        ColumnConfig("note", ["Ghi chú"], "text"),
    ),
)


@dataclass(frozen=True)
class CampaignConfig:
    id: str = "tuan-le-htsd-2021"
    title: str = "Tuần lễ hưởng ứng học tập suốt đời năm 2021"
    deadline: str = "2021-10-10T00:00:00+07:00"
    timezone: str = "Asia/Ho_Chi_Minh"
    # ISO 8601; mail received before it is not this campaign's ("" = no lower bound)
    opens: str = ""
    keywords: list[str] = field(default_factory=list)  # [] = derived from the title
    units: list[str] = field(default_factory=list)  # unit kinds and/or codes; [] = every unit
    required: list[str] = field(default_factory=lambda: ["report", "data_table", "photos"])
    min_photos: int = 2
    table: TableConfig = SEED_TABLE

    @property
    def deadline_at(self) -> datetime:
        return datetime.fromisoformat(self.deadline)

    @property
    def opens_at(self) -> datetime | None:
        return datetime.fromisoformat(self.opens) if self.opens else None

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def submits(self, code: str, kind: str) -> bool:
        """Whether unit `code` (of `kind`) is one this campaign asks to submit."""
        return not self.units or code in self.units or kind in self.units


Section = Callable[[str, type, Any, str], Any]


def read_campaign(
    name: str, raw: Any, source: str, section: Section, *, several: bool
) -> CampaignConfig:
    """One campaign table (`[campaign]`, or an entry of `[[campaigns]]` when `several`)."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: [{name}] must be a table")
    raw = dict(raw)
    table_raw = raw.pop("table", None)
    campaign: CampaignConfig = section(name, CampaignConfig, raw, source)
    if table_raw is not None:
        campaign = dataclasses.replace(
            campaign, table=_table(f"{name}.table", table_raw, source, section)
        )
    _check(name, campaign, source)
    if several and not campaign.opens:
        opens = campaign.deadline_at - DEFAULT_WINDOW
        campaign = dataclasses.replace(campaign, opens=opens.isoformat())
    return campaign


def _table(name: str, raw: Any, source: str, section: Section) -> TableConfig:
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: [{name}] must be a table")
    unknown = set(raw) - {"title", "columns"}
    if unknown:
        raise ConfigError(
            f"{source}: unknown key {name}.{sorted(unknown)[0]} (known keys: columns, title)"
        )
    title = raw.get("title", "")
    if not isinstance(title, str):
        raise ConfigError(f"{source}: {name}.title must be str")
    cols_raw = raw.get("columns", [])
    if not isinstance(cols_raw, list) or not cols_raw:
        raise ConfigError(
            f"{source}: {name}.columns must list the table's columns ([[{name}.columns]])"
        )
    columns = tuple(section(f"{name}.columns", ColumnConfig, c, source) for c in cols_raw)
    keys = [c.key for c in columns]
    for c in columns:
        if not c.key:
            raise ConfigError(f"{source}: {name}.columns: every column needs a key")
        if not c.headers:
            raise ConfigError(
                f"{source}: {name}.columns {c.key!r}: give the header wordings (headers)"
            )
        if c.type not in COLUMN_TYPES:
            raise ConfigError(f"{source}: {name}.columns {c.key!r}: type must be int or text")
        if c.total and c.type != "int":
            raise ConfigError(
                f"{source}: {name}.columns {c.key!r}: only an int column can be a total"
            )
    if len(set(keys)) != len(keys):
        raise ConfigError(f"{source}: {name}.columns: a key is given twice ({', '.join(keys)})")
    return TableConfig(title=title, columns=columns)


def _check(name: str, c: CampaignConfig, source: str) -> None:
    if not c.id.strip():
        raise ConfigError(f"{source}: {name}.id must not be empty")
    if c.id == OTHER:
        raise ConfigError(f"{source}: {name}.id {OTHER!r} is reserved for mail of no campaign")
    for key, value in (("deadline", c.deadline), ("opens", c.opens)):
        if not value:
            continue
        try:
            when = datetime.fromisoformat(value)
        except ValueError as e:
            raise ConfigError(f"{source}: {name}.{key} is not ISO 8601: {e}") from e
        if when.tzinfo is None:
            raise ConfigError(
                f"{source}: {name}.{key} needs an offset, e.g. 2021-10-10T00:00:00+07:00"
            )
    opens = c.opens_at
    if opens is not None and opens >= c.deadline_at:
        raise ConfigError(f"{source}: {name}.opens must be before its deadline")
    try:
        c.tz  # noqa: B018
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise ConfigError(f"{source}: {name}.timezone {c.timezone!r} is unknown") from e
    unknown = set(c.required) - set(ITEMS)
    if unknown:
        raise ConfigError(f"{source}: {name}.required has unknown items {sorted(unknown)}")
    if not 0 <= c.min_photos <= 100:
        raise ConfigError(
            f"{source}: {name}.min_photos = {c.min_photos!r} is out of range: "
            "allowed 0 to 100 photos"
        )
    if any(not k.strip() for k in c.keywords):
        raise ConfigError(f"{source}: {name}.keywords: an empty keyword matches everything")


def read_campaigns(raw: Any, source: str, section: Section) -> tuple[CampaignConfig, ...]:
    """The `[[campaigns]]` array: at least one, ids unique."""
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{source}: campaigns must be an array of tables ([[campaigns]])")
    out = tuple(read_campaign("campaigns", r, source, section, several=True) for r in raw)
    ids = [c.id for c in out]
    for cid in ids:
        if ids.count(cid) > 1:
            raise ConfigError(f"{source}: two [[campaigns]] have the id {cid!r}")
    return out
