"""Nomination lists: sectioned xlsx/xls sheets, a kind column, names alone in a docx report."""

from __future__ import annotations

import io
from collections.abc import Callable

import openpyxl
import pytest

from parsers.facts import Unreadable
from parsers.nominations import looks_collective, nomination_role, read_nominations
from tests.support import docgen_tables as gen

WITH_LISTS: list[Callable[[], tuple[bytes, gen.Expected]]] = [
    gen.make_xlsx_workbook,
    gen.make_xls_merged,
    gen.make_xlsx_nominations_column,
    lambda: gen.make_docx_report(with_nominations=True),
]


@pytest.mark.parametrize("make", WITH_LISTS, ids=lambda f: getattr(f, "__name__", "docx+noms"))
def test_generated_lists_read_as_expected(make: Callable[[], tuple[bytes, gen.Expected]]) -> None:
    data, expected = make()
    assert expected.nominations
    assert read_nominations(data, expected.fmt) == expected.nominations


@pytest.mark.parametrize(
    "make",
    [
        gen.make_xlsx_english_locale,
        gen.make_docx_report,
        gen.make_pdf_table,
        gen.make_xlsx_plain_reordered,
    ],
)
def test_files_without_a_list_give_none(make: Callable[[], tuple[bytes, gen.Expected]]) -> None:
    data, expected = make()
    assert expected.nominations is None
    assert read_nominations(data, expected.fmt) is None


def test_empty_template_gives_empty_tuple() -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["DANH SÁCH ĐỀ NGHỊ KHEN THƯỞNG"])
    ws.append(["STT", "Họ và tên", "Chức vụ", "Đơn vị", "Thành tích"])
    ws.append([1, None, None, None, None])
    ws.append(["…", "…", None, None, None])
    buf = io.BytesIO()
    wb.save(buf)
    assert read_nominations(buf.getvalue(), "xlsx") == ()


def test_sections_override_the_name() -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["TT", "Ho va ten", "Chuc vu", "Don vi cong tac", "Thanh tich"])
    ws.append(["I", "KHEN TẬP THỂ", None, None, None])
    ws.append([1, "Ban đại diện cha mẹ học sinh", None, "Trường MN Kim Bài", "Phối hợp tốt"])
    ws.append([2, "Khu dân cư số 3", None, "Thị trấn Kim Bài", "Hưởng ứng tích cực"])
    ws.append(["II", "Khen cá nhân", None, None, None])
    ws.append([1, "Tổ Văn Minh", "Trưởng thôn", "Thôn Kim Lân", "Vận động nhân dân"])
    buf = io.BytesIO()
    wb.save(buf)
    got = read_nominations(buf.getvalue(), "xlsx")
    assert got is not None
    assert [(n.name, n.collective) for n in got] == [
        ("Ban đại diện cha mẹ học sinh", True),
        ("Khu dân cư số 3", True),
        ("Tổ Văn Minh", False),
    ]


@pytest.mark.parametrize(
    ("name", "collective"),
    [
        ("Tô Thị Hà", False),
        ("Tổ Toán - Tin", True),
        ("Trương Văn Nam", False),
        ("Trường THCS Kim Bài", True),
        ("truong thcs kim bai", True),
        ("Lớp 9A", True),
        ("Đoàn Thị Lan", False),
        ("Đoàn thanh niên xã Bích Hòa", True),
        ("Liên đội", True),
        ("TT HTCĐ xã Cự Khê", True),
        ("UBND xã Tam Hưng", True),
        ("Nguyễn Văn Hùng", False),
        ("To Thi Ha", False),
    ],
)
def test_collective_inferred_from_the_name(name: str, collective: bool) -> None:
    assert looks_collective(name) is collective


@pytest.mark.parametrize(
    ("label", "role"),
    [
        ("Họ và tên / Tên tập thể", "name"),
        ("Họ tên", "name"),
        ("Tên tập thể, cá nhân", "name"),
        ("Tập thể/Cá nhân", "kind"),
        ("Chức vụ, đơn vị công tác", "position_unit"),
        ("Chức danh", "position"),
        ("Đơn vị công tác", "unit"),
        ("Thành tích đạt được", "achievement"),
        ("Hình thức khen thưởng", None),
    ],
)
def test_header_labels(label: str, role: str | None) -> None:
    assert nomination_role(label) == role


def test_unreadable_files_raise() -> None:
    data, _ = gen.make_encrypted_xlsx()
    with pytest.raises(Unreadable, match="password-protected"):
        read_nominations(data, "xlsx")
    with pytest.raises(Unreadable):
        read_nominations(b"\x00" * 500, "docx")
