"""Receipts (thư xác nhận): whether a message deserves one, and the letter itself.

A receipt goes only to a message filed to a unit (decision "assigned") whose sender address is
one of THAT unit's addresses: on its roster, or taught by the officer (`intake assign`). A
message filed because its text names a unit, from any other address, gets none: the receipt
quotes the sender's subject and file names, so answering an outsider would let anyone make the
office mail their text to an address of their choosing. Never to an automatic sender either:
bounces (null Return-Path, MAILER-DAEMON, multipart/report,
X-Failed-Recipients), auto-replies (Auto-Submitted other than "no", X-Autoreply,
Precedence bulk/junk/list/auto_reply), mailing lists and no-reply addresses. Replying to those
is backscatter, or the start of a mail loop with another robot.

A message counted in several campaigns gets one receipt naming them all, with the unit's file
in each (`ReceiptSection`); other mail (no campaign) gets none (`notifier.service`).

The letter lists each file of the message once, with every role it plays, what a zip or a
forwarded message held and why a file was refused (`notifier.receivedfiles`); it asks for
photos to be attached when they came as a Drive/Google Photos link, and says so when it goes
to an address that only forwarded the unit's mail.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from jinja2 import Environment

from notifier.message import OutgoingMail
from notifier.receivedfiles import Received, ReceivedFile, Row, files_of
from notifier.render import render
from parsers.text import header_safe
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
    sender: str,
    decision_status: str,
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
    *,
    unit_addresses: Collection[str],
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
    sender: str,
    decision_status: str,
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
    *,
    unit_addresses: Collection[str],
) -> bool:
    reason = receipt_block_reason(sender, decision_status, headers, unit_addresses=unit_addresses)
    if reason:
        log.info("no receipt: %s", reason)
    return not reason


SEED_ITEMS = ("report", "data_table", "photos", "nominations")


@dataclass(frozen=True)
class ReceiptSection:
    """One campaign the message counted in, and the unit's file in it after filing."""

    status: CampaignStatus
    unit: UnitStatus
    required: tuple[str, ...] = ("report", "data_table", "photos")
    seed: bool = True  # the seed's table: every item is listed, as the plan asks for all four

    @property
    def shown(self) -> tuple[str, ...]:
        """The items the letter lists for this campaign."""
        if self.seed:
            return SEED_ITEMS
        return tuple(i for i in SEED_ITEMS if i in self.required)


def _pairs(pairs: Iterable[tuple[str, str]]) -> tuple[ReceivedFile, ...]:
    """(item, filename) pairs, one per item, as files listed once each."""
    rows = [
        Row(i, None, name, "", item, 1 if item == "photo" else 0, "")
        for i, (item, name) in enumerate(pairs)
    ]
    return files_of(rows)


def compose_receipt(
    status: UnitStatus,
    campaign: CampaignStatus,
    *,
    received_files: Iterable[tuple[str, str]] = (),
    received: Received | None = None,
    to: str,
    in_reply_to: str,
    now: datetime,
    env: Environment,
    received_at: datetime | None = None,
    original_subject: str = "",
    references: tuple[str, ...] = (),
    sections: Sequence[ReceiptSection] = (),
) -> OutgoingMail:
    """The receipt for one filed message of `status`'s unit, addressed to its sender `to`.

    `received` is what THIS message brought (`notifier.receivedfiles.received`); plain
    (item, filename) pairs in `received_files` (item "" when the file provided nothing
    recognisable) are still taken, each file listed once. `status` is the unit's state after
    filing it. `sections` are the campaigns the message counted in (default: `campaign` alone);
    the letter names them all and gives the unit's file in each.
    """
    parts = list(sections) or [ReceiptSection(campaign, status)]
    got = received or Received(files=_pairs(received_files))
    at = received_at or now
    ctx = {
        "unit": status,
        "title": " và ".join(p.status.title for p in parts),
        "sections": [
            {
                "title": p.status.title,
                "unit": p.unit,
                "shown": p.shown,
                "late": (received_at or now) > p.unit.deadline,
            }
            for p in parts
        ],
        "tz": campaign.timezone,
        "received_at": at,
        "received_files": got.files,
        # a link is worth a word only while photos are still missing
        "photo_links": got.photo_links if "photos" in status.missing else (),
        "photo_services": sorted({link.service for link in got.photo_links}),
        "relay": got.relay,
        "to": to,
        "original_subject": header_safe(original_subject, limit=200),
        "late": at > status.deadline,
        "now": now,
    }
    subject, text, html = render(env, "receipt", **ctx)
    return OutgoingMail(
        kind="receipt",
        to=(to,),
        subject=subject,
        text=text,
        html=html,
        in_reply_to=in_reply_to,
        references=references,
    )
