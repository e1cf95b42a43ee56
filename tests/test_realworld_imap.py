"""Real-world shapes of unit email through the real IMAP path (Dovecot → poll → store → parse
stage → filing): single-part messages (plain text, HTML only, a scanner's bare base64 PDF just
under, at and far over the 8 KiB lift threshold, one without a file name) and an Outlook 2000
message whose boundary is folded inside its quotes. Each is sent from its unit's roster address
and must end filed under that unit, with its files, on its first poll: not quarantined, not
left in `received` for a retry.
"""

from __future__ import annotations

import base64
import hashlib
import io
import math
import quopri
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.clock import FixedClock
from intake import demo_mail
from intake.app import App
from parsers.lift import LIFT_MIN_BYTES
from store.models import Attachment, LedgerEntry, Message, Unit
from tests.support.config import ROSTER, make_config
from tests.support.dovecot import Dovecot

pytestmark = pytest.mark.dovecot

PW_ENV = "INTAKE_TEST_IMAP_PW"
UNITS = demo_mail.read_units(ROSTER)
KIB = 1024


@dataclass(frozen=True)
class Case:
    raw: bytes
    unit: demo_mail.RosterUnit
    files: dict[str, bytes]  # the attachments it must be filed with: name → bytes
    body_bytes: int = 0  # the size of the single part's encoded body, when that is the point


def _crlf(lines: list[str]) -> bytes:
    return "\r\n".join(lines).encode("utf-8")


def _head(unit: demo_mail.RosterUnit, subject: str, mid: str, extra: list[str]) -> list[str]:
    return [
        f"From: {unit.email}",
        f"To: {demo_mail.OFFICE}",
        f"Subject: {subject}",
        "Date: Tue, 05 Oct 2021 08:12:40 +0700",
        f"Message-ID: <{mid}@thanhoai.example>",
        "MIME-Version: 1.0",
        *extra,
    ]


def _b64_lines(data: bytes) -> list[str]:
    text = base64.b64encode(data).decode("ascii")
    return [text[i : i + 76] for i in range(0, len(text), 76)]


def _report_text(unit: demo_mail.RosterUnit, size: int) -> str:
    para = (
        f"{unit.name} báo cáo kết quả tổ chức Tuần lễ hưởng ứng học tập suốt đời năm 2021: "
        "các lớp học chuyên đề, số người tham gia, hình ảnh hoạt động gửi kèm theo sau.\n"
    )
    return "Kính gửi: Phòng Giáo dục và Đào tạo huyện Thanh Oai\n\n" + para * (
        size // len(para) + 1
    )


def plain_text(unit: demo_mail.RosterUnit) -> Case:
    body = _b64_lines(_report_text(unit, 12 * KIB).encode("utf-8"))
    head = _head(
        unit,
        "Báo cáo Tuần lễ HTSĐ 2021",
        "plain-12k",
        ['Content-Type: text/plain; charset="utf-8"', "Content-Transfer-Encoding: base64"],
    )
    return Case(_crlf([*head, "", *body, ""]), unit, {})


def html_only(unit: demo_mail.RosterUnit) -> Case:
    text = _report_text(unit, 10 * KIB).replace("\n", "<br>\n")
    html = f'<html><body><div style="font-family:Times New Roman">{text}</div></body></html>'
    body = quopri.encodestring(html.encode("utf-8")).decode("ascii").replace("\n", "\r\n")
    head = _head(
        unit,
        "Bao cao HTSD 2021",
        "html-10k",
        ['Content-Type: text/html; charset="utf-8"', "Content-Transfer-Encoding: quoted-printable"],
    )
    return Case(_crlf([*head, ""]) + b"\r\n" + body.encode("ascii"), unit, {})


def scan_pdf(size: int, seed: int) -> bytes:
    """An image-only PDF of exactly `size` bytes, as a scanner makes it: a noise "page" for the
    bulk and the metadata subject for the last bytes."""
    from fpdf import FPDF
    from PIL import Image

    def build(jpeg: bytes, pad: int) -> bytes:
        pdf = FPDF(format="A4")
        pdf.set_creator("RICOH MP 3055")
        pdf.add_page()
        if jpeg:
            pdf.image(io.BytesIO(jpeg), x=0, y=0, w=210, h=297)
        if pad:
            pdf.set_subject("." * pad)
        return bytes(pdf.output())

    rng = random.Random(seed)
    side = int(math.sqrt(max(size - 40 * KIB, 0) / 0.6))  # a noise JPEG: ~0.56 byte per pixel
    jpeg = b""
    while side > 0:
        buf = io.BytesIO()
        Image.frombytes("L", (side, side), rng.randbytes(side * side)).save(buf, "JPEG", quality=75)
        jpeg = buf.getvalue()
        if len(build(jpeg, 0)) + 200 <= size:
            break
        side = int(side * 0.95)
    pad = size - len(build(jpeg, 0))
    for _ in range(3):  # the subject costs a few bytes of its own
        pdf = build(jpeg, pad)
        pad += size - len(pdf)
    assert len(pdf) == size and pdf.startswith(b"%PDF-")
    return pdf


