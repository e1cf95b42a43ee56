"""Opening Office and PDF files safely: the one place that knows how a docx, an OLE file or a
PDF is opened, bounded and refused.

- `check_zip`: an OOXML package as a zip, refused when its declared XML is a zip bomb.
- `ole_reason`: why an old binary Office (OLE) file is refused where OOXML was expected.
- `open_docx`: a .docx as `Docx`: the main document part's body, its styles and its hyperlink
  targets, read with lxml straight from the package (bounded first); the report, table and
  nomination readers share one. python-docx built an object for every part and element and
  parsed every XML part of the package: it cost more than everything we do with the text.
- `DocxText`: a docx body's text in order, each run converted by its font's legacy encoding
  (TCVN3, VNI), and its tables' rows as grid cells (merged cells repeated, as Word lays them
  out); the report reader and the table reader share it per document.
- `pdf_pages`: the pages of a PDF (at most `MAX_PDF_PAGES`), with the one mapping of
  pdfminer's failures to `Unreadable` ("password-protected", "damaged").

Everything here raises `parsers.facts.Unreadable` with a short reason for bad input; nothing
else escapes.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pdfplumber
from lxml import etree
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

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_R_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_PKG_RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_CT = "{http://schemas.openxmlformats.org/package/2006/content-types}"
_REL_TYPES = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
DOCX_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
W_P, W_TBL, W_SDT, W_TR, W_TC = _W + "p", _W + "tbl", _W + "sdt", _W + "tr", _W + "tc"
W_R, W_HYPERLINK, W_VAL = _W + "r", _W + "hyperlink", _W + "val"
# a run's text: w:t, and what Word draws for these (a page or column break draws nothing)
_RUN_TEXT = {_W + "tab": "\t", _W + "ptab": "\t", _W + "cr": "\n", _W + "noBreakHyphen": "-"}
# python-docx's parser: no entities resolved (billion laughs), blank text between tags dropped
_XML = etree.XMLParser(remove_blank_text=True, resolve_entities=False, no_network=True)


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


class Docx:
    """What the readers take from a .docx: the body element (`w:body`), the styles part's root
    (None without one) and the document part's relationship targets by id (hyperlinks).

    The styles part is parsed only when a run names no font of its own (`styles`): Word's
    styles.xml is often 100× the document (350 KB of table styles beside 4 KB of text), and
    parsing it was most of the cost of opening a report."""

    def __init__(self, body: Any, styles_xml: bytes | None, targets: dict[str, str]) -> None:
        self.body = body
        self.targets = targets
        self.text: DocxText | None = None  # the shared reader, see `DocxText.of`
        self._styles_xml = styles_xml
        self._styles: Any | None = None

    @property
    def styles(self) -> Any | None:
        """The styles part's root element, parsed on first use; None without one."""
        if self._styles is None and self._styles_xml is not None:
            try:
                self._styles = etree.fromstring(self._styles_xml, _XML)
            except (etree.XMLSyntaxError, ValueError) as e:
                raise Unreadable("file is damaged or not really a docx document") from e
            self._styles_xml = None
        return self._styles

    @property
    def tables(self) -> list[Any]:
        """The body's top-level tables (`w:tbl`), in order."""
        return list(self.body.iterchildren(W_TBL))


def open_docx(data: bytes) -> Docx:
    """`data` as a `Docx` (its XML bounded first, see `check_zip`): the main document part is
    the one the package's officeDocument relationship names, and it must be a Word document
    (not a template or a macro document). Raises `Unreadable`."""
    if data.startswith(OLE_MAGIC):
        raise Unreadable(ole_reason(data, "docx"))
    archive = check_zip(data)
    try:
        with archive:
            main = _related(archive, "", "officeDocument")
            if main is None or _content_type(archive, main) != DOCX_MAIN:
                raise KeyError("no Word document part")
            root = _xml(archive, main)
            body = root.find(_W + "body")
            if body is None:
                raise KeyError("no body")
            rels = _rels(archive, main)
            styles_name = next((t for t, kind, _ in rels.values() if kind == "styles"), None)
            styles = (
                archive.read(styles_name) if styles_name and _exists(archive, styles_name) else None
            )
    except (
        KeyError,
        ValueError,
        zipfile.BadZipFile,
        etree.XMLSyntaxError,
        zlib.error,
        EOFError,
        NotImplementedError,
        OSError,
        UnicodeError,
    ) as e:
        raise Unreadable("file is damaged or not really a docx document") from e
    return Docx(body, styles, {rid: raw for rid, (_, _, raw) in rels.items()})


