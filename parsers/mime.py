"""MIME: raw message bytes → `ParsedMessage` (headers, body text, attachments) via mail-parser.

Pure: bytes in, a frozen dataclass out. Every sender-controlled string is cleaned
(`parsers.text`); exceptions that escape mail-parser on malformed mail become `MalformedMessage`.

Bounds before mail-parser sees a message (its header decoding is superlinear: a 5 MB filename of
encoded words takes ~30 s): the top header block is cut to `MAX_HEADER_BYTES` keeping the
fields we need wherever they are, every header field of every part to `MAX_FIELD_BYTES`; a
message with more than `MAX_MIME_PARTS` parts or nested deeper than `MAX_MIME_DEPTH` is refused
(`MalformedMessage`). Raw 8-bit bytes in From/Subject are read as UTF-8 (undecodable bytes
replaced), base64 leniently (a cut-off attachment keeps what arrived).

Real-world shapes mail-parser alone gets wrong: a boundary parameter folded inside its quotes
(Outlook 2000) is unfolded and the message parsed again; non-text leaves mail-parser does not
report (no file name, no Content-ID) are kept all the same (`parsers.leaves`); files uuencoded
in the text body come out as parts (`parsers.uuencode`).
"""

from __future__ import annotations

import email
import email.utils
import hashlib
import logging
import mimetypes
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.errors import HeaderParseError
from email.message import Message as StdMessage

import mailparser

from parsers import leaves, uuencode
from parsers.leaves import lenient_b64decode
from parsers.text import clean_filename, clean_text

log = logging.getLogger(__name__)

MAX_HEADER_BYTES = 256 * 1024  # a header block beyond this keeps only its essential fields
MAX_FIELD_BYTES = 16 * 1024  # one header field (encoded words decode in superlinear time)
MAX_MIME_PARTS = 1000
MAX_MIME_DEPTH = 50
# Fields kept (the first of each) even past MAX_HEADER_BYTES: identity, threading, structure.
_ESSENTIAL = frozenset(
    {
        b"from",
        b"sender",
        b"reply-to",
        b"to",
        b"cc",
        b"subject",
        b"date",
        b"message-id",
        b"in-reply-to",
        b"references",
        b"mime-version",
        b"content-type",
        b"content-transfer-encoding",
        b"content-disposition",
    }
)
_FIELD_START = re.compile(rb"\r?\n(?![ \t])")
_CHARSET = re.compile(r"[A-Za-z0-9._:+-]{1,40}")
_ENCODED_WORD = re.compile(r"=\?[^?\s]*\?[bBqQ]\?[^?\s]*\?=")
_ADDRESS_HEADERS = frozenset({"from", "to", "cc", "bcc", "reply-to", "sender", "delivered-to"})
# Headers the unit matcher and the receipt logic look at (lower-case).
KEPT_HEADERS = (
    "auto-submitted",
    "x-autoreply",
    "x-autorespond",
    "precedence",
    "list-id",
    "list-unsubscribe",
    "x-spam-flag",
    "content-type",
    "return-path",
    "x-failed-recipients",
    "authentication-results",
    "reply-to",
)


class MalformedMessage(ValueError):
    """The message cannot be parsed at all."""


@dataclass(frozen=True)
class Part:
    filename: str  # cleaned, display-only
    content_type: str
    data: bytes
    inline: bool = False
    content_id: str = ""


@dataclass(frozen=True)
class ParsedMessage:
    message_id: str
    from_addr: str  # lower-case address, "" when absent or unparsable
    from_name: str
    subject: str
    date: datetime | None  # aware UTC
    text: str  # the plain-text body (or text from HTML)
    parts: tuple[Part, ...]
    headers: tuple[tuple[str, str], ...]  # selected, see KEPT_HEADERS; topmost first


_HEAD_END = re.compile(rb"\r?\n\r?\n")
_HASH_CHUNK = 256 * 1024


