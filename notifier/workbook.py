"""The consolidated workbook (openpyxl, write-only for speed) attached to the digest.

Sheets:
- "Tổng hợp số liệu": the City's form (title rows, a merged two-row header STT | Các hoạt động |
  Đơn vị tổ chức | Số lượng: Số lớp/số cuộc thi, Người | Ghi chú) with every unit's rows grouped
  by unit kind, then unit, a subtotal per unit and per kind and a grand total. Totals are plain
  numbers computed here (no formulas), so previews and `data_only` readers see them.
- "Tình trạng đơn vị": one row per unit (state, "Quá hạn" / "Nộp muộn", times in local time,
  missing items, totals, its own deadline).
- "Danh sách khen thưởng": every unit's nominations, collective entries first within a unit.

Units are in one order everywhere: kind (the district's order), then name in Vietnamese
collation (`store.queries.unit_order`).

Every sheet prints: A4 landscape, fitted to the page width (`fitToPage` with `fitToWidth = 1`,
`fitToHeight = 0`: without `fitToPage` Excel and LibreOffice ignore both and split the columns
over pages), header rows repeated on each page, wide text wrapped. Numbers stay numbers (to
sum) with the format `[$-42A]#,##0`: grouped the Vietnamese way, 1.200 (LibreOffice follows the
format's locale; Excel groups by the reader's Windows settings, 1.200 on a Vietnamese one).
`tests/test_workbook_print.py` converts the workbook with LibreOffice and checks the pages.

Sender-derived text can never become a formula: a string starting with = + - @ (or their
full-width forms, or a tab/CR/LF) is written as an explicit text cell with Excel's quotePrefix
style, so neither openpyxl nor Excel (even after the cell is edited) evaluates it.
"""

from __future__ import annotations

import io
import logging
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from copy import copy
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.styles.cell_style import StyleArray
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.properties import PageSetupProperties

from core.campaignconfig import TableConfig
from notifier.campaigntables import UnitTable
from notifier.render import STATE_LABELS, fmt_datetime, item_label, kind_label
from parsers.campaigntable import sums
from store.queries import CampaignStatus, UnitData, unit_order

log = logging.getLogger(__name__)

SUMMARY_SHEET = "Tổng hợp số liệu"
STATUS_SHEET = "Tình trạng đơn vị"
NOMINATION_SHEET = "Danh sách khen thưởng"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

_RISKY_START = frozenset("=+-@\t\r\n＝＋－＠")
_ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")
_THIN = Side(style="thin", color="999999")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_BOLD = Font(bold=True)
_TITLE = Font(bold=True, size=13)
_ITALIC = Font(italic=True)
_CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
_HEAD_FILL = PatternFill("solid", fgColor="DDE6F0")
_KIND_FILL = PatternFill("solid", fgColor="EFEFEF")
_WRAP = Alignment(wrap_text=True, vertical="top")
_TOP = Alignment(vertical="top")  # a row's numbers on the first line of its wrapped text
NUMBER = "[$-42A]#,##0"  # grouping in Vietnamese (locale 0x042A): 1.200
WHEN = "dd/mm/yyyy hh:mm"


class _Sheet:
    """A write-only sheet with helpers for safe text and styled cells."""

    def __init__(self, ws: WriteOnlyWorksheet) -> None:
        self.ws = ws
        self.row = 0
        self._styles: dict[tuple[Any, ...], tuple[StyleArray, tuple[Any, ...]]] = {}

    def text(self, value: str | None) -> Any:
        """A sender-controlled string, made inert."""
        if not value:
            return None
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
        if value[:1] in _RISKY_START:
            cell = WriteOnlyCell(self.ws)
            cell.value = value
            cell.data_type = "s"  # never "f"
            cell.quotePrefix = True
            return cell
        return value

    def styled(
        self,
        value: Any,
        *,
        font: Font | None = None,
        fill: PatternFill | None = None,
        align: Alignment | None = None,
        border: bool = False,
        number_format: str | None = None,
    ) -> WriteOnlyCell:
        """A cell of ours with a style. The style array is built once per combination and
        shared by every cell that uses it (nothing mutates it once written): setting font/fill
        per cell costs a lookup each, 4× slower. The cache is keyed by the identity of the
        style objects (the module's constants; hashing openpyxl descriptors is slow) and holds
        them, so an id cannot be reused while cached."""
        key = (id(font), id(fill), id(align), border, number_format)
        cached = self._styles.get(key)
        if cached is None:
            proto = WriteOnlyCell(self.ws)
            if font is not None:
                proto.font = font
            if fill is not None:
                proto.fill = fill
            if align is not None:
                proto.alignment = align
            if border:
                proto.border = _BOX
            if number_format is not None:
                proto.number_format = number_format
            cached = self._styles[key] = (proto._style, (font, fill, align))
        cell = WriteOnlyCell(self.ws, value=value)
        cell._style = cached[0]
        if cell.data_type == "f":  # our own labels never start with "=", but be safe
            cell._style = copy(cached[0])  # quotePrefix below must not reach the shared array
            cell.data_type = "s"
            cell.quotePrefix = True
        return cell

    def append(self, values: Iterable[Any], *, height: float | None = None) -> None:
        if height is not None:  # LibreOffice does not grow a row for its wrapped text
            self.ws.row_dimensions[self.row + 1].height = height
        self.ws.append(list(values))
        self.row += 1

    def widths(self, *widths: float) -> None:
        for i, w in enumerate(widths):
            self.ws.column_dimensions[chr(ord("A") + i)].width = w

    def print_setup(self, title_rows: str) -> None:
        """A4 landscape, as wide as the page, `title_rows` repeated on every page."""
        ws = self.ws
        ws.page_setup.paperSize = "9"  # A4
        ws.page_setup.orientation = "landscape"
        ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0  # as many pages down as it takes
        ws.page_margins = PageMargins(left=0.6, right=0.6, top=0.6, bottom=0.6)
        ws.print_title_rows = title_rows
        ws.print_options.horizontalCentered = True


