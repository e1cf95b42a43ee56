"""Every table-shaped thing in a file as a plain rectangle of cell values (`Grid`).

This module owns the format libraries' table side:

- xlsx, xls, ods: python-calamine (Rust) reads the cell values (cached formula results; error
  cells as None) and the merged ranges. Calamine builds a whole sheet in memory, sized by its
  farthest value cell, so it is handed only a workbook whose value cells all lie within
  `max_rows` x `max_cols` with at most MAX_MERGES merges: `_xlsx_bounded` scans the sheet XML
  (bounded first by `check_zip`), `_xls_bounded` the BIFF cell records. Anything else (a far
  value cell, a cell with no reference, an ods with repeated value cells past the bounds) is
  read by the streaming readers as before: openpyxl (read-only, bounded `max_row`/`max_col`,
  merges streamed by `_xlsx_merges`), xlrd (merged cells through `formatting_info`).
- docx: lxml over word/document.xml (`parsers.office.DocxText`: every body table, merged
  cells repeated); pdf: pdfplumber (text PDFs).

Merged ranges are filled with their top-left value, clipped to the bounds.
Cell values are `str` (whitespace collapsed), `int`, `float` or `None`. Files it cannot read
raise `parsers.facts.Unreadable` with a short reason; nothing else escapes for bad input.
"""

from __future__ import annotations

import io
import logging
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from xml.etree.ElementTree import ParseError

import python_calamine
import xlrd
from defusedxml.common import DefusedXmlException
from defusedxml.ElementTree import iterparse
from lxml.etree import XMLSyntaxError
from pdfminer.pdfparser import PDFSyntaxError
from pdfminer.psparser import PSException
from pdfplumber.utils.exceptions import PdfminerException
from xlrd.compdoc import CompDoc, CompDocError

from parsers.facts import Unreadable
from parsers.office import (
    ENCRYPTED_MARK,
    MAX_LOADED_XML_BYTES,
    OLE_MAGIC,
    W_TR,
    Docx,
    DocxText,
    check_zip,
    ole_reason,
    open_docx,
    pdf_pages,
)
from parsers.text import clean_text

log = logging.getLogger(__name__)

Cell = str | int | float | None
MAX_MERGES = 5000
_REF = re.compile(r"^\$?([A-Z]{1,3})\$?(\d{1,7})$")


_LIBRARY_ERRORS: tuple[type[BaseException], ...] = (
    zipfile.BadZipFile,
    zlib.error,
    struct.error,
    NotImplementedError,
    EOFError,
    OSError,
    KeyError,
    ValueError,
    IndexError,
    TypeError,
    AttributeError,
    AssertionError,
    OverflowError,
    UnicodeError,
    RecursionError,
    ParseError,
    DefusedXmlException,
    XMLSyntaxError,
    xlrd.XLRDError,
    CompDocError,
    PDFSyntaxError,
    PSException,
    PdfminerException,
    python_calamine.CalamineError,
)


@dataclass(frozen=True)
class Grid:
    """One sheet or table: `source` names it for people ("sheet 'Số liệu'", "docx table 2",
    "pdf page 3 table 1"); `cells` is rectangular, row by row."""

    source: str
    cells: tuple[tuple[Cell, ...], ...]


def grids(
    data: bytes, fmt: str, *, max_rows: int = 2000, max_cols: int = 40, document: Docx | None = None
) -> list[Grid]:
    """All sheets/tables of `data` in document order; `fmt` is one of xlsx, xls, ods, docx,
    pdf. A docx already opened with `open_docx` can be passed as `document` (read once)."""
    readers = {"xlsx": _xlsx, "xls": _xls, "ods": _ods, "docx": _docx, "pdf": _pdf}
    if fmt not in readers:
        raise Unreadable(f"no table reader for {fmt}")
    if data.startswith(OLE_MAGIC) and fmt != "xls":
        raise Unreadable(ole_reason(data, fmt))
    try:
        if fmt == "docx":
            return _docx_grids(document or open_docx(data), max_rows, max_cols)
        return readers[fmt](data, max_rows, max_cols)
    except _LIBRARY_ERRORS as e:  # what the libraries raise on damaged input, seen by fuzzing
        log.info("%s reader failed: %s: %s", fmt, type(e).__name__, e)
        raise Unreadable(f"file is damaged ({fmt} cannot be parsed)") from e


