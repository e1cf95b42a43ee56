"""The written report: generated docx/doc/pdf/txt files in Unicode, TCVN3, VNI and NFD; the
Phụ lục outline numbered in many ways; amounts; header lines; directives."""

from __future__ import annotations

import io
import os
import unicodedata
from collections.abc import Callable

import docx
import pytest
from docx.oxml.ns import qn

from parsers.facts import Report, Unreadable
from parsers.links import extract_links
from parsers.report import header_lines, is_directive, parse_amount, read_report
from parsers.vietnamese import unicode_to_tcvn3, unicode_to_vni
from tests.support import docgen_reports as gen
from tests.support.docgen_reports import ExpectedReport

GENERATORS: dict[str, Callable[[], tuple[bytes, ExpectedReport]]] = {
    "docx": gen.make_docx_report,
    "tcvn3 docx": gen.make_tcvn3_docx,
    "vni docx": gen.make_vni_docx,
    "nfd docx": gen.make_nfd_docx,
    "directive docx": gen.make_directive_docx,
    "text pdf": gen.make_text_pdf,
    "tcvn3 pdf": lambda: gen.make_text_pdf(tcvn3=True),
    "scanned pdf": gen.make_scanned_pdf,
}


def check(report: Report, expected: ExpectedReport) -> None:
    sections = dict(report.sections)
    assert report.title == expected.title
    assert report.encoding == expected.encoding
    assert tuple(sections) == expected.keys
    assert (report.budget_state, report.budget_support) == (
        expected.budget_state,
        expected.budget_support,
    )
    assert report.scanned is expected.scanned
    assert header_lines(report) == expected.header
    assert is_directive(report, expected.filename) is expected.directive
    assert extract_links(report.text) == expected.links
    for key, phrase in expected.phrases:
        assert phrase in sections[key], (key, phrase)
    # Headings are not section text; signatures and "Nơi nhận" end the last section.
    assert all("Nơi nhận" not in text and "HIỆU TRƯỞNG" not in text for text in sections.values())
    assert report.text == report.text.strip() and "\u00ad" not in report.text


@pytest.mark.parametrize("name", list(GENERATORS))
def test_generated_reports(name: str) -> None:
    data, expected = GENERATORS[name]()
    check(read_report(data, expected.fmt), expected)


@pytest.fixture(scope="module")
def word97() -> tuple[bytes, ExpectedReport]:
    if gen.soffice() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("LibreOffice (libreoffice-writer-nogui) is required in CI")
        pytest.skip("LibreOffice is not installed")
    return gen.make_doc_report()


def test_word97_doc_in_tcvn3(word97: tuple[bytes, ExpectedReport]) -> None:
    data, expected = word97
    assert data.startswith(b"\xd0\xcf\x11\xe0")
    report = read_report(data, "doc")
    check(report, expected)
    assert report.warnings == ("legacy encoding tcvn3 guessed from the text",)
    assert "Nhà trường xây dựng Kế hoạch số 45/KH-THCS" in report.text


def test_scanned_pdf_is_not_an_empty_success() -> None:
    data, _ = gen.make_scanned_pdf()
    assert read_report(data, "pdf") == Report(
        text="", scanned=True, warnings=("scanned, no text layer",)
    )


REPORT_TXT = """\
UBND HUYỆN THANH OAI
TRUNG TÂM GDNN-GDTX THANH OAI
Số: 31/BC-TTGDNN

BÁO CÁO
Kết quả tổ chức Tuần lễ hưởng ứng học tập suốt đời năm 2021
của Trung tâm GDNN-GDTX Thanh Oai

CONG TAC CHI DAO
Trung tâm ban hành Kế hoạch số 12/KH-TT.
I.2. CÁC HOẠT ĐỘNG ĐÃ TRIỂN KHAI:
1) Hoạt động khai mạc: 300 học viên.
2) Kinh nghiệm hoạt động thư viện.
3. KINH PHÍ: Tổng kinh phí 17,5 triệu đồng, trong đó ngân sách nhà nước 15 triệu đồng; \
xã hội hóa 2.500.000đ.
ĐÁNH GIÁ CHUNG
- Kết quả đạt được: học viên tích cực tham gia.
b) Hạn chế: thiết bị còn thiếu.
c) Đề xuất: bổ sung máy tính.
Nơi nhận:
- Phòng GDĐT;
GIÁM ĐỐC
"""


