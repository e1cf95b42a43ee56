"""The written report ("Báo cáo kết quả tổ chức Tuần lễ…"): bytes → `parsers.facts.Report`.

Readers: docx (lxml over word/document.xml, `parsers.office.DocxText`; every run's font decides its
TCVN3/VNI conversion; paragraphs and
table cells in document order; hyperlink targets kept), doc (Word 97–2003 via `unword`, chosen
over legacy-doc, which drops the TCVN3 letter `ư`, and antiword, which is less accurate and a
subprocess; it exposes no font names, so legacy text is found by character statistics), pdf
(pdfplumber; per-character font names where a legacy font is embedded, else statistics; no text
layer → `scanned=True`) and txt (UTF-8/UTF-16, else cp1258 or a legacy 8-bit encoding).

Then the Phụ lục outline is found whatever the numbering ("1.", "I.1.", "a)", capitals, no
diacritics): sections I.1 chỉ đạo, I.2 hoạt động, I.3 kinh phí (amounts in đồng), II.1–II.4.
`header_lines` gives the issuing-body block that names the unit; `is_directive` tells a unit's
own plan or công văn from its report. Damaged files raise `Unreadable`.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable
from typing import TYPE_CHECKING

import unword

from parsers.facts import Report, Unreadable
from parsers.office import Docx, DocxText, open_docx, pdf_pages
from parsers.text import clean_text
from parsers.vietnamese import (
    cp1258_decode,
    detect_legacy,
    fold,
    fold_keep,
    font_encoding,
    has_unicode_vietnamese,
    to_unicode,
)

if TYPE_CHECKING:
    from pdfplumber.page import Page

log = logging.getLogger(__name__)

SCANNED = "scanned, no text layer"
# a report is a few pages; 300,000 characters is ~100 pages. More (a pasted database, a
# generated file) is stored whole but not analysed: the outline reader costs ~1.4 s per MB
MAX_REPORT_CHARS = 300_000

# --- readers --------------------------------------------------------------------------------


def read_report(data: bytes, fmt: str, *, document: Docx | None = None) -> Report:
    """Read a written report (fmt: docx, doc, pdf, txt) into a `Report`. A docx already
    opened with `parsers.office.open_docx` can be passed as `document`."""
    fmt = fmt.lower()
    warnings: list[str] = []
    cut = False
    if fmt == "docx":
        lines, encoding, cut = _docx_lines(document or open_docx(data))
    elif fmt == "doc":
        lines, encoding = _doc_lines(data)
    elif fmt == "pdf":
        lines, encoding = _pdf_lines(data)
        if not any(line.strip() for line in lines):
            return Report(text="", scanned=True, warnings=(SCANNED,))
    elif fmt == "txt":
        lines, encoding = _txt_lines(data)
    else:
        raise Unreadable(f"no report reader for {fmt}")
    if not cut:
        lines, cut = _within(lines, MAX_REPORT_CHARS)
    if cut:
        warnings.append(f"text too long: only the first {MAX_REPORT_CHARS:,} characters were read")
    if encoding == "unicode":
        guessed = detect_legacy("\n".join(lines))
        if guessed:
            lines, encoding = _convert_guessed(lines, guessed), guessed
            warnings.append(f"legacy encoding {guessed} guessed from the text")
    return report_from_lines(lines, encoding=encoding, warnings=tuple(warnings))


def _within(lines: Iterable[str], budget: int) -> tuple[list[str], bool]:
    """The lines that fit in `budget` characters (taken lazily), and whether more was left."""
    out: list[str] = []
    used = 0
    for line in lines:
        used += len(line) + 1
        if used > budget:
            return out, True
        out.append(line)
    return out, False


def _convert_guessed(lines: list[str], encoding: str) -> list[str]:
    """Convert lines found to be legacy-encoded; lines already in Unicode stay as they are.

    Without font names the `.VnTimeH` capitals are unknown: a line (or a word of two or more
    ASCII letters) whose ASCII letters are all capitals ("UBND HUYÖN") is taken as typed in a
    capitals font.
    """
    out = []
    for line in lines:
        line = line.replace("\x1f", "\u00ad")  # Word keeps TCVN3 `ư` (0xAD) as its hyphen 0x1F
        if has_unicode_vietnamese(line):
            out.append(line)
            continue
        if encoding == "tcvn3" and _typed_in_caps(line, 3):
            out.append(to_unicode(line, encoding).upper())
            continue
        words = [to_unicode(w, encoding) for w in line.split(" ")]
        if encoding == "tcvn3":
            words = [
                new.upper() if _typed_in_caps(old, 2) else new
                for old, new in zip(line.split(" "), words, strict=True)
            ]
        out.append(" ".join(words))
    return out


def _typed_in_caps(text: str, least: int) -> bool:
    letters = [c for c in text if c.isascii() and c.isalpha()]
    return len(letters) >= least and all(c.isupper() for c in letters)


def _docx_lines(document: Docx) -> tuple[list[str], str, bool]:
    """The body's lines up to MAX_REPORT_CHARS (the rest is not walked), the legacy encoding
    its fonts showed, and whether text was left out."""
    reader = DocxText.of(document)
    lines, cut = _within(reader.blocks(document.body), MAX_REPORT_CHARS)
    used = reader.used
    encoding = "tcvn3" if used & {"tcvn3", "tcvn3-upper"} else "vni" if "vni" in used else "unicode"
    return lines, encoding, cut


def _doc_lines(data: bytes) -> tuple[list[str], str]:
    if not data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        raise Unreadable("not really a Word 97-2003 document")
    try:
        document = unword.parse_doc(data)
    except (ValueError, OSError, RuntimeError) as e:
        reason = (
            "file is password-protected"
            if "encrypt" in str(e).lower()
            else ("file is damaged (doc cannot be parsed)")
        )
        raise Unreadable(reason) from e
    text = "\n".join([document.body_text, *document.textboxes])
    lines = [re.sub(r"^#{1,6}\s+", "", line) for line in text.splitlines()]  # Markdown headings
    return lines, "unicode"


def _pdf_lines(data: bytes) -> tuple[list[str], str]:
    lines: list[str] = []
    used: set[str] = set()
    with pdf_pages(data) as pages:
        for page in pages:
            fonts = {_pdf_font(c.get("fontname", "")) for c in page.chars}
            if any(font_encoding(f) for f in fonts):
                lines.extend(_pdf_legacy_lines(page, used))
            else:
                lines.extend((page.extract_text() or "").splitlines())
    encoding = "tcvn3" if used & {"tcvn3", "tcvn3-upper"} else "vni" if "vni" in used else "unicode"
    return lines, encoding


def _pdf_font(name: str) -> str:
    return name.split("+", 1)[1] if re.match(r"^[A-Z]{6}\+", name) else name


def _pdf_legacy_lines(page: Page, used: set[str]) -> list[str]:
    rows: dict[int, list[tuple[float, str]]] = {}
    for word in page.extract_words(extra_attrs=["fontname"], keep_blank_chars=False):
        encoding = font_encoding(_pdf_font(word["fontname"]))
        text = word["text"]
        if encoding and not has_unicode_vietnamese(text):
            used.add(encoding)
            text = to_unicode(text, encoding)
        rows.setdefault(round(word["top"] / 3), []).append((word["x0"], text))
    return [" ".join(t for _, t in sorted(words)) for _, words in sorted(rows.items())]


def _txt_lines(data: bytes) -> tuple[list[str], str]:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16", errors="replace")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            view = data.decode("cp1252", errors="replace")
            legacy = detect_legacy(view)
            if legacy:
                return _convert_guessed(view.splitlines(), legacy), legacy
            return cp1258_decode(data).splitlines(), "cp1258"
    return text.splitlines(), "unicode"


# --- outline --------------------------------------------------------------------------------

ORDER = ("I.1", "I.2", "I.3", "II.1", "II.2", "II.3", "II.4")
# (key, folded keywords) — checked in this order, so "số liệu các hoạt động" is II.4.
_KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("II.4", ("so lieu", "bang tong hop", "mau tong hop")),
    ("I.3", ("kinh phi", "ngan sach")),
    ("I.1", ("chi dao",)),
    ("II.2", ("kho khan", "ton tai", "han che", "vuong mac")),
    ("II.3", ("kien nghi", "de xuat", "de nghi")),
    ("II.1", ("ket qua dat", "ket qua da dat", "nhung ket qua", "bai hoc kinh nghiem", "uu diem")),
    ("I.2", ("hoat dong",)),
    ("PART II", ("danh gia",)),
    (
        "PART I",
        ("to chuc trien khai", "trien khai tuan le", "ket qua to chuc", "ket qua thuc hien"),
    ),
)
_MARKER = re.compile(
    r"^\s*(?:phan\s+)?(?P<m>[ivx]{1,4}(?:[.\-]\d{1,2})?|\d{1,2}(?:\.\d{1,2})*|[a-dđ])\s*[.):/\-]"
    r"\s*(?P<rest>\S.*)$"
)
_STOP = re.compile(
    r"^(?:noi nhan|tm\.|kt\.|(?:pho )?hieu truong|(?:pho )?chu tich|nguoi lap|"
    r"(?:pho )?giam doc|xac nhan cua)\b"
)
_CAPS_MAX = 110


def _heading(line: str) -> tuple[str, str] | None:
    """(key, content after a colon) when `line` is an outline heading, else None."""
    folded = fold_keep(line)
    match = _MARKER.match(folded)
    letters = [c for c in line if c.isalpha()]
    if match:
        start = match.start("rest")
    elif letters and all(c.isupper() for c in letters) and len(line) <= _CAPS_MAX:
        start = 0
    else:
        return None
    title, colon, _ = folded[start:].partition(":")
    title = " ".join(title.split())
    for key, words in _KEYWORDS:
        if any(w in title for w in words):
            return key, line[start + len(title) + 1 :].strip() if colon else ""
    return None


def _title(lines: list[str]) -> tuple[str, int]:
    """The title ("BÁO CÁO Kết quả …", "KẾ HOẠCH Tổ chức …") and the index after it."""
    for i, line in enumerate(lines[:60]):
        folded = fold(line)
        if not re.match(r"^(?:bao cao|ke hoach)\b", folded):
            continue
        parts = [line.strip()]
        j = i + 1
        if len(folded) <= 12:  # the title word alone: the subject follows
            while j < len(lines) and not lines[j].strip() and j < i + 3:
                j += 1
            while j < len(lines) and lines[j].strip() and len(parts) < 4:
                nxt = fold(lines[j])
                if re.match(
                    r"^(?:[-_*=.]{3,}|can cu|thuc hien|kinh gui|so:)", nxt
                ) or _MARKER.match(nxt):
                    break
                parts.append(lines[j].strip())
                j += 1
        return " ".join(" ".join(parts).split()), j
    return "", 0


def report_from_lines(
    lines: list[str], *, encoding: str = "unicode", warnings: tuple[str, ...] = ()
) -> Report:
    """Build a `Report` from text lines already in Unicode: title, sections, budget."""
    lines = [clean_text(line, keep_newlines=False).replace("\u00ad", "").rstrip() for line in lines]
    title, start = _title(lines)
    sections: dict[str, list[str]] = {}
    current: str | None = None
    for line in lines[start:]:
        if _STOP.match(fold(line)):
            current = None
            continue
        cut = fold_keep(line).find("noi nhan:")
        if cut > 0:  # .doc readers can run a table into the "Nơi nhận:" line
            if current is not None and line[:cut].strip():
                sections[current].append(line[:cut].strip())
            current = None
            continue
        found = _heading(line)
        if found is not None:
            key, tail = found
            if key.startswith("PART"):
                current = None if key == "PART II" else current
                continue
            # The outline runs forward; a sub-item ("a) Hoạt động…") of a later part is text.
            if key not in sections and (current is None or ORDER.index(key) > ORDER.index(current)):
                current = key
                sections[key] = [tail] if tail else []
                continue
        if current is not None and line.strip():
            sections[current].append(line.strip())
    keyed = tuple((k, "\n".join(sections[k])) for k in ORDER if k in sections)
    state, support = _budget(sections.get("I.3") or _budget_lines(lines))
    text = unicodedata.normalize("NFC", "\n".join(lines).strip())
    return Report(
        text=text,
        encoding=encoding,
        sections=keyed,
        budget_state=state,
        budget_support=support,
        title=title,
        warnings=warnings,
    )


def _budget_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if "ngan sach" in fold(line) or "xa hoi hoa" in fold(line)]


# --- money ----------------------------------------------------------------------------------

_AMOUNT = re.compile(
    r"(?<![\d.,])(?P<n>\d{1,3}(?:[.,\s]\d{3})+|\d+(?:[.,]\d+)?)\s*"
    r"(?P<u>trieu dong|trieu|tr\b|nghin dong|nghin|ngan dong|ngan|k\b|dong|d\b|vnd|vnđ)?"
)
_STATE = re.compile(r"ngan sach nha nuoc|\bnsnn\b|ngan sach (?:xa|huyen|cap tren)")
_SUPPORT = re.compile(
    r"ho tro|xa hoi hoa|van dong|tai tro|doanh nghiep|nguon hop phap|"
    r"dong gop|ung ho"
)


def parse_amount(number: str, unit: str) -> int | None:
    """'15.000.000' + 'dong' → 15000000; '2,5' + 'trieu' → 2500000; bare small numbers → None."""
    grouped = re.fullmatch(r"\d{1,3}(?:[.,\s]\d{3})+", number) is not None
    if unit.startswith(("trieu", "tr")) or unit.startswith(("nghin", "ngan")) or unit == "k":
        scale = 1_000_000 if unit.startswith("tr") else 1000
        value = float(re.sub(r"\D", "", number)) if grouped else float(number.replace(",", "."))
        return round(value * scale)
    digits = re.sub(r"\D", "", number)
    if not digits or (not unit and not grouped and int(digits) < 1000):
        return None
    return int(digits)


def _budget(lines: list[str]) -> tuple[int | None, int | None]:
    """Amounts for "Ngân sách nhà nước" and "hỗ trợ/xã hội hóa" in the kinh phí section."""
    text = "\n".join(lines)
    folded = fold_keep(text)
    marks = sorted(
        [(m.start(), m.end(), "state") for m in _STATE.finditer(folded)]
        + [(m.start(), m.end(), "support") for m in _SUPPORT.finditer(folded)]
    )
    found: dict[str, int] = {}
    for i, (_, end, kind) in enumerate(marks):
        if kind in found:
            continue
        if kind == "support" and any(k == "state" and s <= end <= e for s, e, k in marks):
            continue
        stop = marks[i + 1][0] if i + 1 < len(marks) else len(folded)
        stop = min(stop, end + 160)
        clause = folded[end:stop]
        for m in _AMOUNT.finditer(clause):
            amount = parse_amount(m.group("n"), (m.group("u") or "").strip())
            if amount is not None:
                found[kind] = amount
                break
        else:
            if re.search(r"\bkhong\b", clause.split("\n\n")[0][:60]):
                found[kind] = 0
    return found.get("state"), found.get("support")


# --- unit and kind --------------------------------------------------------------------------

_MOTTO = (
    "cong hoa xa hoi chu nghia viet nam",
    "doc lap - tu do - hanh phuc",
    "doc lap – tu do – hanh phuc",
    "doc lap-tu do-hanh phuc",
)
_UNIT_WORD = re.compile(
    r"^(?:ubnd|uy ban|truong|phong|trung tam|tt|mam non|mn|th|thcs|thpt|"
    r"so giao duc|hoi dong|dang uy|chi bo)\b"
)
_DATE = re.compile(r"(?:,\s*)?ngay\s+\d{1,2}\s+thang\s+\d{1,2}\s+nam\s+\d{4}.*$")


def header_lines(report: Report) -> tuple[str, ...]:
    """The issuing-body lines above the title ("UBND XÃ BÍCH HÒA", "TRƯỜNG THCS BÍCH HÒA"),
    plus the unit named by "… của <unit>" in the title."""
    lines = report.text.splitlines()
    _, start = _title(lines)
    end = start - 1 if start else min(len(lines), 15)
    out: list[str] = []
    for raw in lines[: max(end, 0)][:20]:
        for part in raw.split(" | "):
            line = _strip_motto(part)
            folded = fold(line)
            if not line or re.match(
                r"^(?:so\s*:|so\b.*/|v/v|[-_*=.\s]{3,}$|bao cao|ke hoach)", folded
            ):
                continue
            letters = [c for c in line if c.isalpha()]
            caps = len(letters) >= 3 and all(c.isupper() for c in letters)
            if len(line) <= 80 and (caps or _UNIT_WORD.match(folded)):
                out.append(line)
    match = re.search(r"\bcủa\s+([A-ZĐÀ-Ỹ].+)$", report.title)
    if match:
        out.append(match.group(1).strip(" .,"))
    return tuple(dict.fromkeys(out))


def _strip_motto(line: str) -> str:
    """`line` without the motto and the "…, ngày … tháng … năm …" part (PDF columns merge)."""
    folded = fold_keep(line)
    for phrase in _MOTTO:
        i = folded.find(phrase)
        if i >= 0:
            line, folded = (
                line[:i] + line[i + len(phrase) :],
                folded[:i] + folded[i + len(phrase) :],
            )
    date = _DATE.search(folded)
    if date:
        cut = folded.rfind(" ", 0, max(date.start(), 0))
        line = line[: cut if cut > 0 and date.start() > 0 else date.start()]
    return " ".join(line.split()).strip(" -–")


def is_directive(report: Report, filename: str) -> bool:
    """True for a unit's own plan or công văn (KẾ HOẠCH…, Số …/KH-…, …/CV-…), not its report."""
    title = fold(report.title)
    if title.startswith("bao cao"):
        return False
    if title.startswith("ke hoach"):
        return True
    head = fold("\n".join(report.text.splitlines()[:25]))
    if re.search(r"\bso\s*:?\s*[\w.]*\s*/\s*(?:kh|cv)\b", head) or "v/v" in head:
        return not re.search(r"\bso\s*:?\s*[\w.]*\s*/\s*bc\b", head)
    name = fold(filename.rsplit("/", 1)[-1]).replace("_", " ")
    if re.match(r"^(?:kh|cv)(?![a-z])", name) or re.search(r"cong ?van|ke ?hoach", name):
        return "bao cao" not in name and not re.match(r"^bc(?![a-z])", name)
    return False
