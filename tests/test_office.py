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
    with pytest.raises(Unreadable, match="password-protected"), \
            pdf_pages(_pdf(1, password="matkhau")) as pages:
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
