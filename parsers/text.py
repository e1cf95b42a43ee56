"""Clean text at the boundary: every sender-controlled string leaves the parsers through here.

`clean_text` gives valid NFC Unicode with no surrogates, NULs, BiDi controls or other control
characters (tabs and newlines kept when asked); `clean_filename` gives a display-only, bounded,
path-free file name; `header_safe` strips what could break an outgoing header.
"""

from __future__ import annotations

import re
import unicodedata

# BiDi embedding/override/isolate controls, zero-width and other invisible format characters
# that are used to disguise file names (RTLO: "gpj.exe" shown as "exe.jpg").
_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"
_DROP = {ord(c): None for c in _BIDI + _INVISIBLE}
_SURROGATES = re.compile("[\ud800-\udfff]")
_WINDOWS_RESERVED = {
    "CON",
    "PRN",
    "AUX",
    "NUL",
    *(f"COM{i}" for i in range(1, 10)),
    *(f"LPT{i}" for i in range(1, 10)),
}
MAX_FILENAME = 180


def clean_text(
    value: str | bytes | None, *, keep_newlines: bool = True, limit: int | None = None
) -> str:
    """Return `value` as NFC text without surrogates, NULs, BiDi or control characters."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    value = _SURROGATES.sub("\ufffd", value)
    value = value.translate(_DROP)
    out = []
    for ch in value:
        if ch in "\n\t" and keep_newlines:
            out.append(ch)
        elif ch == "\r":
            if not keep_newlines:
                out.append(" ")
        elif ch in "\n\t":
            out.append(" ")
        elif unicodedata.category(ch) in ("Cc", "Cs", "Co") or ch in "\u2028\u2029\x85":
            out.append(" " if not keep_newlines or ch not in "\u2028\u2029\x85" else "\n")
        else:
            out.append(ch)
    text = unicodedata.normalize("NFC", "".join(out))
    if limit is not None and len(text) > limit:
        text = text[:limit]
    return text


def header_safe(value: str | None, limit: int = 250) -> str:
    """Text fit for an outgoing header: one line, no CR/LF/U+2028/U+2029, bounded."""
    text = clean_text(value, keep_newlines=False)
    text = " ".join(text.split())
    return text[:limit]


def clean_filename(name: str | bytes | None, *, default: str = "attachment") -> str:
    """A display-only file name: the last path part, no controls, NFC, bounded length."""
    text = clean_text(name, keep_newlines=False)
    text = text.replace("\\", "/").split("/")[-1]
    text = " ".join(text.split()).strip(" .\"'")
    if not text:
        return default
    stem, dot, ext = text.rpartition(".")
    if not dot:
        stem, ext = text, ""
    if stem.upper() in _WINDOWS_RESERVED:
        stem = f"_{stem}"
    ext = ext[:16]
    room = MAX_FILENAME - (len(ext) + 1 if ext else 0)
    stem = stem[:room].rstrip(" .") or default
    return f"{stem}.{ext}" if ext else stem
