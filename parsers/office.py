"""Opening Office and PDF files safely: the one place that knows how a docx, an OLE file or a
PDF is opened, bounded and refused.

- `check_zip`: an OOXML package as a zip, refused when its declared XML is a zip bomb.
- `ole_reason`: why an old binary Office (OLE) file is refused where OOXML was expected.
- `open_docx`: the python-docx document (bounded first); the report, table and nomination
  readers share one.
- `DocxText`: a docx body's text in order, each run converted by its font's legacy encoding
  (TCVN3, VNI); the report reader and the table reader share it per document.
- `pdf_pages`: the pages of a PDF (at most `MAX_PDF_PAGES`), with the one mapping of
  pdfminer's failures to `Unreadable` ("password-protected", "damaged").

Everything here raises `parsers.facts.Unreadable` with a short reason for bad input; nothing
else escapes.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from xml.etree.ElementTree import ParseError

import docx
import pdfplumber
from defusedxml.common import DefusedXmlException
from docx.document import Document as DocxDocument
from docx.opc.exceptions import PackageNotFoundError
from docx.oxml.ns import qn
from docx.text.hyperlink import Hyperlink
from docx.text.paragraph import Paragraph
from lxml.etree import XMLSyntaxError
from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
from pdfminer.pdfparser import PDFSyntaxError
from pdfminer.psparser import PSException
from pdfplumber.page import Page
from pdfplumber.utils.exceptions import PdfminerException

from parsers.facts import Unreadable
from parsers.vietnamese import font_encoding, has_unicode_vietnamese, to_unicode

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ENCRYPTED_MARK = "EncryptedPackage".encode("utf-16-le")  # an encrypted OOXML inside OLE
MAX_XML_BYTES = 64 * 1024 * 1024  # uncompressed XML in one xlsx/docx: more is a zip bomb
# xlsx parts openpyxl loads whole (shared strings, styles…; sheets are streamed): 60 MB of
# shared strings in a 220 KB file took 17 s and 300 MB to load
MAX_LOADED_XML_BYTES = 16 * 1024 * 1024
# a report or a data table is a few pages; the report and table readers read at most this many
MAX_PDF_PAGES = 60


def ole_reason(data: bytes, fmt: str) -> str:
    """Why an OLE file is refused where `fmt` (an OOXML format) was expected."""
    if ENCRYPTED_MARK in data:
        return "file is password-protected"
    return f"not really a {fmt} file (old binary Office format)"


def check_zip(data: bytes, streamed: str = "") -> zipfile.ZipFile:
    """The package as a zip, refused when its XML (declared sizes: zipfile stops at them) is
    over MAX_XML_BYTES, or the XML outside `streamed` parts is over MAX_LOADED_XML_BYTES."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        xml = [i for i in archive.infolist() if i.filename.endswith((".xml", ".rels"))]
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as e:
        raise Unreadable("file is damaged (not a valid zip container)") from e
    total = sum(i.file_size for i in xml)
    loaded = sum(i.file_size for i in xml if not (streamed and i.filename.startswith(streamed)))
    if total > MAX_XML_BYTES or (streamed and loaded > MAX_LOADED_XML_BYTES):
        raise Unreadable("file is too large to read (uncompressed content)")
    return archive


def open_docx(data: bytes) -> DocxDocument:
    """The python-docx document of `data` (its XML bounded first, see `check_zip`); the
    report, table and nomination readers share one. Raises `Unreadable`."""
    if data.startswith(OLE_MAGIC):
        raise Unreadable(ole_reason(data, "docx"))
    check_zip(data)
    try:
        return docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile, ParseError,
            DefusedXmlException, XMLSyntaxError, AttributeError, TypeError, zlib.error,
            EOFError, NotImplementedError, OSError) as e:
        raise Unreadable("file is damaged or not really a docx document") from e


@contextmanager
def pdf_pages(data: bytes) -> Iterator[Sequence[Page]]:
    """The first MAX_PDF_PAGES pages of a PDF. What pdfminer raises, on opening or while the
    caller reads the pages inside the `with`, becomes `Unreadable`."""
    if not data.lstrip()[:5].startswith(b"%PDF"):
        raise Unreadable("not really a pdf file")
    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            yield pdf.pages[:MAX_PDF_PAGES]
    except (PDFPasswordIncorrect, PDFEncryptionError) as e:
        raise Unreadable("file is password-protected") from e
    except PdfminerException as e:
        if isinstance(e.args[0] if e.args else None, PDFPasswordIncorrect | PDFEncryptionError):
            raise Unreadable("file is password-protected") from e
        raise Unreadable("file is damaged (pdf cannot be parsed)") from e
    except (PDFSyntaxError, PSException, ValueError, KeyError, TypeError, IndexError) as e:
        raise Unreadable("file is damaged (pdf cannot be parsed)") from e


