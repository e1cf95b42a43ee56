"""The nomination list ("Danh sách đề nghị khen thưởng"): who the unit proposes for an award.

This module owns finding the list among a file's sheets/tables (header "STT | Họ và tên / Tên
tập thể | Chức vụ | Đơn vị | Thành tích", with or without diacritics, columns in any order, a
combined "Chức vụ, đơn vị công tác" column split at its first comma) and telling collectives from
individuals, in this order of trust:

1. a kind column ("Tập thể/Cá nhân", "Đối tượng") on the row;
2. the section the row sits in ("A. TẬP THỂ", "II. Cá nhân", "Khen tập thể");
3. the name: organisations start with words like "Trường", "Tổ", "Lớp", "Liên đội", "Trung
   tâm", "UBND" — matched with diacritics where a surname folds the same way ("Tô Thị Hà" is a
   person, "Tổ Toán" a collective; "Trương" a person, "Trường" a school);
4. otherwise a person.

Every nomination table of the file is read, in document order (units often send one table for
collectives and one for individuals).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from parsers.facts import Nomination
from parsers.grid import Cell, Grid, cell_text, grids
from parsers.table import FOOTER, HEADER_SCAN_ROWS, INDEX_TOKEN, norm

log = logging.getLogger(__name__)

_SECTION = re.compile(
    r"^(?:(?:[ivx]{1,4}|[a-d]|\d{1,2})\s*[.)/-]?\s+)?"
    r"(?:danh sach |de nghi |khen thuong |khen |de nghi khen thuong )*"
    r"(tap the|ca nhan)(?: co thanh tich\b.*| de nghi\b.*)?$"
)
_ORGANISATION = (
    "trường ",
    "tổ ",
    "lớp ",
    "khối ",
    "chi đoàn",
    "liên đội",
    "chi đội",
    "đoàn thanh niên",
    "đoàn trường",
    "đoàn xã",
    "tập thể",
    "ubnd",
    "ủy ban",
    "uỷ ban",
    "trung tâm",
    "phòng ",
    "hội ",
    "ban ",
    "nhóm ",
    "công đoàn",
    "chi bộ",
    "chi hội",
    "thôn ",
    "xóm ",
    "xã ",
    "thị trấn",
    "thư viện",
    "câu lạc bộ",
    "clb",
    "tt htcđ",
    "tt gdnn",
    "nhà trường",
    "cụm ",
    "đội ",
    "bộ phận",
    "văn phòng",
    "mầm non",
    "tiểu học",
    "thcs",
    "thpt",
)
_ORGANISATION_FOLDED = (
    "truong thcs",
    "truong th ",
    "truong mn",
    "truong mam non",
    "truong tieu hoc",
    "truong thpt",
    "to chuyen mon",
    "to van phong",
    "to toan",
    "to van",
    "to ngu van",
    "lop ",
    "khoi ",
    "chi doan",
    "lien doi",
    "chi doi",
    "tap the",
    "ubnd",
    "trung tam",
    "cong doan",
    "thu vien",
    "cau lac bo",
    "clb",
    "tt htcd",
    "tt gdnn",
    "doan thanh nien",
    "hoi khuyen hoc",
)


def nomination_role(label: str) -> str | None:
    """What a nomination-list header label means: stt, name, kind, position, position_unit,
    unit, achievement, or None."""
    f = norm(label)
    words = set(f.replace("/", " ").split())
    if f in ("stt", "tt", "so tt", "so thu tu", "thu tu"):
        return "stt"
    if "ho va ten" in f or "ho ten" in f or "ten" in words:
        return "name"
    if ("tap the" in f and "ca nhan" in f) or f in ("doi tuong", "loai", "phan loai"):
        return "kind"
    if ("chuc vu" in f or "chuc danh" in f) and ("don vi" in f or "cong tac" in f):
        return "position_unit"
    if "chuc vu" in f or "chuc danh" in f:
        return "position"
    if "don vi" in f or "noi cong tac" in f or "co quan" in f:
        return "unit"
    if "thanh tich" in f or "ly do" in f or "noi dung" in f:
        return "achievement"
    return None


def looks_collective(name: str) -> bool:
    """True when `name` reads as an organisation rather than a person (see module docstring)."""
    lower = " ".join(name.lower().split()) + " "
    if lower.startswith(_ORGANISATION):
        return True
    folded = norm(name) + " "
    return folded.startswith(_ORGANISATION_FOLDED)


def _find_header(cells: Sequence[Sequence[Cell]]) -> tuple[int, dict[str, int]] | None:
    for r in range(min(len(cells), HEADER_SCAN_ROWS)):
        columns: dict[str, int] = {}
        for c, value in enumerate(cells[r]):
            role = nomination_role(cell_text(value))
            if role and role not in columns:
                columns[role] = c
        if "name" in columns and columns.keys() & {
            "position",
            "position_unit",
            "unit",
            "achievement",
            "kind",
        }:
            return r, columns
    return None


def read_nominations(data: bytes, fmt: str) -> tuple[Nomination, ...] | None:
    """Nominations of a xlsx/xls/docx (or text pdf) file; None when no nomination list is in
    it, () when the list's header is there but no row is filled in. Raises
    `parsers.facts.Unreadable` when the file itself cannot be read."""
    return nominations_in(grids(data, fmt))


def nominations_in(tables: Sequence[Grid]) -> tuple[Nomination, ...] | None:
    """The nominations among a file's grids (`parsers.grid.grids`); see `read_nominations`."""
    found: list[Nomination] = []
    any_list = False
    for grid in tables:
        header = _find_header(grid.cells)
        if header is None:
            continue
        any_list = True
        found.extend(_rows(grid, *header))
    return tuple(found) if any_list else None


