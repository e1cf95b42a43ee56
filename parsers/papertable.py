"""The "Tổng hợp số liệu" table on paper: OCR words of a page → a verified `DataTable`, or a
reason to type it in by hand.

The words are put back into visual rows (by their vertical centre, whatever block Tesseract
gave them) and into columns under the header's labels (STT, Các hoạt động, Đơn vị tổ chức,
Số lớp/số cuộc thi, Người, Ghi chú); a row with neither a number nor an STT continues the row
above (wrapped text in a cell). The grid goes through the same reader as a spreadsheet
(`parsers.table`), then it is checked: a table read from an image is accepted only when it has
a totals row ("Tổng cộng"/"Cộng") and that row equals the sum of the rows in every count column
it gives, with no count left unread. Anything else is `PaperTable(table=None, reason=…)`: a
misread digit changes a sum, so it is flagged, never stored as a wrong number.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from parsers.facts import DataTable
from parsers.grid import Cell, Grid
from parsers.ocr import Word
from parsers.table import find_header, read_rows
from parsers.vietnamese import fold

NEEDS_TYPING = "table on paper not read: needs typing in"
# canonical header labels for the columns found (what parsers.table.column_role knows)
_LABELS = {
    "stt": "STT",
    "activity": "Các hoạt động",
    "organizer": "Đơn vị tổ chức",
    "classes": "Số lớp/số cuộc thi",
    "people": "Người",
    "note": "Ghi chú",
}
_NUMBER = re.compile(r"^[\d.,]+$|^-$")
_END = re.compile(
    r"^(?:noi nhan|nguoi lap|hieu truong|pho hieu truong|giam doc|chu tich|"
    r"tm\.|kt\.|xac nhan)"
)


@dataclass(frozen=True)
class PaperTable:
    table: DataTable | None  # verified, or None
    reason: str = ""  # why there is none although a table header was seen ("" when none seen)


def _role(word: str, nxt: str) -> str | None:
    """The column a header word starts, or None ("Đơnvitổ" and "Sốlớp/số" come glued)."""
    f = fold(word).strip(".,:;()")
    pair = f + " " + fold(nxt)
    if f in ("stt", "tt"):
        return "stt"
    if f.startswith(("cachoat", "hoatdong", "noidung")):
        return "activity"
    if f in ("cac", "noi", "hoat", "ten") and ("hoat" in pair or "noi dung" in pair or f == "hoat"):
        return "activity"
    if f.startswith("don") and ("vi" in pair or f.startswith("donvi")):
        return "organizer"
    if f.startswith("solop") or pair.startswith("so lop") or f.startswith("socuoc"):
        return "classes"
    if f.startswith("nguoi") and not pair.startswith("nguoi lap"):
        return "people"
    if f.startswith("ghi") and ("chu" in pair or f.startswith("ghichu")):
        return "note"
    return None


def visual_rows(words: Sequence[Word]) -> list[list[Word]]:
    """Words grouped into rows by vertical centre, each row left to right."""
    words = [w for w in words if w.text]
    if not words:
        return []
    heights = sorted(w.box[3] - w.box[1] for w in words)
    tol = max(4.0, heights[len(heights) // 2] * 0.6)
    rows: list[list[Word]] = []
    centres: list[float] = []
    for w in sorted(words, key=lambda w: (w.box[1] + w.box[3]) / 2):
        c = (w.box[1] + w.box[3]) / 2
        if rows and abs(c - centres[-1]) <= tol:
            rows[-1].append(w)
            centres[-1] = (centres[-1] * (len(rows[-1]) - 1) + c) / len(rows[-1])
        else:
            rows.append([w])
            centres.append(c)
    return [sorted(r, key=lambda w: w.box[0]) for r in rows]


def read_paper_table(words: Sequence[Word], source: str) -> PaperTable:
    """The verified data table among a page's OCR words (see the module docstring)."""
    rows = visual_rows(words)
    found = _header(rows)
    if found is None:
        return PaperTable(None)
    index, anchors = found
    roles = sorted(anchors, key=lambda r: anchors[r])
    cells: list[list[str]] = [[_LABELS[r] for r in roles]]
    previous_had_key = False
    for row in rows[index + 1 :]:
        text = fold(" ".join(w.text for w in row))
        if _END.match(text):
            break
        line = [""] * len(roles)
        for w in row:
            col = _column(w.box[0], anchors, roles)
            line[col] = f"{line[col]} {w.text}".strip()
        if "stt" in roles:  # a ruling read as a letter: "1|" → "1", "1N" → "1"
            stt = roles.index("stt")
            line[stt] = re.sub(r"^(\d{1,3})[^\d\s.]$", r"\1", line[stt])
            if "activity" in roles:  # the STT is a number; words there began the activity
                # cell left of its centred header ("1 Lễ khai mạc", "sách cùng em")
                number, _, rest = line[stt].partition(" ")
                if not re.fullmatch(r"\d{1,3}\.?", number):
                    number, rest = "", line[stt]
                act = roles.index("activity")
                line[stt], line[act] = number, f"{rest} {line[act]}".strip()
        key = any(line[roles.index(r)] for r in ("stt", "classes", "people") if r in roles)
        if not key and previous_had_key and len(cells) > 1:
            cells[-1] = [f"{a} {b}".strip() for a, b in zip(cells[-1], line, strict=True)]
            continue
        cells.append(line)
        previous_had_key = key
    grid = Grid(source, tuple(tuple(_cell(v) for v in line) for line in cells))
    header = find_header(grid.cells)
    if header is None:
        return PaperTable(None, NEEDS_TYPING + " (its columns were not recognised)")
    table = read_rows(grid, header)
    return _verified(table)


def _header(rows: list[list[Word]]) -> tuple[int, dict[str, int]] | None:
    """(index of the header's last row, role → left x) for a header naming the count
    columns; the header may take two or three visual rows ("Số lớp/số" over "cuộc thi")."""
    for i in range(len(rows)):
        anchors: dict[str, int] = {}
        last = i
        for j in range(i, min(i + 3, len(rows))):
            words = rows[j]
            found = False
            for k, w in enumerate(words):
                nxt = words[k + 1].text if k + 1 < len(words) else ""
                role = _role(w.text, nxt)
                if role and role not in anchors:
                    anchors[role] = w.box[0]
                    found = True
            if found:
                last = j
            if j > i and not found:
                break
        if {"activity"} <= anchors.keys() and anchors.keys() & {"classes", "people"}:
            return last, anchors
    return None


def _column(x: int, anchors: dict[str, int], roles: list[str]) -> int:
    """The column whose header starts at or left of `x` (a little slack for centred cells)."""
    best = 0
    for i, role in enumerate(roles):
        if x >= anchors[role] - 25:
            best = i
    return best


def _cell(value: str) -> Cell:
    return value or None


def _verified(table: DataTable) -> PaperTable:
    if not table.rows:
        return PaperTable(None, NEEDS_TYPING + " (no rows read)")
    declared = (table.declared_total_classes, table.declared_total_participants)
    if declared == (None, None):
        return PaperTable(None, NEEDS_TYPING + " (no totals row to check it against)")
    if table.warnings:
        return PaperTable(None, NEEDS_TYPING + f" ({table.warnings[0]})")
    for total, computed in (
        (table.declared_total_classes, table.total_classes),
        (table.declared_total_participants, table.total_participants),
    ):
        if total is not None and total != computed:
            return PaperTable(None, NEEDS_TYPING + " (totals row differs from the rows)")
    return PaperTable(table)
