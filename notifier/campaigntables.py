"""A campaign's own data table, read back for the workbook, the digest's sums and `export`:
each unit's latest table of that campaign, read from the stored file.

The seed's "Tổng hợp số liệu" is read at filing time into the stored facts (`store.queries.
unit_data`); another campaign's table is only recognised there (its headings against the
columns, `intake.campaignfiling`), so its rows are read here from the stored file: the latest
attachment counted as that unit's `data_table` in the campaign, through `parsers.grid` (bounded
like every table read) and `parsers.campaigntable.read_rows` (the rows by the campaign's columns).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.campaignconfig import TableConfig
from parsers.campaigntable import Row, read_rows
from parsers.facts import Unreadable
from parsers.grid import grids
from store.files import FileStore
from store.models import Attachment, Message, MessageState, Unit
from store.queries import unit_order
from store.submissions import in_campaign

log = logging.getLogger(__name__)

TABLE_FORMATS = frozenset({"xlsx", "xls", "ods", "docx", "pdf"})


@dataclass(frozen=True)
class UnitTable:
    """One unit's latest table of a campaign."""

    code: str
    name: str
    kind: str
    rows: tuple[Row, ...]
    filename: str = ""


def unit_tables(
    s: Session, files: FileStore, campaign_id: str, table: TableConfig
) -> list[UnitTable]:
    """Each unit's latest table of the campaign (by receipt time), read from its stored file."""
    latest: dict[int, tuple[str, str, str]] = {}
    q = (
        select(
            Message.unit_id,
            Attachment.unit_id,
            Attachment.sha256,
            Attachment.fmt,
            Attachment.filename,
        )
        .join(Attachment, Attachment.message_fk == Message.id)
        .where(
            in_campaign(campaign_id),
            Message.state == MessageState.FILED,
            Attachment.items.contains("data_table"),
        )
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
