"""parsers.office: how Office and PDF files are opened, bounded and refused."""

from __future__ import annotations

import io
import zipfile

import pytest
from fpdf import FPDF

from parsers.facts import Unreadable
from parsers.office import (
    ENCRYPTED_MARK,
    MAX_PDF_PAGES,
    MAX_XML_BYTES,
    OLE_MAGIC,
    check_zip,
    open_docx,
    pdf_pages,
)


def _pdf(pages: int, *, password: str = "") -> bytes:
    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for n in range(pages):
        pdf.add_page()
        pdf.cell(text=f"Trang {n + 1}")
    if password:
        pdf.set_encryption(owner_password="chu", user_password=password)
    return bytes(pdf.output())


def test_a_long_pdf_is_read_up_to_the_page_bound() -> None:
    with pdf_pages(_pdf(MAX_PDF_PAGES + 5)) as pages:
        texts = [p.extract_text() for p in pages]
    assert len(texts) == MAX_PDF_PAGES
    assert texts[0].strip() == "Trang 1"


def test_a_password_protected_pdf_says_so() -> None:
    with (
        pytest.raises(Unreadable, match="password-protected"),
        pdf_pages(_pdf(1, password="matkhau")) as pages,
    ):
        [p.extract_text() for p in pages]


def test_a_pdf_cut_short_is_damaged_not_a_traceback() -> None:
    data = _pdf(3)
    with pytest.raises(Unreadable, match="damaged"), pdf_pages(data[: len(data) // 3]) as pages:
        [p.extract_text() for p in pages]


def test_a_file_that_is_no_pdf_is_named_so() -> None:
    with pytest.raises(Unreadable, match="not really a pdf"), pdf_pages(b"PK\x03\x04 zip") as _:
        pass


def test_an_encrypted_word_file_is_refused_as_password_protected() -> None:
    data = OLE_MAGIC + b"\0" * 100 + ENCRYPTED_MARK + b"\0" * 100
    with pytest.raises(Unreadable, match="password-protected"):
        open_docx(data)


def test_an_old_word_file_named_docx_is_refused_with_its_kind() -> None:
    with pytest.raises(Unreadable, match="old binary Office format"):
        open_docx(OLE_MAGIC + b"\0" * 500)


def test_a_zip_bomb_package_is_refused_before_it_is_inflated() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", b"<w>" + b" " * (MAX_XML_BYTES + 10) + b"</w>")
    with pytest.raises(Unreadable, match="too large"):
        check_zip(buf.getvalue())
    with pytest.raises(Unreadable, match="too large"):
        open_docx(buf.getvalue())


def test_a_damaged_docx_is_damaged_not_a_traceback() -> None:
    with pytest.raises(Unreadable, match="damaged"):
        open_docx(b"PK\x03\x04" + b"\x00" * 64)


def _word(build) -> bytes:
    import docx

    document = docx.Document()
    build(document)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def _rezip(data: bytes, changes: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, changes.get(info.filename, src.read(info)))
    return out.getvalue()


def test_merged_table_cells_are_laid_out_as_word_shows_them() -> None:
    from parsers.grid import grids

    def build(document) -> None:
        table = document.add_table(rows=3, cols=3)
        table.cell(0, 0).merge(table.cell(0, 2)).text = "Hoạt động hưởng ứng Tuần lễ"
        table.cell(1, 0).merge(table.cell(2, 0)).text = "Tọa đàm"
        for r, values in ((1, ("12", "340")), (2, ("3", "95"))):
            for c, value in enumerate(values, start=1):
                table.cell(r, c).text = value

    [grid] = grids(_word(build), "docx")
    assert grid.cells == (
        ("Hoạt động hưởng ứng Tuần lễ",) * 3,
        ("Tọa đàm", "12", "340"),
        ("Tọa đàm", "3", "95"),
    )


def test_a_hyperlink_keeps_its_address_and_tabs_and_breaks_read_as_text() -> None:
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    from parsers.report import read_report

    def build(document) -> None:
        paragraph = document.add_paragraph("Xem ảnh tại ")
        rid = document.part.relate_to(
            "https://drive.google.com/thcs-bichhoa",
            "http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink",
            is_external=True,
        )
        paragraph._p.append(
            parse_xml(
                f'<w:hyperlink {nsdecls("w", "r")} r:id="{rid}"><w:r><w:t>thư mục ảnh</w:t></w:r>'
                "</w:hyperlink>"
            )
        )
        run = document.add_paragraph().add_run("Số lớp:")
        run.add_tab()
        run.add_text("12")
        run.add_break()
        run.add_text("Số người tham gia: 340")

    lines = read_report(_word(build), "docx").text.splitlines()
    assert "Xem ảnh tại thư mục ảnh (https://drive.google.com/thcs-bichhoa)" in lines
    assert "Số lớp: 12" in lines and "Số người tham gia: 340" in lines


def test_a_package_whose_main_part_is_no_word_document_is_refused() -> None:
    data = _word(lambda d: d.add_paragraph("Báo cáo"))
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        types = z.read("[Content_Types].xml")
    macro = types.replace(
        b"wordprocessingml.document.main+xml", b"wordprocessingml.template.main+xml"
    )
    with pytest.raises(Unreadable, match="not really a docx"):
        open_docx(_rezip(data, {"[Content_Types].xml": macro}))
    with pytest.raises(Unreadable, match="not really a docx"):
        open_docx(
            _rezip(
                data,
                {
                    "_rels/.rels": b"<Relationships xmlns='http://schemas."
                    b"openxmlformats.org/package/2006/relationships'/>"
                },
            )
        )
