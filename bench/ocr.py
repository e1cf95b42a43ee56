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
    from tests.support import docgen_scans

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
    return {
        "model_load_s": load,
        "scan_page_cpu_s": max(pages),
        "photo_page_cpu_s": max(shots),
        "scan_pages": result.scan.pages,
        "scan_wall_s": wall,
        "confidence": result.scan.confidence,
    }


# -- what an ordinary photo costs a parse worker (issue 20, the cheap first look) ----------------
_CHILD = r"""
import json, sys
from pathlib import Path
from parsers import pagehint
if sys.argv[1] == "cv2-always":  # the page check as it was: OpenCV for every photo >= 600 px
    pagehint.look = lambda image, hinted=False: pagehint.Hint(True, 1.0, 1.0)
from parsers.documents import read_document
before = {l.split(":")[0]: int(l.split()[1])
          for l in Path("/proc/self/status").read_text().splitlines()
          if l.startswith(("VmHWM", "VmPeak"))}
pages = 0
for path in sys.argv[2:]:
    facts = read_document(Path(path).read_bytes(), Path(path).name)
    pages += facts.scan is not None
status = {l.split(":")[0]: int(l.split()[1])
          for l in Path("/proc/self/status").read_text().splitlines()
          if l.startswith(("VmHWM", "VmPeak"))}
print(json.dumps({"rss_mib": status["VmHWM"] / 1024, "as_mb": status["VmPeak"] * 1.024 / 1000,
                  "rss_at_rest_mib": before["VmHWM"] / 1024, "cv2": "cv2" in sys.modules,
                  "pages": pages}))
"""


def worker_memory() -> dict[str, Any]:
    """Peak RSS (VmHWM) and address space (VmPeak) of a fresh process that reads what a parse
    worker reads from ordinary mail — phone photos of 4032×3024 and 1600×1200, a Zalo webp, a
    report .docx with two photos pasted in — with the cheap first look (`parsers.pagehint`)
    and with the page check as it was (OpenCV for every photo of 600 px or more). Each run is
    its own exec'd process, so no peak is inherited."""
    import json
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    from tests.support import docgen_media

    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for name, data in (
            ("IMG_20211008_090112.jpg", docgen_media.phone_jpeg(5, size=(4032, 3024))[0]),
            ("IMG_20211008_090230.jpg", docgen_media.phone_jpeg(6, size=(1600, 1200))[0]),
            ("z2871661.webp", docgen_media.zalo_webp()[0]),
            ("Bao cao HTSD.docx", docgen_media.docx_report_with_photos()[0]),
        ):
            path = Path(tmp) / name
            path.write_bytes(data)
            files.append(str(path))
        out: dict[str, Any] = {}
        for mode in ("cheap-first", "cv2-always"):
            run = subprocess.run(
                [sys.executable, "-c", _CHILD, mode, *files],
                cwd=root,
                capture_output=True,
                text=True,
                check=True,
                env={
                    "PYTHONPATH": str(root),
                    "OPENBLAS_NUM_THREADS": "1",
                    "MALLOC_ARENA_MAX": "2",
                    "PATH": "/usr/bin:/bin",
                },
            )
            out[mode] = json.loads(run.stdout.strip().splitlines()[-1])
    return out
