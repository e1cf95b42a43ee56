"""Scanned PDFs and photographed pages: bytes → the report text, a verified paper table, and
how they were read (`parsers.facts.Scan`), through OCR.

- `read_scanned_pdf`: a PDF without a text layer, each page rendered at `DPI` (pypdfium2),
  checked for a red seal, straightened and read by Tesseract (`parsers.ocr`); the lines go
  through the same report reader as a .docx (`parsers.report.report_from_lines`).
- `read_page_photo`: an image that shows a document page (`parsers.pageimage.inspect`) is read
  the same way after its page is cut out of the frame and straightened; an image that is not a
  page gives None (it stays a photo).

Every page takes one from the message's OCR budget (`parsers.ocr.ocr_budget`,
`limits.max_ocr_pages`); pages past it are not read and a note says so. A "Tổng hợp số liệu"
table on a page is kept only when its totals row checks out (`parsers.papertable`).

OpenCV and numpy (`parsers.pageimage`) are imported only when a page is read or an image
passed Pillow's cheap look (`parsers.pagehint`: paper and ink), never at import: every parse
worker imports this module, and cv2 with its own OpenBLAS (threads, buffers, ~300 MB of
address space) would take most of a worker's memory cap (limits.parse_memory_mb, RLIMIT_AS)
from mail that has no scan or page photo at all — an ordinary activity photo included.
"""

from __future__ import annotations

import io
import logging
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from PIL import Image, ImageOps, UnidentifiedImageError

from parsers import pagehint
from parsers.facts import DataTable, Report, Scan, Unreadable
from parsers.ocr import OcrPage, current_budget, recognise
from parsers.office import MAX_PDF_PAGES
from parsers.pagehint import INSPECT_SIDE, LOOK_MIN
from parsers.papertable import read_paper_table, visual_rows
from parsers.report import report_from_lines
from parsers.vietnamese import fold

if TYPE_CHECKING:
    from parsers.pageimage import Look

log = logging.getLogger(__name__)

DPI = 300
MAX_OCR_SIDE = 3600  # px: a page is read at about 300 dpi, never more (a 64 Mpx photo is shrunk)
MIN_PAGE_SIDE = 600  # px on the shorter side: smaller images are not read as pages
PAGE_PHOTO = "photographed document page"
READ_BY_OCR = "read by OCR"
_FORMATS = {"jpeg": ["JPEG"], "png": ["PNG"], "webp": ["WEBP"], "heic": ["HEIF"]}


@dataclass(frozen=True)
class ScanResult:
    report: Report | None  # None when no page could be read
    table: DataTable | None  # a verified paper table
    scan: Scan
    problems: tuple[str, ...] = ()


class _Reader:
    """Pages read one by one into lines, words and a seal; then the facts."""

    def __init__(self, source: str, total: int) -> None:
        self.source = source
        self.total = total
        self.lines: list[str] = []
        self.confidences: list[float] = []
        self.seal = False
        self.table: DataTable | None = None
        self.table_state = ""
        self.problems: list[str] = []
        self.read = 0

    def page(self, image: Image.Image, where: str) -> bool:
        """Read one page; False when the budget is spent (the caller stops)."""
        budget = current_budget()
        if not budget.take_page():
            left = self.total - self.read
            self.problems.append(
                f"{left} page(s) not read by OCR: over the message's limit "
                f"of {budget.limit} pages (limits.max_ocr_pages)"
            )
            return False
        from parsers.pageimage import find_seal, rgb_array, straighten  # cv2: see the docstring

        self.seal = self.seal or find_seal(rgb_array(image, 1000))
        upright = straighten(_bounded(image))
        try:
            result: OcrPage = recognise(upright)
        except Unreadable as e:  # no OCR on this machine: the page is still a page
            self.problems.append(str(e))
            return False
        self.read += 1
        self.confidences.append(result.confidence)
        self.lines.extend(page_lines(result))
        self.lines.append("")
        if self.table is None:
            paper = read_paper_table(result.words, f"{where} (OCR)")
            if paper.table is not None:
                self.table, self.table_state = paper.table, "verified"
            elif paper.reason and not self.table_state:
                self.table_state = "needs typing"
                self.problems.append(paper.reason)
        return True

    def result(self) -> ScanResult:
        confidence = (
            round(sum(self.confidences) / len(self.confidences), 1) if self.confidences else 0.0
        )
        scan = Scan(self.source, self.read, self.total, confidence, self.seal, self.table_state)
        report = None
        if self.read:
            report = replace(report_from_lines(self.lines, warnings=(READ_BY_OCR,)), scanned=True)
        return ScanResult(report, self.table, scan, tuple(self.problems))


_TITLE = re.compile(r"^(?:bao cao|ke hoach)\b")


