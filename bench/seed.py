"""Mail for the benchmark: realistic unit emails (intake.demo_mail: a .docx report, an .xlsx
table, phone JPEGs with EXIF), small text-only emails for the re-poll mailbox, one email with a
large attachment, and the writing of all of them straight into a Maildir (faster than APPEND:
Dovecot picks the files up at the first SELECT)."""

from __future__ import annotations

import concurrent.futures as cf
import os
import random
import shutil
import time
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from pathlib import Path

from intake import demo_mail

ROSTER = Path(__file__).resolve().parent.parent / "examples" / "units-thanh-oai-2021.csv"
CHUNK = 100


def _chunk(start: int, end: int, seed: int) -> list[bytes]:
    """Messages start..end-1; the same (seed, index range) gives the same bytes."""
    units = demo_mail.read_units(ROSTER)
    rng = random.Random(seed * 1_000_003 + start)
    out = []
    for i in range(start, end):
        if i % 20 == 19:
            out.append(demo_mail.bounce(i))
        else:
            # four photos bring the average to the ~200 KB of the bare-fetch measurements
            out.append(demo_mail.unit_message(units[rng.randrange(len(units))], i, rng, photos=4))
    return out


def unit_messages(n: int, seed: int = 1, workers: int | None = None) -> list[bytes]:
    """`n` realistic unit emails (one bounce in twenty), built on every core."""
    ranges = [(s, min(s + CHUNK, n)) for s in range(0, n, CHUNK)]
    workers = max(1, min(workers or os.cpu_count() or 1, len(ranges)))
    if workers == 1:
        return [m for s, e in ranges for m in _chunk(s, e, seed)]
    with cf.ProcessPoolExecutor(workers) as pool:
        parts = pool.map(
            _chunk, [s for s, _ in ranges], [e for _, e in ranges], [seed] * len(ranges)
        )
        return [m for part in parts for m in part]


def small_messages(n: int, start: int = 0, seed: int = 2) -> list[bytes]:
    """Short text-only emails from the units (an acknowledgement, a question): ~1.5 KB each."""
    units = demo_mail.read_units(ROSTER)
    rng = random.Random(seed)
    base = datetime(2021, 9, 1, 7, 0, tzinfo=demo_mail.ICT)
    out = []
    for i in range(start, start + n):
        u = units[rng.randrange(len(units))]
        m = EmailMessage()
        m["From"] = formataddr((u.name, u.email))
        m["To"] = demo_mail.OFFICE
        m["Subject"] = rng.choice(
            (
                f"V/v xác nhận đã nhận công văn số {rng.randint(100, 999)}/PGDĐT",
                f"{u.name} hỏi về thời hạn nộp báo cáo",
                "Re: Kế hoạch tổ chức Tuần lễ hưởng ứng học tập suốt đời năm 2021",
            )
        )
        when = base + timedelta(minutes=7 * i + rng.randint(0, 6))
        m["Date"] = format_datetime(when)
        m["Message-ID"] = f"<{when:%Y%m%d%H%M}.{i}.small@{u.email.split('@')[1]}>"
        m.set_content(
            "Kính gửi: Phòng Giáo dục và Đào tạo huyện Thanh Oai\n\n"
            f"{u.name} đã nhận được công văn và sẽ triển khai theo kế hoạch. Đề nghị Phòng "
            "cho biết thời hạn gửi báo cáo kết quả và bảng tổng hợp số liệu.\n\n"
            f"Trân trọng!\n\nVăn thư {u.name}\nĐT: 024.3387{rng.randint(1000, 9999)}\n"
        )
        out.append(bytes(m))
    return out


def big_message(attachment_bytes: int, seed: int = 3) -> bytes:
    """A unit's usual email plus a phone video of `attachment_bytes` (incompressible): the
    message is ~4/3 of that once base64-encoded."""
    units = demo_mail.read_units(ROSTER)
    rng = random.Random(seed)
    unit = units[rng.randrange(len(units))]
    raw = demo_mail.unit_message(unit, 10_000_000, rng)
    import email
    import email.policy

    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    header = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41"  # an MP4's first box
    video = header + random.Random(seed).randbytes(attachment_bytes - len(header))
    msg.add_attachment(
        video, maintype="video", subtype="mp4", filename="Video lễ khai mạc Tuần lễ HTSĐ 2021.mp4"
    )
    return bytes(msg)


def write_maildir(maildir: Path, messages: Iterable[bytes], *, first: int = 0) -> tuple[int, int]:
    """Write messages as Maildir files (`cur/`, no flags) with S= and W= sizes so Dovecot need
    not read them to know their sizes; as root, hand them to nobody:nogroup (the mail user of
    tests.support.dovecot). Returns (count, bytes)."""
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    stamp, pid = int(time.time()), os.getpid()
    count = total = 0
    for i, raw in enumerate(messages, first):
        crlf_size = len(raw) + raw.count(b"\n") - raw.count(b"\r\n")
        name = f"{stamp}.M{i:07d}P{pid}.bench,S={len(raw)},W={crlf_size}:2,"
        (maildir / "cur" / name).write_bytes(raw)
        count += 1
        total += len(raw)
    if os.geteuid() == 0:
        _chown_tree(maildir.parent, "nobody", "nogroup")
    return count, total


def _chown_tree(top: Path, user: str, group: str) -> None:
    shutil.chown(top, user, group)
    for dirpath, dirnames, filenames in os.walk(top):
        for name in dirnames + filenames:
            shutil.chown(os.path.join(dirpath, name), user, group)


def mean_size(messages: Sequence[bytes]) -> float:
    return sum(map(len, messages)) / max(len(messages), 1)
