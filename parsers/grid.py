"""Every table-shaped thing in a file as a plain rectangle of cell values (`Grid`).

This module owns the format libraries' table side: openpyxl (xlsx, read-only streaming with
bounded `max_row`/`max_col` whatever the sheet declares), xlrd (xls, merged cells through
`formatting_info`), python-docx (every body table, merged cells repeated) and pdfplumber (tables
of text PDFs). Merged ranges are filled with their top-left value, clipped to the bounds.
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

import openpyxl
import xlrd
from defusedxml.common import DefusedXmlException
from defusedxml.ElementTree import iterparse
from docx.document import Document as DocxDocument
from lxml.etree import XMLSyntaxError
from pdfminer.pdfparser import PDFSyntaxError
from pdfminer.psparser import PSException
from pdfplumber.utils.exceptions import PdfminerException
from xlrd.compdoc import CompDocError

from parsers.facts import Unreadable
from parsers.office import (
    ENCRYPTED_MARK,
    OLE_MAGIC,
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
    zipfile.BadZipFile, zlib.error, struct.error, NotImplementedError, EOFError, OSError,
    KeyError, ValueError, IndexError, TypeError, AttributeError, AssertionError, OverflowError,
    UnicodeError, RecursionError, ParseError, DefusedXmlException, XMLSyntaxError,
    xlrd.XLRDError, CompDocError, PDFSyntaxError, PSException, PdfminerException,
)


@dataclass(frozen=True)
class Grid:
    """One sheet or table: `source` names it for people ("sheet 'Số liệu'", "docx table 2",
    "pdf page 3 table 1"); `cells` is rectangular, row by row."""

    source: str
    cells: tuple[tuple[Cell, ...], ...]


def grids(data: bytes, fmt: str, *, max_rows: int = 2000, max_cols: int = 40,
          document: DocxDocument | None = None) -> list[Grid]:
    """All sheets/tables of `data` in document order; `fmt` is one of xlsx, xls, docx, pdf.
    A docx already opened with `open_docx` can be passed as `document` (read once, not twice)."""
    readers = {"xlsx": _xlsx, "xls": _xls, "docx": _docx, "pdf": _pdf}
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
                    out.append((int(a.group(2)) - 1, _col_index(a.group(1)),
                                int(b.group(2)) - 1, _col_index(b.group(1))))
                if len(out) >= MAX_MERGES:
                    break
            elif elem.tag.endswith("}row") or elem.tag.endswith("}c"):
                elem.clear()
    return out


def _xlsx(data: bytes, max_rows: int, max_cols: int) -> list[Grid]:

    archive = check_zip(data, streamed="xl/worksheets/")
    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError, ParseError,
            DefusedXmlException, IndexError, AttributeError) as e:
        raise Unreadable("file is damaged or not really an xlsx workbook") from e
    out: list[Grid] = []
    try:
        for ws in wb.worksheets:
            try:
                rows = [
                    [cell_value(v) for v in row]
                    for row in ws.iter_rows(min_row=1, max_row=max_rows, min_col=1,
                                            max_col=max_cols, values_only=True)
                ]
                merges = _xlsx_merges(archive, getattr(ws, "_worksheet_path", ""))
            except (ValueError, TypeError, KeyError, ParseError, DefusedXmlException,
                    zipfile.BadZipFile, OSError, IndexError) as e:
                log.info("xlsx sheet unreadable: %s", e)
                raise Unreadable(f"sheet {ws.title!r} is damaged") from e
            _fill(rows, merges)
            grid = _finish(f"sheet {ws.title!r}", rows)
            if grid is not None:
                out.append(grid)
    finally:
        wb.close()
    return out


# --- xls ----------------------------------------------------------------------------------


def _xls(data: bytes, max_rows: int, max_cols: int) -> list[Grid]:

    if not data.startswith(OLE_MAGIC):
        raise Unreadable("not really an xls workbook")
    if ENCRYPTED_MARK in data:
        raise Unreadable("file is password-protected")
    chatter = io.StringIO()  # xlrd prints its complaints to stdout unless given a log file
    try:
        try:
            book = xlrd.open_workbook(file_contents=data, formatting_info=True, on_demand=True,
                                      logfile=chatter)
        except NotImplementedError:
            book = xlrd.open_workbook(file_contents=data, on_demand=True, logfile=chatter)
    except xlrd.XLRDError as e:
        if "encrypt" in str(e).lower():
            raise Unreadable("file is password-protected") from e
        raise Unreadable("file is damaged or not really an xls workbook") from e
    except (ValueError, IndexError, KeyError, AssertionError, struct.error, OSError,
            UnicodeDecodeError) as e:
        raise Unreadable("file is damaged or not really an xls workbook") from e
    out: list[Grid] = []
    try:
        for index in range(book.nsheets):
            try:
                sheet = book.get_sheet(index)
            except (xlrd.XLRDError, ValueError, IndexError, AssertionError) as e:
                raise Unreadable("file is damaged (a sheet cannot be read)") from e
            rows = [
                [_xls_value(sheet.cell(r, c), book.datemode) for c in range(min(sheet.ncols, max_cols))]
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
            return xlrd.xldate.xldate_as_datetime(cell.value, datemode).date().isoformat()
        except (xlrd.xldate.XLDateError, ValueError, OverflowError):
            return cell_value(cell.value)
    if cell.ctype == xlrd.XL_CELL_BOOLEAN:
        return cell_value(bool(cell.value))
    return cell_value(cell.value)


# --- docx ---------------------------------------------------------------------------------


def _docx(data: bytes, max_rows: int, max_cols: int) -> list[Grid]:
    return _docx_grids(open_docx(data), max_rows, max_cols)


def _docx_grids(document: DocxDocument, max_rows: int, max_cols: int) -> list[Grid]:
    reader = DocxText.of(document)  # the report reader's, when it read this document
    out: list[Grid] = []
    for number, table in enumerate(document.tables, start=1):
        rows: list[list[Cell]] = []
        for row in table.rows[:max_rows]:
            try:
                cells = row.cells
            except (ValueError, IndexError, AttributeError) as e:
                log.info("docx table %d has a broken row: %s", number, e)
                continue
            rows.append([cell_value(reader.cell_text(c)) if c is not None else None
                         for c in cells[:max_cols]])
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
