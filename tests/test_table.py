"""Data-table reading on generated office files: xlsx, English-locale xlsx, xls, docx, pdf."""

from __future__ import annotations

import dataclasses
import io
import random
import time
import tracemalloc
import zipfile
from collections.abc import Callable

import docx
import pytest

from parsers.facts import Unreadable
from parsers.grid import grids
from parsers.table import column_role, read_data_table
from tests.support import docgen_reports as reports_gen
from tests.support import docgen_tables as gen

GENERATORS: list[Callable[[], tuple[bytes, gen.Expected]]] = [
    gen.make_xlsx_workbook,
    gen.make_xlsx_english_locale,
    gen.make_xlsx_plain_reordered,
    gen.make_xlsx_wrong_total,
    gen.make_xlsx_huge_dimension,
    gen.make_xls_merged,
    gen.make_docx_report,
    lambda: gen.make_docx_report(with_nominations=True),
    gen.make_pdf_table,
]


@pytest.mark.parametrize("make", GENERATORS, ids=lambda f: getattr(f, "__name__", "docx+noms"))
def test_generated_files_read_as_expected(make: Callable[[], tuple[bytes, gen.Expected]]) -> None:
    data, expected = make()
    table = read_data_table(data, expected.fmt)
    assert table is not None
    assert dataclasses.replace(table, warnings=()) == expected.data_table
    for fragment in expected.warnings:
        assert any(fragment in w for w in table.warnings), (fragment, table.warnings)
    assert all(w.isascii() for w in table.warnings)


def test_cover_sheet_and_nomination_sheet_are_not_the_data_table() -> None:
    data, _ = gen.make_xlsx_workbook()
    sources = [g.source for g in grids(data, "xlsx")]
    assert sources == ["sheet 'Bìa'", "sheet 'Số liệu'", "sheet 'Khen thưởng'"]
    table = read_data_table(data, "xlsx")
    assert table is not None and table.source == "sheet 'Số liệu'"


def test_declared_total_is_never_summed_and_mismatch_is_reported() -> None:
    data, expected = gen.make_xlsx_wrong_total()
    table = read_data_table(data, "xlsx")
    assert table is not None
    assert (table.total_classes, table.total_participants) == (9, 2150)
    assert (table.declared_total_classes, table.declared_total_participants) == (10, 2500)
    assert sum(1 for w in table.warnings if w.startswith("declared total")) == 2
    ok, _ = gen.make_xlsx_workbook()
    good = read_data_table(ok, "xlsx")
    assert good is not None and not any(w.startswith("declared") for w in good.warnings)


@pytest.mark.parametrize("label", ["Tổng cộng", "Tổng cộng:", "TỔNG", "Cộng", "Tong cong"])
@pytest.mark.parametrize("first", [True, False])
def test_totals_row_wording_and_position(label: str, first: bool) -> None:
    data, expected = gen.make_xlsx_totals_variant(label, first)
    table = read_data_table(data, "xlsx")
    assert table == expected.data_table


def test_section_rows_are_headings_not_rows() -> None:
    data, _ = gen.make_xlsx_workbook()
    table = read_data_table(data, "xlsx")
    assert table is not None
    assert all(r.stt not in ("I", "II") for r in table.rows)
    assert table.total_classes == 9  # the section I subtotal (7) is not added


def test_files_without_a_data_table_give_none() -> None:
    noms, _ = gen.make_xlsx_nominations_column()
    assert read_data_table(noms, "xlsx") is None
    document = docx.Document()
    document.add_paragraph("BÁO CÁO KẾT QUẢ TỔ CHỨC TUẦN LỄ HỌC TẬP SUỐT ĐỜI NĂM 2021")
    layout = document.add_table(rows=1, cols=2)
    layout.cell(0, 0).text, layout.cell(0, 1).text = gen.UNIT, gen.MOTTO[0]
    buf = io.BytesIO()
    document.save(buf)
    assert read_data_table(buf.getvalue(), "docx") is None


def test_huge_declared_dimension_stays_bounded() -> None:
    data, expected = gen.make_xlsx_huge_dimension()
    assert len(data) < 20_000
    tracemalloc.start()
    started = time.monotonic()
    try:
        sheets = grids(data, "xlsx")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.monotonic() - started < 5
    assert peak < 64 * 1024 * 1024
    assert all(len(g.cells) <= 2000 and len(g.cells[0]) <= 40 for g in sheets)
    table = read_data_table(data, "xlsx")
    assert table is not None
    assert dataclasses.replace(table, warnings=()) == expected.data_table


