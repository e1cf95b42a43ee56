"""The parse floor: what the libraries the product reads with cost to open a unit's email, with
none of our reading on top; and what the product's readers cost on top of that.

`open_all`: for each message, the MIME parse as the parse stage does it (mail-parser over the
stdlib parser, base64 bodies lifted out: `intake.parsestage._parse`), then each attachment
opened the cheapest way the product's library for it allows — the readers the product uses
(`parsers.grid`, `parsers.office`, `parsers.photo`):

- .xlsx/.xls/.ods: python-calamine, every sheet's values and merged ranges
  (`spreadsheets="openpyxl"` measures the reader used before: openpyxl read-only, cells
  iterated, for a before/after in one run);
- .docx: `parsers.office.open_docx` (lxml over the main document part and its styles; it
  was python-docx `Document()` until issue 19, `docx="python-docx"` measures that);
- JPEG: Pillow decoding at reduced scale (`draft`).

Run on every core, like the parse workers. The pipeline cannot be faster than this floor plus
the fetch; the ratio floor / bare fetch says how far the bare fetch is out of reach for any
parser built on these libraries.

`reader_cpu`: CPU per email of `parsers.documents.read_document` on every attachment (the
product's readers, our code included), by format, in one process."""

from __future__ import annotations

import concurrent.futures as cf
import io
import os
import time
from collections.abc import Sequence
from functools import partial


def _open_calamine(data: bytes) -> None:
    import python_calamine

    with python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data)) as book:
        for index in range(len(book.sheet_names)):
            sheet = book.get_sheet_by_index(index)
            sheet.to_python(skip_empty_area=False)
            _ = sheet.merged_cell_ranges


def _open_openpyxl(data: bytes) -> None:
    import openpyxl

    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    for ws in wb.worksheets:
        for _row in ws.iter_rows(values_only=True):
            pass
    wb.close()


SPREADSHEET_OPENERS = {"calamine": _open_calamine, "openpyxl": _open_openpyxl}


def _open_lxml(data: bytes) -> None:
    from parsers.office import open_docx

    open_docx(data)


def _open_python_docx(data: bytes) -> None:
    import docx

    docx.Document(io.BytesIO(data))


DOCX_OPENERS = {"lxml": _open_lxml, "python-docx": _open_python_docx}


def open_all(raw: bytes, spreadsheets: str = "calamine", docx: str = "lxml") -> int:
    """Open every attachment of one message with its library; returns how many were opened."""
    from PIL import Image

    from intake.parsestage import Limits, _parse

    open_sheet = SPREADSHEET_OPENERS[spreadsheets]
    open_docx = DOCX_OPENERS[docx]
    opened = 0
    for part in _parse(raw, Limits()).parts:
        data, ctype = part.data, part.content_type
        if data[:2] == b"\xff\xd8":
            with Image.open(io.BytesIO(data)) as im:
                im.draft("RGB", (160, 160))
                im.load()
            opened += 1
        elif data[:2] == b"PK" and "word" in ctype:
            open_docx(data)
            opened += 1
        elif ("sheet" in ctype or "excel" in ctype) and data[:2] in (b"PK", b"\xd0\xcf"):
            open_sheet(data)
            opened += 1
    return opened


def _chunk(
    messages: Sequence[bytes], spreadsheets: str = "calamine", docx: str = "lxml"
) -> tuple[int, float]:
    t = time.process_time()
    opened = sum(open_all(m, spreadsheets, docx) for m in messages)
    return opened, time.process_time() - t


def parse_floor(
    messages: Sequence[bytes],
    workers: int | None = None,
    spreadsheets: str = "calamine",
    docx: str = "lxml",
) -> tuple[float, float, int]:
    """(wall seconds on `workers` processes, CPU seconds in all, attachments opened)."""
    workers = workers or os.cpu_count() or 1
    size = max(1, len(messages) // (workers * 4))
    chunks = [messages[i : i + size] for i in range(0, len(messages), size)]
    work = partial(_chunk, spreadsheets=spreadsheets, docx=docx)
    # every worker imports the libraries and opens one email before the clock starts: a
    # warm-up task per worker may all land on one of them, leaving the other's imports timed
    with cf.ProcessPoolExecutor(
        workers, initializer=_chunk, initargs=(messages[:1], spreadsheets, docx)
    ) as pool:
        list(pool.map(work, [messages[:1]] * workers))
        t = time.perf_counter()
        results = list(pool.map(work, chunks))
        wall = time.perf_counter() - t
    return wall, sum(cpu for _, cpu in results), sum(n for n, _ in results)


def reader_cpu(messages: Sequence[bytes]) -> tuple[float, dict[str, float]]:
    """(CPU seconds per email of the product's readers, the same by sniffed format), measured
    in this process on every attachment of `messages` (the MIME parse not counted)."""
    from intake.parsestage import Limits, _parse
    from parsers.documents import read_document
    from parsers.sniff import sniff

    parts = [
        (p.data, p.filename or "", p.content_type)
        for m in messages
        for p in _parse(m, Limits()).parts
    ]
    for data, name, ctype in parts[:20]:  # warm up: imports, caches
        read_document(data, name, ctype)
    cost: dict[str, float] = {}
    for data, name, ctype in parts:
        fmt = sniff(data, name, ctype)[1]
        t = time.process_time()
        read_document(data, name, ctype)
        cost[fmt] = cost.get(fmt, 0.0) + time.process_time() - t
    n = max(1, len(messages))
    return sum(cost.values()) / n, {
        k: v / n for k, v in sorted(cost.items(), key=lambda kv: -kv[1])
    }
