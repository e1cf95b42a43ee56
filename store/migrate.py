"""Move a store to another database (`intake db migrate-to URL`): SQLite → PostgreSQL, for
example. The target is migrated to the same schema, must be empty, receives every table in
foreign-key order, gets its sequences reset, and is then verified: row counts and a checksum
of every table's content must equal the source's.

The copy is one transaction, so a run killed before its commit leaves the target empty, and a
run killed after it leaves a complete copy unverified: a rerun into that target checks every
table's count and checksum against the source and, when they all match, reports the copy as
already done and verified (`Migration.already_copied`) instead of refusing a non-empty target."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Table, func, select, text

from store.db import upgrade
from store.models import Base

log = logging.getLogger(__name__)

CHUNK = 2000


class MigrationError(RuntimeError):
    """The target is not empty, or the copy does not verify."""


@dataclass(frozen=True)
class TableReport:
    name: str
    rows: int
    checksum: str


@dataclass(frozen=True)
class Migration:
    tables: list[TableReport]
    already_copied: bool = False  # the target held a verified copy already (a rerun)


def _norm(value: Any) -> str:
    if isinstance(value, datetime):
        moment: datetime = (
            value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        )
        return moment.isoformat()
    if isinstance(value, bool):
        return "1" if value else "0"
    return repr(value)


def checksum(engine: Engine, table: Table) -> TableReport:
    h = hashlib.sha256()
    n = 0
    pk = list(table.primary_key.columns)
    with engine.connect() as conn:
        for row in conn.execute(select(table).order_by(*pk)):
            h.update("\x1f".join(_norm(v) for v in row).encode())
            h.update(b"\x1e")
            n += 1
    return TableReport(table.name, n, h.hexdigest())


def _differences(
    source: Engine, target: Engine, tables: list[Table]
) -> tuple[list[TableReport], list[str]]:
    reports, diffs = [], []
    for t in tables:
        a, b = checksum(source, t), checksum(target, t)
        if a != b:
            diffs.append(
                f"{t.name}: source {a.rows} rows {a.checksum[:12]}, "
                f"target {b.rows} rows {b.checksum[:12]}"
            )
        reports.append(a)
    return reports, diffs


def migrate(source: Engine, target: Engine) -> Migration:
    upgrade(target)
    tables = [t for t in Base.metadata.sorted_tables]
    with target.connect() as conn:
        filled = [
            t.name for t in tables if conn.execute(select(func.count()).select_from(t)).scalar()
        ]
    if filled:
        reports, diffs = _differences(source, target, tables)
        if not diffs:
            log.info("the target already holds a verified copy of every table")
            return Migration(reports, already_copied=True)
        raise MigrationError(
            f"target table {filled[0]} is not empty and the target differs from the source "
            f"({'; '.join(diffs[:3])}); migrate into a fresh database"
        )
    with source.connect() as src, target.begin() as dst:
        for t in tables:
            result = src.execute(select(t).order_by(*t.primary_key.columns)).mappings()
            copied = 0
            while batch := result.fetchmany(CHUNK):
                dst.execute(t.insert(), [dict(r) for r in batch])
                copied += len(batch)
            log.info("copied %d row(s) of %s", copied, t.name)
        if target.dialect.name == "postgresql":
            for t in tables:
                cols = list(t.primary_key.columns)
                for col in cols:
                    if len(cols) == 1 and col.type.python_type is int:
                        dst.execute(
                            text(
                                f"SELECT setval(pg_get_serial_sequence('{t.name}', '{col.name}'), "
                                f"COALESCE((SELECT MAX({col.name}) FROM {t.name}), 0) + 1, false)"
                            )
                        )
    reports, diffs = _differences(source, target, tables)
    if diffs:
        raise MigrationError(diffs[0])
    return Migration(reports)
