"""Generators of realistic written reports (and one directive), built in memory.

Every public `make_*` function returns `(data, expected)`: the file's bytes and an
`ExpectedReport` with what `parsers.report.read_report(data, expected.fmt)` must give: title,
section keys, budget, header lines, whether it is a directive, the links, and phrases that must
appear in given sections (`phrases`: `(key, phrase)` pairs). The files look the way offices
make them: a borderless two-column header table (issuing body | national motto and date),
"BÁO CÁO" over its subject line, the Phụ lục outline numbered each unit's own way, amounts as
"15.000.000 đồng"/"2,5 triệu", evidence links, the data table, signatures and "Nơi nhận".

Variants: Unicode docx; TCVN3 docx (`.VnTime` body, `.VnTimeH` header and capitals, the way
ABC users switch fonts for an accented capital); VNI docx (`VNI-Times`); NFD text (Apple);
Word 97 .doc (LibreOffice converts a TCVN3 docx: needs `soffice`, Debian's
libreoffice-writer-nogui); a text PDF and a TCVN3 PDF (fpdf2 + DejaVu Sans from
fonts-dejavu-core); a scanned PDF (a Pillow image, no text layer); a KẾ HOẠCH directive.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
import unicodedata
from dataclasses import dataclass, field

import docx
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt

from parsers.vietnamese import unicode_to_tcvn3, unicode_to_vni

DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
PARENT = "UBND XÃ BÍCH HÒA"
UNIT = "TRƯỜNG THCS BÍCH HÒA"
MOTTO = ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc")
SUBJECT = "Kết quả tổ chức Tuần lễ hưởng ứng học tập suốt đời năm 2021"
TITLE = f"BÁO CÁO {SUBJECT}"
LINKS = (
    "https://www.facebook.com/thcsbichhoa/posts/4321",
    "https://fb.watch/8aBcD_xyz/",
    "https://youtu.be/Qw3rTy12",
)


@dataclass(frozen=True)
class ExpectedReport:
    """What `read_report` (and `header_lines`, `is_directive`, `extract_links`) must find."""

    fmt: str
    filename: str
    title: str = TITLE
    encoding: str = "unicode"
    keys: tuple[str, ...] = ("I.1", "I.2", "I.3", "II.1", "II.2", "II.3", "II.4")
    budget_state: int | None = 15_000_000
    budget_support: int | None = 2_500_000
    header: tuple[str, ...] = (PARENT, UNIT)
    directive: bool = False
    scanned: bool = False
    links: tuple[str, ...] = LINKS
    phrases: tuple[tuple[str, str], ...] = field(
        default=(
            ("I.1", "Kế hoạch số 45/KH-THCS"),
            ("I.2", "Lễ khai mạc Tuần lễ"),
            ("I.3", "15.000.000 đồng"),
            ("II.1", "thói quen đọc sách"),
            ("II.2", "dịch COVID-19"),
            ("II.3", "kinh phí"),
            ("II.4", "Tổng cộng"),
        )
    )


# The body, as (style, text): style "h" is a heading line, "p" a paragraph. Heading numbering
# varies by unit: `outline(style)` renders it.
def _body(numbering: str) -> list[tuple[str, str]]:
    n = {
        "plain": (
            "I. TỔ CHỨC TRIỂN KHAI TUẦN LỄ",
            "1. ",
            "2. ",
            "3. ",
            "II. ĐÁNH GIÁ CHUNG",
            "1. ",
            "2. ",
            "3. ",
            "4. ",
        ),
        "dotted": (
            "PHẦN I. TỔ CHỨC TRIỂN KHAI",
            "I.1. ",
            "I.2. ",
            "I.3. ",
            "PHẦN II. ĐÁNH GIÁ",
            "II.1. ",
            "II.2. ",
            "II.3. ",
            "II.4. ",
        ),
        "letters": (
            "I/ TỔ CHỨC TRIỂN KHAI TUẦN LỄ",
            "a) ",
            "b) ",
            "c) ",
            "II/ ĐÁNH GIÁ CHUNG",
            "a) ",
            "b) ",
            "c) ",
            "d) ",
        ),
    }[numbering]
    return [
        (
            "p",
            "Thực hiện Kế hoạch số 118/KH-UBND ngày 20/9/2021 của UBND huyện Thanh Oai về việc "
            "tổ chức Tuần lễ hưởng ứng học tập suốt đời năm 2021, Trường THCS Bích Hòa báo "
            "cáo kết quả như sau:",
        ),
        ("h", n[0]),
        ("h", n[1] + "Công tác chỉ đạo, triển khai, kiểm tra, đôn đốc thực hiện"),
        (
            "p",
            "- Nhà trường xây dựng Kế hoạch số 45/KH-THCS ngày 24/9/2021, phân công nhiệm vụ "
            "cho các tổ chuyên môn, Liên đội và thư viện.",
        ),
        ("h", n[2] + "Nội dung các hoạt động đã triển khai trong Tuần lễ"),
        ("p", "- Lễ khai mạc Tuần lễ ngày 01/10/2021 với 1.200 học sinh tham gia trực tuyến."),
        ("p", "a) Hoạt động đọc sách: Hội thi “Đọc sách cùng em” thu hút 650 học sinh."),
        ("p", f"- Tin bài, hình ảnh: {LINKS[0]} ; video: {LINKS[1]}, {LINKS[2]}."),
        ("h", n[3] + "Kinh phí tổ chức Tuần lễ"),
        ("p", "- Ngân sách nhà nước: 15.000.000 đồng."),
        (
            "p",
            "- Ngân sách hỗ trợ, vận động từ doanh nghiệp và các nguồn hợp pháp khác: "
            "2,5 triệu đồng.",
        ),
        ("h", n[4]),
        ("h", n[5] + "Những kết quả đã đạt được; bài học kinh nghiệm"),
        ("p", "Học sinh hình thành thói quen đọc sách, tự học qua các nền tảng số."),
        ("h", n[6] + "Khó khăn, tồn tại"),
        ("p", "Do dịch COVID-19, một số hoạt động phải tổ chức trực tuyến."),
        ("h", n[7] + "Kiến nghị, đề xuất"),
        ("p", "Đề nghị cấp trên hỗ trợ thêm kinh phí mua sách cho thư viện."),
        ("h", n[8] + "Bảng tổng hợp số liệu các hoạt động (theo Mẫu tổng hợp)"),
    ]


TABLE = (
    ("STT", "Các hoạt động", "Đơn vị tổ chức", "Số lớp/số cuộc thi", "Người"),
    ("1", "Lễ khai mạc", "Trường THCS Bích Hòa", "1", "1.200"),
    ("2", "Hội thi Đọc sách cùng em", "Liên đội", "1", "650"),
    ("", "Tổng cộng", "", "2", "1.850"),
)
SIGNATURE = ("Nơi nhận:", "- Phòng GDĐT (để b/c);", "- Lưu VT.", "HIỆU TRƯỞNG", "Nguyễn Thị Hoa")

# A run is (text, font); `encode` turns Unicode into what the font's users typed.
Run = tuple[str, str]


def _unicode_runs(text: str, font: str = "Times New Roman") -> list[Run]:
    return [(text, font)]


def _tcvn3_runs(text: str, *, caps: bool = False) -> list[Run]:
    """TCVN3 runs: `.VnTimeH` for capitals (whole line when `caps`), `.VnTime` otherwise."""
    if caps:
        return [(_caps_typed(text), ".VnTimeH")]
    runs: list[Run] = []
    for ch in unicodedata.normalize("NFC", text):
        upper_accented = ch.isupper() and not ch.isascii() and ch not in "ĂÂÊÔƠƯĐ"
        code, font = (
            (unicode_to_tcvn3(ch.lower()), ".VnTimeH")
            if upper_accented
            else (unicode_to_tcvn3(ch), ".VnTime")
        )
        if runs and runs[-1][1] == font:
            runs[-1] = (runs[-1][0] + code, font)
        else:
            runs.append((code, font))
    return runs


def _caps_typed(text: str) -> str:
    """A capitals line as typed in `.VnTimeH`: ASCII letters with Caps Lock, accented letters
    as their lower-case codes (the font draws them as capitals)."""
    return "".join(c if c.isascii() else unicode_to_tcvn3(c.lower()) for c in text)


def _vni_runs(text: str) -> list[Run]:
    return [(unicode_to_vni(text), "VNI-Times")]


def _add_runs(paragraph, runs: list[Run], *, bold: bool = False) -> None:
    for text, font in runs:
        run = paragraph.add_run(text)
        run.bold = bold
        run.font.name = font
        run.font.size = Pt(13)
        run._r.get_or_add_rPr().get_or_add_rFonts().set(qn("w:hAnsi"), font)


def _docx(encode: str, numbering: str, *, nfd: bool = False, directive: bool = False) -> bytes:
    def runs(text: str, caps: bool = False) -> list[Run]:
        if nfd:
            text = unicodedata.normalize("NFD", text)
        if encode == "tcvn3":
            return _tcvn3_runs(text, caps=caps)
        if encode == "vni":
            return _vni_runs(text)
        return _unicode_runs(text)

    document = docx.Document()
    header = document.add_table(rows=1, cols=2)
    left, right = header.rows[0].cells
    left_lines = (PARENT, UNIT, "Số: 12/BC-THCS" if not directive else "Số: 45/KH-THCS")
    right_lines = (*MOTTO, "Bích Hòa, ngày 08 tháng 10 năm 2021")
    for cell, lines in ((left, left_lines), (right, right_lines)):
        cell.paragraphs[0].text = ""
        for i, line in enumerate(lines):
            para = cell.paragraphs[0] if i == 0 else cell.add_paragraph()
            para.alignment = WD_ALIGN_PARAGRAPH.CENTER
            _add_runs(para, runs(line, caps=line.isupper()), bold=i > 0)
    document.add_paragraph()
    head, subject = (
        ("KẾ HOẠCH", "Tổ chức Tuần lễ hưởng ứng học tập suốt đời năm 2021")
        if directive
        else ("BÁO CÁO", SUBJECT)
    )
    for text, caps in ((head, True), (subject, False), ("-----------------", False)):
        para = document.add_paragraph()
        para.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _add_runs(para, runs(text, caps=caps), bold=True)
    for style, text in _body(numbering):
        _add_runs(document.add_paragraph(), runs(text, caps=text.isupper()), bold=style == "h")
    table = document.add_table(rows=len(TABLE), cols=len(TABLE[0]))
    for r, row in enumerate(TABLE):
        for c, value in enumerate(row):
            _add_runs(table.cell(r, c).paragraphs[0], runs(value))
    for line in SIGNATURE:
        _add_runs(document.add_paragraph(), runs(line, caps=line.isupper()))
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def make_docx_report() -> tuple[bytes, ExpectedReport]:
    """A Unicode docx report numbered "I." / "1." as in the Phụ lục."""
    return _docx("unicode", "plain"), ExpectedReport("docx", "Bao cao tuan le HTSĐ.docx")


def make_tcvn3_docx() -> tuple[bytes, ExpectedReport]:
    """A docx typed with ABC: `.VnTime` body, `.VnTimeH` capitals, numbered "I.1.", "II.1."."""
    return _docx("tcvn3", "dotted"), ExpectedReport(
        "docx", "BC THCS Bich Hoa.docx", encoding="tcvn3"
    )


def make_vni_docx() -> tuple[bytes, ExpectedReport]:
    """A docx typed with VNI-Times, sub-items lettered "a)".."d)"."""
    return _docx("vni", "letters"), ExpectedReport("docx", "baocao.docx", encoding="vni")


def make_nfd_docx() -> tuple[bytes, ExpectedReport]:
    """A Unicode docx whose text is decomposed (NFD), as Apple software writes it."""
    return _docx("unicode", "dotted", nfd=True), ExpectedReport("docx", "Báo cáo.docx")


def make_directive_docx() -> tuple[bytes, ExpectedReport]:
    """A unit's own KẾ HOẠCH (Số: 45/KH-THCS): a directive, not the report."""
    expected = ExpectedReport(
        "docx",
        "KH tuan le hoc tap.docx",
        title="KẾ HOẠCH Tổ chức Tuần lễ hưởng ứng học tập suốt đời năm 2021",
        directive=True,
    )
    return _docx("unicode", "plain", directive=True), expected