def _sum(values: Iterable[int | None]) -> int | None:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def _add(a: int | None, b: int | None) -> int | None:
    if a is None:
        return b
    return a if b is None else a + b


def _unit_sort_key(kind: str, code: str, name: str) -> tuple[object, ...]:
    return (*unit_order(kind, name), code)


def _naive_local(dt: datetime | None, tz: ZoneInfo) -> datetime | None:
    """Excel has no time zones: the local wall time, without tzinfo."""
    return dt.astimezone(tz).replace(tzinfo=None) if dt is not None else None


def _summary(
    sh: _Sheet, status: CampaignStatus, data: list[UnitData], now: datetime | None
) -> None:
    ws = sh.ws
    sh.widths(8, 60, 30, 14, 12, 30)
    ws.freeze_panes = "A7"
    sh.print_setup("5:6")
    ws.row_dimensions[1].height = 22
    ws.row_dimensions[2].height = 20
    for ref in ("A1:F1", "A2:F2", "A3:F3", "A5:A6", "B5:B6", "C5:C6", "D5:E5", "F5:F6"):
        ws.merged_cells.add(ref)
    sh.append([sh.styled("TỔNG HỢP SỐ LIỆU KẾT QUẢ TỔ CHỨC TUẦN LỄ", font=_TITLE, align=_CENTER)])
    sh.append([sh.styled(status.title, font=_BOLD, align=_CENTER)])
    with_rows = [d for d in data if d.rows]
    when = f"đến {fmt_datetime(now, status.timezone)}, " if now is not None else ""
    sh.append(
        [
            sh.styled(
                f"(Số liệu tổng hợp {when}từ {len(with_rows)}/{len(status.units)} "
                f"đơn vị đã gửi bảng số liệu)",
                font=_ITALIC,
                align=_CENTER,
            )
        ]
    )
    sh.append([])
    head = {"font": _BOLD, "fill": _HEAD_FILL, "align": _CENTER, "border": True}
    sh.append(
        [
            sh.styled(v, **head)
            for v in ("STT", "Các hoạt động", "Đơn vị tổ chức", "Số lượng", None, "Ghi chú")
        ]
    )
    sh.append(
        [sh.styled(v, **head) for v in (None, None, None, "Số lớp/số cuộc thi", "Người", None)],
        height=30,
    )

    by_kind: dict[str, list[UnitData]] = {}
    for d in sorted(with_rows, key=lambda d: _unit_sort_key(d.kind, d.code, d.name)):
        by_kind.setdefault(d.kind, []).append(d)
    grand_c: int | None = None
    grand_p: int | None = None
    for k_idx, (kind, units) in enumerate(by_kind.items()):
        roman = _ROMAN[k_idx] if k_idx < len(_ROMAN) else str(k_idx + 1)
        sh.append(
            [
                sh.styled(roman, font=_BOLD, fill=_KIND_FILL),
                sh.styled(kind_label(kind).upper(), font=_BOLD, fill=_KIND_FILL),
            ]
        )
        kind_c: int | None = None
        kind_p: int | None = None
        for u_idx, d in enumerate(units, 1):
            sh.append([sh.styled(str(u_idx), font=_BOLD), sh.styled(d.name, font=_BOLD)])
            for r in d.rows:
                sh.append(
                    [
                        _wrapped(sh, r.stt),
                        _wrapped(sh, r.activity),
                        _wrapped(sh, r.organizer),
                        sh.styled(r.classes_or_contests, number_format=NUMBER, align=_TOP),
                        sh.styled(r.participants, number_format=NUMBER, align=_TOP),
                        _wrapped(sh, r.note),
                    ],
                    height=_height((r.activity, 60), (r.organizer, 30), (r.note, 30)),
                )
            uc = _sum(r.classes_or_contests for r in d.rows)
            up = _sum(r.participants for r in d.rows)
            sh.append(
                [
                    None,
                    sh.styled(f"Cộng {d.name}", font=_ITALIC),
                    None,
                    sh.styled(uc, font=_ITALIC, number_format=NUMBER),
                    sh.styled(up, font=_ITALIC, number_format=NUMBER),
                ]
            )
            kind_c, kind_p = _add(kind_c, uc), _add(kind_p, up)
        sh.append(
            [
                None,
                sh.styled(f"Cộng {kind_label(kind)}", font=_BOLD),
                None,
                sh.styled(kind_c, font=_BOLD, number_format=NUMBER),
                sh.styled(kind_p, font=_BOLD, number_format=NUMBER),
            ]
        )
        grand_c, grand_p = _add(grand_c, kind_c), _add(grand_p, kind_p)
    sh.append(
        [
            None,
            sh.styled("TỔNG CỘNG", font=_BOLD, fill=_HEAD_FILL),
            None,
            sh.styled(grand_c, font=_BOLD, fill=_HEAD_FILL, number_format=NUMBER),
            sh.styled(grand_p, font=_BOLD, fill=_HEAD_FILL, number_format=NUMBER),
        ]
    )


