"""Generators of realistic data-table and nomination-list files, built in memory.

Every public `make_*` function returns `(data, expected)`: the file's bytes and an `Expected`
holding what `parsers.table.read_data_table` and `parsers.nominations.read_nominations` must
return for it (`fmt` and a plausible `filename` included for end-to-end tests). Expected data
tables carry `warnings=()`; `Expected.warnings` lists substrings that must each appear in one of
the parser's warnings (the exact wording may evolve).

The files look the way offices make them: national motto and unit name above the table, a
title, a merged two-row "Số lượng" header, column-number rows, merged activity cells, section
rows "I"/"II" with subtotals, a typed totals row, numbers typed as text ("1.200", "khoảng 120",
"3 lớp"), signatures below, and a cover sheet or nomination list beside the data sheet.

Needs openpyxl, xlwt, python-docx, fpdf2 (PDF only) and msoffcrypto-tool (encrypted only); the
PDF uses DejaVu Sans from Debian's fonts-dejavu-core for the Vietnamese glyphs.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass

from parsers.facts import DataTable, Nomination, TableRow

UNIT_PARENT = "UBND XÃ BÍCH HÒA"
UNIT = "TRƯỜNG THCS BÍCH HÒA"
MOTTO = ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc")
TITLE = "TỔNG HỢP SỐ LIỆU KẾT QUẢ TỔ CHỨC TUẦN LỄ HỌC TẬP SUỐT ĐỜI NĂM 2021"
SUBTITLE = "(Kèm theo báo cáo kết quả tổ chức Tuần lễ)"
HEADER_TOP = ("STT", "Các hoạt động", "Đơn vị tổ chức", "Số lượng", "Số lượng", "Ghi chú")
HEADER_SUB = ("Số lớp/số cuộc thi", "Người")
DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


@dataclass(frozen=True)
class Expected:
    """What the parsers must find in a generated file."""

    fmt: str
    filename: str
    data_table: DataTable | None = None
    nominations: tuple[Nomination, ...] | None = None
    warnings: tuple[str, ...] = ()  # substrings expected among data_table.warnings


# One unit's table, as the rows are typed: (stt, activity, organizer, classes, people, note).
# "" in stt/activity of a row means "merged with the row above" in formats that merge.
_Typed = tuple[str, str, str, object, object, str]
SECTION_I = ("I", "Hoạt động trong nhà trường", "", 7, "2.055", "")
SECTION_II = ("II", "Hoạt động phối hợp với địa phương", "", None, None, "")
TYPED: tuple[_Typed, ...] = (
    ("1", "Lễ khai mạc Tuần lễ học tập suốt đời", "Trường THCS Bích Hòa", 1, "1.200", ""),
    ("2", "Hội thi \u201cĐọc sách cùng em\u201d", "Liên đội", 1, 650, ""),
    ("", "", "Thư viện nhà trường", 2, 85, "Vòng trường"),
    ("3", "Chuyên đề kỹ năng sống", "Tổ Ngữ văn", "3 lớp", "khoảng 120", "Học sinh khối 8"),
    ("4", "Lớp tập huấn chuyển đổi số cho phụ huynh", "TT HTCĐ xã Bích Hòa", 2, "95 người", ""),
    ("5", "Treo băng rôn, khẩu hiệu", "Trường THCS Bích Hòa", "-", "-", "06 băng rôn"),
)
STANDARD_ROWS = (
    TableRow("1", "Lễ khai mạc Tuần lễ học tập suốt đời", "Trường THCS Bích Hòa", 1, 1200, ""),
    TableRow("2", "Hội thi \u201cĐọc sách cùng em\u201d", "Liên đội", 1, 650, ""),
    TableRow(
        "2", "Hội thi \u201cĐọc sách cùng em\u201d", "Thư viện nhà trường", 2, 85, "Vòng trường"
    ),
    TableRow("3", "Chuyên đề kỹ năng sống", "Tổ Ngữ văn", 3, 120, "Học sinh khối 8"),
    TableRow("4", "Lớp tập huấn chuyển đổi số cho phụ huynh", "TT HTCĐ xã Bích Hòa", 2, 95, ""),
    TableRow("5", "Treo băng rôn, khẩu hiệu", "Trường THCS Bích Hòa", None, None, "06 băng rôn"),
)


def standard_table(source: str, declared: tuple[int | None, int | None] = (9, 2150)) -> DataTable:
    """The expected reading of `TYPED` (totals: 9 classes/contests, 2,150 people)."""
    return DataTable(
        rows=STANDARD_ROWS,
        total_classes=sum(r.classes_or_contests or 0 for r in STANDARD_ROWS),
        total_participants=sum(r.participants or 0 for r in STANDARD_ROWS),
        declared_total_classes=declared[0],
        declared_total_participants=declared[1],
        source=source,
    )


NOMINATIONS_SECTIONED = (
    Nomination(
        "1",
        "Liên đội Trường THCS Bích Hòa",
        True,
        "",
        "Trường THCS Bích Hòa",
        "Tổ chức tốt Hội thi Đọc sách cùng em",
    ),
    Nomination(
        "2",
        "Tổ Ngữ văn",
        True,
        "",
        "Trường THCS Bích Hòa",
        "Tổ chức chuyên đề kỹ năng sống cho học sinh khối 8",
    ),
    Nomination(
        "1",
        "Nguyễn Thị Hương",
        False,
        "Giáo viên",
        "Trường THCS Bích Hòa",
        "Hướng dẫn học sinh đạt giải Nhất Hội thi",
    ),
    Nomination(
        "2",
        "Tô Văn Trường",
        False,
        "Tổng phụ trách Đội",
        "Trường THCS Bích Hòa",
        "Tổ chức Lễ khai mạc Tuần lễ",
    ),
    Nomination(
        "3",
        "Đoàn Thị Lan",
        False,
        "Nhân viên thư viện",
        "Trường THCS Bích Hòa",
        "Xây dựng thư viện thân thiện",
    ),
)


# --- xlsx ---------------------------------------------------------------------------------


def _sheet_top(ws, last_col: str, unit: str = UNIT) -> None:
    """Unit name and national motto side by side, then the title rows (rows 1–5)."""
    ws.merge_cells("A1:C1")
    ws.merge_cells("A2:C2")
    ws.merge_cells(f"D1:{last_col}1")
    ws.merge_cells(f"D2:{last_col}2")
    ws["A1"], ws["A2"] = UNIT_PARENT, unit
    ws["D1"], ws["D2"] = MOTTO
    ws.merge_cells(f"A4:{last_col}4")
    ws.merge_cells(f"A5:{last_col}5")
    ws["A4"], ws["A5"] = TITLE, SUBTITLE


def _data_sheet(
    ws, typed: tuple[_Typed, ...], totals: tuple[object, object], english: bool = False
) -> None:
    """The standard layout from row 7: merged two-row header, column numbers, sections."""
    _sheet_top(ws, "F")
    for col, text in zip(
        "ABCF", ("STT", "Các hoạt động", "Đơn vị tổ chức", "Ghi chú"), strict=True
    ):
        ws.merge_cells(f"{col}7:{col}8")
        ws[f"{col}7"] = text
    ws.merge_cells("D7:E7")
    ws["D7"], ws["D8"], ws["E8"] = "Số lượng", *HEADER_SUB
    for i, text in enumerate(("(1)", "(2)", "(3)", "(4)", "(5)", "(6)")):
        ws.cell(row=9, column=i + 1, value=text)
    r = 10
    section_i = list(SECTION_I)
    if english:
        section_i[4] = 2.055
    _put(ws, r, section_i)
    r += 1
    for k, row in enumerate(typed):
        if k == 4:
            r += 1  # a blank row before section II
            _put(ws, r, SECTION_II)
            r += 1
        if row[0] == "" and row[1] == "":
            ws.merge_cells(f"A{r - 1}:A{r}")
            ws.merge_cells(f"B{r - 1}:B{r}")
            _put(ws, r, (None, None, *row[2:]))
        else:
            _put(ws, r, (int(row[0]), *row[1:]))
        r += 1
    ws.merge_cells(f"A{r}:C{r}")
    _put(ws, r, ("Tổng cộng", None, None, *totals))
    ws.cell(row=r + 2, column=4, value="Bích Hòa, ngày 08 tháng 10 năm 2021")
    ws.cell(row=r + 3, column=2, value="Người lập biểu")
    ws.cell(row=r + 3, column=4, value="HIỆU TRƯỞNG")
    ws.cell(row=r + 6, column=4, value="Nguyễn Văn Bình")


def _put(ws, r: int, values) -> None:
    for c, v in enumerate(values, start=1):
        if v is not None and v != "":
            ws.cell(row=r, column=c, value=v)


def _cover_sheet(ws) -> None:
    ws["A1"], ws["A2"] = UNIT_PARENT, UNIT
    ws["A6"] = "BÁO CÁO"
    ws["A7"] = "KẾT QUẢ TỔ CHỨC TUẦN LỄ HỌC TẬP SUỐT ĐỜI NĂM 2021"
    ws["A8"] = "Hoạt động của nhà trường trong Tuần lễ: 5 nội dung, 2.150 lượt người tham gia"
    ws["A20"] = "Bích Hòa, tháng 10 năm 2021"


def _nomination_sheet(ws) -> None:
    ws["A1"], ws["D1"] = UNIT, MOTTO[0]
    ws["D2"] = MOTTO[1]
    ws.merge_cells("A4:E4")
    ws["A4"] = "DANH SÁCH ĐỀ NGHỊ KHEN THƯỞNG"
    ws.merge_cells("A5:E5")
    ws["A5"] = "Tập thể, cá nhân có thành tích xuất sắc trong hưởng ứng Tuần lễ học tập suốt đời"
    for c, text in enumerate(
        ("STT", "Họ và tên / Tên tập thể", "Chức vụ", "Đơn vị công tác", "Thành tích"), start=1
    ):
        ws.cell(row=7, column=c, value=text)
    r = 8
    for label, collective in (("A", True), ("B", False)):
        ws.cell(row=r, column=1, value=label)
        ws.merge_cells(f"B{r}:E{r}")
        ws.cell(row=r, column=2, value="TẬP THỂ" if collective else "CÁ NHÂN")
        r += 1
        for n in NOMINATIONS_SECTIONED:
            if n.collective == collective:
                _put(ws, r, (int(n.stt), n.name, n.position, n.unit, n.achievement))
                r += 1
    ws.cell(row=r + 1, column=2, value="Người lập danh sách")
    ws.cell(row=r + 1, column=4, value="HIỆU TRƯỞNG")


def _save(wb) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def make_xlsx_workbook() -> tuple[bytes, Expected]:
    """The usual workbook: a cover sheet "Bìa" first, the data sheet "Số liệu" (motto, title,
    merged two-row header, column numbers, sections I/II with a subtotal, activity merged over
    two rows, "1.200"/"3 lớp"/"khoảng 120"/"95 người"/"-" typed as text, totals row, signature),
    then the nomination sheet "Khen thưởng" with sections "TẬP THỂ"/"CÁ NHÂN"."""
    import openpyxl

    wb = openpyxl.Workbook()
    _cover_sheet(wb.active)
    wb.active.title = "Bìa"
    _data_sheet(wb.create_sheet("Số liệu"), TYPED, (9, "2.150"))
    _nomination_sheet(wb.create_sheet("Khen thưởng"))
    expected = Expected(
        "xlsx",
        "Bieu tong hop so lieu THCS Bich Hoa.xlsx",
        standard_table("sheet 'Số liệu'"),
        NOMINATIONS_SECTIONED,
        ("approximate value read as 120",),
    )
    return _save(wb), expected


def make_xlsx_english_locale() -> tuple[bytes, Expected]:
    """The same table typed on an English-locale Excel: "1.200" became the number 1.2, the
    totals "2.150" became 2.15 (each read back with a warning)."""
    import openpyxl

    typed = tuple((*row[:4], 1.2 if row[4] == "1.200" else row[4], row[5]) for row in TYPED)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    _data_sheet(ws, typed, (9, 2.15), english=True)
    return _save(wb), Expected(
        "xlsx",
        "so lieu.xlsx",
        standard_table("sheet 'Sheet1'"),
        None,
        ("1.2 read as 1200", "2.15 read as 2150"),
    )


def make_xlsx_plain_reordered() -> tuple[bytes, Expected]:
    """A home-made sheet: one header row without diacritics, columns reordered, an extra
    "Thoi gian" column, no title, NBSP thousands ("1 200"), no totals row, blank rows."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "TH so lieu"
    ws.append(
        [
            "So TT",
            "Thoi gian",
            "Noi dung hoat dong",
            "So nguoi tham gia",
            "Don vi thuc hien",
            "So lop, so cuoc thi",
            "Ghi chu",
        ]
    )
    ws.append([1, "04/10/2021", "Ngay hoi doc sach", "1\u00a0200", "Thu vien xa", 1, None])
    ws.append([])
    ws.append([2, "05/10/2021", "Lop hoc tieng Anh cho nguoi lon", "45", "TT HTCD", "2 lop", None])
    ws.append([3, "06/10/2021", "Thi tim hieu phap luat", 310, "Doan thanh nien", 1, "truc tuyen"])
    rows = (
        TableRow("1", "Ngay hoi doc sach", "Thu vien xa", 1, 1200, ""),
        TableRow("2", "Lop hoc tieng Anh cho nguoi lon", "TT HTCD", 2, 45, ""),
        TableRow("3", "Thi tim hieu phap luat", "Doan thanh nien", 1, 310, "truc tuyen"),
    )
    table = DataTable(rows, 4, 1555, source="sheet 'TH so lieu'")
    return _save(wb), Expected("xlsx", "TH so lieu.xlsx", table)