def test_outline_numbered_every_way_in_a_text_file() -> None:
    report = read_report(REPORT_TXT.encode("utf-8"), "txt")
    sections = dict(report.sections)
    assert report.title == (
        "BÁO CÁO Kết quả tổ chức Tuần lễ hưởng ứng học tập suốt đời năm 2021 "
        "của Trung tâm GDNN-GDTX Thanh Oai"
    )
    assert tuple(sections) == ("I.1", "I.2", "I.3", "II.2", "II.3")
    assert sections["I.1"] == "Trung tâm ban hành Kế hoạch số 12/KH-TT."
    assert sections["I.2"] == (
        "1) Hoạt động khai mạc: 300 học viên.\n2) Kinh nghiệm hoạt động thư viện."
    )
    assert sections["II.2"] == "thiết bị còn thiếu."
    assert sections["II.3"] == "bổ sung máy tính."
    assert (report.budget_state, report.budget_support) == (15_000_000, 2_500_000)
    assert header_lines(report) == (
        "UBND HUYỆN THANH OAI",
        "TRUNG TÂM GDNN-GDTX THANH OAI",
        "Trung tâm GDNN-GDTX Thanh Oai",
    )
    assert not is_directive(report, "KH-cong van.txt")


@pytest.mark.parametrize(
    ("text", "state", "support"),
    [
        (
            "3. Kinh phí\n- Ngân sách nhà nước: 15.000.000 đồng\n- Xã hội hóa: 3.500.000 đ",
            15_000_000,
            3_500_000,
        ),
        ("3. Kinh phí\n- Ngân sách nhà nước:\n 5 triệu\n- Nguồn hỗ trợ: không", 5_000_000, 0),
        ("III. KINH PHÍ\nNSNN 2,5 triệu; vận động tài trợ 1.200 nghìn đồng", 2_500_000, 1_200_000),
        (
            "3. Kinh phí tổ chức Tuần lễ"
            "\n- Ngân sách nhà nước\n- Ngân sách hỗ trợ, vận động từ doanh "
            "nghiệp và các nguồn hợp pháp khác (nếu có)",
            None,
            None,
        ),
    ],
)
def test_budget_lines(text: str, state: int | None, support: int | None) -> None:
    report = read_report(f"BÁO CÁO\nKết quả\n{text}\nNơi nhận:".encode(), "txt")
    assert (report.budget_state, report.budget_support) == (state, support)


@pytest.mark.parametrize(
    ("number", "unit", "value"),
    [
        ("15.000.000", "dong", 15_000_000),
        ("15", "trieu dong", 15_000_000),
        ("2,5", "trieu", 2_500_000),
        ("2.5", "tr", 2_500_000),
        ("1.500", "trieu", 1_500_000_000),
        ("500", "nghin", 500_000),
        ("3 000 000", "", 3_000_000),
        ("2021", "", 2021),
        ("12", "", None),
    ],
)
def test_parse_amount(number: str, unit: str, value: int | None) -> None:
    assert parse_amount(number, unit) == value


