"""Mail files as mail clients read them: what a file is (an mbox, one message, or not mail), and
an mbox split into messages whose bytes are those of the same messages saved one per file.

Pure: bytes (or the lines of a file) in, bytes out; `intake.importer` opens the files.

- An mbox starts (after an optional UTF-8 BOM and blank lines) with a real From_ line:
  `From <addr> <date>`, the date in asctime form (`Mon Oct  4 08:15:00 2021`, Gmail Takeout's
  `Mon Oct 04 08:15:00 +0000 2021`) or RFC 5322 form; or with `From <addr>` alone when a header
  line follows (one message saved with its envelope line). Later separators need the date. A
  header such as `From  : …` (obsolete syntax) or a body line `From here on …` is not one.
- Each message ends before the next From_ line; the blank line the writer put before it (or
  at the end of the file) is dropped, and `>From ` lines are unescaped the mboxrd way (one `>`
  off `>…>From `), which also reads mboxo files (only `From ` escaped). An mboxo file holding
  a line that really began `>From ` cannot be told apart: that line loses its `>`.
- One message: a file whose first line (after an optional BOM and blank lines, which are
  dropped: they would end the header block before it began) is a header field and whose header
  block has a From, Date, Subject, Message-ID or Received field (or runs past what was read).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

BOM = b"\xef\xbb\xbf"
SNIFF_BYTES = 256 * 1024  # what `sniff` needs to see of a file
_DAY = rb"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_MONTH = rb"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_TIME = rb"\d{1,2}:\d{2}(?::\d{2})?"
_ZONE = rb"(?:[+-]\d{4}|[A-Z]{1,5})"
_ASCTIME = rb"%s +%s +\d{1,2} +%s(?: +%s)? +\d{4}(?: +%s)?" % (_DAY, _MONTH, _TIME, _ZONE, _ZONE)
_RFC5322 = rb"(?:%s, *)?\d{1,2} +%s +\d{4} +%s(?: +%s)?" % (_DAY, _MONTH, _TIME, _ZONE)
_FROM_LINE = re.compile(rb"From [^\s]*[ \t]+(?:%s|%s)[ \t]*\r?\n?" % (_ASCTIME, _RFC5322), re.I)
_HEADER_LINE = re.compile(rb"[\x21-\x39\x3b-\x7e]+[ \t]*:")
_BARE_FROM_LINE = re.compile(rb"From [^\s:]+[ \t]*\r?\n")  # an envelope line without a date
_LEADING_BLANK = re.compile(rb"(?:[ \t]*\r?\n)+")
_MAIL_FIELD = re.compile(rb"^(?:from|date|subject|message-id|received)[ \t]*:", re.I | re.M)
_HEAD_END = re.compile(rb"\r?\n\r?\n")
_ESCAPED_FROM = re.compile(rb">+From ")


@dataclass(frozen=True)
class Sniffed:
    kind: str  # "mbox" | "message" | "not-mail"
    reason: str = ""  # why it is not mail


def is_from_line(line: bytes) -> bool:
    """A real mbox separator (`From <addr> <date>`), not a header or a body line."""
    return _FROM_LINE.fullmatch(line) is not None


def _first_line(head: bytes) -> bytes:
    end = head.find(b"\n")
    return head if end < 0 else head[: end + 1]


def _lstrip_blank(data: bytes) -> bytes:
    m = _LEADING_BLANK.match(data)
    return data[m.end() :] if m else data


def sniff(head: bytes) -> Sniffed:
    """What a file is, from its first `SNIFF_BYTES` bytes."""
    if head.startswith(BOM):
        head = head[len(BOM) :]
    if not head.strip():
        return Sniffed("not-mail", "empty file")
    head = _lstrip_blank(head)
    first = _first_line(head)
    if is_from_line(first):
        return Sniffed("mbox")
    if _BARE_FROM_LINE.fullmatch(first) and _HEADER_LINE.match(head[len(first) :]):
        return Sniffed("mbox")
    if not _HEADER_LINE.match(head):
        if b"\0" in head[:4096]:
            return Sniffed("not-mail", "not mail: binary data")
        return Sniffed("not-mail", "not mail: it does not start with a header line (Name: value)")
    end = _HEAD_END.search(head)
    if end is None and len(head) >= SNIFF_BYTES:
        return Sniffed("message")  # a header block longer than what was read: judged a message
    if not _MAIL_FIELD.search(head[: end.start()] if end else head):
        return Sniffed(
            "not-mail", "not mail: no From, Date, Subject, Message-ID or Received header"
        )
    return Sniffed("message")


def message_bytes(data: bytes) -> bytes:
    """One message read from a file of its own: a leading BOM and leading blank lines dropped
    (they would spoil the header block)."""
    return _lstrip_blank(data[len(BOM) :] if data.startswith(BOM) else data)


def split_mbox(lines: Iterable[bytes]) -> Iterator[bytes]:
    """The messages of an mbox, in order, from its lines as a binary file yields them. The
    first line that is not blank (after a BOM) is the first separator, with or without a date
    (`sniff` has looked at it); lines before it are dropped. An empty message is yielded as b""
    so the caller can say so."""
    current: list[bytes] | None = None
    first = True
    for line in lines:
        if current is None:
            if first and line.startswith(BOM):
                line = line[len(BOM) :]
            first = False
            if line.strip():
                current = []  # the first separator
            continue
        if line.startswith(b"From ") and is_from_line(line):
            yield _finish(current)
            current = []
            continue
        if line.startswith(b">") and _ESCAPED_FROM.match(line):
            line = line[1:]
        current.append(line)
    if current is not None:
        yield _finish(current)


def _finish(lines: list[bytes]) -> bytes:
    if lines and lines[-1] in (b"\n", b"\r\n"):
        lines.pop()  # the writer's blank line before the next From_ line
    return b"".join(lines)
