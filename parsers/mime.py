"""MIME: raw message bytes → `ParsedMessage` (headers, body text, attachments) via mail-parser.

Pure: bytes in, a frozen dataclass out. Every sender-controlled string is cleaned
(`parsers.text`); exceptions that escape mail-parser on malformed mail become `MalformedMessage`.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message as StdMessage

import mailparser

from parsers.text import clean_filename, clean_text

log = logging.getLogger(__name__)

MAX_HEADER_BYTES = 256 * 1024  # a header block beyond this is cut before decoding
# Headers the unit matcher and the receipt logic look at (lower-case).
KEPT_HEADERS = (
    "auto-submitted", "x-autoreply", "x-autorespond", "precedence", "list-id",
    "list-unsubscribe", "x-spam-flag", "content-type", "return-path",
    "x-failed-recipients", "authentication-results", "reply-to",
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


def split_raw(raw: bytes) -> tuple[bytes, bytes]:
    """Header block and body of a raw message (CRLF or LF)."""
    m = re.search(rb"\r?\n\r?\n", raw)
    if not m:
        return raw, b""
    return raw[: m.start()], raw[m.end():]


def body_sha256(raw: bytes) -> str:
    """Hash of the body with line endings normalised: the same message exported as mbox or
    re-appended under new headers hashes the same."""
    _, body = split_raw(raw)
    return hashlib.sha256(body.replace(b"\r\n", b"\n")).hexdigest()


def _bounded(raw: bytes) -> bytes:
    head, body = split_raw(raw)
    if len(head) <= MAX_HEADER_BYTES:
        return raw
    log.warning("header block of %d bytes cut to %d", len(head), MAX_HEADER_BYTES)
    cut = head[:MAX_HEADER_BYTES]
    cut = cut[: cut.rfind(b"\n")] if b"\n" in cut else cut
    return cut + b"\r\n\r\n" + body


def _payload(att: dict[str, object]) -> bytes:
    payload = att.get("payload") or ""
    if att.get("binary"):
        try:
            return base64.b64decode(str(payload), validate=False)
        except (binascii.Error, ValueError):
            return b""
    charset = str(att.get("charset") or "utf-8")
    try:
        return str(payload).encode(charset, errors="replace")
    except LookupError:
        return str(payload).encode("utf-8", errors="replace")


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


def parse_message(raw: bytes) -> ParsedMessage:
    try:
        mp = mailparser.parse_from_bytes(_bounded(raw))
        from_name, from_addr = "", ""
        if mp.from_:
            from_name, from_addr = mp.from_[0]
        if not from_addr or "@" not in from_addr:
            # mail-parser leaves odd From values; fall back to the stdlib parser
            from_name, from_addr = email.utils.parseaddr(str(mp.message.get("From", "")))
        parts = []
        for att in mp.attachments:
            disposition = str(att.get("content-disposition") or "").lower()
            parts.append(
                Part(
                    filename=clean_filename(str(att.get("filename") or ""), default="tep-dinh-kem"),
                    content_type=clean_text(str(att.get("mail_content_type") or ""), limit=255),
                    data=_payload(att),
                    inline=disposition.startswith("inline"),
                    content_id=clean_text(str(att.get("content-id") or ""), limit=255),
                )
            )
        text = "\n".join(mp.text_plain) if mp.text_plain else ""
        if not text and mp.text_html:
            text = re.sub(r"<[^>]+>", " ", "\n".join(mp.text_html))
        return ParsedMessage(
            message_id=clean_text(mp.message_id or "", keep_newlines=False, limit=998).strip(),
            from_addr=clean_text(from_addr, keep_newlines=False, limit=320).strip().lower(),
            from_name=clean_text(from_name, keep_newlines=False, limit=255).strip(),
            subject=clean_text(mp.subject or "", keep_newlines=False, limit=1000).strip(),
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

    head, _ = split_raw(raw)
    head = head[:MAX_HEADER_BYTES]
    try:
        msg = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(head)
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

    head, _ = split_raw(raw)
    try:
        msg = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(
            head[:MAX_HEADER_BYTES]
        )
    except Exception:  # noqa: BLE001 - hostile header blocks yield no headers, not a crash
        return ()
    return _headers(msg)