def test_grid_bounds_are_respected() -> None:
    data, _ = gen.make_xlsx_workbook()
    for grid in grids(data, "xlsx", max_rows=9, max_cols=4):
        assert len(grid.cells) <= 9 and all(len(row) <= 4 for row in grid.cells)


def test_merged_cells_are_filled_in_every_format() -> None:
    for make in (gen.make_xlsx_workbook, gen.make_xls_merged, gen.make_docx_report):
        data, expected = make()
        assert expected.data_table is not None
        source = expected.data_table.source
        sheet = next(g for g in grids(data, expected.fmt) if g.source == source)
        header = next(i for i, row in enumerate(sheet.cells) if "STT" in row)
        assert sheet.cells[header][3:5] == ("Số lượng", "Số lượng"), make.__name__
        assert sheet.cells[header + 1][0] == "STT", make.__name__


def test_password_protected_xlsx_is_reported() -> None:
    data, expected = gen.make_encrypted_xlsx()
    with pytest.raises(Unreadable, match="file is password-protected"):
        read_data_table(data, expected.fmt)
    with pytest.raises(Unreadable, match="file is password-protected"):
        grids(data, "xls")  # sniffed as an OLE spreadsheet


@pytest.mark.parametrize("fmt", ["xlsx", "xls", "docx", "pdf"])
def test_garbage_and_truncated_files_are_unreadable(fmt: str) -> None:
    with pytest.raises(Unreadable):
        grids(b"GIF89a not a document at all" * 10, fmt)
    makers = {
        "xlsx": gen.make_xlsx_workbook,
        "xls": gen.make_xls_merged,
        "docx": gen.make_docx_report,
        "pdf": gen.make_pdf_table,
    }
    data, _ = makers[fmt]()
    with pytest.raises(Unreadable):
        grids(data[: len(data) // 3], fmt)


def test_wrong_format_name_is_unreadable_not_a_crash() -> None:
    data, _ = gen.make_docx_report()
    with pytest.raises(Unreadable):
        read_data_table(data, "xlsx")
    with pytest.raises(Unreadable):
        read_data_table(data, "odt")


def test_zip_bomb_xml_is_refused() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/worksheets/sheet1.xml", "<a>" + " " * (70 * 1024 * 1024) + "</a>")
    with pytest.raises(Unreadable, match="too large"):
        grids(buf.getvalue(), "xlsx")


@pytest.mark.parametrize(
    ("label", "role"),
    [
        ("Số lượng Số lớp/số cuộc thi", "classes"),
        ("Số lượng Người", "people"),
        ("Số lớp, số cuộc thi", "classes"),
        ("So nguoi tham gia", "people"),
        ("Nội dung hoạt động", "activity"),
        ("Hoạt động", "activity"),
        ("Đơn vị thực hiện", "organizer"),
        ("Don vi to chuc", "organizer"),
        ("TT", "stt"),
        ("Ghi chú", "note"),
        ("Người phụ trách", None),
        ("Đơn vị tính", None),
    ],
)
def test_header_labels(label: str, role: str | None) -> None:
    assert column_role(label) == role


@pytest.mark.parametrize("fmt", ["xlsx", "xls", "docx", "pdf"])
def test_damaged_files_raise_only_unreadable(fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Seeded byte flips and truncations: the parsers either read or say Unreadable, and print
    nothing (xlrd writes to stdout unless given a log file)."""
    from parsers.nominations import read_nominations

    makers = {
        "xlsx": gen.make_xlsx_workbook,
        "xls": gen.make_xls_merged,
        "docx": gen.make_docx_report,
        "pdf": gen.make_pdf_table,
    }
    data, _ = makers[fmt]()
    rng = random.Random(fmt)
    for _ in range(25):
        damaged = bytearray(data)
        for _ in range(rng.randint(1, 6)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        if rng.random() < 0.3:
            damaged = damaged[: rng.randrange(len(damaged))]
        for read in (read_data_table, read_nominations):
            try:
                read(bytes(damaged), fmt)
            except Unreadable as e:
                assert str(e).isascii()
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    "make", [reports_gen.make_tcvn3_docx, reports_gen.make_vni_docx], ids=["tcvn3", "vni"]
)
def test_table_typed_in_legacy_fonts_inside_a_docx(make) -> None:  # type: ignore[no-untyped-def]
    """Cells typed in .VnTime / VNI-Times come out in Unicode and the table is found."""
    data, _ = make()
    table = read_data_table(data, "docx")
    assert table is not None
    assert [(r.activity, r.organizer, r.participants) for r in table.rows] == [
        ("Lễ khai mạc", "Trường THCS Bích Hòa", 1200),
        ("Hội thi Đọc sách cùng em", "Liên đội", 650),
    ]
    assert (table.total_participants, table.declared_total_participants) == (1850, 1850)
