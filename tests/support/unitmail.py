"""A unit's email to the office, as the tests build it: `unit_mail` numbers it (its Message-ID is
`<{tag}-{i}@thanhoai.example>`, so each test module's mail stays apart from another's), names
its sender, and carries a plain-text body and attachments given as (file name, bytes, content
type). It returns the bytes as they reach the mailbox; callers that want an EmailMessage parse
them. `sender_of(i)` spreads numbered mail over four roster units."""

from __future__ import annotations

from collections.abc import Iterable
from email.message import EmailMessage

OFFICE = "totrunghoc-thanhoai@thanhoai.example"
DATE = "Tue, 05 Oct 2021 08:00:00 +0700"

Part = tuple[str, bytes, str]  # file name, content, "maintype/subtype"

FOUR_UNITS = ("th-kim-an", "thcs-thanh-mai", "mn-bich-hoa", "th-cao-duong")  # in the roster


def sender_of(i: int) -> str:
    """The roster address of one of FOUR_UNITS, in turn: mail `i` comes from unit `i % 4`."""
    return f"{FOUR_UNITS[i % len(FOUR_UNITS)]}@thanhoai.example"


def unit_mail(
    i: int,
    sender: str,
    name: str = "",
    *,
    subject: str,
    body: str,
    attachments: Iterable[Part] = (),
    tag: str,
    date: str = DATE,
    headers: Iterable[tuple[str, str]] = (),
) -> bytes:
    """Email number `i` from `sender` (shown as `name` when given) to the office."""
    m = EmailMessage()
    m["From"] = f"{name} <{sender}>" if name else f"<{sender}>"
    m["To"] = OFFICE
    m["Subject"] = subject
    m["Message-ID"] = f"<{tag}-{i}@thanhoai.example>"
    m["Date"] = date
    for key, value in headers:
        m[key] = value
    m.set_content(body)
    for filename, data, content_type in attachments:
        maintype, subtype = content_type.split("/")
        m.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return bytes(m)


def nested_mail(depth: int, sender: str, subject: str, message_id: str) -> bytes:
    """A unit's email whose text sits `depth` multipart levels down (past `max_mime_depth`, it
    is malformed for good): what a broken client or a hostile sender makes."""
    inner = EmailMessage()
    inner.set_content("Nội dung trong cùng.")
    for _ in range(depth):
        outer = EmailMessage()
        outer.make_mixed()
        outer.attach(inner)
        inner = outer
    inner["From"] = sender
    inner["Subject"] = subject
    inner["Message-ID"] = message_id
    return bytes(inner)