def _exists(archive: zipfile.ZipFile, name: str) -> bool:
    try:
        archive.getinfo(name)
    except KeyError:
        return False
    return True


def _xml(archive: zipfile.ZipFile, name: str) -> Any:
    root = etree.fromstring(archive.read(name), _XML)
    if root is None:
        raise ValueError(f"{name}: no XML")
    return root


def _rels(archive: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str, str]]:
    """A part's relationships: id → (target part name, short type, target as written)."""
    folder, name = posixpath.split(part)
    rels_name = posixpath.join(folder, "_rels", name + ".rels")
    if not _exists(archive, rels_name):
        return {}
    out: dict[str, tuple[str, str, str]] = {}
    for rel in _xml(archive, rels_name).iterchildren(_PKG_RELS):
        rid, target, kind = rel.get("Id"), rel.get("Target") or "", rel.get("Type") or ""
        if rid is None:
            continue
        if rel.get("TargetMode") == "External":
            resolved = ""
        elif target.startswith("/"):
            resolved = posixpath.normpath(target).lstrip("/")
        else:
            resolved = posixpath.normpath(posixpath.join(folder, target)).lstrip("/")
        short = kind[len(_REL_TYPES) :] if kind.startswith(_REL_TYPES) else kind
        out[rid] = (resolved, short, target)
    return out


def _related(archive: zipfile.ZipFile, part: str, kind: str) -> str | None:
    """The part name of `part`'s (the package's, for "") first relationship of `kind`."""
    if part == "":
        rels_name = "_rels/.rels"
        root = _xml(archive, rels_name)
        for rel in root.iterchildren(_PKG_RELS):
            if (rel.get("Type") or "").endswith("/" + kind) and rel.get("TargetMode") != "External":
                return posixpath.normpath(rel.get("Target") or "").lstrip("/") or None
        return None
    return next((t for t, k, _ in _rels(archive, part).values() if k == kind), None)