class DocxText:
    """Text of a docx body in order, each run converted by its font's legacy encoding."""

    def __init__(self, document: DocxDocument) -> None:
        self.document = document
        self.used: set[str] = set()
        defaults = document.styles.element.find(qn("w:docDefaults"))
        rfonts = None if defaults is None else defaults.find(
            f"{qn('w:rPrDefault')}/{qn('w:rPr')}/{qn('w:rFonts')}")
        self.default_font = _font_of(rfonts)
        # python-docx resolves a style by scanning every style: here one pass maps the ids,
        # and each (type, id)'s font is resolved once
        self._styles: dict[str, Any] = {}
        self._defaults: dict[str, Any] = {}
        for style in document.styles.element.iterchildren(qn("w:style")):
            sid, stype = style.get(qn("w:styleId")), style.get(qn("w:type"))
            if sid is not None:
                self._styles.setdefault(sid, style)
            if stype and style.get(qn("w:default")) in ("1", "true", "on"):
                self._defaults.setdefault(stype, style)
        self._fonts: dict[tuple[str, str | None], str | None] = {}
        self._cells: dict[Any, list[str]] = {}  # w:tc element → its lines (kept alive here)

    def blocks(self, parent) -> Iterator[str]:
        for child in parent.iterchildren():
            if child.tag == qn("w:p"):
                yield from self.paragraph(Paragraph(child, self.document._body)).split("\n")
            elif child.tag == qn("w:tbl"):
                yield from self.table(child)
            elif child.tag == qn("w:sdt"):
                content = child.find(qn("w:sdtContent"))
                if content is not None:
                    yield from self.blocks(content)

    @classmethod
    def of(cls, document: DocxDocument) -> DocxText:
        """The reader of `document`, shared by the report and table readers: styles mapped
        once, and each table cell read once."""
        kept = vars(document)  # on the document itself: it lives and dies with it
        reader = kept.get("_intake_docx_text")
        if not isinstance(reader, cls):
            reader = kept["_intake_docx_text"] = cls(document)
        return reader

    def cell_text(self, cell) -> str:
        """A table cell's text (python-docx `_Cell`), converted run by run."""
        return "\n".join(self._cell_lines(cell._tc))

    def _cell_lines(self, tc) -> list[str]:
        lines = self._cells.get(tc)
        if lines is None:
            lines = self._cells[tc] = list(self.blocks(tc))
        return lines

    def table(self, tbl) -> Iterator[str]:
        for tr in tbl.iterchildren(qn("w:tr")):
            cells = [self._cell_lines(tc) for tc in tr.iterchildren(qn("w:tc"))]
            cells = [[line for line in c if line.strip()] for c in cells]
            cells = [c for c in cells if c]
            if all(len(c) == 1 for c in cells):
                yield " | ".join(c[0] for c in cells)
            else:
                for cell in cells:
                    yield from cell

    def paragraph(self, paragraph: Paragraph) -> str:
        style_font = self._style_font("paragraph", paragraph._p.style)
        parts = []
        for item in paragraph.iter_inner_content():
            if isinstance(item, Hyperlink):
                text = "".join(self.run(r, style_font) for r in item.runs)
                address = item.address
                parts.append(text if not address or address in text else f"{text} ({address})")
            else:
                parts.append(self.run(item, style_font))
        return "".join(parts)

    def run(self, run, style_font: str | None) -> str:
        rpr = run._r.rPr
        font = _font_of(None if rpr is None else rpr.find(qn("w:rFonts")))
        if font is None:
            font = self._style_font("character", run._r.style)
        font = font or style_font or self.default_font
        encoding = font_encoding(font)
        text = run.text
        if encoding and text and not has_unicode_vietnamese(text):
            self.used.add(encoding)
            return to_unicode(text, encoding)
        return text

    def _style_font(self, kind: str, style_id: str | None) -> str | None:
        """The font a style of `kind` (paragraph, character) gives, through its w:basedOn
        chain; an unknown or missing id means the kind's default style, as in Word."""
        key = (kind, style_id)
        if key not in self._fonts:
            style = self._styles.get(style_id) if style_id is not None else None
            if style is None or style.get(qn("w:type")) != kind:
                style = self._defaults.get(kind)
            font, depth = None, 0
            while style is not None and depth < 10:
                font = _font_of(style.find(f"{qn('w:rPr')}/{qn('w:rFonts')}"))
                if font:
                    break
                based = style.find(qn("w:basedOn"))
                style = self._styles.get(based.get(qn("w:val"))) if based is not None else None
                depth += 1
            self._fonts[key] = font
        return self._fonts[key]


def _font_of(rfonts) -> str | None:
    """The font that draws Vietnamese letters: w:hAnsi (bytes 0x80–0xFF) before w:ascii."""
    if rfonts is None:
        return None
    names = [rfonts.get(qn(f"w:{a}")) for a in ("hAnsi", "ascii")]
    names = [n for n in names if n]
    legacy = [n for n in names if font_encoding(n)]
    return (legacy or names or [None])[0]
