"""One attachment's bytes → `DocumentFacts`: sniff the type, then ask the readers that fit.

This is the dispatcher; the readers live in their own modules. Content decides first, the file
name (`parsers.classify.hint_items`) only where the content leaves it open:

- spreadsheets (xlsx, xls, ods): the data table and/or the nomination list;
- docx: the written report (or the unit's directive), a data table inside it (or in an
  embedded Excel object), a nomination table, and its embedded photos — one file can be
  report + data table + photos at once. An embedded image that shows a document page is
  never an evidence photo; when the .docx has next to no text of its own (a photo of the
  report pasted into Word), its pages are read by OCR as the report;
- doc, txt: the report; pdf: the report, a table in it, a nomination list; a scanned PDF is a
  report (or directive) only when its name says so or says nothing else;
- images: a `Photo`; only evidence photos give the photo item (not logos or signatures); an
  image of a document page (`parsers.scan.read_page_photo`) is never an evidence photo: it is
  read by OCR like a scan;
- containers (zip, forwarded mail, winmail.dat) are expanded by the caller (`parsers.archive`).

A document is a report when its title says "Báo cáo", the Phụ lục outline is found (two
sections or more), or it has
a page or more of prose with no table or list of its own; a short one only when its name says
"báo cáo". Evidence links come from the report text and the table's notes.

A reader that fails yields a `problem` on the facts, never an exception: the rest of the
message is still filed.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import zipfile
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, TypeVar

from parsers.archive import ENTRY_ERRORS, BudgetExceeded, read_member
from parsers.classify import hint_items
from parsers.facts import (
    DATA_TABLE,
    DIRECTIVE,
    NOMINATIONS,
    PHOTO,
    REPORT,
    DataTable,
    DocumentFacts,
    Nomination,
    Photo,
    Report,
    Scan,
    Unreadable,
)
from parsers.grid import Grid, grids
from parsers.headings import headings
from parsers.links import extract_links
from parsers.nominations import nominations_in
from parsers.office import ENCRYPTED_MARK, open_docx
from parsers.photo import image_format, photos_in_docx, read_photo
from parsers.report import SCANNED, is_directive, read_report
from parsers.scan import (
    MIN_PAGE_SIDE,
    PAGE_PHOTO,
    ScanResult,
    page_look,
    read_page_images,
    read_page_photo,
    read_scanned_pdf,
)
from parsers.sniff import sniff
from parsers.table import read_data_table, table_in
from parsers.vietnamese import fold

if TYPE_CHECKING:
    from parsers.pageimage import Look

log = logging.getLogger(__name__)

T = TypeVar("T")
Page = tuple[bytes, str, "Look"]  # an embedded image that shows a document page
REPORT_PROSE_WORDS = 150  # a page of prose makes a report even without title or outline
HINTED_PROSE_WORDS = 20  # …or this much when the file name says "báo cáo"
MIN_SECTIONS = 2  # of the Phụ lục outline (one heading-like line alone is not an outline)
MAX_EMBEDDED_WORKBOOK = 20 * 2**20
_NOT_REPORT_TITLES = (
    "danh sach",
    "tong hop so lieu",
    "bang tong hop",
    "bieu tong hop",
    "to trinh",
    "bang thong ke",
    "hinh anh",
    "mot so hinh anh",
)
_OFFICE_ZIPS = {
    "docx": ("document", "docx"),
    "xlsx": ("spreadsheet", "xlsx"),
    "xlsm": ("spreadsheet", "xlsx"),
}
_KNOWN_EXT = {
    "xlsx": "xlsx",
    "xls": "xls",
    "docx": "docx",
    "doc": "doc",
    "pdf": "pdf",
    "jpg": "jpeg",
    "jpeg": "jpeg",
    "png": "png",
    "heic": "heic",
    "webp": "webp",
    "zip": "zip",
}


class _Problems:
    """Reasons collected while reading one file (each reason once)."""

    def __init__(self) -> None:
        self.reasons: list[str] = []

    def add(self, reason: str) -> None:
        if reason and reason not in self.reasons:
            self.reasons.append(reason)

    def attempt(self, fn: Callable[..., T], *args: object) -> T | None:
        try:
            return fn(*args)
        except Unreadable as e:
            self.add(str(e))
            return None

    def text(self) -> str:
        return "; ".join(self.reasons)


def read_document(data: bytes, filename: str, content_type: str = "") -> DocumentFacts:
    """What one attachment provides (see the module docstring). Never raises for bad input."""
    try:
        kind, fmt = sniff(data, filename, content_type)
    except Exception:  # zipfile raises NotImplementedError and more on crafted zips
        log.info("sniffing %s failed", filename[:80], exc_info=True)
        return DocumentFacts(
            filename=filename,
            kind="other",
            fmt="bin",
            problem="file is damaged (its type cannot be told)",
        )
    base = DocumentFacts(filename=filename, kind=kind, fmt=fmt)
    try:
        if kind == "image":
            return _image(data, base, hint_items(filename))
        if kind == "spreadsheet":
            return _spreadsheet(data, base)
        if kind in ("document", "pdf"):
            return _document(data, base, hint_items(filename))
        if kind == "archive" and fmt == "zip" and _ext(filename) in _OFFICE_ZIPS:
            return _damaged_office(data, base, _OFFICE_ZIPS[_ext(filename)])
        if kind in ("archive", "email"):
            return base  # the caller expands containers (parsers.archive.expand)
        return _other(base)
    except Unreadable as e:
        return replace(base, problem=str(e))
    except MemoryError:
        raise  # the parse stage's memory cap speaks for the whole message
    except Exception as e:  # a reader bug costs this attachment, not the message
        log.exception("reading %s (%s) failed", fmt, kind)
        return replace(base, problem=f"file could not be read ({fmt}: {type(e).__name__})")


def _image(data: bytes, base: DocumentFacts, hints: frozenset[str]) -> DocumentFacts:
    photo = read_photo(data, base.fmt, hashlib.sha256(data).hexdigest())
    page: ScanResult | None = None
    problems = _Problems()
    if min(photo.width, photo.height) >= MIN_PAGE_SIDE:
        page = problems.attempt(
            partial(read_page_photo, hinted=bool(hints - {PHOTO})), data, base.fmt
        )
    if page is None:
        return replace(
            base,
            photos=(photo,),
            items=frozenset({PHOTO} if photo.evidence else ()),
            problem=problems.text(),
        )
    photo = replace(photo, evidence=False, reason=PAGE_PHOTO)  # a page is never evidence
    for reason in page.problems:
        problems.add(reason)
    table = page.table
    items = _table_items(table, None, problems)
    if page.report is not None:
        kind = _report_item(page.report, base.filename, hints, "image", bool(items))
        if kind:
            items.add(kind)
    return replace(
        base,
        photos=(photo,),
        items=frozenset(items),
        report=page.report,
        data_table=table,
        links=_links(page.report, table),
        scan=page.scan,
        problem=problems.text(),
    )


def _spreadsheet(data: bytes, base: DocumentFacts) -> DocumentFacts:
    if base.fmt not in ("xlsx", "xls", "ods"):
        return replace(base, problem=f"format not supported ({base.fmt})")
    problems = _Problems()
    tables = problems.attempt(grids, data, base.fmt)
    table = table_in(tables) if tables is not None else None
    nominations = nominations_in(tables) if tables is not None else None
    items = _table_items(table, nominations, problems)
    if not items and not problems.reasons:
        problems.add("no data table or nomination list found")
    return replace(
        base,
        items=frozenset(items),
        data_table=table,
        nominations=nominations or (),
        links=_links(None, table),
        problem=problems.text(),
        headings=headings(tables),
    )


def _table_items(
    table: DataTable | None, nominations: tuple[Nomination, ...] | None, problems: _Problems
) -> set[str]:
    items: set[str] = set()
    if table is not None:
        if table.rows:
            items.add(DATA_TABLE)
        else:
            problems.add("data table is empty")
    if nominations:
        items.add(NOMINATIONS)
    return items


def _document(data: bytes, base: DocumentFacts, hints: frozenset[str]) -> DocumentFacts:
    fmt = base.fmt
    if fmt == "ole":
        reason = (
            "file is password-protected"
            if ENCRYPTED_MARK in data
            else "old Office file of an unknown kind"
        )
        return replace(base, problem=reason)
    if fmt not in ("docx", "doc", "txt", "pdf"):
        return replace(base, problem=f"format not supported ({fmt})")
    problems = _Problems()
    # a docx is opened once and its tables read once for the report, table and list readers
    document = problems.attempt(open_docx, data) if fmt == "docx" else None
    report = None
    if fmt != "docx" or document is not None:
        report = problems.attempt(partial(read_report, document=document), data, fmt)
    table: DataTable | None = None
    nominations: tuple[Nomination, ...] | None = None
    photos: tuple[Photo, ...] = ()
    tables: list[Grid] | None = None
    scan: Scan | None = None
    if fmt == "pdf" and report is not None and report.scanned:
        read = problems.attempt(read_scanned_pdf, data)
        if read is not None:
            report, table, scan = read.report or report, read.table, read.scan
            for reason in read.problems:
                problems.add(reason)
    readable = report is not None
    if fmt in ("docx", "pdf") and readable and not (report and report.scanned):
        tables = problems.attempt(partial(grids, document=document), data, fmt)
        if tables is not None:
            table = table_in(tables)
            nominations = nominations_in(tables)
    if fmt == "docx":
        if (table is None or not table.rows) and readable:
            table = _embedded_table(data) or table
        photos, pages = _docx_photos(data, problems)
        if pages and _words(report) < HINTED_PROSE_WORDS:  # the report pasted in as photos
            read = problems.attempt(read_page_images, pages)
            if read is not None and read.report is not None:
                report, scan = read.report, read.scan
                table = table if table is not None and table.rows else read.table or table
                for reason in read.problems:
                    problems.add(reason)
        elif pages:  # pages pasted beside the text: seen (and their seal), not read
            scan = Scan("photo", 0, len(pages), 0.0, any(look.seal for _, _, look in pages))
    items = _table_items(table, nominations, problems)
    if any(p.evidence for p in photos):
        items.add(PHOTO)
    if report is not None:
        if report.scanned and not report.text.strip():
            problems.add(SCANNED)
        kind = _report_item(report, base.filename, hints, fmt, bool(items - {PHOTO}))
        if kind:
            items.add(kind)
    return replace(
        base,
        items=frozenset(items),
        report=report,
        data_table=table,
        nominations=nominations or (),
        photos=photos,
        links=_links(report, table),
        scan=scan,
        problem=problems.text(),
        headings=headings(tables),
    )


def _report_item(
    report: Report, filename: str, hints: frozenset[str], fmt: str, has_table: bool
) -> str | None:
    """REPORT, DIRECTIVE or None for a document's text (see the module docstring)."""
    if report.scanned and not report.text.strip():
        if DIRECTIVE in hints and REPORT not in hints:
            return DIRECTIVE
        if REPORT in hints or not hints & {DATA_TABLE, NOMINATIONS, PHOTO}:
            return REPORT
        return None
    if not report.text.strip():
        return None
    if is_directive(report, filename):
        return DIRECTIVE
    title = fold(report.title)
    if title.startswith("bao cao") or len(report.sections) >= MIN_SECTIONS:
        return REPORT
    if has_table:
        return None  # the table or list is the document
    head = fold(" ".join(report.text.split()[:12]))
    if any(t in head for t in _NOT_REPORT_TITLES):
        return None
    words = _prose_words(report, fmt)
    if words >= REPORT_PROSE_WORDS or (REPORT in hints and words >= HINTED_PROSE_WORDS):
        return REPORT
    return None