def _status_sheet(
    sh: _Sheet,
    status: CampaignStatus,
    totals: Sequence[tuple[str, Mapping[str, int | None]]] | None = None,
) -> None:
    """`totals`: (column label, value by unit code) of a campaign's own total columns; None:
    the seed's classes/contests and participants from the status."""
    tz = ZoneInfo(status.timezone)
    if totals is None:
        totals = (
            ("Số lớp/số cuộc thi", {u.code: u.total_classes for u in status.units}),
            ("Người", {u.code: u.total_participants for u in status.units}),
        )
    sh.widths(5, 17, 34, 14, 10, 11, 16.5, 16.5, 6, 30, *([10] * len(totals)), 16.5, 30)
    sh.ws.freeze_panes = "A2"
    sh.print_setup("1:1")
    sh.append(
        [
            sh.styled(v, font=_BOLD, fill=_HEAD_FILL, align=_CENTER, border=True)
            for v in (
                "STT",
                "Mã đơn vị",
                "Tên đơn vị",
                "Loại đơn vị",
                "Tình trạng",
                "Quá hạn / nộp muộn",
                "Thời điểm gửi",
                "Lần gửi cuối",
                "Số thư",
                "Còn thiếu",
                *(label for label, _ in totals),
                "Hạn nộp",
                "Địa chỉ thư điện tử",
            )
        ],
        height=30,
    )
    units = sorted(status.units, key=lambda u: _unit_sort_key(u.kind, u.code, u.name))
    for i, u in enumerate(units, 1):
        sh.append(
            [
                i,
                sh.text(u.code),
                sh.text(u.name),
                kind_label(u.kind),
                STATE_LABELS.get(u.state, u.state),
                "Quá hạn" if u.overdue else "Nộp muộn" if u.submitted_late else None,
                sh.styled(_naive_local(u.submitted_at, tz), number_format=WHEN),
                sh.styled(_naive_local(u.last_message_at, tz), number_format=WHEN),
                u.messages,
                sh.styled("; ".join(item_label(m) for m in u.missing) or None, align=_WRAP),
                *(sh.styled(values.get(u.code), number_format=NUMBER) for _, values in totals),
                sh.styled(_naive_local(u.deadline, tz), number_format=WHEN),
                _wrapped(sh, ", ".join(u.emails)),
            ],
            height=_height(
                ("; ".join(item_label(m) for m in u.missing), 30), (", ".join(u.emails), 30)
            ),
        )


