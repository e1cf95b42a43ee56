"""Realistic campaign mail for tests: the generator that ships with the package
(`intake.demo_mail`), so the demo, the benchmark and the tests read the same kind of mail."""

from __future__ import annotations

import email
import email.policy
import random
import re
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from pathlib import Path

from intake.demo_mail import (
    ICT,
    OFFICE,
    as_sent,
    campaign_messages,
    phone_photo,
    read_units,
    unit_message,
)


def campaign_mailbox(roster: Path, n: int, seed: int) -> list[bytes]:
    """`n` unit emails (a bounce every twentieth) drawn from `roster`, deterministic for `seed`."""
    return campaign_messages(roster, n=n, seed=seed)


def forward_as_attachment(
    roster: Path,
    forwarder: str,
    unit: str,
    *,
    seed: int,
    inner_sender: str | None = None,
    own_photo: bool = False,
) -> bytes:
    """The roster unit `forwarder` (a commune office) forwarding, as an attachment
    (message/rfc822, as Gmail's "Forward as attachment" and Outlook do), `unit`'s own email —
    sent from its roster address, or from `inner_sender` — with a covering note in the body and,
    with `own_photo`, a photo of its own beside it."""
    units = {u.code: u for u in read_units(roster)}
    by, of = units[forwarder], units[unit]
    rng = random.Random(seed)
    raw = unit_message(of, seed, rng, photos=1)
    sender = (inner_sender or of.email).encode()
    raw = re.sub(rb"^From: .*$", b"From: " + sender, raw, count=1, flags=re.M)
    inner = email.message_from_bytes(raw, policy=email.policy.default)
    m = EmailMessage()
    m["From"] = formataddr((by.name, by.email))
    m["To"] = OFFICE
    m["Subject"] = f"Fwd: {inner['Subject']}"
    when = datetime(2021, 10, 6, 14, 5, tzinfo=ICT) + timedelta(minutes=seed)
    m["Date"] = format_datetime(when)
    m["Message-ID"] = f"<fwd.{when:%Y%m%d%H%M}.{seed}.{forwarder}@thanhoai.example>"
    m.set_content(
        "Kính gửi: Phòng Giáo dục và Đào tạo huyện Thanh Oai\n\n"
        f"{by.name} xin chuyển tiếp thư báo cáo của {of.name} (thư gốc đính kèm), do nhà trường "
        "gửi nhầm địa chỉ.\n\nTrân trọng!\n\n--\n"
        f"Văn phòng {by.name}\n"
    )
    m.add_attachment(inner, filename=f"{inner['Subject']}.eml")
    if own_photo:
        m.add_attachment(
            phone_photo(seed % 16),
            maintype="image",
            subtype="jpeg",
            filename="IMG_20211006_140212.jpg",
        )
    return as_sent(m, {})
