"""The "Tổng hợp số liệu" data table: find it among a file's sheets/tables and read its rows.

This module owns the table's meaning: which grid is the data table (title rows, cover sheets and
nomination lists are skipped), the header (one or two rows, merged "Số lượng" over "Số lớp/số
cuộc thi" and "Người", wording with or without diacritics, extra or reordered columns), the
data rows (blank and column-number rows skipped, the activity filled down, section rows "I",
"II" left out), the declared totals row ("Tổng cộng", "Cộng", "Tổng": never summed, checked
against the rows) and count cells through `parsers.numbers.parse_count`.

Known limit: a grid cannot tell a merged count cell from equal values typed in each row, so a
count merged down over several rows is counted once per row (identical consecutive rows are
collapsed).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

from parsers.facts import DataTable, TableRow
from parsers.grid import Cell, Grid, cell_text, grids
from parsers.numbers import parse_count
from parsers.vietnamese import fold

log = logging.getLogger(__name__)

HEADER_SCAN_ROWS = 40
_COUNT_NAMES = {"classes": "classes/contests", "people": "participants"}
_ROMAN = re.compile(r"^(?:[IVX]{1,5}|[A-H])[.)]?$")
_ROMAN_PREFIX = re.compile(r"^(?:[IVX]{1,5}|[A-H])[.)/-]\s+\S")
_TOTAL = re.compile(r"^(?:tong cong|tong so|tong|cong|cong tong|tong so chung)$")
INDEX_TOKEN = re.compile(r"^\(?(?:\d{1,2}|[a-z])\)?$")
FOOTER = re.compile(
    r"^(?:nguoi lap|nguoi tong hop|nguoi bao cao|thu truong|hieu truong|pho hieu truong|"
    r"giam doc|chu tich|xac nhan|ky ten|\(ky|t/m|tm |kt |noi nhan)"
    r"|^[a-z ]{0,40}\bngay\s*\d{0,2} thang\s*\d{0,2} nam\s*\d{0,4}$"
)
_NOTE_LINE = re.compile(r"^(?:ghi chu|luu y|nguon|\*)")
_NOMINATION_HEADER = re.compile(r"\b(?:ho va ten|ho ten|ten tap the|thanh tich)\b")


def norm(text: str) -> str:
    """Folded text with punctuation turned into spaces, for header and label matching. Short
    texts (labels, headers: the same few are asked for again and again) are cached."""
    return _norm_short(text) if len(text) <= 200 else _norm(text)


def _norm(text: str) -> str:
    return " ".join(_PUNCT.sub(" ", fold(text)).replace("_", " ").split())


_PUNCT = re.compile(r"[^\w/()*]+")
_norm_short = functools.lru_cache(maxsize=4096)(_norm)


def is_totals_label(label: str) -> bool:
    """Whether a row's folded label (`norm`) names a totals row ("Tổng cộng", "Cộng", "Tổng số")."""
    return bool(_TOTAL.match(label)) or label.startswith("tong cong")


def column_role(label: str) -> str | None:
    """What a (combined) header label means: stt, activity, organizer, classes, people,
    quantity, note, or None."""
    f = norm(label)
    words = set(f.replace("/", " ").split())
    if f in ("stt", "tt", "so tt", "so thu tu", "thu tu"):
        return "stt"
    if "ghi chu" in f:
        return "note"
    if f.startswith("don vi") and "tinh" not in words:
        return "organizer"
    if "hoat dong" in f or "noi dung" in f:
        return "activity"
    if "nguoi" in words and not words & {"phu", "trach", "chu", "tri", "ten"}:
        return "people"
    if "so lop" in f or "cuoc thi" in f or "lop" in words:
        return "classes"
    if "to chuc" in f or "thuc hien" in f:
        return "organizer"
    if f == "so luong":
        return "quantity"
    return None


