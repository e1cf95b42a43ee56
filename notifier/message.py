"""Outgoing mail: the plain `OutgoingMail` the composers return, and `build_message`, which
turns it into a MIME `EmailMessage` ready for SMTP.

Every header value passes through `parsers.text.header_safe` (no CR, LF, U+2028/U+2029): text
copied from a unit's message (a subject, a Message-ID) can never start a header of its own
(the Python 3.11 `Bcc:` injection). Every message is marked `Auto-Submitted: auto-generated`
so well-behaved auto-responders stay silent, and threads under the unit's message through
In-Reply-To/References when there is one.

Structure: multipart/mixed[ multipart/alternative[ text/plain, multipart/related[ text/html,
inline images ] ], attachments ] — the parts that are absent are left out.
"""

from __future__ import annotations

import email.policy
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid, parseaddr

from parsers.text import clean_filename, header_safe

log = logging.getLogger(__name__)

_MSGID = re.compile(r"<[^<>\s@]+@[^<>\s@]+>")


@dataclass(frozen=True)
class OutgoingMail:
    kind: str  # "receipt" | "reminder" | "overdue" | "digest"
    to: tuple[str, ...]
    subject: str
    text: str
    html: str | None = None
    attachments: tuple[tuple[str, bytes, str], ...] = ()  # (filename, data, "type/subtype")
    in_reply_to: str = ""
    references: tuple[str, ...] = ()
    inline_images: tuple[tuple[str, bytes, str], ...] = ()  # (content-id, data, image subtype)


def new_message_id(sender: str) -> str:
    """A fresh Message-ID in the sender's domain."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    return make_msgid(domain=header_safe(domain, limit=100).replace(" ", ""))


def _msgids(value: str) -> list[str]:
    """The well-formed `<id@host>` tokens of a (sender-controlled) header value."""
    return _MSGID.findall(header_safe(value, limit=2000))


def _addresses(values: tuple[str, ...] | list[str]) -> list[Address]:
    """One Address per value; a value that parses to more or fewer than one is dropped (a
    display name like `X Bcc: a@b <c@d>` must not smuggle in a second recipient)."""
    out = []
    for value in values:
        found = getaddresses([header_safe(value, limit=500)])
        if len(found) != 1:
            log.warning("dropping recipient value that is not exactly one address")
            continue
        name, addr = found[0]
        local, at, domain = addr.rpartition("@")
        if not at or not local or not domain:
            log.warning("dropping unusable recipient address %r", addr[:100])
            continue
        out.append(Address(display_name=header_safe(name), username=local, domain=domain))
    return out


def _set_unstructured(msg: EmailMessage, name: str, value: str) -> None:
    """Set a free-text header. Non-ASCII text is encoded here with `email.header.Header`
    (RFC 2047 words that carry their own spaces) and stored raw: Python 3.11's refolding of
    `EmailPolicy` headers drops the space between two encoded words ("báo cáo – Trường"
    arrives as "báo cáo– Trường")."""
    if value.isascii():
        msg[name] = value
        return
    encoded = Header(value, "utf-8", header_name=name).encode(linesep="\n")
    msg.set_raw(name, encoded)


def build_message(
    mail: OutgoingMail, *, sender: str, now: datetime, message_id: str
) -> EmailMessage:
    if now.tzinfo is None:
        raise ValueError("build_message needs an aware `now`")
    to = _addresses(mail.to)
    if not to:
        raise ValueError(f"{mail.kind} mail has no usable recipient")
    senders = _addresses([sender])
    if not senders:
        raise ValueError("the sender address is not usable")
    own_id = _msgids(message_id)
    if len(own_id) != 1:
        raise ValueError("message_id must be one <id@host>")

    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = senders[0]
    msg["To"] = to
    _set_unstructured(msg, "Subject", header_safe(mail.subject, limit=400))
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = own_id[0]
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"  # Outlook/Exchange: no out-of-office replies
    msg["X-Intake-Kind"] = header_safe(mail.kind, limit=40)
    parent = _msgids(mail.in_reply_to)[:1]
    if parent:
        msg["In-Reply-To"] = parent[0]
    refs = [r for v in mail.references for r in _msgids(v)] + parent
    if refs:
        msg["References"] = " ".join(dict.fromkeys(refs[-20:]))

    msg.set_content(mail.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    if mail.html is not None:
        msg.add_alternative(mail.html, subtype="html", charset="utf-8", cte="base64")
        if mail.inline_images:
            *_, html_part = msg.iter_parts()
            for cid, data, subtype in mail.inline_images:
                html_part.add_related(
                    data,
                    "image",
                    header_safe(subtype, limit=20),
                    cid=f"<{header_safe(cid, limit=100).strip('<>')}>",
                    disposition="inline",
                )
    for filename, data, ctype in mail.attachments:
        maintype, _, subtype = header_safe(ctype, limit=100).partition("/")
        msg.add_attachment(
            data,
            maintype or "application",
            subtype or "octet-stream",
            filename=clean_filename(filename),
        )
    return msg