def test_tcvn3_text_file_and_cp1258_text_file() -> None:
    tcvn3 = unicode_to_tcvn3("Ngân sách nhà nước: 4 triệu đồng. Nhà trường tổ chức tốt.")
    body = f"BÁO CÁO\n{unicode_to_tcvn3('kết quả tuần lễ học tập')}\n3. Kinh phí\n{tcvn3}\n"
    report = read_report(body.encode("cp1252"), "txt")
    assert report.encoding == "tcvn3" and report.budget_state == 4_000_000
    assert "Nhà trường tổ chức tốt" in report.text
    cp1258 = _cp1258("BÁO CÁO\nKết quả tổ chức Tuần lễ\n")
    assert read_report(cp1258, "txt").title == "BÁO CÁO Kết quả tổ chức Tuần lễ"


def _cp1258(text: str) -> bytes:
    """Windows-1258 bytes as Vietnamese Windows writes them: base letter + combining tone."""
    out = b""
    for ch in text:
        try:
            out += ch.encode("cp1258")
        except UnicodeEncodeError:
            nfd = unicodedata.normalize("NFD", ch)
            out += unicodedata.normalize("NFC", nfd[:-1]).encode("cp1258") + nfd[-1].encode(
                "cp1258"
            )
    return out


def _docx_with(paragraphs: list[tuple[str, str | None]], style_font: str | None = None) -> bytes:
    document = docx.Document()
    if style_font:
        rfonts = document.styles["Normal"].element.get_or_add_rPr().get_or_add_rFonts()
        rfonts.set(qn("w:ascii"), style_font)
        rfonts.set(qn("w:hAnsi"), style_font)
    for text, font in paragraphs:
        run = document.add_paragraph().add_run(text)
        if font:
            run.font.name = font
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def test_legacy_font_from_the_paragraph_style_and_unicode_typed_in_a_legacy_font() -> None:
    data = _docx_with(
        [
            (unicode_to_tcvn3("báo cáo"), ".VnTimeH"),
            (unicode_to_tcvn3("kết quả tuần lễ"), None),
            ("", None),
            ("Trường THCS Bích Hòa", ".VnTime"),  # Unicode text, old font kept
            (unicode_to_vni("Đọc sách"), "VNI-Times"),
        ],
        style_font=".VnTime",
    )
    report = read_report(data, "docx")
    assert report.text.splitlines() == [
        "BÁO CÁO",
        "kết quả tuần lễ",
        "",
        "Trường THCS Bích Hòa",
        "Đọc sách",
    ]
    assert report.title == "BÁO CÁO kết quả tuần lễ" and report.encoding == "tcvn3"


def test_legacy_font_through_a_based_on_chain_and_a_character_style() -> None:
    """Fonts resolved the way Word does: a paragraph style based on Normal (.VnTime) and a
    character style in VNI-Times on one run; an unknown style id falls back to the default."""
    from docx.enum.style import WD_STYLE_TYPE

    document = docx.Document()
    normal = document.styles["Normal"].element.get_or_add_rPr().get_or_add_rFonts()
    normal.set(qn("w:hAnsi"), ".VnTime")
    body = document.styles.add_style("Noi dung VN", WD_STYLE_TYPE.PARAGRAPH)
    body.base_style = document.styles["Normal"]
    vni = document.styles.add_style("Chu VNI", WD_STYLE_TYPE.CHARACTER)
    vni.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:hAnsi"), "VNI-Times")
    p = document.add_paragraph(unicode_to_tcvn3("Tổ chức tuần lễ học tập"), style=body)
    p.add_run(" " + unicode_to_vni("Đọc sách")).style = vni
    ghost = document.add_paragraph(unicode_to_tcvn3("Hưởng ứng"))
    ghost._p.style = "KhongCo"  # a style id the package does not define
    buf = io.BytesIO()
    document.save(buf)
    report = read_report(buf.getvalue(), "docx")
    assert report.text.splitlines() == ["Tổ chức tuần lễ học tập Đọc sách", "Hưởng ứng"]