def _prose_words(report: Report, fmt: str) -> int:
    """Words outside tables (a docx table row reads as "a | b | c")."""
    lines = report.text.splitlines()
    if fmt == "docx":
        lines = [line for line in lines if " | " not in line]
    return sum(len(line.split()) for line in lines)


def _links(report: Report | None, table: DataTable | None) -> tuple[str, ...]:
    parts = [report.text] if report is not None else []
    if table is not None:
        parts += [f"{r.activity}\n{r.note}" for r in table.rows]
    return extract_links("\n".join(parts))


def _docx_photos(data: bytes, problems: _Problems) -> tuple[tuple[Photo, ...], list[Page]]:
    """The images in `word/media`, each read as a photo, one per content hash; those that show
    a document page are no evidence (PAGE_PHOTO) and are returned as pages too, in order."""
    photos: dict[str, Photo] = {}
    pages: list[Page] = []
    failed: list[str] = []
    for name, blob in photos_in_docx(data):
        digest = hashlib.sha256(blob).hexdigest()
        fmt = image_format(blob)
        if digest in photos or fmt is None:
            continue
        try:
            photo = read_photo(blob, fmt, digest)
        except Unreadable as e:
            failed.append(f"{name}: {e}")
            continue
        look = None
        if min(photo.width, photo.height) >= MIN_PAGE_SIDE:
            with contextlib.suppress(Unreadable):  # a format OCR does not take (GIF): a photo
                look = page_look(blob, fmt)
        if look is not None:
            photo = replace(photo, evidence=False, reason=PAGE_PHOTO)
            pages.append((blob, fmt, look))
        photos[digest] = photo
    if failed:
        problems.add(f"{len(failed)} embedded image(s) not read ({'; '.join(failed[:3])})")
    return tuple(photos.values()), pages