def _nomination_sheet(sh: _Sheet, data: list[UnitData], names: dict[str, str]) -> None:
    sh.widths(6, 30, 28, 10, 18, 30, 50)
    sh.ws.freeze_panes = "A2"
    sh.print_setup("1:1")
    sh.append(
        [
            sh.styled(v, font=_BOLD, fill=_HEAD_FILL, align=_CENTER, border=True)
            for v in (
                "STT",
                "Đơn vị đề nghị",
                "Họ và tên / Tên tập thể",
                "Hình thức",
                "Chức vụ",
                "Đơn vị công tác",
                "Thành tích",
            )
        ]
    )
    n = 0
    for d in sorted(data, key=lambda d: _unit_sort_key(d.kind, d.code, d.name)):
        for nom in sorted(d.nominations, key=lambda x: not x.collective):  # stable
            n += 1
            sh.append(
                [
                    n,
                    sh.text(names.get(d.code, d.name)),
                    sh.text(nom.name),
                    "Tập thể" if nom.collective else "Cá nhân",
                    sh.text(nom.position),
                    sh.text(nom.unit),
                    sh.text(nom.achievement),
                ]
            )


def _height(*cells: tuple[str | None, float]) -> float | None:
    """The row height (points) for wrapped `(text, column width)` cells: 15 a line, None for
    one line (the default). A column width counts zeros; Vietnamese text runs ~1.15 letters to
    a zero in Calibri/Arial 11."""
    lines = max((math.ceil(len(text) / (width * 1.15)) for text, width in cells if text), default=1)
    return 15.0 * lines if lines > 1 else None


def _wrapped(sh: _Sheet, value: str | None) -> Any:
    """Sender-derived text, made inert, wrapped in its cell."""
    cell = sh.text(value)
    if not isinstance(cell, str):
        return cell  # None, or an inert text cell of its own
    return sh.styled(cell, align=_WRAP)


def build_workbook(
    status: CampaignStatus, data: list[UnitData], *, now: datetime | None = None
) -> bytes:
    """The consolidated .xlsx of `status` and the units' latest data (see the module docstring)."""
    wb = Workbook(write_only=True)
    _summary(_Sheet(wb.create_sheet(SUMMARY_SHEET)), status, data, now)
    _status_sheet(_Sheet(wb.create_sheet(STATUS_SHEET)), status)
    names = {u.code: u.name for u in status.units}
    _nomination_sheet(_Sheet(wb.create_sheet(NOMINATION_SHEET)), data, names)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def unit_totals(data: UnitData) -> tuple[int | None, int | None]:
    """(classes/contests, participants) of one unit's rows, as the summary sheet shows them."""
    return _sum(r.classes_or_contests for r in data.rows), _sum(r.participants for r in data.rows)


# -- several campaigns -------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignBook:
    """One campaign's part of the workbook: its status, and its data — the seed's table and
    nominations (`data`, `table` None), or its own table's rows (`table`, `tables`)."""

    status: CampaignStatus
    data: list[UnitData] = field(default_factory=list)
    table: TableConfig | None = None
    tables: Sequence[UnitTable] = ()

    def totals(self) -> list[tuple[str, dict[str, int | None]]] | None:
        """(label, value by unit) of the table's total columns; None for the seed's table."""
        if self.table is None:
            return None
        by_unit = {t.code: sums(t.rows, self.table.totals) for t in self.tables}
        return [
            (c.headers[0], {code: v[c.key] for code, v in by_unit.items()})
            for c in self.table.columns
            if c.total
        ]


_SHEET_BAD = re.compile(r"[\\/?*\[\]:]")


def sheet_name(prefix: str, title: str, used: set[str]) -> str:
    """An Excel sheet name: at most 31 characters, none of \\ / ? * [ ] :, unique."""
    base = " ".join(_SHEET_BAD.sub(" ", f"{prefix}{title}").split())[:31].rstrip() or prefix.strip()
    name, n = base, 1
    while name.casefold() in used:
        n += 1
        name = f"{base[: 31 - len(str(n)) - 1]}~{n}"
    used.add(name.casefold())
    return name


