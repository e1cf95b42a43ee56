"""Sniff a coarse and a fine file type from the bytes first, the file name second."""

from __future__ import annotations

import io
import zipfile

KINDS = ("spreadsheet", "document", "pdf", "image", "archive", "email", "other")

_EXT = {
    "xlsx": ("spreadsheet", "xlsx"),
    "xlsm": ("spreadsheet", "xlsx"),
    "xls": ("spreadsheet", "xls"),
    "docx": ("document", "docx"),
    "doc": ("document", "doc"),
    "pdf": ("pdf", "pdf"),
    "jpg": ("image", "jpeg"),
    "jpeg": ("image", "jpeg"),
    "png": ("image", "png"),
    "heic": ("image", "heic"),
    "heif": ("image", "heic"),
    "webp": ("image", "webp"),
    "gif": ("image", "gif"),
    "zip": ("archive", "zip"),
    "rar": ("archive", "rar"),
    "7z": ("archive", "7z"),
    "eml": ("email", "rfc822"),
    "dat": ("other", "bin"),
    "txt": ("document", "txt"),
    "odt": ("document", "odt"),
    "ods": ("spreadsheet", "ods"),
}


def _ext(filename: str) -> str:
    return filename.rsplit(".", 1)[-1].lower() if "." in filename else ""


def _zip_flavour(data: bytes) -> tuple[str, str]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist()[:2000])
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        return ("archive", "zip")
    if "[Content_Types].xml" in names:
        if any(n.startswith("xl/") for n in names):
            return ("spreadsheet", "xlsx")
        if any(n.startswith("word/") for n in names):
            return ("document", "docx")
    if "mimetype" in names:
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                mimetype = zf.open("mimetype").read(100)
        except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError, NotImplementedError):
            mimetype = b""
        if mimetype.strip() == b"application/vnd.oasis.opendocument.spreadsheet":
            return ("spreadsheet", "ods")
        return ("document", "odt")
    return ("archive", "zip")


def sniff(data: bytes, filename: str = "", content_type: str = "") -> tuple[str, str]:
    """Return (kind, fmt) for `data`; see `KINDS`."""
    head = data[:16]
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return _zip_flavour(data)
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):  # OLE2: .doc, .xls, .msg
        ext = _ext(filename)
        if ext in ("xls", "doc"):
            return _EXT[ext]
        if b"W\x00o\x00r\x00k\x00b\x00o\x00o\x00k" in data[:65536] or b"Workbook" in data[:65536]:
            return ("spreadsheet", "xls")
        if b"W\x00o\x00r\x00d\x00D\x00o\x00c\x00u\x00m\x00e\x00n\x00t" in data[:65536]:
            return ("document", "doc")
        return ("document", "ole")
    if head.startswith(b"%PDF"):
        return ("pdf", "pdf")
    if head.startswith(b"\xff\xd8\xff"):
        return ("image", "jpeg")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return ("image", "png")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return ("image", "webp")
    if head[4:8] == b"ftyp" and head[8:12] in (
        b"heic",
        b"heix",
        b"mif1",
        b"msf1",
        b"heim",
        b"hevc",
    ):
        return ("image", "heic")
    if head.startswith((b"GIF87a", b"GIF89a")):
        return ("image", "gif")
    if head.startswith(b"Rar!\x1a\x07"):
        return ("archive", "rar")
    if head.startswith(b"7z\xbc\xaf\x27\x1c"):
        return ("archive", "7z")
    if head.startswith(b"\x78\x9f\x3e\x22"):
        return ("archive", "tnef")
    if head.startswith(b"{\\rtf"):
        return ("document", "rtf")
    if content_type.lower() == "message/rfc822":
        return ("email", "rfc822")
    ext = _ext(filename)
    if ext in _EXT and _EXT[ext][0] in ("document", "email") and _EXT[ext][1] in ("txt", "rfc822"):
        return _EXT[ext]
    return ("other", ext or "bin")
