"""parsers.campaigntable: a campaign's own data table read by its columns (issue 15), as units
type it — a shorter or upper-case header wording, a float or text count, a totals row."""

from __future__ import annotations

from core.campaignconfig import SEED_TABLE, ColumnConfig, TableConfig
from parsers.campaigntable import read_rows, sums
from parsers.grid import Grid

STATS_TABLE = TableConfig(
    title="Thống kê số liệu đầu năm học",
    columns=(
        ColumnConfig("grade", ["Khối lớp", "Khối"], "text"),
        ColumnConfig("classes", ["Số lớp"], "int", True),
        ColumnConfig("pupils", ["Số học sinh"], "int", True),
        ColumnConfig("teachers", ["Số giáo viên", "Số GV"], "int", True),
    ),
)


def test_a_campaign_table_is_read_by_its_own_headers_without_its_totals_row() -> None:
    sheet = Grid(
        "sheet 'Thống kê'",
        (
            ("TRƯỜNG THCS CAO DƯƠNG", None, None, None),
            ("THỐNG KÊ SỐ LIỆU ĐẦU NĂM HỌC 2021-2022", None, None, None),
            (None, None, None, None),
            ("KHỐI LỚP", "Số lớp", "Số học sinh", "Số GV"),  # any case; a shorter wording
            ("Khối 6", 5, 198, 11),
            ("Khối 7", 4.0, "171", 10),
            (None, None, None, None),
            ("Tổng cộng", 9, 369, 21),
        ),
    )
    rows = read_rows(
        [Grid("sheet 'Hướng dẫn'", (("Ghi chú", "Nộp trước 15/10"),)), sheet], STATS_TABLE
    )
    assert rows == (
        {"grade": "Khối 6", "classes": 5, "pupils": 198, "teachers": 11},
        {"grade": "Khối 7", "classes": 4, "pupils": 171, "teachers": 10},
    )
    assert sums(rows, STATS_TABLE.totals) == {"classes": 9, "pupils": 369, "teachers": 21}
    # the week's table has none of these headers: nothing read
    assert read_rows([sheet], SEED_TABLE) == ()


def test_counts_are_read_as_every_table_reads_them() -> None:
    """'1.200' is twelve hundred, typed or as an English-locale spreadsheet stored it (1.2); a
    fraction or a negative is no count, never a rounded one (`parsers.numbers.parse_count`)."""
    sheet = Grid(
        "sheet 'Thống kê'",
        (
            ("Khối", "Số lớp", "Số học sinh", "Số giáo viên"),
            ("Khối 1", "30", 1.2, "41 GV"),
            ("Khối 2", "2,5", -3, "khoảng 40"),
            ("Cộng", 30, "1.200", 81),
        ),
    )
    rows = read_rows([sheet], STATS_TABLE)
    assert rows == (
        {"grade": "Khối 1", "classes": 30, "pupils": 1200, "teachers": 41},
        {"grade": "Khối 2", "classes": None, "pupils": None, "teachers": 40},
    )
    assert sums(rows, STATS_TABLE.totals) == {"classes": 30, "pupils": 1200, "teachers": 81}