def _table_sheet(sh: _Sheet, book: CampaignBook, now: datetime | None) -> None:
    """A campaign's own table: its columns, every unit's rows grouped by kind, then unit, with a
    subtotal per unit and kind and a grand total of the `total = true` columns."""
    assert book.table is not None
    status, table = book.status, book.table
    columns = table.columns
    width = 2 + len(columns)
    last = chr(ord("A") + width - 1)
    sh.widths(8, 40, *(24 if c.type == "text" else 14 for c in columns))
    sh.ws.freeze_panes = "A6"
    sh.print_setup("5:5")
    for ref in (f"A1:{last}1", f"A2:{last}2", f"A3:{last}3"):
        sh.ws.merged_cells.add(ref)
    sh.append([sh.styled((table.title or status.title).upper(), font=_TITLE, align=_CENTER)])
    sh.append([sh.styled(status.title, font=_BOLD, align=_CENTER)])
    with_rows = [t for t in book.tables if t.rows]
    when = f"đến {fmt_datetime(now, status.timezone)}, " if now is not None else ""
    sh.append(
        [
            sh.styled(
                f"(Số liệu tổng hợp {when}từ {len(with_rows)}/{len(status.units)} "
                "đơn vị đã gửi bảng số liệu)",
                font=_ITALIC,
                align=_CENTER,
            )
        ]
    )
    sh.append([])
    head = {"font": _BOLD, "fill": _HEAD_FILL, "align": _CENTER, "border": True}
    sh.append(
        [sh.styled(v, **head) for v in ("STT", "Đơn vị", *(c.headers[0] for c in columns))],
        height=30,
    )
    keys = table.totals

    def total_row(
        label: str, values: Mapping[str, int], font: Font, fill: PatternFill | None = None
    ) -> None:
        sh.append(
            [
                None,
                sh.styled(label, font=font, fill=fill),
                *(
                    sh.styled(values[c.key], font=font, fill=fill, number_format=NUMBER)
                    if c.total
                    else None
                    for c in columns
                ),
            ]
        )

    by_kind: dict[str, list[UnitTable]] = {}
    for t in sorted(with_rows, key=lambda t: _unit_sort_key(t.kind, t.code, t.name)):
        by_kind.setdefault(t.kind, []).append(t)
    grand = dict.fromkeys(keys, 0)
    for k_idx, (kind, units) in enumerate(by_kind.items()):
        roman = _ROMAN[k_idx] if k_idx < len(_ROMAN) else str(k_idx + 1)
        sh.append(
            [
                sh.styled(roman, font=_BOLD, fill=_KIND_FILL),
                sh.styled(kind_label(kind).upper(), font=_BOLD, fill=_KIND_FILL),
            ]
        )
        kind_sum = dict.fromkeys(keys, 0)
        for u_idx, t in enumerate(units, 1):
            for r_idx, row in enumerate(t.rows):
                sh.append(
                    [
                        sh.styled(str(u_idx), font=_BOLD) if r_idx == 0 else None,
                        sh.styled(t.name, font=_BOLD) if r_idx == 0 else None,
                        *(
                            sh.styled(row.get(c.key), number_format=NUMBER, align=_TOP)
                            if c.type == "int"
                            else _wrapped(sh, str(row.get(c.key) or "") or None)
                            for c in columns
                        ),
                    ]
                )
            unit_sum = sums(t.rows, keys)
            if len(t.rows) > 1:
                total_row(f"Cộng {t.name}", unit_sum, _ITALIC)
            for k in keys:
                kind_sum[k] += unit_sum[k]
        total_row(f"Cộng {kind_label(kind)}", kind_sum, _BOLD)
        for k in keys:
            grand[k] += kind_sum[k]
    total_row("TỔNG CỘNG", grand, _BOLD, _HEAD_FILL)


def build_campaigns_workbook(
    books: Sequence[CampaignBook], *, now: datetime | None = None
) -> bytes:
    """The digest's workbook for several campaigns: per campaign, a sheet of its data (the
    seed's form, or its own table's columns) and a sheet of its units' status, named after it
    ("A. <title>", "A. Tình trạng đơn vị"); the nominations of every campaign on one sheet.
    One campaign with the seed's table gives `build_workbook`'s book, unchanged."""
    if len(books) == 1 and books[0].table is None:
        return build_workbook(books[0].status, books[0].data, now=now)
    wb = Workbook(write_only=True)
    used: set[str] = set()
    nominations: list[UnitData] = []
    names: dict[str, str] = {}
    for i, book in enumerate(books):
        letter = chr(ord("A") + i) if i < 26 else str(i + 1)
        data_sheet = _Sheet(wb.create_sheet(sheet_name(f"{letter}. ", book.status.title, used)))
        if book.table is None:
            _summary(data_sheet, book.status, book.data, now)
        else:
            _table_sheet(data_sheet, book, now)
        _status_sheet(
            _Sheet(wb.create_sheet(sheet_name(f"{letter}. ", STATUS_SHEET, used))),
            book.status,
            book.totals(),
        )
        nominations += [d for d in book.data if d.nominations]
        names.update({u.code: u.name for u in book.status.units})
    if nominations or not books:
        _nomination_sheet(
            _Sheet(wb.create_sheet(sheet_name("", NOMINATION_SHEET, used))), nominations, names
        )
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