def _rows(grid: Grid, header_row: int, cols: dict[str, int]) -> list[Nomination]:
    def text(row: Sequence[Cell], role: str) -> str:
        c = cols.get(role)
        return cell_text(row[c]) if c is not None and c < len(row) else ""

    out: list[Nomination] = []
    section: bool | None = None
    for row in grid.cells[header_row + 1 :]:
        values = [cell_text(v) for v in row]
        distinct = list(dict.fromkeys(v for v in values if v))
        if not distinct:
            continue
        folded = [norm(v) for v in distinct]
        if not text(row, "stt").isdigit() and any(FOOTER.search(f) for f in folded):
            break  # signatures below the list
        if len(folded) >= 3 and all(INDEX_TOKEN.match(f) for f in folded):
            continue
        heading = _section_of(distinct)
        if heading is not None:
            section = heading
            continue
        name = text(row, "name")
        if not name or name in ("...", "\u2026"):
            continue
        if sum(1 for v in distinct if nomination_role(v)) >= 2:
            continue  # the header repeated on a new page
        position, unit = text(row, "position"), text(row, "unit")
        if "position_unit" in cols:
            position, unit = _split_position_unit(text(row, "position_unit"), position, unit)
        out.append(
            Nomination(
                stt=text(row, "stt"),
                name=name,
                collective=_collective(text(row, "kind"), section, name),
                position=position,
                unit=unit,
                achievement=text(row, "achievement"),
            )
        )
    return out


def _section_of(distinct: list[str]) -> bool | None:
    """True/False for a "Tập thể"/"Cá nhân" heading row, None for any other row."""
    texts = [v for v in distinct if not re.fullmatch(r"(?:[IVX]{1,4}|[A-D]|\d{1,2})[.)]?", v)]
    if len(texts) != 1 or len(texts[0]) > 80:
        return None
    match = _SECTION.match(norm(texts[0]))
    if match is None:
        return None
    return match.group(1) == "tap the"


def _collective(kind: str, section: bool | None, name: str) -> bool:
    k = norm(kind)
    if "tap the" in k:
        return True
    if "ca nhan" in k:
        return False
    if section is not None:
        return section
    return looks_collective(name)


def _split_position_unit(combined: str, position: str, unit: str) -> tuple[str, str]:
    """ "Giáo viên, Trường TH Cự Khê" → ("Giáo viên", "Trường TH Cự Khê")."""
    if not combined:
        return position, unit
    for sep in (",", " - ", " – ", ";"):
        if sep in combined:
            head, tail = combined.split(sep, 1)
            return head.strip() or position, tail.strip() or unit
    if looks_collective(combined):
        return position, unit or combined
    return position or combined, unit
