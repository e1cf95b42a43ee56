"""The roster of reporting units: import from CSV or XLSX (`code,name,kind,emails,aliases`;
several emails or aliases separated by `;`), upserted by code. Roster addresses are replaced on
each import; addresses the officer taught (`learned`) are kept."""

from __future__ import annotations

import codecs
import csv
import io
import logging
import unicodedata
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import ConfigError
from intake.identify import RosterUnit
from parsers.office import OLE_MAGIC
from parsers.text import clean_text
from parsers.vietnamese import detect_legacy, to_unicode
from store.models import Unit, UnitAddress

log = logging.getLogger(__name__)

KINDS = ("ubnd", "htcd", "mn", "th", "thcs", "thpt", "gdnn-gdtx")
COLUMNS = ("code", "name", "kind", "emails", "aliases")


def _split(value: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in value.split(";") if x.strip())


def _rows_from_table(table: list[list[str]], source: str) -> list[RosterUnit]:
    if not table:
        raise ConfigError(f"{source}: the roster is empty")
    header = [h.strip().lower() for h in table[0]]
    missing = [c for c in COLUMNS[:3] if c not in header]
    if missing:
        raise ConfigError(
            f"{source}: missing column(s) {', '.join(missing)} (need {','.join(COLUMNS)})"
        )
    idx = {c: header.index(c) for c in COLUMNS if c in header}
    rows: list[RosterUnit] = []
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
                raise ConfigError(
                    f"{source}: line {n}: {e} is also the address of {seen_emails[e]}"
                )
            seen_emails[e] = code
        rows.append(RosterUnit(code, name, kind, emails, _split(get("aliases"))))
    return rows


_BOMS = (  # longest first: the UTF-32 LE mark starts with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_SAVE_AS = "save it from Excel as 'CSV UTF-8' or .xlsx"


def decode_text(data: bytes, source: str) -> tuple[str, str]:
    """(text, encoding) of a CSV roster: by its BOM, else UTF-16 told by its NUL bytes, else
    UTF-8, else Windows-1258 (Excel's "CSV" on Vietnamese Windows; TCVN3 or VNI text saved
    through it is recognised and converted)."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding), encoding
            except UnicodeDecodeError as e:
                raise ConfigError(
                    f"{source}: starts as {encoding} but byte {e.start} is not; {_SAVE_AS}"
                ) from e
    head = data[:4096]
    if head.count(0) > len(head) // 4:  # UTF-16 without a BOM: every other byte is 0 in ASCII text
        encoding = "utf-16-le" if head[1::2].count(0) > head[0::2].count(0) else "utf-16-be"
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError as e:
            raise ConfigError(
                f"{source}: holds NUL bytes but is not UTF-16 text; {_SAVE_AS}"
            ) from e
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1258")
    except UnicodeDecodeError as e:
        raise ConfigError(
            f"{source}: not UTF-8, UTF-16 or Windows-1258 text "
            f"(byte 0x{data[e.start]:02x} at {e.start}); {_SAVE_AS}"
        ) from e
    legacy = detect_legacy(data.decode("cp1252", errors="replace"))
    if legacy is not None:
        return to_unicode(data.decode("cp1252", errors="replace"), legacy), legacy
    return unicodedata.normalize("NFC", text), "cp1258"


def _csv_table(text: str, source: str) -> list[list[str]]:
    first = text.lstrip("\ufeff").split("\n", 1)[0]
    delimiter = ","
    for candidate in (",", "\t", ";"):  # Excel's "Unicode Text" is tab-separated
        header = {h.strip().lower() for h in next(csv.reader([first], delimiter=candidate), [])}
        if {"code", "name", "kind"} <= header:
            delimiter = candidate
            break
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        return [row for row in reader]
    except csv.Error as e:
        raise ConfigError(f"{source}: line {reader.line_num}: {e}; {_SAVE_AS}") from e


def _sheet_table(data: bytes, fmt: str, source: str) -> list[list[str]]:
    from parsers.facts import Unreadable
    from parsers.grid import grids

    try:
        sheets = grids(data, fmt, max_rows=10001, max_cols=10)
    except Unreadable as e:
        raise ConfigError(
            f"{source}: cannot read this {fmt} workbook ({e}); open it in Excel and "
            "save it again, or save it as 'CSV UTF-8'"
        ) from e
    if not sheets:
        return []
    return [["" if v is None else _cell_text(v) for v in row] for row in sheets[0].cells]


def _cell_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_roster(path: str | Path) -> list[RosterUnit]:
    """The roster rows of a CSV (any of the encodings `decode_text` knows; comma, tab or
    semicolon separated), XLSX or XLS file, told apart by content, not by name."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as e:
        raise ConfigError(f"cannot read roster {p}: {e.strerror}") from e
    source = str(p)
    if data.startswith(b"PK\x03\x04") or p.suffix.lower() in (".xlsx", ".xlsm"):
        table = _sheet_table(data, "xlsx", source)
    elif data.startswith(OLE_MAGIC) or p.suffix.lower() == ".xls":
        table = _sheet_table(data, "xls", source)
    else:
        text, encoding = decode_text(data, source)
        if encoding != "utf-8":
            log.info("roster %s read as %s", source, encoding)
        table = _csv_table(text, source)
    return _rows_from_table(table, source)


def import_roster(s: Session, rows: list[RosterUnit], now: datetime) -> tuple[int, int]:
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