def split_raw(raw: bytes) -> tuple[bytes, bytes]:
    """Header block and body of a raw message (CRLF or LF)."""
    m = _HEAD_END.search(raw)
    if not m:
        return raw, b""
    return raw[: m.start()], raw[m.end() :]


def header_block(raw: bytes) -> bytes:
    """The header block alone (split_raw without copying the body)."""
    m = _HEAD_END.search(raw)
    return raw[: m.start()] if m else raw


def body_sha256(raw: bytes) -> str:
    """Hash of the body with line endings normalised and trailing blank lines ignored: the same
    message saved as .eml, exported as mbox (which adds or loses a blank line at the end) or
    re-appended under new headers hashes the same. Hashed 256 KiB at a time: a 35 MB message
    costs no copy of its body."""
    m = _HEAD_END.search(raw)
    h = hashlib.sha256()
    carry = b""
    newlines = 0  # \n seen at the end so far: hashed only once more text follows them

    def flush_newlines() -> None:
        for n in range(newlines, 0, -_HASH_CHUNK):
            h.update(b"\n" * min(n, _HASH_CHUNK))

    for i in range(m.end() if m else len(raw), len(raw), _HASH_CHUNK):
        chunk = raw[i : i + _HASH_CHUNK]
        if carry:
            chunk = carry + chunk
        carry = b"\r" if chunk.endswith(b"\r") else b""  # its \n may start the next chunk
        text = (chunk[:-1] if carry else chunk).replace(b"\r\n", b"\n")
        kept = text.rstrip(b"\n")
        if kept:
            flush_newlines()
            h.update(kept)
            newlines = len(text) - len(kept)
        else:
            newlines += len(text)
    if carry:  # a lone \r at the very end is text
        flush_newlines()
        h.update(carry)
    return h.hexdigest()


def _cut_field(field: bytes) -> bytes:
    """One header field cut to MAX_FIELD_BYTES at a space (encoded words stay whole)."""
    if len(field) <= MAX_FIELD_BYTES:
        return field
    cut = field[:MAX_FIELD_BYTES]
    space = max(cut.rfind(b" "), cut.rfind(b"\t"))
    if space > MAX_FIELD_BYTES - 1024:  # encoded words are at most 75 bytes: keep them whole
        cut = cut[:space]
    return cut.rstrip(b" \t\r\n")


def bounded_head(head: bytes) -> bytes:
    """The header block with every field cut to MAX_FIELD_BYTES and, past MAX_HEADER_BYTES,
    only the first of each essential field (From, Subject, Content-Type…) kept."""
    fields = _FIELD_START.split(head)
    if len(head) <= MAX_HEADER_BYTES and all(len(f) <= MAX_FIELD_BYTES for f in fields):
        return head
    kept: list[bytes] = []
    size = 0
    seen: set[bytes] = set()
    for field in fields:
        field = _cut_field(field)
        name = field.split(b":", 1)[0].strip().lower()
        essential = name in _ESSENTIAL and name not in seen
        if essential:
            seen.add(name)
        if essential or size + len(field) <= MAX_HEADER_BYTES:
            kept.append(field)
            size += len(field) + 2
    log.warning("header block of %d bytes bounded to %d", len(head), size)
    return b"\r\n".join(kept)


def _bounded(raw: bytes) -> bytes:
    head, body = split_raw(raw)
    bounded = bounded_head(head)
    if bounded is head:
        return raw
    return bounded + b"\r\n\r\n" + body


def _payload(att: dict[str, object]) -> bytes:
    payload = att.get("payload") or ""
    if att.get("binary"):
        return lenient_b64decode(str(payload))
    charset = str(att.get("charset") or "utf-8")
    try:
        return str(payload).encode(charset, errors="replace")
    except LookupError:
        return str(payload).encode("utf-8", errors="replace")


