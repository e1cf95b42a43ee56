"""A campaign's own data table, read back for the workbook, the digest's sums and `export`:
each unit's latest table of that campaign, its rows keyed by the campaign's columns
(`[[campaigns.table.columns]]`), and the sums of the `total = true` columns.

The seed's "Tổng hợp số liệu" is read at filing time into the stored facts (`store.queries.
unit_data`); another campaign's table is only recognised there (its headings against the
columns, `intake.campaignfiling`), so its rows are read here from the stored file: the latest
attachment counted as that unit's `data_table` in the campaign, through `parsers.grid` (bounded
like every table read). `read_rows` is pure: grids in, rows out.

A header row is the first row where at least two of the campaign's columns find one of their
wordings (folded: no diacritics, any case) as a whole cell, or as a phrase of two words or
more inside one; rows below it are data until the grid ends; empty rows and a totals row
("Tổng cộng", "Cộng") are left out, so a unit's declared total is never summed twice.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.campaignconfig import TableConfig
from parsers.facts import Unreadable
from parsers.grid import Cell, Grid, cell_text, grids
from parsers.table import norm
from store.files import FileStore
from store.models import Attachment, Message, Unit
from store.queries import unit_order
from store.submissions import in_campaign

log = logging.getLogger(__name__)

TABLE_FORMATS = frozenset({"xlsx", "xls", "ods", "docx", "pdf"})
_TOTAL_ROW = ("tong cong", "cong", "tong")

Row = dict[str, int | str | None]


@dataclass(frozen=True)
class UnitTable:
    """One unit's latest table of a campaign."""

    code: str
    name: str
    kind: str
    rows: tuple[Row, ...]
    filename: str = ""


def _matches(wordings: Sequence[str], cell: str) -> bool:
    folded = norm(cell)
    if not folded:
        return False
    for w in wordings:
        fw = norm(w)
        if fw and (fw == folded or (len(fw.split()) >= 2 and f" {fw} " in f" {folded} ")):
            return True
    return False


def _header(grid: Grid, table: TableConfig) -> tuple[int, dict[str, int]] | None:
    for r, row in enumerate(grid.cells[:30]):
        where: dict[str, int] = {}
        for c in table.columns:
            for i, value in enumerate(row):
                if i not in where.values() and _matches(c.headers, cell_text(value)):
                    where[c.key] = i
                    break
        if len(where) >= min(2, len(table.columns)):
            return r, where
    return None


def _int(value: Cell) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(round(value))
    digits = str(value).replace(".", "").replace(",", "").replace(" ", "")
    return int(digits) if digits.isdigit() else None


def read_rows(tables: Sequence[Grid], table: TableConfig) -> tuple[Row, ...]:
    """The data rows of the first grid that has the campaign's header (see the docstring)."""
    types = {c.key: c.type for c in table.columns}
    for grid in tables:
        found = _header(grid, table)
        if found is None:
            continue
        start, where = found
        rows: list[Row] = []
        for cells in grid.cells[start + 1:]:
            values = {k: cells[i] if i < len(cells) else None for k, i in where.items()}
            texts = [cell_text(v) for v in values.values()]
            if not any(texts):
                continue
            if any(norm(t) in _TOTAL_ROW for t in texts if t):
                continue
            row: Row = {}
            for key, value in values.items():
                row[key] = _int(value) if types[key] == "int" else (cell_text(value) or None)
            rows.append(row)
        return tuple(rows)
    return ()


def sums(rows: Sequence[Row], keys: Sequence[str]) -> dict[str, int]:
    out = dict.fromkeys(keys, 0)
    for row in rows:
        for k in keys:
            v = row.get(k)
            if isinstance(v, int):
                out[k] += v
    return out


def unit_tables(s: Session, files: FileStore, campaign_id: str, table: TableConfig) -> list[UnitTable]:
    """Each unit's latest table of the campaign (by receipt time), read from its stored file."""
    latest: dict[int, tuple[str, str, str]] = {}
    q = (
        select(Message.unit_id, Attachment.unit_id, Attachment.sha256, Attachment.fmt,
               Attachment.filename)
        .join(Attachment, Attachment.message_fk == Message.id)
        .where(in_campaign(campaign_id), Message.state == "filed",
               Attachment.items.contains("data_table"))
        .order_by(Message.received_at, Message.id, Attachment.id)
    )
    for msg_unit, att_unit, sha, fmt, filename in s.execute(q):
        uid = att_unit or msg_unit
        if uid is not None and fmt in TABLE_FORMATS:
            latest[uid] = (sha, fmt, filename)
    out = []
    for uid, code, name, kind in s.execute(
        select(Unit.id, Unit.code, Unit.name, Unit.kind).where(Unit.id.in_(list(latest)))
    ):
        sha, fmt, filename = latest[uid]
        try:
            rows = read_rows(grids(files.get(sha), fmt), table)
        except (Unreadable, OSError) as e:
            log.warning("table of unit %s (%s) not read again: %s", code, sha[:12], e)
            rows = ()
        out.append(UnitTable(code, name, kind, rows, filename))
    out.sort(key=lambda t: unit_order(t.kind, t.name))
    return out
