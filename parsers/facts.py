"""The facts parsers return: frozen dataclasses, plain values only (no sessions, no paths).

Items a document can provide (`ITEMS`): the written report, the data table ("Tổng hợp số
liệu"), evidence photos, the nomination list, and a directive/plan of the unit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

REPORT = "report"
DATA_TABLE = "data_table"
PHOTO = "photo"
NOMINATIONS = "nominations"
DIRECTIVE = "directive"
ITEMS = (REPORT, DATA_TABLE, PHOTO, NOMINATIONS, DIRECTIVE)


@dataclass(frozen=True)
class TableRow:
    stt: str
    activity: str
    organizer: str
    classes_or_contests: int | None
    participants: int | None
    note: str


@dataclass(frozen=True)
class DataTable:
    rows: tuple[TableRow, ...]
    total_classes: int | None  # computed from rows (a declared totals row is never summed twice)
    total_participants: int | None
    declared_total_classes: int | None = None  # from a "Tổng cộng"/"Cộng" row, when present
    declared_total_participants: int | None = None
    source: str = ""  # e.g. "sheet 'Số liệu'", "docx table 2", "pdf page 3"
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Report:
    text: str  # NFC Unicode
    encoding: str = "unicode"  # "unicode" | "tcvn3" | "vni" | "cp1258"
    sections: tuple[tuple[str, str], ...] = ()  # (key, text), keys like "I.1", "I.2", "II.3"
    budget_state: int | None = None  # I.3 Ngân sách nhà nước, đồng
    budget_support: int | None = None  # I.3 hỗ trợ/xã hội hóa, đồng
    scanned: bool = False  # PDF without a text layer
    title: str = ""
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Photo:
    sha256: str
    format: str  # "jpeg" | "png" | "heic" | "webp" | ...
    width: int
    height: int
    taken_at: datetime | None = None  # from EXIF, aware when the offset is known
    camera: str = ""
    thumbnail: bytes = b""  # small JPEG for the digest
    evidence: bool = True  # False for logos, signatures, tiny inline images
    reason: str = ""  # why it is not evidence, when evidence is False


@dataclass(frozen=True)
class Scan:
    """How a scanned PDF or a photographed page was read by OCR (parsers.scan)."""

    source: str  # "pdf" (a scan without a text layer) | "photo" (a photographed page)
    pages: int  # pages read by OCR
    pages_total: int  # pages the file has
    confidence: float  # Tesseract's mean word confidence over those pages, 0–100
    seal: bool = False  # a red round seal (con dấu) was seen on a page
    table: str = ""  # "verified" | "needs typing" | "" (no data table seen)


@dataclass(frozen=True)
class Nomination:
    stt: str
    name: str
    collective: bool  # True: tập thể, False: cá nhân
    position: str
    unit: str
    achievement: str


@dataclass(frozen=True)
class Member:
    """A file found inside a container (zip entry, forwarded message part, winmail.dat)."""

    name: str
    data: bytes
    content_type: str = ""
    sender: str = ""  # for message/rfc822: the inner From address


@dataclass(frozen=True)
class DocumentFacts:
    """What one attachment (or container member) provides."""

    filename: str
    kind: str  # coarse: spreadsheet | document | pdf | image | archive | email | other
    fmt: str  # fine: xlsx | xls | docx | doc | pdf | jpeg | png | heic | webp | zip | ...
    items: frozenset[str] = frozenset()
    data_table: DataTable | None = None
    report: Report | None = None
    photos: tuple[Photo, ...] = ()
    nominations: tuple[Nomination, ...] = ()
    links: tuple[str, ...] = ()
    problem: str = ""  # why (part of) it could not be read; empty when fine
    scan: Scan | None = None  # set when the text was read by OCR
    members: tuple[DocumentFacts, ...] = field(default=())
    headings: tuple[str, ...] = ()  # its tables' title and header rows (parsers.headings)


@dataclass(frozen=True)
class Expanded:
    """What a container held: readable members, and a reason for each member left out."""

    members: tuple[Member, ...] = ()
    problems: tuple[str, ...] = ()


class Unreadable(Exception):
    """A parser could not read a file; `str(exc)` is the reason, short and human-readable
    (e.g. "archive type not supported", "file is password-protected", "scanned, no text layer")."""