def _check_structure(msg: StdMessage, max_parts: int, max_depth: int) -> list[StdMessage]:
    """Refuse a message with too many parts or parts nested too deep (walked without
    recursion), and cut every part's header fields to MAX_FIELD_BYTES. Returns the parts."""
    stack: list[tuple[StdMessage, int]] = [(msg, 1)]
    seen: list[StdMessage] = []
    while stack:
        part, depth = stack.pop()
        seen.append(part)
        if len(seen) > max_parts:
            raise MalformedMessage(f"too many MIME parts: more than {max_parts}")
        if depth > max_depth:
            raise MalformedMessage(f"MIME nesting too deep: more than {max_depth} levels")
        _cut_part_fields(part)
        charset = part.get_param("charset")
        if isinstance(charset, str) and not _CHARSET.fullmatch(charset):
            part.set_param("charset", "x-invalid")  # read as UTF-8, like an unknown charset
        payload = part.get_payload()
        if isinstance(payload, list):
            stack.extend((p, depth + 1) for p in payload if isinstance(p, StdMessage))
    return seen


# A boundary parameter whose quoted value was folded across lines (Outlook 2000).
_FOLDED_BOUNDARY = re.compile(
    rb'(boundary[ \t]*=[ \t]*")([^"\r\n]{0,200}(?:\r?\n[ \t]+[^"\r\n]{0,200}){1,8})(")', re.I
)


def _folded_boundary(parts: list[StdMessage]) -> bool:
    """Whether a multipart part of the parsed message has a boundary with a line break in it
    (the stdlib keeps the fold, never finds the delimiter and reads the whole as one part)."""
    for part in parts:
        if part.get_content_maintype() != "multipart" or part.is_multipart():
            continue
        try:
            boundary = part.get_boundary() or ""
        except Exception:  # noqa: BLE001 - a malformed parameter is not this defect
            continue
        if "\n" in boundary or "\r" in boundary:
            return True
    return False


def unfold_boundaries(raw: bytes) -> bytes:
    """`raw` with every quoted boundary parameter folded across lines written on one line, as
    mail clients read it: the line breaks and the indentation that follows them removed, or
    only the line breaks when the delimiter lines of the body keep the indentation."""

    def fix(m: re.Match[bytes]) -> bytes:
        value = m.group(2)
        joined = re.sub(rb"\r?\n[ \t]+", b"", value)
        kept = re.sub(rb"\r?\n", b"", value)
        chosen = kept if b"\n--" + kept in raw and b"\n--" + joined not in raw else joined
        return m.group(1) + chosen + m.group(3)

    return _FOLDED_BOUNDARY.sub(fix, raw)


def _mailparser(msg: StdMessage, parts: list[StdMessage]) -> mailparser.MailParser:
    """mail-parser over `msg`. Its recovery of parts from a damaged multipart's epilogue trips
    on some defects (None epilogue or boundary), and an undecodable encoded word in an address
    header stops it: then it runs again without the defects, those words as plain text."""
    try:
        return mailparser.MailParser(msg)
    except (AttributeError, TypeError, ValueError, HeaderParseError) as e:
        log.info(
            "mail-parser failed (%s: %s); parsing again without defect recovery",
            type(e).__name__,
            e,
        )
        for part in parts:
            part.defects.clear()
        _rewrite_fields(msg, _defang_words)
        return mailparser.MailParser(msg)


def _sender(mp: mailparser.MailParser) -> tuple[str, str]:
    """mail-parser's (name, address) of From; blank when it cannot read it (it lets
    `HeaderParseError` escape on a broken encoded word in the name)."""
    try:
        found = mp.from_
    except Exception as e:  # noqa: BLE001 - the stdlib's reading is the fallback
        log.info("mail-parser cannot read From: %s: %s", type(e).__name__, e)
        return "", ""
    if found and isinstance(found, list) and len(found[0]) == 2:
        return str(found[0][0]), str(found[0][1])
    return "", ""


def _first(value: object) -> str:
    """A header mail-parser returns as a list when it repeats: the first one."""
    if isinstance(value, list | tuple):
        value = value[0] if value else ""
    return str(value or "")