def cell_value(value: Any) -> Cell:
    """A library's cell value as a `Cell`: text cleaned and single-spaced, whole floats kept
    as floats (callers decide), dates as ISO text."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return value
    if isinstance(value, datetime) and value.time() == time():
        return value.date().isoformat()  # a date typed in a cell, whichever reader read it
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    text = " ".join(clean_text(str(value), keep_newlines=False).split())
    return text or None


def _finish(source: str, rows: list[list[Cell]]) -> Grid | None:
    """Drop trailing empty rows and columns; None when nothing is left."""
    while rows and all(v is None for v in rows[-1]):
        rows.pop()
    if not rows:
        return None
    width = max((i + 1 for row in rows for i, v in enumerate(row) if v is not None), default=0)
    return Grid(source, tuple(tuple(row[:width] + [None] * (width - len(row))) for row in rows))


def _fill(rows: list[list[Cell]], merges: list[tuple[int, int, int, int]]) -> None:
    """Fill each merged range (0-based r1, c1, r2, c2 inclusive) with its top-left value."""
    for r1, c1, r2, c2 in merges[:MAX_MERGES]:
        if r1 >= len(rows) or c1 >= len(rows[r1]):
            continue
        top_left = rows[r1][c1]
        for r in range(r1, min(r2, len(rows) - 1) + 1):
            for c in range(c1, min(c2, len(rows[r]) - 1) + 1):
                rows[r][c] = top_left


# --- xlsx ---------------------------------------------------------------------------------


def _col_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def _xlsx_merges(archive: zipfile.ZipFile, path: str) -> list[tuple[int, int, int, int]]:
    """mergeCell refs streamed from the sheet XML (read-only openpyxl does not keep them)."""
    out: list[tuple[int, int, int, int]] = []
    name = path.lstrip("/")
    if name not in archive.namelist():
        return out
    with archive.open(name) as src:
        for _event, elem in iterparse(src, events=("end",)):
            if elem.tag.endswith("}mergeCell"):
                parts = [_REF.match(p) for p in str(elem.get("ref", "")).upper().split(":")]
                if len(parts) == 2 and parts[0] and parts[1]:
                    a, b = parts[0], parts[1]
                    out.append(
                        (
                            int(a.group(2)) - 1,
                            _col_index(a.group(1)),
                            int(b.group(2)) - 1,
                            _col_index(b.group(1)),
                        )
                    )
                if len(out) >= MAX_MERGES:
                    break
            elif elem.tag.endswith("}row") or elem.tag.endswith("}c"):
                elem.clear()
    return out


class _NotForCalamine(Exception):
    """Calamine failed on a workbook: the streaming reader reads it, or says what is wrong."""


def _calamine(
    data: bytes,
    fmt: str,
    max_rows: int,
    max_cols: int,
    merged: list[list[tuple[int, int, int, int]]] | None = None,
) -> list[Grid]:
    """Every worksheet of an xlsx/xls/ods through calamine: values and merged ranges. Only for
    workbooks found bounded (see the module docstring): calamine sizes a sheet by its
    farthest value cell."""
    try:
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except python_calamine.PasswordError as e:
        raise Unreadable("file is password-protected") from e
    except python_calamine.CalamineError as e:
        log.info("calamine cannot open the %s: %s", fmt, e)
        raise _NotForCalamine(str(e)) from e
    out: list[Grid] = []
    with book:
        for index, meta in enumerate(book.sheets_metadata):
            given = merged[index] if merged is not None and index < len(merged) else []
            if meta.typ != python_calamine.SheetTypeEnum.WorkSheet:
                continue  # a chart or macro sheet has no cells
            try:
                sheet = book.get_sheet_by_index(index)
                values = sheet.to_python(skip_empty_area=False, nrows=max_rows)
                ranges = sheet.merged_cell_ranges or []  # None for ods: `given` has them
            except python_calamine.PasswordError as e:
                raise Unreadable("file is password-protected") from e
            except python_calamine.CalamineError as e:
                log.info("calamine cannot read a %s sheet: %s", fmt, e)
                raise _NotForCalamine(str(e)) from e
            rows = [
                [None if v == "" else cell_value(v) for v in row[:max_cols]]
                for row in values[:max_rows]
            ]
            _fill(rows, given or [(r1, c1, r2, c2) for (r1, c1), (r2, c2) in ranges[:MAX_MERGES]])
            grid = _finish(f"sheet {meta.name!r}", rows)
            if grid is not None:
                out.append(grid)
    return out


# a cell element, and a cell with a value (not self-closing) and its reference
_CELL_TAG = re.compile(rb"<(?:\w+:)?c[\s/>]")
_CELL_REF = re.compile(rb"<(?:\w+:)?c\s[^>]*?\br=\"([A-Z]{1,3})([0-9]{1,7})\"")
_VALUE_CELL = re.compile(rb"<(?:\w+:)?c\s[^>]*?\br=\"([A-Z]{1,3})([0-9]{1,7})\"[^>]*(?<!/)>")
_MERGE_TAG = re.compile(rb"<(?:\w+:)?mergeCell\s")


def _xlsx_bounded(archive: zipfile.ZipFile, max_rows: int, max_cols: int) -> bool:
    """Whether calamine may read this package: in every XML part (sheets wherever the
    workbook's relationships put them; other parts hold no cells) each cell carries its
    reference, every cell with a value lies within max_rows x max_cols, and there are at
    most MAX_MERGES merged ranges. Sizes were checked by `check_zip`."""
    for info in archive.infolist():
        if not info.filename.endswith(".xml"):
            continue
        xml = archive.read(info)
        if b"<" not in xml:
            continue
        tags = len(_CELL_TAG.findall(xml))
        if not tags:
            continue
        if len(_CELL_REF.findall(xml)) != tags or len(_MERGE_TAG.findall(xml)) > MAX_MERGES:
            return False
        columns: set[bytes] = set()
        last_row = 0
        for col, row in _VALUE_CELL.findall(xml):
            columns.add(col)
            last_row = max(last_row, int(row))
        if last_row > max_rows or any(_col_index(c.decode()) >= max_cols for c in columns):
            return False
    return True


def _xlsx(data: bytes, max_rows: int, max_cols: int) -> list[Grid]:

    archive = check_zip(data, streamed="xl/worksheets/")
    if _xlsx_bounded(archive, max_rows, max_cols):
        try:
            return _calamine(data, "xlsx", max_rows, max_cols)
        except _NotForCalamine:
            pass
    return _xlsx_streamed(data, archive, max_rows, max_cols)


def _xlsx_streamed(
    data: bytes, archive: zipfile.ZipFile, max_rows: int, max_cols: int
) -> list[Grid]:
    """openpyxl read-only, for a workbook calamine is not given (see `_xlsx_bounded`)."""
    # imported here, not with the module: openpyxl imports numpy whenever it is installed
    # (it is, for OCR), ~80 MB of every parse worker's address space (RLIMIT_AS) at rest
    import openpyxl

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (
        zipfile.BadZipFile,
        KeyError,
        ValueError,
        TypeError,
        OSError,
        ParseError,
        DefusedXmlException,
        IndexError,
        AttributeError,
    ) as e:
        raise Unreadable("file is damaged or not really an xlsx workbook") from e
    out: list[Grid] = []
    try:
        for ws in wb.worksheets:
            try:
                rows = [
                    [cell_value(v) for v in row]
                    for row in ws.iter_rows(
                        min_row=1, max_row=max_rows, min_col=1, max_col=max_cols, values_only=True
                    )
                ]
                merges = _xlsx_merges(archive, getattr(ws, "_worksheet_path", ""))
            except (
                ValueError,
                TypeError,
                KeyError,
                ParseError,
                DefusedXmlException,
                zipfile.BadZipFile,
                OSError,
                IndexError,
            ) as e:
                log.info("xlsx sheet unreadable: %s", e)
                raise Unreadable(f"sheet {ws.title!r} is damaged") from e
            _fill(rows, merges)
            grid = _finish(f"sheet {ws.title!r}", rows)
            if grid is not None:
                out.append(grid)
    finally:
        wb.close()
    return out


# --- ods ----------------------------------------------------------------------------------

_ODS_TOKEN = re.compile(
    rb"<table:(table-row|table-cell|covered-table-cell|table)(?=[\s/>])([^>]*?)(/?)>"
    rb"|</table:table-row>"
)
_ODS_ATTR = re.compile(
    rb"table:number-(rows-repeated|columns-repeated|columns-spanned|"
    rb'rows-spanned)="(\d{1,9})"'
)


def _ods_merges(
    content: bytes, max_rows: int, max_cols: int
) -> list[list[tuple[int, int, int, int]]] | None:
    """Each table's merged ranges (0-based, inclusive) from content.xml, or None when a cell
    with content (repeats counted) lies past max_rows x max_cols or there are more than
    MAX_MERGES merges: calamine expands repeated rows and cells. LibreOffice's trailing
    empty rows (`number-rows-repeated="1048553"` of self-closing cells) are fine."""
    tables: list[list[tuple[int, int, int, int]]] = []
    row = col = row_repeat = 0
    row_has_value = False
    count = 0
    for m in _ODS_TOKEN.finditer(content):
        name, attrs, closed = m.group(1), m.group(2), m.group(3)
        if name is None:  # </table:table-row>
            if row_has_value and row + row_repeat > max_rows:
                return None
            row += row_repeat
            continue
        values = {k: int(v) for k, v in _ODS_ATTR.findall(attrs or b"")}
        if name == b"table":
            tables.append([])
            row = 0
        elif name == b"table-row":
            row_repeat, col, row_has_value = values.get(b"rows-repeated", 1), 0, False
            if closed:
                row += row_repeat
        else:
            repeat = values.get(b"columns-repeated", 1)
            if name == b"table-cell" and not closed:  # content: text, a value, an object
                row_has_value = True
                if col + repeat > max_cols:
                    return None
                span_c, span_r = values.get(b"columns-spanned", 1), values.get(b"rows-spanned", 1)
                if (span_c > 1 or span_r > 1) and tables:
                    count += 1
                    if count > MAX_MERGES:
                        return None
                    tables[-1].append((row, col, row + span_r - 1, col + span_c - 1))
            col += repeat
    return tables


def _ods(data: bytes, max_rows: int, max_cols: int) -> list[Grid]:

    archive = check_zip(data)
    try:
        info = archive.getinfo("content.xml")
    except KeyError as e:
        raise Unreadable("file is damaged or not really an ods spreadsheet") from e
    if info.file_size > MAX_LOADED_XML_BYTES:
        raise Unreadable("file is too large to read (uncompressed content)")
    merges = _ods_merges(archive.read(info), max_rows, max_cols)
    if merges is None:
        raise Unreadable("file is too large to read (cells past the sheet bounds)")
    try:
        return _calamine(data, "ods", max_rows, max_cols, merges)
    except _NotForCalamine as e:
        raise Unreadable("file is damaged or not really an ods spreadsheet") from e


# --- xls ----------------------------------------------------------------------------------


# BIFF records of cells with a value (row, column first), MULRK (row, first column … last
# column at the end), MERGEDCELLS, FILEPASS (encryption: xlrd names it)
_BIFF_CELLS = frozenset({0x0006, 0x00FD, 0x0203, 0x0204, 0x0205, 0x027E, 0x00D6, 0x0406})
_BIFF_MULRK, _BIFF_MERGED, _BIFF_FILEPASS = 0x00BD, 0x00E5, 0x002F


def _xls_bounded(data: bytes, max_rows: int, max_cols: int) -> bool:
    """Whether calamine may read this xls: every cell record with a value lies within
    max_rows x max_cols, at most MAX_MERGES merged ranges, not encrypted."""
    chatter = io.StringIO()
    try:
        doc = CompDoc(data, logfile=chatter)
        stream = doc.get_named_stream("Workbook") or doc.get_named_stream("Book")
    except (CompDocError, ValueError, IndexError, KeyError, struct.error, AssertionError):
        return False  # xlrd's reader says what is wrong with it
    if not stream:
        return False
    pos, end, merges = 0, len(stream) - 4, 0
    unpack = struct.unpack_from
    while pos <= end:
        rtype, size = unpack("<HH", stream, pos)
        body = pos + 4
        if rtype in _BIFF_CELLS and size >= 4:
            row, col = unpack("<HH", stream, body)
            if row >= max_rows or col >= max_cols:
                return False
        elif rtype == _BIFF_MULRK and size >= 6:
            row, _first = unpack("<HH", stream, body)
            (last,) = unpack("<H", stream, body + size - 2)
            if row >= max_rows or last >= max_cols:
                return False
        elif rtype == _BIFF_MERGED and size >= 2:
            merges += unpack("<H", stream, body)[0]
            if merges > MAX_MERGES:
                return False
        elif rtype == _BIFF_FILEPASS:
            return False
        pos = body + size
    return True


def _xls(data: bytes, max_rows: int, max_cols: int) -> list[Grid]:

    if not data.startswith(OLE_MAGIC):
        raise Unreadable("not really an xls workbook")
    if ENCRYPTED_MARK in data:
        raise Unreadable("file is password-protected")
    if _xls_bounded(data, max_rows, max_cols):
        try:
            return _calamine(data, "xls", max_rows, max_cols)
        except _NotForCalamine:
            pass
    return _xls_xlrd(data, max_rows, max_cols)


def _xls_xlrd(data: bytes, max_rows: int, max_cols: int) -> list[Grid]:
    """xlrd, for an xls calamine is not given (see `_xls_bounded`)."""
    chatter = io.StringIO()  # xlrd prints its complaints to stdout unless given a log file
    try:
        try:
            book = xlrd.open_workbook(
                file_contents=data, formatting_info=True, on_demand=True, logfile=chatter
            )
        except NotImplementedError:
            book = xlrd.open_workbook(file_contents=data, on_demand=True, logfile=chatter)
    except xlrd.XLRDError as e:
        if "encrypt" in str(e).lower():
            raise Unreadable("file is password-protected") from e
        raise Unreadable("file is damaged or not really an xls workbook") from e
    except (
        ValueError,
        IndexError,
        KeyError,
        AssertionError,
        struct.error,
        OSError,
        UnicodeDecodeError,
    ) as e:
        raise Unreadable("file is damaged or not really an xls workbook") from e
    out: list[Grid] = []
    try:
        for index in range(book.nsheets):
            try:
                sheet = book.get_sheet(index)
            except (xlrd.XLRDError, ValueError, IndexError, AssertionError) as e:
                raise Unreadable("file is damaged (a sheet cannot be read)") from e
            rows = [
                [
                    _xls_value(sheet.cell(r, c), book.datemode)
                    for c in range(min(sheet.ncols, max_cols))
                ]
                for r in range(min(sheet.nrows, max_rows))
            ]
            merges = [(r1, c1, r2 - 1, c2 - 1) for r1, r2, c1, c2 in sheet.merged_cells]
            _fill(rows, merges)
            grid = _finish(f"sheet {sheet.name!r}", rows)
            if grid is not None:
                out.append(grid)
    finally:
        book.release_resources()
        if chatter.getvalue():
            log.debug("xlrd: %s", chatter.getvalue()[:500])
    return out


def _xls_value(cell: Any, datemode: int) -> Cell:

    if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK, xlrd.XL_CELL_ERROR):
        return None
    if cell.ctype == xlrd.XL_CELL_DATE:
        try:
            return str(xlrd.xldate.xldate_as_datetime(cell.value, datemode).date().isoformat())
        except (xlrd.xldate.XLDateError, ValueError, OverflowError):
            return cell_value(cell.value)
    if cell.ctype == xlrd.XL_CELL_BOOLEAN:
        return cell_value(bool(cell.value))
    return cell_value(cell.value)


# --- docx ---------------------------------------------------------------------------------


def _docx(data: bytes, max_rows: int, max_cols: int) -> list[Grid]:
    return _docx_grids(open_docx(data), max_rows, max_cols)


def _docx_grids(document: Docx, max_rows: int, max_cols: int) -> list[Grid]:
    reader = DocxText.of(document)  # the report reader's, when it read this document
    out: list[Grid] = []
    for number, table in enumerate(document.tables, start=1):
        rows: list[list[Cell]] = []
        for index, tr in enumerate(table.iterchildren(W_TR)):
            if index >= max_rows:
                break
            try:
                cells = reader.row_cells(tr, max_cols)
            except (ValueError, IndexError, AttributeError) as e:
                log.info("docx table %d has a broken row: %s", number, e)
                continue
            rows.append([cell_value(reader.cell_text(tc)) for tc in cells])
        grid = _finish(f"docx table {number}", rows)
        if grid is not None:
            out.append(grid)
    return out


# --- pdf ----------------------------------------------------------------------------------


def _pdf(data: bytes, max_rows: int, max_cols: int) -> list[Grid]:

    out: list[Grid] = []
    with pdf_pages(data) as pages:
        for page_no, page in enumerate(pages, start=1):
            for t_no, table in enumerate(page.extract_tables(), start=1):
                rows = [[cell_value(v) for v in row[:max_cols]] for row in table[:max_rows]]
                grid = _finish(f"pdf page {page_no} table {t_no}", rows)
                if grid is not None:
                    out.append(grid)
    return out


def cell_text(value: Cell) -> str:
    """A cell as display text: whole floats without ".0", None as ""."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