def test_header_lines_from_merged_pdf_columns_and_a_commune() -> None:
    report = Report(
        text=(
            "UBND HUYỆN THANH OAI CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\n"
            "UBND XÃ THANH MAI Độc lập - Tự do - Hạnh phúc\n"
            "Số: 08/BC-UBND Thanh Mai, ngày 07 tháng 10 năm 2021\n"
            "BÁO CÁO\nKết quả Tuần lễ học tập suốt đời năm 2021\n"
        ),
        title="BÁO CÁO Kết quả Tuần lễ học tập suốt đời năm 2021",
    )
    assert header_lines(report) == ("UBND HUYỆN THANH OAI", "UBND XÃ THANH MAI")


@pytest.mark.parametrize(
    ("text", "title", "filename", "expected"),
    [
        ("UBND XÃ CAO DƯƠNG\nSố: 21/CV-UBND\nV/v tổ chức Tuần lễ", "", "van ban.pdf", True),
        ("TRƯỜNG MN BÍCH HÒA\nSố: 15/KH-MN\nKẾ HOẠCH", "KẾ HOẠCH Tổ chức Tuần lễ", "a.docx", True),
        ("", "", "KH so 45.pdf", True),
        ("", "", "CV_trien_khai.doc", True),
        ("", "", "Cong van chi dao tuan le.docx", True),
        ("", "", "khen thuong.docx", False),
        ("", "", "BC ket qua.docx", False),
        ("TRƯỜNG TH THANH VĂN\nSố: 09/BC-TH", "BÁO CÁO Kết quả", "KH bao cao.docx", False),
        ("Căn cứ Kế hoạch số 45/KH-THCS...", "BÁO CÁO Kết quả", "baocao.docx", False),
    ],
)
def test_is_directive(text: str, title: str, filename: str, expected: bool) -> None:
    assert is_directive(Report(text=text, title=title), filename) is expected


@pytest.mark.parametrize(
    ("data", "fmt", "reason"),
    [
        (b"PK\x03\x04 not a zip", "docx", "damaged"),
        (b"hello", "pdf", "not really a pdf"),
        (b"%PDF-1.4\n1 0 obj <<", "pdf", "damaged"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "doc", "damaged"),
        (b"{\\rtf1}", "rtf", "no report reader"),
    ],
)
def test_unreadable(data: bytes, fmt: str, reason: str) -> None:
    with pytest.raises(Unreadable, match=reason):
        read_report(data, fmt)


@pytest.mark.parametrize("fmt", ["docx", "txt"])
def test_a_very_long_report_is_read_up_to_the_budget_with_a_warning(fmt: str) -> None:
    """A pasted database or a generated file: the first MAX_REPORT_CHARS are analysed (the
    outline, the title), the rest is not walked, and the report says so."""
    from parsers.report import MAX_REPORT_CHARS

    head = [
        "UBND HUYỆN THANH OAI",
        "TRƯỜNG THCS BÍCH HÒA",
        "BÁO CÁO",
        "Kết quả tổ chức Tuần lễ hưởng ứng học tập suốt đời năm 2021",
    ]
    row = "Học sinh lớp 8A tham gia đọc sách tại thư viện trường, ghi chép và trao đổi. " * 2
    body = [f"{i}. {row}" for i in range(MAX_REPORT_CHARS // len(row) + 800)]
    if fmt == "docx":
        document = docx.Document()
        for line in head + body:
            document.add_paragraph(line)
        buf = io.BytesIO()
        document.save(buf)
        data = buf.getvalue()
    else:
        data = "\n".join(head + body).encode("utf-8")
    report = read_report(data, fmt)
    assert report.title.startswith("BÁO CÁO Kết quả tổ chức Tuần lễ")
    assert 0.98 * MAX_REPORT_CHARS < len(report.text) <= MAX_REPORT_CHARS  # lines are trimmed
    assert any("only the first 300,000 characters were read" in w for w in report.warnings)
    short = read_report("\n".join(head + body[:50]).encode("utf-8"), "txt")
    assert not any("characters were read" in w for w in short.warnings)