@dataclass(frozen=True)
class Header:
    row: int  # index of the first header row
    last: int  # index of the last header row
    columns: dict[str, int]  # role → leftmost column
    titled: bool  # a "tổng hợp số liệu" title sits above the header


def find_header(cells: Sequence[Sequence[Cell]]) -> Header | None:
    """The data-table header in `cells`, or None. Two header rows are combined when the second
    names the count columns (the merged "Số lượng" layout)."""
    best: Header | None = None
    for r in range(min(len(cells), HEADER_SCAN_ROWS)):
        top = [cell_text(v) for v in cells[r]]
        if not any(column_role(t) == "activity" for t in top):
            continue
        last = r
        labels = top
        if r + 1 < len(cells):
            below = [cell_text(v) for v in cells[r + 1]]
            if any(
                column_role(b) in ("classes", "people") and b != t
                for b, t in zip(below, top, strict=False)
            ) and not any(_is_number(v) for v in cells[r + 1]):
                last = r + 1
                labels = [
                    " ".join(dict.fromkeys(x for x in (t, b) if x))
                    for t, b in zip(top, below + [""] * (len(top) - len(below)), strict=False)
                ]
        columns: dict[str, int] = {}
        for c, label in enumerate(labels):
            role = column_role(label)
            if role and role not in columns:
                columns[role] = c
        if not columns.keys() & {"classes", "people", "quantity"}:
            continue
        titled = any("tong hop so lieu" in norm(cell_text(v)) for row in cells[:r] for v in row)
        header = Header(r, last, columns, titled)
        if best is None or len(columns) > len(best.columns):
            best = header
    return best


def _is_number(value: Cell) -> bool:
    return isinstance(value, int | float) or bool(re.fullmatch(r"\d[\d.,]*", cell_text(value)))


def read_data_table(data: bytes, fmt: str) -> DataTable | None:
    """The data table of a xlsx/xls/docx/pdf file, or None when none resembles it.
    Raises `parsers.facts.Unreadable` when the file itself cannot be read."""
    return table_in(grids(data, fmt))


def table_in(tables: Sequence[Grid]) -> DataTable | None:
    """The data table among a file's grids (`parsers.grid.grids`), or None."""
    candidates: list[tuple[tuple[int, int, int], Grid, Header]] = []
    for order, grid in enumerate(tables):
        header = find_header(grid.cells)
        if header is None:
            continue
        filled = sum(1 for row in grid.cells[header.last + 1 :] if any(v is not None for v in row))
        candidates.append(
            ((len(header.columns) + 3 * header.titled, min(filled, 50), -order), grid, header)
        )
    if not candidates:
        return None
    _, grid, header = max(candidates, key=lambda c: c[0])
    log.debug("data table in %s, header at row %d", grid.source, header.row + 1)
    return read_rows(grid, header)