def _rewrite_fields(part: StdMessage, fix: Callable[[str, str], str]) -> None:
    """Apply `fix(name, value)` to every header field of `part`, keeping their order."""
    fields = [(name, str(value)) for name, value in part.raw_items()]
    fixed = [(name, fix(name, value)) for name, value in fields]
    if fixed == fields:
        return
    for name in {k for k, _ in fields}:
        del part[name]
    for name, value in fixed:
        part[name] = value


def _cut_value(name: str, value: str) -> str:
    if len(value) <= MAX_FIELD_BYTES:
        return value
    raw = _cut_field(value.encode("utf-8", errors="surrogateescape"))
    return raw.decode("utf-8", errors="surrogateescape")


def _cut_part_fields(part: StdMessage) -> None:
    if any(len(str(v)) > MAX_FIELD_BYTES for _, v in part.raw_items()):
        _rewrite_fields(part, _cut_value)


def _defang_words(name: str, value: str) -> str:
    """Encoded words of an address header that the stdlib cannot decode, left as plain text."""
    import email.header

    if name.lower() not in _ADDRESS_HEADERS:
        return value

    def fix(m: re.Match[str]) -> str:
        try:
            email.header.decode_header(m.group())
        except Exception:  # noqa: BLE001 - HeaderParseError, binascii.Error, LookupError…
            return m.group()[2:-2].replace("?", " ")
        return m.group()

    return _ENCODED_WORD.sub(fix, value)


def _eight_bit(msg: StdMessage, name: str) -> str | None:
    """A header carrying raw 8-bit bytes (kept by the stdlib as surrogates, which mail-parser
    shows as backslash escapes) read as UTF-8 with undecodable bytes replaced, encoded words
    decoded; None when the header is plain ASCII or absent."""
    import email.header

    for key, value in msg.raw_items():
        if key.lower() != name:
            continue
        text = str(value)
        if text.isascii():
            return None
        text = text.encode("utf-8", errors="surrogateescape").decode("utf-8", errors="replace")
        try:
            return str(email.header.make_header(email.header.decode_header(text)))
        except Exception:  # noqa: BLE001 - undecodable encoded words stay as they came
            return text
    return None


def _one_line(value: str, limit: int) -> str:
    return " ".join(clean_text(value, keep_newlines=False).split())[:limit]


