"""The leaf parts mail-parser does not report: a non-text part with neither a file name nor a
Content-ID (a JPEG named only by `Content-Location`, MHTML resources, an unnamed PGP signature
or S/MIME blob, the parts of old multimedia mail, `text/calendar`, `text/rfc822-headers`, a
multipart whose boundary never comes, kept as it stands) is not an attachment to mail-parser,
and its bytes are lost. `unreported()` walks the leaves itself and returns every one that has
content, is not the message body and was not reported already.

The body is a `text/plain` or `text/html` leaf without a file name whose disposition is not
`attachment`: mail-parser reads it as the text. "Reported already" is decided by content: the
bytes of each leaf are compared with the data of the parts mail-parser returned (decoded the
same way, `lenient_b64decode` for base64), so a part it named is never listed twice.

Names: the last segment of `Content-Location`, else `tep-dinh-kem` with the extension of the
content type (`tep-dinh-kem.jpg`). Pure: a parsed `email.message.Message` in, tuples out.
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from email.message import Message
from urllib.parse import unquote, urlsplit

DEFAULT_STEM = "tep-dinh-kem"
_B64_JUNK = re.compile(rb"[^A-Za-z0-9+/]")
_BODY_TYPES = ("text/plain", "text/html")
_CONTENT = re.compile(rb"[^ \t\r\n\f\v]")  # data that is more than whitespace
# Types that mimetypes does not know (or maps to an odd extension) but mail carries.
_EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/jpg": ".jpg",
    "image/pjpeg": ".jpg",
    "image/pgm": ".pgm",
    "image/pbm": ".pbm",
    "audio/basic": ".au",
    "audio/x-sun": ".au",
    "text/plain": ".txt",
    "application/pgp-signature": ".asc",
    "application/pgp-encrypted": ".asc",
    "application/pkcs7-signature": ".p7s",
    "application/x-pkcs7-signature": ".p7s",
    "application/pkcs7-mime": ".p7m",
    "application/x-pkcs7-mime": ".p7m",
    "application/octet-stream": ".bin",
    "message/rfc822": ".eml",
}


@dataclass(frozen=True)
class Leaf:
    filename: str  # raw, to be cleaned by the caller
    content_type: str
    data: bytes
    inline: bool
    content_id: str


def lenient_b64decode(payload: str | bytes) -> bytes:
    """Base64 as mail clients read it: stray characters skipped, missing padding tolerated, a
    payload cut off in transit decoded as far as it goes."""
    raw = payload.encode("ascii", errors="ignore") if isinstance(payload, str) else payload
    data = _B64_JUNK.sub(b"", raw)
    rest = len(data) % 4
    if rest == 1:
        data = data[:-1]
    elif rest:
        data += b"=" * (4 - rest)
    try:
        return base64.b64decode(data)
    except (binascii.Error, ValueError):
        return b""


def leaf_bytes(part: Message) -> bytes:
    """The decoded bytes of a leaf part, the way `parsers.mime` decodes mail-parser's data."""
    cte = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    if cte == "base64":
        try:
            payload = part.get_payload(decode=False)
        except (LookupError, UnicodeError):
            payload = None
        if isinstance(payload, str):
            return lenient_b64decode(payload)
    try:
        data = part.get_payload(decode=True)
    except (LookupError, UnicodeError, ValueError, binascii.Error):
        return b""
    return data if isinstance(data, bytes) else b""


def is_body(part: Message) -> bool:
    """A text/plain or text/html leaf that is (part of) the message text, not a file."""
    if part.get_content_type() not in _BODY_TYPES:
        return False
    if _filename(part):
        return False
    return _disposition(part) != "attachment"


def unreported(msg: Message, reported: Iterable[bytes]) -> list[Leaf]:
    """Leaves of `msg` with content that are not the body and whose bytes are not among
    `reported` (each reported data accounts for one leaf), in the order of the message."""
    left = Counter(reported)
    out = []
    for part in msg.walk():
        if part.is_multipart() or is_body(part):
            continue
        data = leaf_bytes(part)
        if not _CONTENT.search(data):
            continue  # nothing to keep (an empty part, a stray line break)
        if left[data] > 0:
            left[data] -= 1
            continue
        ctype = part.get_content_type()
        out.append(
            Leaf(
                filename=_filename(part)
                or location_name(str(part.get("Content-Location") or ""), ctype),
                content_type=ctype,
                data=data,
                inline=_disposition(part) == "inline",
                content_id=str(part.get("Content-ID") or ""),
            )
        )
    return out


def extension(content_type: str) -> str:
    """The usual file extension of a content type ('' when none is known)."""
    ctype = content_type.lower()
    if ctype in _EXTENSIONS:
        return _EXTENSIONS[ctype]
    found = mimetypes.guess_extension(ctype, strict=False)
    if found:
        return found
    if ctype.startswith(("text/", "multipart/", "message/")):
        return ".txt"  # text to read, or MIME text whose structure did not parse
    return ""


def location_name(location: str, content_type: str) -> str:
    """A file name from a `Content-Location` (a URL, a path, a bare name); the default name
    for the content type when it gives none. An extension is added when it has none."""
    value = " ".join(location.split()).strip("\"'<> ")
    if value:
        path = urlsplit(value).path if "://" in value or value.lower().startswith("cid:") else value
        value = unquote(re.split(r"[/\\]", path)[-1]).strip()
    if not value or value in (".", ".."):
        return DEFAULT_STEM + extension(content_type)
    if "." not in value.lstrip("."):
        value += extension(content_type)
    return value


def _filename(part: Message) -> str:
    """The part's file name, RFC 2047 words decoded ('' when it has none)."""
    import email.header

    try:
        name = str(part.get_filename() or "")
    except (LookupError, UnicodeError, ValueError):
        return ""
    if "=?" not in name:
        return name
    try:
        return str(email.header.make_header(email.header.decode_header(name)))
    except Exception:  # noqa: BLE001 - undecodable words stay as they came
        return name


def _disposition(part: Message) -> str:
    try:
        return str(part.get_content_disposition() or "")
    except (LookupError, UnicodeError, ValueError):
        return ""