def make_xlsx_wrong_total() -> tuple[bytes, Expected]:
    """The standard data sheet whose typed "Tổng cộng" says 10 classes and 2.500 people while
    the rows add up to 9 and 2,150: the declared totals are kept and a warning is given."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Biểu 01"
    _data_sheet(ws, TYPED, (10, "2.500"))
    return _save(wb), Expected(
        "xlsx",
        "bieu 01.xlsx",
        standard_table("sheet 'Biểu 01'", (10, 2500)),
        None,
        (
            "declared total of classes/contests (10) differs from the sum of the rows (9)",
            "declared total of participants (2500) differs from the sum of the rows (2150)",
        ),
    )


def make_xlsx_nominations_column() -> tuple[bytes, Expected]:
    """A nomination-only workbook with a "Tập thể/Cá nhân" column, header "Họ tên" and a
    combined "Chức vụ, đơn vị công tác" column; no data table (read_data_table → None)."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "DS khen thuong"
    ws["A1"] = "DANH SÁCH ĐỀ NGHỊ KHEN THƯỞNG TUẦN LỄ HỌC TẬP SUỐT ĐỜI NĂM 2021"
    ws.append(
        ["TT", "Họ tên", "Tập thể/Cá nhân", "Chức vụ, đơn vị công tác", "Thành tích đạt được"]
    )
    ws.append([1, "Trung tâm HTCĐ xã Cự Khê", "Tập thể", "", "Tổ chức 6 lớp chuyên đề"])
    ws.append([2, "Lê Văn Hải", "Cá nhân", "Giám đốc, Trung tâm HTCĐ xã Cự Khê", "Vận động"])
    ws.append([3, "Phạm Thị Mai", "cá nhân", "Giáo viên, Trường Tiểu học Cự Khê", "Dạy lớp xóa mù"])
    expected = (
        Nomination("1", "Trung tâm HTCĐ xã Cự Khê", True, "", "", "Tổ chức 6 lớp chuyên đề"),
        Nomination("2", "Lê Văn Hải", False, "Giám đốc", "Trung tâm HTCĐ xã Cự Khê", "Vận động"),
        Nomination(
            "3", "Phạm Thị Mai", False, "Giáo viên", "Trường Tiểu học Cự Khê", "Dạy lớp xóa mù"
        ),
    )
    return _save(wb), Expected("xlsx", "DS khen thuong.xlsx", None, expected)


