"""Receipts (thư xác nhận): whether a message deserves one, and the letter itself.

A receipt goes only to a message filed to a unit (decision "assigned") whose sender address is
one of THAT unit's addresses: on its roster, or taught by the officer (`intake assign`). A
message filed because its text names a unit, from any other address, gets none: the receipt
quotes the sender's subject and file names, so answering an outsider would let anyone make the
office mail their text to an address of their choosing. Never to an automatic sender either: bounces (null Return-Path, MAILER-DAEMON, multipart/report,
X-Failed-Recipients), auto-replies (Auto-Submitted other than "no", X-Autoreply,
Precedence bulk/junk/list/auto_reply), mailing lists and no-reply addresses. Replying to those
is backscatter, or the start of a mail loop with another robot.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime

from jinja2 import Environment

from notifier.message import OutgoingMail
from notifier.render import render
from parsers.text import clean_filename, header_safe
from store.queries import CampaignStatus, UnitStatus

log = logging.getLogger(__name__)

_ROBOT_LOCAL = re.compile(
    r"^(mailer-daemon|postmaster|no-?reply|do-?not-?reply|bounces?|bounce[-+].*|.*-bounces?"
    r"|owner-.*|.*-owner|.*-request|listserv|majordomo|auto-?reply|autoresponder)$",
    re.IGNORECASE,
)


def _header_map(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    out: dict[str, list[str]] = {}
    for name, value in pairs:
        out.setdefault(name.strip().lower(), []).append(str(value).strip())
    return out


def receipt_block_reason(
    sender: str, decision_status: str, headers: Mapping[str, str] | Iterable[tuple[str, str]],
    *, unit_addresses: Collection[str],
) -> str:
    """Why no receipt may be sent for this message ("" when one may). `unit_addresses` are the
    roster and officer-taught addresses of the unit the message was filed to (lower-case)."""
    if decision_status != "assigned":
        return f"sender not identified as a unit ({decision_status})"
    local, at, domain = sender.strip().rpartition("@")
    if not at or not local or not domain:
        return "no usable sender address"
    if _ROBOT_LOCAL.match(local):
        return f"automatic sender address ({local})"
    h = _header_map(headers)
    if any(v.strip("<> ") == "" for v in h.get("return-path", [])):
        return "null Return-Path (a bounce)"
    if "x-failed-recipients" in h:
        return "delivery status notification (X-Failed-Recipients)"
    if any(v.lower().startswith("multipart/report") for v in h.get("content-type", [])):
        return "delivery or read report (multipart/report)"
    for v in h.get("auto-submitted", []):
        if v.split(";")[0].strip().lower() != "no":
            return f"Auto-Submitted: {header_safe(v, limit=40)}"
    if "x-autoreply" in h or "x-autorespond" in h:
        return "auto-reply header"
    for v in h.get("precedence", []):
        if v.lower() in ("bulk", "junk", "list", "auto_reply"):
            return f"Precedence: {header_safe(v, limit=20)}"
    if "list-id" in h or "list-unsubscribe" in h:
        return "mailing-list message"
    if any(v.upper().startswith("YES") for v in h.get("x-spam-flag", [])):
        return "marked as spam"
    if sender.strip().lower() not in {a.strip().lower() for a in unit_addresses}:
        return "sender address is not on the unit's roster nor taught by the officer"
    return ""


def should_receipt(
    sender: str, decision_status: str, headers: Mapping[str, str] | Iterable[tuple[str, str]],
    *, unit_addresses: Collection[str],
) -> bool:
    reason = receipt_block_reason(sender, decision_status, headers, unit_addresses=unit_addresses)
    if reason:
        log.info("no receipt: %s", reason)
    return not reason


def compose_receipt(
    status: UnitStatus,
    campaign: CampaignStatus,
    *,
    received_files: tuple[tuple[str, str], ...],
    to: str,
    in_reply_to: str,
    now: datetime,
    env: Environment,
    received_at: datetime | None = None,
    original_subject: str = "",
    references: tuple[str, ...] = (),
) -> OutgoingMail:
    """The receipt for one filed message of `status`'s unit, addressed to its sender `to`.

    `received_files` are the (item, filename) pairs of THIS message (item "" when the file
    provided nothing recognisable); `status` is the unit's state after filing it.
    """
    at = received_at or now
    ctx = {
        "unit": status,
        "title": campaign.title,
        "tz": campaign.timezone,
        "received_at": at,
        "received_files": [(item, clean_filename(name)) for item, name in received_files],
        "original_subject": header_safe(original_subject, limit=200),
        "late": at > status.deadline,
        "now": now,
    }
    subject, text, html = render(env, "receipt", **ctx)
    return OutgoingMail(
        kind="receipt", to=(to,), subject=subject, text=text, html=html,
        in_reply_to=in_reply_to, references=references,
    )
