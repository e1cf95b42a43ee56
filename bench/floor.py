"""The parse floor: what the design's libraries alone cost to open a unit's email, with none of
our reading on top. For each message: the MIME parse as the parse stage does it (mail-parser
over the stdlib parser, base64 bodies lifted out: `intake.parsestage._parse`), then each
attachment opened the cheapest way its library allows —
python-docx `Document()`, openpyxl `load_workbook(read_only=True)` with its cells iterated,
Pillow decoding a JPEG at reduced scale (`draft`). Run on every core, like the parse workers.

The pipeline cannot be faster than this floor plus the fetch; the ratio floor / bare fetch
says how far the bare fetch is out of reach for any parser built on these libraries."""

from __future__ import annotations

import concurrent.futures as cf
import io
import os
import time
from collections.abc import Sequence


def open_all(raw: bytes) -> int:
    """Open every attachment of one message with its library; returns how many were opened."""
    import docx
    import openpyxl
    from PIL import Image

    from intake.parsestage import Limits, _parse

    opened = 0
    for part in _parse(raw, Limits()).parts:
        data, ctype = part.data, part.content_type
        if data[:2] == b"\xff\xd8":
            with Image.open(io.BytesIO(data)) as im:
                im.draft("RGB", (160, 160))
                im.load()
            opened += 1
        elif data[:2] == b"PK" and "word" in ctype:
            docx.Document(io.BytesIO(data))
            opened += 1
        elif data[:2] == b"PK" and ("sheet" in ctype or "excel" in ctype):
            wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            for ws in wb.worksheets:
                for _row in ws.iter_rows(values_only=True):
                    pass
            wb.close()
            opened += 1
    return opened


def _chunk(messages: Sequence[bytes]) -> tuple[int, float]:
    t = time.process_time()
    opened = sum(open_all(m) for m in messages)
    return opened, time.process_time() - t


def parse_floor(messages: Sequence[bytes], workers: int | None = None) -> tuple[float, float, int]:
    """(wall seconds on `workers` processes, CPU seconds in all, attachments opened)."""
    workers = workers or os.cpu_count() or 1
    size = max(1, len(messages) // (workers * 4))
    chunks = [messages[i : i + size] for i in range(0, len(messages), size)]
    with cf.ProcessPoolExecutor(workers) as pool:
        list(pool.map(_chunk, [messages[:1]] * workers))  # start workers, import libraries
        t = time.perf_counter()
        results = list(pool.map(_chunk, chunks))
        wall = time.perf_counter() - t
    return wall, sum(cpu for _, cpu in results), sum(n for n, _ in results)
