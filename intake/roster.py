"""The roster of reporting units: import from CSV or XLSX (`code,name,kind,emails,aliases`;
several emails or aliases separated by `;`), upserted by code. Roster addresses are replaced on
each import; addresses the officer taught (`learned`) are kept."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.errors import ConfigError
from parsers.text import clean_text
from store.models import Unit, UnitAddress

KINDS = ("ubnd", "htcd", "mn", "th", "thcs", "thpt", "gdnn-gdtx")
COLUMNS = ("code", "name", "kind", "emails", "aliases")


@dataclass(frozen=True)
class RosterRow:
    code: str
    name: str
    kind: str
    emails: tuple[str, ...]
    aliases: tuple[str, ...]


def _split(value: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in value.split(";") if x.strip())


def _rows_from_table(table: list[list[str]], source: str) -> list[RosterRow]:
    if not table:
        raise ConfigError(f"{source}: the roster is empty")
    header = [h.strip().lower() for h in table[0]]
    missing = [c for c in COLUMNS[:3] if c not in header]
    if missing:
        raise ConfigError(f"{source}: missing column(s) {', '.join(missing)} (need {','.join(COLUMNS)})")
    idx = {c: header.index(c) for c in COLUMNS if c in header}
    rows: list[RosterRow] = []
    seen_codes: dict[str, int] = {}
    seen_emails: dict[str, str] = {}
    for n, raw in enumerate(table[1:], start=2):
        cells = [clean_text(c, keep_newlines=False).strip() for c in raw]
        if not any(cells):
            continue

        def get(col: str, cells: list[str] = cells) -> str:
            i = idx.get(col)
            return cells[i] if i is not None and i < len(cells) else ""

        code, name, kind = get("code").lower(), get("name"), get("kind").lower()
        if not code or not name:
            raise ConfigError(f"{source}: line {n}: code and name are required")
        if kind not in KINDS:
            raise ConfigError(f"{source}: line {n}: kind {kind!r} is not one of {', '.join(KINDS)}")
        if code in seen_codes:
            raise ConfigError(f"{source}: line {n}: code {code} repeats line {seen_codes[code]}")
        seen_codes[code] = n
        emails = tuple(e.lower() for e in _split(get("emails")))
        for e in emails:
            if "@" not in e:
                raise ConfigError(f"{source}: line {n}: {e!r} is not an email address")
            if e in seen_emails:
                raise ConfigError(f"{source}: line {n}: {e} is also the address of {seen_emails[e]}")
            seen_emails[e] = code
        rows.append(RosterRow(code, name, kind, emails, _split(get("aliases"))))
    return rows


def read_roster(path: str | Path) -> list[RosterRow]:
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as e:
        raise ConfigError(f"cannot read roster {p}: {e.strerror}") from e
    if p.suffix.lower() in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        ws = wb.worksheets[0]
        table = [
            ["" if v is None else str(v) for v in row]
            for row in ws.iter_rows(max_row=10000, max_col=10, values_only=True)
        ]
        wb.close()
    else:
        text = data.decode("utf-8-sig")
        table = [row for row in csv.reader(io.StringIO(text))]
    return _rows_from_table(table, str(p))


def import_roster(s: Session, rows: list[RosterRow], now: datetime) -> tuple[int, int]:
    """Upsert units by code; returns (created, updated)."""
    created = updated = 0
    existing = {u.code: u for u in s.scalars(select(Unit))}
    taken = {a.address: a for a in s.scalars(select(UnitAddress))}
    for row in rows:
        unit = existing.get(row.code)
        if unit is None:
            unit = Unit(code=row.code, created_at=now)
            s.add(unit)
            created += 1
        else:
            updated += 1
        unit.name, unit.kind, unit.aliases = row.name, row.kind, ";".join(row.aliases)
        unit.active = True
        unit.updated_at = now
        for addr in list(unit.addresses):
            if addr.source == "roster" and addr.address not in row.emails:
                unit.addresses.remove(addr)
                taken.pop(addr.address, None)
        s.flush()
        for email in row.emails:
            owner = taken.get(email)
            if owner is not None:
                owner.unit, owner.source = unit, "roster"
            else:
                taken[email] = UnitAddress(unit=unit, address=email, source="roster")
                s.add(taken[email])
    s.flush()
    return created, updated