def _content_type(archive: zipfile.ZipFile, name: str) -> str:
    types = _xml(archive, "[Content_Types].xml")
    for override in types.iterchildren(_CT + "Override"):
        if (override.get("PartName") or "").lstrip("/").lower() == name.lower():
            return override.get("ContentType") or ""
    ext = name.rsplit(".", 1)[-1].lower()
    for default in types.iterchildren(_CT + "Default"):
        if (default.get("Extension") or "").lower() == ext:
            return default.get("ContentType") or ""
    return ""


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
    """Text of a docx body in order, each run converted by its font's legacy encoding.

    What is read is what python-docx read before (`Paragraph.iter_inner_content`, `Run.text`,
    `_Row.cells`), so the readers' results did not change with it: a paragraph's direct runs
    and hyperlinks; a run's w:t, tabs, line breaks (`w:br` of type textWrapping, `w:cr`) and
    non-breaking hyphens; a table row's cells repeated over their grid span, a vertically
    merged continuation cell read as the cell it continues."""

    def __init__(self, document: Docx) -> None:
        self.document = document
        self.used: set[str] = set()
        self._mapped = False  # styles mapped (`_map_styles`), when a run first needs them
        self.default_font: str | None = None
        self._styles: dict[str, Any] = {}
        self._defaults: dict[str, Any] = {}
        self._fonts: dict[tuple[str, str | None], str | None] = {}
        self._cells: dict[Any, list[str]] = {}  # w:tc element → its lines (kept alive here)
        self._roots: dict[Any, Any] = {}  # a continuation w:tc → the w:tc it continues

    @classmethod
    def of(cls, document: Docx) -> DocxText:
        """The reader of `document`, shared by the report and table readers: styles mapped
        once, and each table cell read once."""
        if document.text is None:
            document.text = cls(document)
        return document.text

    def blocks(self, parent: Any) -> Iterator[str]:
        for child in parent.iterchildren(W_P, W_TBL, W_SDT):
            if child.tag == W_P:
                yield from self.paragraph(child).split("\n")
            elif child.tag == W_TBL:
                yield from self.table(child)
            else:
                content = child.find(_W + "sdtContent")
                if content is not None:
                    yield from self.blocks(content)

    def cell_text(self, tc: Any) -> str:
        """A table cell's (`w:tc`) text, converted run by run."""
        return "\n".join(self._cell_lines(tc))

    def _cell_lines(self, tc: Any) -> list[str]:
        lines = self._cells.get(tc)
        if lines is None:
            lines = self._cells[tc] = list(self.blocks(tc))
        return lines

    def table(self, tbl: Any) -> Iterator[str]:
        for tr in tbl.iterchildren(W_TR):
            cells = [self._cell_lines(tc) for tc in tr.iterchildren(W_TC)]
            cells = [[line for line in c if line.strip()] for c in cells]
            cells = [c for c in cells if c]
            if all(len(c) == 1 for c in cells):
                yield " | ".join(c[0] for c in cells)
            else:
                for cell in cells:
                    yield from cell

    def row_cells(self, tr: Any, limit: int) -> list[Any]:
        """The row's cells (`w:tc`) by grid column, at most `limit`: a cell spanning columns
        repeated, a vertical continuation as the cell above it. Raises ValueError for a
        continuation with no cell above (what python-docx did)."""
        out: list[Any] = []
        for tc in tr.iterchildren(W_TC):
            if len(out) >= limit:
                break
            root = self._root(tc)
            out.extend([root] * min(_span(root), limit - len(out)))
        return out

    def _root(self, tc: Any) -> Any:
        """The cell holding the content at `tc`'s place: itself, or for a vertical
        continuation the cell it continues (walked up row by row)."""
        chain = []
        while _vmerge(tc) == "continue":
            known = self._roots.get(tc)
            if known is not None:
                tc = known
                break
            chain.append(tc)
            tc = _tc_above(tc)
        for seen in chain:
            self._roots[seen] = tc
        return tc

    def paragraph(self, p: Any) -> str:
        style = _val(p, "pPr", "pStyle")
        parts = []
        for item in p.iterchildren(W_R, W_HYPERLINK):
            if item.tag == W_HYPERLINK:
                text = "".join(self.run(r, style) for r in item.iterchildren(W_R))
                rid = item.get(_R_ID)
                address = self.document.targets.get(rid, "") if rid else ""
                parts.append(text if not address or address in text else f"{text} ({address})")
            else:
                parts.append(self.run(item, style))
        return "".join(parts)

    def run(self, r: Any, paragraph_style: str | None) -> str:
        """A run's text, converted when its font is a legacy one: the run's own font, else
        its character style's, its paragraph style's, the document default's."""
        text = _run_text(r)
        if not text:
            return text
        rpr = r.find(_W + "rPr")
        font = _font_of(None if rpr is None else rpr.find(_W + "rFonts"))
        if font is None:
            font = (
                self._style_font("character", _val(r, "rPr", "rStyle"))
                or self._style_font("paragraph", paragraph_style)
                or self.default_font
            )
        encoding = font_encoding(font)
        if encoding and not has_unicode_vietnamese(text):
            self.used.add(encoding)
            return to_unicode(text, encoding)
        return text

    def _style_font(self, kind: str, style_id: str | None) -> str | None:
        """The font a style of `kind` (paragraph, character) gives, through its w:basedOn
        chain; an unknown or missing id means the kind's default style, as in Word."""
        key = (kind, style_id)
        if not self._mapped:
            self._map_styles()
        if key not in self._fonts:
            style = self._styles.get(style_id) if style_id is not None else None
            if style is None or style.get(_W + "type") != kind:
                style = self._defaults.get(kind)
            font, depth = None, 0
            while style is not None and depth < 10:
                font = _font_of(style.find(f"{_W}rPr/{_W}rFonts"))
                if font:
                    break
                based = style.find(_W + "basedOn")
                style = self._styles.get(based.get(W_VAL)) if based is not None else None
                depth += 1
            self._fonts[key] = font
        return self._fonts[key]

    def _map_styles(self) -> None:
        """One pass over the styles: ids mapped, each type's default style, the default font."""
        self._mapped = True
        styles = self.document.styles
        defaults = None if styles is None else styles.find(_W + "docDefaults")
        self.default_font = _font_of(
            None if defaults is None else defaults.find(f"{_W}rPrDefault/{_W}rPr/{_W}rFonts")
        )
        for style in [] if styles is None else styles.iterchildren(_W + "style"):
            sid, stype = style.get(_W + "styleId"), style.get(_W + "type")
            if sid is not None:
                self._styles.setdefault(sid, style)
            if stype and style.get(_W + "default") in ("1", "true", "on"):
                self._defaults.setdefault(stype, style)