def page_lines(page: OcrPage) -> list[str]:
    """The page's text lines, with the header block above the title read column by column:
    the issuing body (left) first, then the motto and date (right), as a .docx header table
    gives them. Tesseract runs the two columns into one line where they share a baseline
    ("UBND XÃ BÍCH HÒA CỘNG HÒA XÃ HỘI CHỦ"), which hides the parent/issuer pair."""
    lines = page.text.splitlines()
    title = next((i for i, line in enumerate(lines[:30]) if _TITLE.match(fold(line))), None)
    rows = visual_rows(page.words)
    top = next(
        (i for i, r in enumerate(rows[:30]) if _TITLE.match(fold(" ".join(w.text for w in r)))),
        None,
    )
    if title is None or top is None or not rows[:top]:
        return lines
    middle = page.size[0] / 2
    left = [" ".join(w.text for w in r if (w.box[0] + w.box[2]) / 2 < middle) for r in rows[:top]]
    right = [" ".join(w.text for w in r if (w.box[0] + w.box[2]) / 2 >= middle) for r in rows[:top]]
    # specks read as letters ("l š `") would part the issuer from its parent: a header line
    # needs a word of two letters or digits
    return [line for line in left + right if re.search(r"\w\w", line)] + [""] + lines[title:]


def read_scanned_pdf(data: bytes) -> ScanResult:
    """OCR a PDF without a text layer (see the module docstring). Raises `Unreadable`."""
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as e:
        raise Unreadable("file is damaged (pdf cannot be rendered)") from e
    try:
        total = len(pdf)
        reader = _Reader("pdf", total)
        for number in range(min(total, MAX_PDF_PAGES)):
            page = pdf[number]
            try:
                width, height = page.get_size()
                scale = min(DPI / 72, MAX_OCR_SIDE / max(width, height, 1))
                image = page.render(scale=scale).to_pil()
            except pdfium.PdfiumError as e:
                reader.problems.append(f"page {number + 1} could not be rendered ({e})")
                continue
            finally:
                page.close()
            if not reader.page(image, f"pdf page {number + 1}"):
                break
        return reader.result()
    finally:
        pdf.close()


def page_look(data: bytes, fmt: str, *, hinted: bool = False) -> Look | None:
    """The page check of an image, without OCR: its `Look` when it shows a document page,
    None when it does not (a photo). Pillow's cheap look (`parsers.pagehint`) comes first, so
    OpenCV is imported only for an image that may be a page."""
    # the look at LOOK_MIN…LOOK_SIDE px: a JPEG is decoded at the smallest DCT scale still
    # LOOK_MIN px long (a 1024 px phone photo at 1/2, a 4000 px one at 1/8: 500 px, looked at
    # unresized), and again at INSPECT_SIDE only if it may be a page
    glance = _open(data, fmt, draft=LOOK_MIN, longer=True)
    size = _decoded_size(data, fmt, INSPECT_SIDE)
    if min(size) < MIN_PAGE_SIDE * min(1.0, INSPECT_SIDE / max(size)):
        return None
    hint = pagehint.look(glance, hinted=hinted)
    if not hint.maybe_page:
        log.debug("image hint: %s", hint)
        return None
    small = _open(data, fmt, draft=INSPECT_SIDE) if fmt == "jpeg" else glance
    from parsers.pageimage import inspect  # cv2: see the module docstring

    look = inspect(small, hinted=hinted)
    log.debug("image look: %s", look)
    return look if look.document else None


def read_page_photo(data: bytes, fmt: str, *, hinted: bool = False) -> ScanResult | None:
    """OCR an image when it shows a document page; None when it does not (a photo)."""
    look = page_look(data, fmt, hinted=hinted)
    if look is None:
        return None
    return read_page_images([(data, fmt, look)])


def read_page_images(pages: list[tuple[bytes, str, Look]]) -> ScanResult:
    """OCR images already found to be pages (`page_look`): a photographed page, or the pages
    pasted into a .docx, in order, as one document."""
    reader = _Reader("photo", len(pages))
    for number, (data, fmt, look) in enumerate(pages, 1):
        reader.seal = reader.seal or look.seal
        where = "photographed page" if len(pages) == 1 else f"pasted page {number}"
        if not reader.page(_open(data, fmt), where):
            break
    return reader.result()


def _open(data: bytes, fmt: str, draft: int | None = None, *, longer: bool = False) -> Image.Image:
    """The image decoded and upright (EXIF orientation applied), as RGB; a JPEG at the
    smallest DCT scale still at least `draft` px on both sides when given (on the longer side
    with `longer`)."""
    with _opened(data, fmt) as image:
        if draft is not None and fmt == "jpeg":
            image.draft("RGB", _draft_box(image.size, draft, longer))
        upright = ImageOps.exif_transpose(image)
        return (upright or image).convert("RGB")


def _decoded_size(data: bytes, fmt: str, draft: int) -> tuple[int, int]:
    """The size `_open(data, fmt, draft)` decodes the image at (before EXIF rotation), read
    from the header alone."""
    with _opened(data, fmt) as image:
        if fmt == "jpeg":
            image.draft("RGB", _draft_box(image.size, draft, False))
        return image.size


def _draft_box(size: tuple[int, int], draft: int, longer: bool) -> tuple[int, int]:
    if not longer:
        return (draft, draft)
    return (draft, 1) if size[0] >= size[1] else (1, draft)


@contextmanager
def _opened(data: bytes, fmt: str) -> Iterator[Image.Image]:
    if fmt not in _FORMATS:
        raise Unreadable(f"image format not supported ({fmt})")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=_FORMATS[fmt]) as image:
                yield image
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        EOFError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as e:
        raise Unreadable("image is damaged or truncated") from e


def _bounded(image: Image.Image) -> Image.Image:
    if max(image.size) <= MAX_OCR_SIDE:
        return image
    scale = MAX_OCR_SIDE / max(image.size)
    return image.resize(
        (round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS
    )
