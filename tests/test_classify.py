"""File-name hints, as units name their files: diacritics or not, any case, CamelCase,
underscores, abbreviations ("BC", "TH số liệu", "DS khen", "CV", "KH", "IMG_")."""

from __future__ import annotations

import unicodedata

import pytest

from parsers.classify import hint_items
from parsers.facts import DATA_TABLE, DIRECTIVE, NOMINATIONS, PHOTO, REPORT

CASES = [
    ("Báo cáo tuần lễ HTSĐ năm 2021.docx", {REPORT}),
    ("BAO CAO TUAN LE HOC TAP SUOT DOI.doc", {REPORT}),
    ("BC_THCS_BichHoa.docx", {REPORT}),
    ("BCTuanLeHTSD.pdf", {REPORT}),
    ("baocaotuanle2021.docx", {REPORT}),
    ("TH số liệu tuần lễ.xlsx", {DATA_TABLE}),
    ("Tong hop so lieu - MN Kim An.xls", {DATA_TABLE}),
    ("Biểu mẫu thống kê.xlsx", {DATA_TABLE}),
    ("Báo cáo tổng hợp số liệu.xlsx", {REPORT, DATA_TABLE}),
    ("DS khen thuong 2021.xlsx", {NOMINATIONS}),
    ("DSKhenThuong.xlsx", {NOMINATIONS}),
    ("Danh sách đề nghị khen thưởng.docx", {NOMINATIONS}),
    ("Tờ trình đề nghị khen.pdf", {NOMINATIONS}),
    ("CV 45-THCS.pdf", {DIRECTIVE}),
    ("Công văn hưởng ứng Tuần lễ.doc", {DIRECTIVE}),
    ("KH tuan le hoc tap.docx", {DIRECTIVE}),
    ("KH01_TuanLe.docx", {DIRECTIVE}),
    ("Kế hoạch tổ chức Tuần lễ.docx", {DIRECTIVE}),
    ("IMG_20211005_081512.jpg", {PHOTO}),
    ("z2834567890123_9f1c0a.jpg", {PHOTO}),
    ("Hình ảnh hoạt động.docx", {PHOTO}),
    ("anh 3.heic", {PHOTO}),
    ("scan0001.pdf", set()),
    ("Trường TH Cự Khê.docx", set()),  # "TH" is tiểu học, not tổng hợp
    ("BC môn Tiếng Anh.docx", {REPORT}),  # "Tiếng Anh" is English, not a photo
    ("tep-dinh-kem", set()),
    ("", set()),
]


@pytest.mark.parametrize(("filename", "expected"), CASES, ids=[c[0] or "empty" for c in CASES])
def test_hints(filename: str, expected: set[str]) -> None:
    assert hint_items(filename) == frozenset(expected)


@pytest.mark.parametrize("filename", [c[0] for c in CASES if c[0]])
def test_hints_do_not_depend_on_case_or_normal_form(filename: str) -> None:
    expected = hint_items(filename)
    assert hint_items(unicodedata.normalize("NFD", filename)) == expected  # Apple Mail names
    stem, dot, ext = filename.rpartition(".")
    if stem and not any(c.isupper() for c in stem[1:]):  # no CamelCase to lose
        assert hint_items(stem.upper() + dot + ext) == expected
