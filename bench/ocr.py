"""The OCR figure of issue 20: CPU per page at 300 dpi (render, seal check, straighten,
Tesseract with the Vietnamese model, table check), for the scanned report (3 pages, stamped,
grainy, rotated) and for phone photos of its pages; target ≤ 3 s of CPU per page."""

from __future__ import annotations

import resource
import time
from typing import Any


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure() -> dict[str, Any]:
    """CPU seconds per page (median and worst) for the scan and the photos, the model load
    apart (it happens once per parse worker)."""
    from parsers import ocr
    from parsers.scan import read_page_photo, read_scanned_pdf
    from tests import docgen_scans

    scan = docgen_scans.scanned_report_pdf()
    photos = docgen_scans.photographed_report_pages()
    t = _cpu()
    ocr.available()  # loads the model
    load = _cpu() - t
    pages: list[float] = []
    for _ in range(2):
        t = _cpu()
        result = read_scanned_pdf(scan)
        pages.append((_cpu() - t) / max(result.scan.pages, 1))
    shots: list[float] = []
    for photo in photos:
        t = _cpu()
        read_page_photo(photo, "jpeg")
        shots.append(_cpu() - t)
    wall = time.perf_counter()
    read_scanned_pdf(scan)
    wall = time.perf_counter() - wall
    return {"model_load_s": load, "scan_page_cpu_s": max(pages), "photo_page_cpu_s": max(shots),
            "scan_pages": result.scan.pages, "scan_wall_s": wall,
            "confidence": result.scan.confidence}