def _val(element: Any, props: str, child: str) -> str | None:
    """w:val of `element`'s props/child (a paragraph's pPr/pStyle, a run's rPr/rStyle)."""
    found = element.find(f"{_W}{props}/{_W}{child}")
    return None if found is None else found.get(W_VAL)


def _run_text(r: Any) -> str:
    parts = []
    for e in r.iterchildren():
        tag = e.tag
        if tag == _W + "t":
            parts.append(e.text or "")
        elif tag == _W + "br":
            if e.get(_W + "type", "textWrapping") == "textWrapping":
                parts.append("\n")
        elif isinstance(tag, str) and tag in _RUN_TEXT:
            parts.append(_RUN_TEXT[tag])
    return "".join(parts)


def _span(tc: Any) -> int:
    """The grid columns a cell spans (w:gridSpan; ValueError when it is not a number)."""
    found = tc.find(f"{_W}tcPr/{_W}gridSpan")
    return 1 if found is None else int(found.get(W_VAL, ""))


def _vmerge(tc: Any) -> str | None:
    found = tc.find(f"{_W}tcPr/{_W}vMerge")
    return None if found is None else found.get(W_VAL, "continue")


def _grid_before(tr: Any) -> int:
    found = tr.find(f"{_W}trPr/{_W}gridBefore")
    return 0 if found is None else int(found.get(W_VAL, ""))


def _tc_above(tc: Any) -> Any:
    """The cell in the row above that starts at `tc`'s grid column; ValueError when none."""
    tr = tc.getparent()
    offset = _grid_before(tr) + sum(_span(t) for t in tc.itersiblings(W_TC, preceding=True))
    above = next(tr.itersiblings(W_TR, preceding=True), None)
    if above is None:
        raise ValueError("a merged cell continues a row above the table")
    remaining = offset - _grid_before(above)
    for candidate in above.iterchildren(W_TC):
        if remaining < 0:
            break
        if remaining == 0:
            return candidate
        remaining -= _span(candidate)
    raise ValueError(f"no cell at grid column {offset} in the row above")


def _font_of(rfonts: Any) -> str | None:
    """The font that draws Vietnamese letters: w:hAnsi (bytes 0x80–0xFF) before w:ascii."""
    if rfonts is None:
        return None
    names: list[str] = [n for n in (rfonts.get(f"{_W}{a}") for a in ("hAnsi", "ascii")) if n]
    legacy = [n for n in names if font_encoding(n)]
    return legacy[0] if legacy else names[0] if names else None