def soffice() -> str | None:
    """The LibreOffice binary, when installed (Debian: libreoffice-writer-nogui)."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def make_doc_report() -> tuple[bytes, ExpectedReport]:
    """A Word 97-2003 .doc: the TCVN3 docx converted by LibreOffice headless (~2-3 s).

    Raises `RuntimeError` when LibreOffice is not installed. The .doc reader sees no font
    names, so the TCVN3 is found by statistics and a warning says so.
    """
    binary = soffice()
    if binary is None:
        raise RuntimeError("soffice not found (apt-get install libreoffice-writer-nogui)")
    with tempfile.TemporaryDirectory() as tmp:
        source = os.path.join(tmp, "report.docx")
        with open(source, "wb") as f:
            f.write(_docx("tcvn3", "dotted"))
        subprocess.run(
            [
                binary,
                "--headless",
                "--norestore",
                f"-env:UserInstallation=file://{tmp}/profile",
                "--convert-to",
                "doc",
                "--outdir",
                tmp,
                source,
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        with open(os.path.join(tmp, "report.doc"), "rb") as f:
            data = f.read()
    return data, ExpectedReport("doc", "BC tuan le.doc", encoding="tcvn3")


def _pdf_lines(numbering: str) -> list[str]:
    lines = [
        f"{PARENT}          {MOTTO[0]}",
        f"{UNIT}          {MOTTO[1]}",
        "Số: 12/BC-THCS          Bích Hòa, ngày 08 tháng 10 năm 2021",
        "",
        "BÁO CÁO",
        SUBJECT,
        "",
    ]
    lines += [text for _, text in _body(numbering)]
    lines += [" | ".join(row) for row in TABLE] + list(SIGNATURE)
    return lines


def make_text_pdf(*, tcvn3: bool = False) -> tuple[bytes, ExpectedReport]:
    """A PDF with a text layer (as printed from Word); `tcvn3=True` draws TCVN3 bytes with a
    Unicode font, so the text layer holds "Tr­êng"-style text and only statistics can tell."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.add_font("DejaVu", fname=DEJAVU)
    pdf.set_font("DejaVu", size=10)
    pdf.add_page()
    for line in _pdf_lines("plain"):
        if tcvn3:
            line = _caps_typed(line) if line.isupper() else "".join(r[0] for r in _tcvn3_runs(line))
        pdf.cell(0, 6, line or " ", new_x="LMARGIN", new_y="NEXT")  # cell keeps U+00AD
    expected = ExpectedReport("pdf", "bao cao.pdf", encoding="tcvn3" if tcvn3 else "unicode")
    return bytes(pdf.output()), expected


def make_scanned_pdf() -> tuple[bytes, ExpectedReport]:
    """A scanned report: one page that is only a photo of text (no text layer)."""
    from fpdf import FPDF
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("L", (1240, 1754), 250)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(DEJAVU, 28)
    for i, line in enumerate(_pdf_lines("plain")[:40]):
        draw.text((80, 80 + i * 40), line[:70], fill=20, font=font)
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=60)
    pdf = FPDF(format="A4")
    pdf.add_page()
    pdf.image(io.BytesIO(buf.getvalue()), x=0, y=0, w=210, h=297)
    expected = ExpectedReport(
        "pdf",
        "scan0001.pdf",
        title="",
        keys=(),
        budget_state=None,
        budget_support=None,
        header=(),
        scanned=True,
        links=(),
        phrases=(),
    )
    return bytes(pdf.output()), expected