def _words(report: Report | None) -> int:
    return len(report.text.split()) if report is not None else 0


def _embedded_table(data: bytes) -> DataTable | None:
    """The data table of an Excel workbook embedded in a docx (an OLE object pasted into the
    report: word/embeddings/*.xlsx or *.xls), or None."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for info in zf.infolist():
                name = info.filename
                if not name.startswith("word/embeddings/") or not name.lower().endswith(
                    (".xlsx", ".xls")
                ):
                    continue
                try:
                    blob = read_member(zf, info, MAX_EMBEDDED_WORKBOOK)
                except BudgetExceeded:
                    continue
                except ENTRY_ERRORS:
                    continue
                kind, fmt = sniff(blob, name)
                if kind != "spreadsheet" or fmt not in ("xlsx", "xls"):
                    continue
                try:
                    table = read_data_table(blob, fmt)
                except Unreadable:
                    continue
                if table is not None and table.rows:
                    short = name.rsplit("/", 1)[-1]
                    return replace(table, source=f"embedded workbook {short}, {table.source}")
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as e:
        log.info("docx embeddings unreadable: %s", e)
    return None


def _ext(filename: str) -> str:
    return filename.rsplit(".", 1)[-1].lower() if "." in filename else ""


def _damaged_office(data: bytes, base: DocumentFacts, kind_fmt: tuple[str, str]) -> DocumentFacts:
    """A .docx/.xlsx that sniffs as a plain zip: a damaged (cut off) Office file, or a real
    zip someone renamed. Only the second is a container for the caller to expand."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            if zf.infolist():
                return base
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError):
        pass
    kind, fmt = kind_fmt
    return replace(base, kind=kind, fmt=fmt, problem=f"file is damaged or incomplete ({fmt})")


def _other(base: DocumentFacts) -> DocumentFacts:
    """A file of no kind we read: say so when its name promised one we do read."""
    ext = _ext(base.filename)
    if ext in _KNOWN_EXT:
        return replace(base, problem=f"content does not match its .{ext} name")
    return base
