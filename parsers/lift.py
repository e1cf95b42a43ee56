"""Attachments kept out of the MIME parser, for its memory and its time.

The stdlib parser (under mail-parser) splits a message into lines and joins them again: a 34 MB
message with one 25 MB video peaks at ~260 MB in the parse alone, and a usual 200 KB unit email
(a report, a table, four photos) takes 6 ms parsed whole, 2.5 ms with its bodies lifted (the
benchmark's mail). `lift()` finds the bodies of base64 leaf parts of `LIFT_MIN_BYTES` or more
by scanning the bytes (no line splitting), and returns a skeleton of the message where each such
body is replaced by a short base64 marker;
the skeleton is parsed as usual, and `restore()` puts the decoded bytes (one `a2b_base64` over a
view of the raw message, no intermediate copies) in place of each marker.

A single-part message (a scanner's bare base64 PDF) has no delimiter lines: its one body is
lifted when the top header names a non-text type and base64; plain-text and HTML-only mail is
not lifted (its body is the text, which the parser must see).

Conservative by design: a body is lifted only when the part's own header says
`Content-Transfer-Encoding: base64` and the body is nothing but base64 (and line breaks, padding
at the end). `restore()` returns None unless every marker came back as an attachment's data
exactly once; the caller then parses the whole raw message as before (e.g. a big part inside a
forwarded message, whose attachments are read later from the re-serialised message). The
marker carries a random nonce, so no sender can forge one.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from parsers.mime import ParsedMessage

LIFT_MIN_BYTES = 8 * 1024  # smaller bodies cost the line-by-line parser less than lifting
MAX_PART_HEADER = 64 * 1024  # a part header longer than this is not looked at
_BLANK = re.compile(rb"\n\r?\n")
_CTE_BASE64 = re.compile(
    rb"^content-transfer-encoding[ \t]*:[ \t]*(?:\r?\n[ \t]+)?\"?base64\"?[ \t]*\r?$", re.I | re.M
)
_BASE64_BODY = re.compile(rb"[A-Za-z0-9+/\r\n]*(?:={1,2}[\r\n]*)?")
MAX_TOP_HEADER = 256 * 1024  # a top header block longer than this: the message is not lifted
# The type of the message itself (the first Content-Type of the top header).
_TOP_TYPE = re.compile(
    rb"^content-type[ \t]*:[ \t]*(?:\r?\n[ \t]+)?\"?([A-Za-z0-9!#$&^_.+-]+)/", re.I | re.M
)
_MARKER = b"intake-lifted-part "


@dataclass(frozen=True)
class Lifted:
    skeleton: bytes  # the message with each lifted body replaced by its marker, base64-encoded
    spans: dict[bytes, tuple[int, int]]  # marker → (start, end) of the base64 body in the raw


def _delimiter_lines(raw: bytes) -> list[int]:
    """Offsets of the lines that start with `--` (MIME delimiters, and a few that are not)."""
    out = []
    i = raw.find(b"\n--")
    while i != -1:
        out.append(i + 1)
        i = raw.find(b"\n--", i + 3)
    return out


def _body_span(raw: bytes, start: int, end: int, min_bytes: int) -> tuple[int, int] | None:
    """The base64 body of the part whose delimiter line starts at `start` (the next delimiter
    line at `end`), when it qualifies."""
    line_end = raw.find(b"\n", start, end)
    if line_end == -1:
        return None
    blank = _BLANK.search(raw, line_end, min(end, line_end + MAX_PART_HEADER))
    if blank is None or blank.start() == line_end:  # no header block, or an empty one
        return None
    if not _CTE_BASE64.search(raw, line_end + 1, blank.start() + 1):
        return None
    body_start = blank.end()
    body_end = end - 1 if end < len(raw) else end  # the line break before `--` is the delimiter's
    if end < len(raw) and raw[body_end - 1 : body_end] == b"\r":
        body_end -= 1
    if body_end - body_start < min_bytes:
        return None
    if _BASE64_BODY.fullmatch(memoryview(raw)[body_start:body_end]) is None:
        return None
    return body_start, body_end


def _single_part_span(
    raw: bytes, head_end: re.Match[bytes], top: re.Match[bytes] | None, min_bytes: int
) -> list[tuple[int, int]]:
    """The body of a single-part message, when its type is not text (nor message/…), its
    top header says base64 and the body is nothing but base64; else nothing."""
    if top is None or top.group(1).lower() in (b"text", b"message"):
        return []  # no Content-Type means text/plain: the parser reads it as the body
    if not _CTE_BASE64.search(raw, 0, head_end.start() + 1):
        return []
    body_start, body_end = head_end.end(), len(raw)
    while body_end > body_start and raw[body_end - 1] in b"\r\n \t":
        body_end -= 1
    if body_end - body_start < min_bytes:
        return []
    if _BASE64_BODY.fullmatch(memoryview(raw)[body_start:body_end]) is None:
        return []
    return [(body_start, body_end)]


def lift(raw: bytes, min_bytes: int = LIFT_MIN_BYTES) -> Lifted | None:
    """The skeleton of `raw` without its large base64 bodies; None when there is none."""
    if len(raw) < min_bytes:
        return None
    head_end = _BLANK.search(raw, 0, MAX_TOP_HEADER)
    if head_end is None:
        return None
    top = _TOP_TYPE.search(raw, 0, head_end.start() + 1)
    if top is None or top.group(1).lower() != b"multipart":
        spans = _single_part_span(raw, head_end, top, min_bytes)
    else:
        starts = _delimiter_lines(raw)
        spans = []
        ends = [*starts[1:], len(raw)] if starts else []  # no delimiter line: nothing to lift
        for start, end in zip(starts, ends, strict=True):
            if end - start >= min_bytes:
                span = _body_span(raw, start, end, min_bytes)
                if span is not None:
                    spans.append(span)
    if not spans:
        return None
    nonce = secrets.token_hex(12).encode()
    view = memoryview(raw)
    pieces: list[bytes | memoryview] = []
    markers: dict[bytes, tuple[int, int]] = {}
    pos = 0
    for k, (a, b) in enumerate(spans):
        marker = _MARKER + nonce + b" " + str(k).encode()
        pieces += [view[pos:a], base64.b64encode(marker)]
        markers[marker] = (a, b)
        pos = b
    pieces.append(view[pos:])
    return Lifted(b"".join(pieces), markers)


def restore(parsed: ParsedMessage, lifted: Lifted, raw: bytes) -> ParsedMessage | None:
    """`parsed` (of the skeleton) with each marker replaced by its decoded bytes; None when
    the markers did not all come back as attachment data, or a body does not decode."""
    encoded = [base64.b64encode(m) for m in lifted.spans]
    if any(
        m.decode() in parsed.text or e.decode() in parsed.text
        for m, e in zip(lifted.spans, encoded, strict=True)
    ):
        return None  # a lifted "body" was text of the message
    found: set[bytes] = set()
    parts = []
    for part in parsed.parts:
        span = lifted.spans.get(part.data) if len(part.data) < 128 else None
        if span is None:
            if any(
                e in part.data or m in part.data for m, e in zip(lifted.spans, encoded, strict=True)
            ):
                return None  # inside another part (a forwarded message's own text)
            parts.append(part)
            continue
        if part.data in found:
            return None
        found.add(part.data)
        try:
            data = binascii.a2b_base64(memoryview(raw)[span[0] : span[1]])
        except (binascii.Error, ValueError):
            return None
        parts.append(replace(part, data=data))
    if len(found) != len(lifted.spans):
        return None
    return replace(parsed, parts=tuple(parts))