def read_rows(grid: Grid, header: Header) -> DataTable:
    """Rows, totals and warnings of `grid` below `header`."""
    cols = dict(header.columns)
    warnings: list[str] = []
    if "quantity" in cols and not cols.keys() & {"classes", "people"}:
        cols["people"] = cols["quantity"]
        warnings.append("a single quantity column was read as participants")

    def text(row: Sequence[Cell], role: str) -> str:
        c = cols.get(role)
        return cell_text(row[c]) if c is not None and c < len(row) else ""

    def raw(row: Sequence[Cell], role: str) -> Cell:
        c = cols.get(role)
        return row[c] if c is not None and c < len(row) else None

    rows: list[TableRow] = []
    sections: list[tuple[int, TableRow]] = []  # (index in rows where it would go, the row)
    totals: list[tuple[str, int | None, int | None]] = []
    previous: tuple[str, str] | None = None
    for index in range(header.last + 1, len(grid.cells)):
        row = grid.cells[index]
        values = [cell_text(v) for v in row]
        if not any(values):
            continue
        folded = [norm(v) for v in values if v]
        if not text(row, "stt").isdigit() and any(FOOTER.search(f) for f in folded):
            break  # signatures, "Bích Hòa, ngày 08 tháng 10 năm 2021", "Nơi nhận"
        if any(_NOMINATION_HEADER.search(f) for f in folded):
            break
        if sum(1 for v in values if column_role(v)) >= 2 and all(
            column_role(v) or not v for v in values
        ):
            continue  # the header again (a page break) or a stray header cell
        if len(folded) >= 3 and all(INDEX_TOKEN.match(f) for f in folded):
            continue  # column numbers "(1) (2) (3)" or "A B 1 2 3"
        stt, activity = text(row, "stt"), text(row, "activity")
        label = norm(stt if stt and not stt.isdigit() else "") or norm(activity)
        counts: dict[str, int | None] = {}
        for role in ("classes", "people"):
            count, problem = parse_count(raw(row, role))
            counts[role] = count
            if problem:
                where = "totals row" if _TOTAL.match(label) else f"row {index + 1}"
                warnings.append(f"{where}, {_COUNT_NAMES[role]}: {problem}")
        if is_totals_label(label):
            totals.append((label, counts["classes"], counts["people"]))
            continue
        organizer, note = text(row, "organizer"), text(row, "note")
        if (
            activity in ("", "...", "\u2026")
            and not organizer
            and counts
            == {
                "classes": None,
                "people": None,
            }
        ):
            continue  # an empty template line "1 | | | |" or "…"
        if not activity and not stt and previous is not None:
            stt, activity = previous  # merged down in a PDF, or left blank under the row above
        if (
            not (stt or organizer or note)
            and counts == {"classes": None, "people": None}
            and (_NOTE_LINE.match(norm(activity)))
        ):
            continue
        item = TableRow(stt, activity, organizer, counts["classes"], counts["people"], note)
        if _ROMAN.match(stt) or (not stt and _ROMAN_PREFIX.match(activity)):
            sections.append((len(rows), item))
            continue
        if rows and rows[-1] == item:
            continue  # a whole row merged down: one row
        rows.append(item)
        previous = (stt, activity)
    rows = _restore_childless_sections(rows, sections)
    return _summarise(rows, totals, grid.source, warnings)


def _restore_childless_sections(
    rows: list[TableRow], sections: list[tuple[int, TableRow]]
) -> list[TableRow]:
    """A roman-numbered row is a section heading only when rows follow it before the next
    section; otherwise it is an activity numbered I, II, ... and counts as a row."""
    out = list(rows)
    for k in range(len(sections) - 1, -1, -1):
        position, item = sections[k]
        next_position = sections[k + 1][0] if k + 1 < len(sections) else len(rows)
        if next_position == position and (
            item.classes_or_contests is not None or item.participants is not None
        ):
            out.insert(position, item)
    return out


def _summarise(
    rows: list[TableRow],
    totals: list[tuple[str, int | None, int | None]],
    source: str,
    warnings: list[str],
) -> DataTable:
    def total(values: list[int | None]) -> int | None:
        present = [v for v in values if v is not None]
        return sum(present) if present else None

    computed_classes = total([r.classes_or_contests for r in rows])
    computed_people = total([r.participants for r in rows])
    declared_classes = declared_people = None
    grand = [t for t in totals if t[0].startswith("tong")] or (totals if len(totals) == 1 else [])
    if grand:
        _, declared_classes, declared_people = grand[-1]
    for name, declared, computed in (
        ("classes/contests", declared_classes, computed_classes),
        ("participants", declared_people, computed_people),
    ):
        if declared is not None and declared != (computed or 0):
            warnings.append(
                f"declared total of {name} ({declared}) differs from the sum of the rows"
                f" ({computed or 0})"
            )
    return DataTable(
        rows=tuple(rows),
        total_classes=computed_classes,
        total_participants=computed_people,
        declared_total_classes=declared_classes,
        declared_total_participants=declared_people,
        source=source,
        warnings=tuple(warnings),
    )