def make_xlsx_huge_dimension() -> tuple[bytes, Expected]:
    """A few-KB workbook whose sheet declares A1:XFD1048576, has a styled empty cell at
    XFD1048576 and a merged range A30:XFD1048576: readers must stay bounded."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Số liệu"
    _data_sheet(ws, TYPED, (9, "2.150"))
    src = zipfile.ZipFile(io.BytesIO(_save(wb)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                text = body.decode()
                text = re.sub(r'<dimension ref="[^"]*"', '<dimension ref="A1:XFD1048576"', text)
                text = text.replace(
                    "</sheetData>", '<row r="1048576"><c r="XFD1048576" s="0"/></row></sheetData>'
                )
                text = text.replace('<mergeCells count="', '<mergeCells x="')
                text = re.sub(
                    r'<mergeCells x="\d+">', '<mergeCells><mergeCell ref="A30:XFD1048576"/>', text
                )
                body = text.encode()
            dst.writestr(info, body)
    return out.getvalue(), Expected("xlsx", "big.xlsx", standard_table("sheet 'Số liệu'"), None)


def make_encrypted_xlsx() -> tuple[bytes, Expected]:
    """The standard workbook saved with a password ("123456"): an OLE file, not a zip."""
    from msoffcrypto.format.ooxml import OOXMLFile

    plain, _ = make_xlsx_workbook()
    out = io.BytesIO()
    OOXMLFile(io.BytesIO(plain)).encrypt("123456", out)
    return out.getvalue(), Expected("xlsx", "so lieu (mat khau).xlsx")


# --- xls ----------------------------------------------------------------------------------


def make_xls_merged() -> tuple[bytes, Expected]:
    """A real BIFF8 .xls written with xlwt: title merged across, merged two-row header,
    activity merged down, "1.200" as text, other counts as floats, typed totals, and a second
    sheet with the sectioned nomination list."""
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    ws = book.add_sheet("So lieu")
    ws.write_merge(0, 0, 0, 2, UNIT_PARENT)
    ws.write_merge(1, 1, 0, 2, UNIT)
    ws.write_merge(0, 0, 3, 5, MOTTO[0])
    ws.write_merge(1, 1, 3, 5, MOTTO[1])
    ws.write_merge(3, 3, 0, 5, TITLE)
    for col, text in ((0, "STT"), (1, "Các hoạt động"), (2, "Đơn vị tổ chức"), (5, "Ghi chú")):
        ws.write_merge(5, 6, col, col, text)
    ws.write_merge(5, 5, 3, 4, "Số lượng")
    ws.write(6, 3, HEADER_SUB[0])
    ws.write(6, 4, HEADER_SUB[1])
    r = 7
    for k, row in enumerate(TYPED):
        continued = k + 1 < len(TYPED) and TYPED[k + 1][0] == ""
        if continued:  # stt and activity merged over this row and the next
            ws.write_merge(r, r + 1, 0, 0, float(row[0]))
            ws.write_merge(r, r + 1, 1, 1, row[1])
        elif row[0] != "":
            ws.write(r, 0, float(row[0]))
            ws.write(r, 1, row[1])
        for c, v in enumerate(row[2:], start=2):
            if v not in ("", None):
                ws.write(r, c, float(v) if isinstance(v, int) else v)
        r += 1
    ws.write_merge(r, r, 0, 2, "Cộng")
    ws.write(r, 3, 9.0)
    ws.write(r, 4, 2150.0)
    _xls_nominations(book.add_sheet("Khen thuong"))
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue(), Expected(
        "xls", "so lieu tuan le.xls", standard_table("sheet 'So lieu'"), NOMINATIONS_SECTIONED
    )


def _xls_nominations(ws) -> None:
    ws.write_merge(0, 0, 0, 4, "DANH SÁCH ĐỀ NGHỊ KHEN THƯỞNG")
    for c, text in enumerate(
        ("STT", "Họ và tên / Tên tập thể", "Chức vụ", "Đơn vị công tác", "Thành tích")
    ):
        ws.write(2, c, text)
    r = 3
    for label, collective in (("I. Tập thể", True), ("II. Cá nhân", False)):
        ws.write_merge(r, r, 0, 4, label)
        r += 1
        for n in NOMINATIONS_SECTIONED:
            if n.collective == collective:
                for c, v in enumerate((float(n.stt), n.name, n.position, n.unit, n.achievement)):
                    ws.write(r, c, v)
                r += 1


# --- docx ---------------------------------------------------------------------------------

NOMINATIONS_INFERRED = (
    Nomination("1", "Trường THCS Bích Hòa", True, "", "xã Bích Hòa", "Đơn vị tổ chức tốt Tuần lễ"),
    Nomination("2", "Tổ Toán - Tin", True, "", "Trường THCS Bích Hòa", "Chuyên đề chuyển đổi số"),
    Nomination("3", "Lớp 9A", True, "", "Trường THCS Bích Hòa", "Đạt giải Nhất Hội thi"),
    Nomination("4", "Tô Thị Hà", False, "", "Trường THCS Bích Hòa", "Phụ trách thư viện"),
    Nomination(
        "5",
        "Trương Văn Nam",
        False,
        "Phó Hiệu trưởng",
        "Trường THCS Bích Hòa",
        "Chỉ đạo tổ chức Tuần lễ",
    ),
)


def _docx_table(document, rows: list[list[str]]):
    table = document.add_table(rows=len(rows), cols=len(rows[0]))
    table.style = "Table Grid"
    for r, values in enumerate(rows):
        for c, v in enumerate(values):
            table.cell(r, c).text = v
    return table


def _docx_data_table(document, declared_people: str = "2.150") -> None:
    """The standard table: merged two-row header (vMerge/gridSpan), activity merged down."""
    body: list[list[str]] = [list(HEADER_TOP), ["", "", "", *HEADER_SUB, ""]]
    body.append(["(1)", "(2)", "(3)", "(4)", "(5)", "(6)"])
    for row in TYPED:
        body.append([str(v) if v is not None else "" for v in row])
    body.append(["Tổng cộng", "", "", "9", declared_people, ""])
    table = _docx_table(document, body)
    for c in (0, 1, 2, 5):
        table.cell(0, c).merge(table.cell(1, c)).text = HEADER_TOP[c]
    table.cell(0, 3).merge(table.cell(0, 4)).text = "Số lượng"
    merged_row = 3 + next(i for i, row in enumerate(TYPED) if row[0] == "")
    for c in (0, 1):
        top = table.cell(merged_row - 1, c)
        text = top.text
        top.merge(table.cell(merged_row, c)).text = text
    last = len(body) - 1
    table.cell(last, 0).merge(table.cell(last, 2)).text = "Tổng cộng"


def _docx_heading(document) -> None:
    layout = document.add_table(rows=2, cols=2)  # the borderless motto table
    layout.cell(0, 0).text, layout.cell(0, 1).text = UNIT_PARENT, MOTTO[0]
    layout.cell(1, 0).text, layout.cell(1, 1).text = UNIT, MOTTO[1]
    document.add_paragraph("Số: 45/BC-THCS")
    document.add_paragraph("Bích Hòa, ngày 08 tháng 10 năm 2021")


def make_docx_report(with_nominations: bool = False) -> tuple[bytes, Expected]:
    """A written report following the Phụ lục (motto in a layout table, sections I and II with
    paragraphs), then "TỔNG HỢP SỐ LIỆU" with the standard table; with `with_nominations`, a
    "DANH SÁCH ĐỀ NGHỊ KHEN THƯỞNG" table follows whose kinds must be inferred from the names
    (no sections, no kind column; "Tô Thị Hà" and "Trương Văn Nam" are people)."""
    import docx

    document = docx.Document()
    _docx_heading(document)
    document.add_heading("BÁO CÁO KẾT QUẢ TỔ CHỨC TUẦN LỄ HỌC TẬP SUỐT ĐỜI NĂM 2021", level=1)
    document.add_paragraph("I. TỔ CHỨC TRIỂN KHAI TUẦN LỄ")
    document.add_paragraph("1. Công tác chỉ đạo, triển khai, kiểm tra, đôn đốc thực hiện.")
    document.add_paragraph(
        "Nhà trường xây dựng kế hoạch số 12/KH-THCS ngày 20/9/2021 và tổ "
        "chức 5 hoạt động với 2.150 lượt người tham gia."
    )
    document.add_paragraph("3. Kinh phí tổ chức Tuần lễ: Ngân sách nhà nước 5.000.000 đồng.")
    document.add_paragraph("II. ĐÁNH GIÁ CHUNG")
    document.add_paragraph("4. Bảng tổng hợp số liệu các hoạt động tổ chức Tuần lễ.")
    document.add_paragraph(TITLE)
    document.add_paragraph(SUBTITLE)
    _docx_data_table(document)
    nominations = None
    if with_nominations:
        document.add_paragraph("DANH SÁCH ĐỀ NGHỊ KHEN THƯỞNG")
        rows = [["STT", "Tên tập thể, cá nhân", "Chức vụ", "Đơn vị", "Thành tích"]]
        rows += [[n.stt, n.name, n.position, n.unit, n.achievement] for n in NOMINATIONS_INFERRED]
        _docx_table(document, rows)
        nominations = NOMINATIONS_INFERRED
    document.add_paragraph("Nơi nhận:")
    document.add_paragraph("HIỆU TRƯỞNG")
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue(), Expected(
        "docx",
        "Bao cao Tuan le HTSD THCS Bich Hoa.docx",
        standard_table("docx table 2"),
        nominations,
        ("approximate value read as 120",),
    )


# --- pdf ----------------------------------------------------------------------------------


def make_pdf_table() -> tuple[bytes, Expected]:
    """A text PDF (fpdf2, DejaVu Sans): motto and title lines, then the standard table drawn
    with borders, "Số lượng" spanning two columns over "Số lớp/số cuộc thi" and "Người", the
    STT and activity cells spanning two rows, and a "Tổng cộng" row."""
    from fpdf import FPDF

    pdf = FPDF(orientation="L")
    pdf.add_page()
    pdf.add_font("DejaVu", "", DEJAVU)
    pdf.set_font("DejaVu", size=10)
    for line in (f"{UNIT}    {MOTTO[0]}", MOTTO[1], "", TITLE, SUBTITLE):
        pdf.cell(0, 6, line, new_x="LMARGIN", new_y="NEXT", align="C")
    pdf.ln(4)
    with pdf.table(col_widths=(12, 80, 55, 30, 25, 40), first_row_as_headings=False) as table:
        head = table.row()
        for c, text in enumerate(HEADER_TOP):
            if c == 3:
                head.cell(text, colspan=2)
            elif c != 4:
                head.cell(text, rowspan=2)
        sub = table.row()
        sub.cell(HEADER_SUB[0])
        sub.cell(HEADER_SUB[1])
        for k, row in enumerate(TYPED):
            trow = table.row()
            values: tuple[object, ...] = row
            if row[0] == "":
                values = row[2:]
            elif k + 1 < len(TYPED) and TYPED[k + 1][0] == "":
                trow.cell(row[0], rowspan=2)
                trow.cell(row[1], rowspan=2)
                values = row[2:]
            for v in values:
                trow.cell("" if v is None else str(v))
        total = table.row()
        total.cell("Tổng cộng", colspan=3)
        for v in ("9", "2.150", ""):
            total.cell(v)
    pdf.ln(6)
    pdf.cell(0, 6, "Người lập biểu                                HIỆU TRƯỞNG", align="C")
    return bytes(pdf.output()), Expected("pdf", "so lieu.pdf", standard_table("pdf page 1 table 1"))


def make_xlsx_totals_variant(label: str, totals_first: bool) -> tuple[bytes, Expected]:
    """A small one-row-header sheet whose totals row is labelled `label` ("Tổng cộng:",
    "TỔNG", "Cộng", ...), placed right under the header when `totals_first`, else at the end;
    the declared totals equal the rows' sums."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Tong hop"
    ws["A1"] = TITLE
    ws.append(
        ["STT", "Nội dung hoạt động", "Đơn vị thực hiện", "Số lớp/số cuộc thi", "Số người tham gia"]
    )
    body = [
        [1, "Ngày hội đọc sách", "Thư viện xã", "2", "1.350"],
        [2, "Lớp học tin học cho người cao tuổi", "TT HTCĐ", "1", "35"],
    ]
    totals = [label, None, None, "3", "1.385"]
    for values in [totals, *body] if totals_first else [*body, totals]:
        ws.append(values)
    rows = (
        TableRow("1", "Ngày hội đọc sách", "Thư viện xã", 2, 1350, ""),
        TableRow("2", "Lớp học tin học cho người cao tuổi", "TT HTCĐ", 1, 35, ""),
    )
    table = DataTable(rows, 3, 1385, 3, 1385, source="sheet 'Tong hop'")
    return _save(wb), Expected("xlsx", "tong hop.xlsx", table)