def bare_pdf(body_kib: int, *, named: bool = True) -> Callable[[demo_mail.RosterUnit], Case]:
    """Scan to email: the whole message is one base64 PDF whose encoded body is `body_kib` KiB
    (rounded up to whole 76-character lines)."""

    def make(unit: demo_mail.RosterUnit) -> Case:
        pdf = scan_pdf(math.ceil(body_kib * KIB / 78) * 57, seed=body_kib)
        name = "scan0001.pdf" if named else "tep-dinh-kem.pdf"
        ctype = (
            [
                f'Content-Type: application/pdf; name="{name}"',
                f'Content-Disposition: attachment; filename="{name}"',
            ]
            if named
            else ["Content-Type: application/pdf"]
        )
        head = _head(
            unit,
            "Scanned from a RICOH MP 3055",
            f"scan-{body_kib}k-{named}",
            [*ctype, "Content-Transfer-Encoding: base64"],
        )
        body = _crlf(_b64_lines(pdf)) + b"\r\n"
        return Case(_crlf([*head, ""]) + b"\r\n" + body, unit, {name: pdf}, len(body))

    return make


def outlook_2000_folded(unit: demo_mail.RosterUnit) -> Case:
    """Outlook 2000 folds a long Content-Type inside the quotes of the boundary."""
    rng = random.Random(2000)
    rows = demo_mail._rows(rng)
    files = {
        "Bao cao Tuan le HTSD 2021.docx": demo_mail.make_report(unit, rows, rng),
        "Tong hop so lieu.xlsx": demo_mail.make_table(unit, rows, rng),
        "IMG_20211003_093512.jpg": demo_mail.phone_photo(3),
    }
    types = {".docx": demo_mail.DOCX, ".xlsx": demo_mail.XLSX, ".jpg": "image/jpeg"}
    boundary = "----=_NextPart_000_0004_01D7B9A1.2E0C3F40"
    lines = _head(
        unit,
        "Bao cao Tuan le HTSD 2021",
        "000801d7b9a1$2e0c3f40$0a01a8c0",
        [
            "Content-Type: multipart/mixed;",
            f'\tboundary="{boundary[:33]}',
            f'\t{boundary[33:]}"',
            "X-Priority: 3 (Normal)",
            "X-Mailer: Microsoft Outlook CWS, Build 9.0.2416 (9.0.2910.0)",
            "X-MimeOLE: Produced By Microsoft MimeOLE V5.00.2314.1300",
        ],
    )
    lines += [
        "",
        "This is a multi-part message in MIME format.",
        "",
        f"--{boundary}",
        'Content-Type: text/plain;\r\n\tcharset="utf-8"',
        "Content-Transfer-Encoding: 8bit",
        "",
        f"Kính gửi Phòng GD&ĐT,\r\n{unit.name} gửi báo cáo, số liệu và hình ảnh.",
        "",
    ]
    for name, data in files.items():
        ctype = types[name[name.rindex(".") :]]
        lines += [
            f"--{boundary}",
            f'Content-Type: {ctype};\r\n\tname="{name}"',
            "Content-Transfer-Encoding: base64",
            f'Content-Disposition: attachment;\r\n\tfilename="{name}"',
            "",
            *_b64_lines(data),
            "",
        ]
    lines += [f"--{boundary}--", ""]
    return Case(_crlf(lines), unit, files)


CASES: dict[str, Callable[[demo_mail.RosterUnit], Case]] = {
    "plain-text-12KiB": plain_text,
    "html-only-10KiB": html_only,
    "bare-pdf-7KiB": bare_pdf(7),
    "bare-pdf-8KiB": bare_pdf(8),
    "bare-pdf-1MiB": bare_pdf(1024),
    "bare-pdf-1MiB-no-name": bare_pdf(1024, named=False),
    "outlook-2000-folded-boundary": outlook_2000_folded,
}


@pytest.fixture(autouse=True)
def imap_password(monkeypatch: pytest.MonkeyPatch, dovecot: Dovecot) -> None:
    monkeypatch.setenv(PW_ENV, dovecot.password)


@pytest.mark.parametrize("shape", list(CASES))
def test_realworld_shape_is_filed_with_its_files_on_the_first_poll(
    tmp_path: Path, dovecot: Dovecot, clock: FixedClock, shape: str
) -> None:
    case = CASES[shape](UNITS[list(CASES).index(shape) * 7 % len(UNITS)])
    if shape.startswith("bare-pdf"):  # the sizes straddle the lift threshold on purpose
        assert (case.body_bytes >= LIFT_MIN_BYTES) == (shape != "bare-pdf-7KiB"), case.body_bytes
    dovecot.append([case.raw])
    cfg = make_config(
        tmp_path,
        mailbox={
            "host": dovecot.host,
            "port": dovecot.port,
            "security": "none",
            "username": dovecot.user,
            "password_env": PW_ENV,
            "timeout": 10.0,
        },
        limits={"parse_workers": 0},
    )
    with App(cfg, clock) as app:
        app.import_roster(ROSTER)
        result = app.poll_once()
        assert result.error == ""
        assert (result.stored, result.failed) == (1, 0)
        with app.sessions() as s:
            assert list(s.scalars(sa.select(LedgerEntry.state))) == ["stored"]
            msg = s.scalars(sa.select(Message)).one()
            assert (msg.state, msg.reason if msg.state != "filed" else "") == ("filed", "")
            assert msg.attempts == 0
            assert s.get(Unit, msg.unit_id).code == case.unit.code  # type: ignore[union-attr]
            files = {
                a.filename: a.sha256
                for a in s.scalars(
                    sa.select(Attachment).where(
                        Attachment.message_fk == msg.id, Attachment.parent_id.is_(None)
                    )
                )
            }
        assert files == {
            name: hashlib.sha256(data).hexdigest() for name, data in case.files.items()
        }
        assert all(app.files.get(sha) == case.files[name] for name, sha in files.items())