def _date(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return None


def _headers(msg: StdMessage) -> tuple[tuple[str, str], ...]:
    out = []
    for name, value in msg.raw_items():
        if name.lower() in KEPT_HEADERS:
            out.append((name.lower(), clean_text(str(value), keep_newlines=False, limit=2000)))
    return tuple(out)


def parse_message(
    raw: bytes, *, max_parts: int = MAX_MIME_PARTS, max_depth: int = MAX_MIME_DEPTH
) -> ParsedMessage:
    """Parse a raw message (see the module docstring); raises `MalformedMessage`."""
    if raw.count(b"\n--") > 20 * max_parts:  # delimiter-like lines: before the stdlib builds them
        raise MalformedMessage(f"too many MIME parts: more than {max_parts}")
    try:
        msg = email.message_from_bytes(_bounded(raw))
        structure = _check_structure(msg, max_parts, max_depth)
        if _folded_boundary(structure):
            log.info("boundary folded inside its quotes; parsing the message unfolded")
            msg = email.message_from_bytes(_bounded(unfold_boundaries(raw)))
            structure = _check_structure(msg, max_parts, max_depth)
        mp = _mailparser(msg, structure)
        from_name, from_addr = _sender(mp)
        raw_from = _eight_bit(msg, "from")
        if raw_from is not None or not from_addr or "@" not in from_addr:
            # 8-bit bytes, or an odd From mail-parser could not split: the stdlib's reading
            from_name, from_addr = email.utils.parseaddr(raw_from or str(msg.get("From", "")))
        subject = _eight_bit(msg, "subject")
        if subject is None:
            subject = _first(mp.subject)
        parts = []
        for att in mp.attachments:
            disposition = str(att.get("content-disposition") or "").lower()
            parts.append(
                Part(
                    filename=clean_filename(str(att.get("filename") or ""), default="tep-dinh-kem"),
                    content_type=_one_line(str(att.get("mail_content_type") or ""), 255),
                    data=_payload(att),
                    inline=disposition.startswith("inline"),
                    content_id=_one_line(str(att.get("content-id") or ""), 255),
                )
            )
        for leaf in leaves.unreported(msg, [p.data for p in parts]):
            parts.append(
                Part(
                    filename=clean_filename(leaf.filename, default=leaves.DEFAULT_STEM),
                    content_type=_one_line(leaf.content_type, 255),
                    data=leaf.data,
                    inline=leaf.inline,
                    content_id=_one_line(leaf.content_id, 255),
                )
            )
        text = "\n".join(mp.text_plain) if mp.text_plain else ""
        text, uu_files = uuencode.extract(text)
        for uu in uu_files:
            name = clean_filename(uu.name, default=leaves.DEFAULT_STEM)
            parts.append(
                Part(name, mimetypes.guess_type(name)[0] or "application/octet-stream", uu.data)
            )
            if uu.bad_lines:
                log.warning("uuencoded file: %d undecodable line(s) skipped", uu.bad_lines)
        if not text and mp.text_html:
            text = re.sub(r"<[^>]+>", " ", "\n".join(mp.text_html))
        return ParsedMessage(
            message_id=clean_text(_first(mp.message_id), keep_newlines=False, limit=998).strip(),
            from_addr=clean_text(from_addr, keep_newlines=False, limit=320).strip().lower(),
            from_name=_one_line(from_name, 255),
            subject=_one_line(subject, 1000),
            date=_date(mp.date),
            text=clean_text(text, limit=200_000),
            parts=tuple(parts),
            headers=_headers(mp.message),
        )
    except (MalformedMessage, MemoryError):
        raise
    except Exception as e:  # mail-parser lets stdlib errors of every kind escape on bad mail
        raise MalformedMessage(f"cannot parse message: {type(e).__name__}: {e}"[:500]) from e


@dataclass(frozen=True)
class Envelope:
    """The few headers the ledger needs at storage time, read cheaply from the header block."""

    message_id: str
    from_addr: str
    from_name: str
    subject: str
    date: datetime | None


def envelope(raw: bytes) -> Envelope:
    """Read Message-ID, From, Subject and Date without parsing the body. Never raises."""
    import email.header
    import email.parser
    import email.policy

    head = header_block(raw)
    try:
        msg = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(
            bounded_head(head)
        )
    except Exception:  # noqa: BLE001 - hostile header blocks; the full parse reports later
        return Envelope("", "", "", "", None)

    def text(name: str, limit: int) -> str:
        value = msg.get(name)
        if value is None:
            return ""
        value = str(value)[:limit]
        try:
            decoded = str(email.header.make_header(email.header.decode_header(value)))
        except Exception:  # noqa: BLE001 - undecodable encoded words stay as they came
            decoded = value
        return clean_text(decoded, keep_newlines=False, limit=limit).strip()

    name, addr = email.utils.parseaddr(text("From", 1000))
    date = None
    try:
        parsed = email.utils.parsedate_to_datetime(text("Date", 200))
        date = parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (TypeError, ValueError, IndexError):
        date = None
    return Envelope(
        message_id=text("Message-ID", 998),
        from_addr=addr.strip().lower()[:320],
        from_name=name.strip()[:255],
        subject=text("Subject", 4000)[:1000],
        date=date,
    )


def kept_headers(raw: bytes) -> tuple[tuple[str, str], ...]:
    """The KEPT_HEADERS of a raw message, from its header block only (topmost first)."""
    import email.parser
    import email.policy

    head = header_block(raw)
    try:
        msg = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(
            bounded_head(head)
        )
    except Exception:  # noqa: BLE001 - hostile header blocks yield no headers, not a crash
        return ()
    return _headers(msg)
