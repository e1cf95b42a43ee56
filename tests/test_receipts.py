"""Receipts: who gets one (no backscatter), the letter, escaping, header injection, templates."""

from __future__ import annotations

import email.parser
import email.policy
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from jinja2 import UndefinedError

from core.config import SmtpConfig
from notifier.message import build_message
from notifier.receipts import compose_receipt, receipt_block_reason, should_receipt
from notifier.render import make_env
from notifier.smtp import SmtpMailer
from parsers.mime import parse_message
from store.queries import CampaignStatus, Items, UnitStatus
from tests.support.smtpserver import SmtpServer

DEADLINE = datetime(2021, 10, 9, 17, 0, tzinfo=UTC)  # 10/10/2021 00:00 in Hà Nội
TITLE = "Tuần lễ hưởng ứng học tập suốt đời năm 2021"
SENDER = "Phòng GDĐT Thanh Oai <totrunghoc-thanhoai@thanhoai.example>"
KIM_BAI = ("thcs-kim-bai@thanhoai.example",)  # the unit's roster address


def _raw(
    from_: str,
    subject: str = "Báo cáo Tuần lễ HTSĐ",
    extra: str = "",
    ctype: str = "text/plain; charset=utf-8",
) -> bytes:
    return (
        f"From: {from_}\r\nTo: totrunghoc-thanhoai@thanhoai.example\r\nSubject: {subject}\r\n"
        f"Message-ID: <m-1@mail.example>\r\nDate: Thu, 07 Oct 2021 09:12:00 +0700\r\n{extra}"
        f"MIME-Version: 1.0\r\nContent-Type: {ctype}\r\n\r\nKính gửi Phòng GDĐT.\r\n"
    ).encode()


OUT_OF_OFFICE = _raw(
    "Trường THCS Kim Bài <thcs-kim-bai@thanhoai.example>",
    "Trả lời tự động: Báo cáo",
    "Auto-Submitted: auto-replied\r\nX-Auto-Response-Suppress: All\r\n",
)
GMAIL_VACATION = _raw("thcs-kim-bai@thanhoai.example", "Vắng mặt", "Precedence: bulk\r\n")
BOUNCE = _raw(
    "Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
    "Delivery Status Notification",
    "Return-Path: <>\r\nX-Failed-Recipients: x@thanhoai.example\r\n",
    'multipart/report; report-type=delivery-status; boundary="b"',
)
LIST = _raw("thcs-kim-bai@thanhoai.example", extra="List-Id: <gv.thanhoai.example>\r\n")
NORMAL = _raw(
    "Trường THCS Kim Bài <thcs-kim-bai@thanhoai.example>",
    extra="Auto-Submitted: no\r\nReturn-Path: <thcs-kim-bai@thanhoai.example>\r\n",
)


@pytest.mark.parametrize(
    ("raw", "status", "expected"),
    [
        (NORMAL, "assigned", ""),
        (NORMAL, "unassigned", "sender not identified as a unit (unassigned)"),
        (NORMAL, "ignored", "sender not identified as a unit (ignored)"),
        (OUT_OF_OFFICE, "assigned", "Auto-Submitted: auto-replied"),
        (GMAIL_VACATION, "assigned", "Precedence: bulk"),
        (BOUNCE, "assigned", "automatic sender address (mailer-daemon)"),
        (LIST, "assigned", "mailing-list message"),
    ],
)
def test_who_gets_a_receipt(raw: bytes, status: str, expected: str) -> None:
    pm = parse_message(raw)
    assert (
        receipt_block_reason(pm.from_addr, status, pm.headers, unit_addresses=KIM_BAI) == expected
    )
    assert should_receipt(pm.from_addr, status, pm.headers, unit_addresses=KIM_BAI) is (
        expected == ""
    )


def test_bounce_signals_each_block_on_their_own() -> None:
    ok = "thcs-kim-bai@thanhoai.example"
    assert not should_receipt(ok, "assigned", {"Return-Path": "<>"}, unit_addresses=KIM_BAI)
    assert not should_receipt(
        ok, "assigned", [("Content-Type", "multipart/report; x=y")], unit_addresses=KIM_BAI
    )
    assert not should_receipt(ok, "assigned", [("X-Autoreply", "yes")], unit_addresses=KIM_BAI)
    assert not should_receipt("no-reply@moet.gov.vn", "assigned", [], unit_addresses=KIM_BAI)
    assert not should_receipt("", "assigned", [], unit_addresses=KIM_BAI)
    assert should_receipt(ok, "assigned", [("Precedence", "normal")], unit_addresses=KIM_BAI)


@pytest.mark.parametrize(
    "sender",
    [
        "phisher@evil.example",  # names the unit in its subject: filed, not answered
        "thcs-thanh-mai@thanhoai.example",  # another unit's roster address
        "thcs-kim-bai@thanhoai.example.evil",  # look-alike
    ],
)
def test_no_receipt_to_an_address_the_unit_does_not_own(sender: str) -> None:
    reason = receipt_block_reason(sender, "assigned", [], unit_addresses=KIM_BAI)
    assert reason == "sender address is not on the unit's roster nor taught by the officer"
    # the unit's own addresses, in any case, pass
    assert should_receipt("THCS-Kim-Bai@thanhoai.example", "assigned", [], unit_addresses=KIM_BAI)


def _unit(state: str = "incomplete", **kw: object) -> UnitStatus:
    base: dict[str, object] = dict(
        code="thcs-kim-bai",
        name="Trường THCS Kim Bài",
        kind="thcs",
        emails=("thcs-kim-bai@thanhoai.example",),
        state=state,
        late=False,
        submitted_at=DEADLINE - timedelta(days=2),
        last_message_at=DEADLINE - timedelta(days=2),
        messages=1,
        items=Items(report=True, data_table=True, photos=1),
        total_classes=7,
        total_participants=1200,
        missing=("photos",) if state == "incomplete" else (),
        deadline=DEADLINE,
    )
    base.update(kw)
    return UnitStatus(**base)  # type: ignore[arg-type]


def _campaign(*units: UnitStatus) -> CampaignStatus:
    return CampaignStatus("tuan-le-htsd-2021", TITLE, DEADLINE, "Asia/Ho_Chi_Minh", units)


FILES = (
    ("report", "BC Tuan le HTSD 2021 - THCS Kim Bai.docx"),
    ("data_table", "Biểu tổng hợp số liệu.xlsx"),
    ("photo", "IMG_20211004_081512.jpg"),
    ("", "Thumbs.db"),
)


def test_receipt_lists_files_and_what_is_missing() -> None:
    u = _unit()
    at = DEADLINE - timedelta(days=1, hours=22)  # 08/10/2021 02:00 in Hà Nội
    mail = compose_receipt(
        u,
        _campaign(u),
        received_files=FILES,
        to="thcs-kim-bai@thanhoai.example",
        in_reply_to="<m-1@mail.example>",
        now=at,
        received_at=at,
        env=make_env(),
        original_subject="Báo cáo Tuần lễ HTSĐ",
    )
    assert mail.kind == "receipt" and mail.to == ("thcs-kim-bai@thanhoai.example",)
    assert mail.subject == f"Xác nhận đã nhận hồ sơ báo cáo {TITLE} – Trường THCS Kim Bài"
    t = mail.text
    assert t.startswith("Kính gửi: Trường THCS Kim Bài\n")
    assert "lúc 02:00 ngày 08/10/2021" in t
    assert "  - BC Tuan le HTSD 2021 - THCS Kim Bai.docx: Báo cáo kết quả tổ chức Tuần lễ" in t
    assert "  - Biểu tổng hợp số liệu.xlsx: Bảng tổng hợp số liệu\n" in t
    assert "  - Thumbs.db: chưa xác định được nội dung\n" in t
    assert "  - Hình ảnh minh chứng: 1 ảnh\n" in t
    assert "Hồ sơ của đơn vị còn thiếu:\n  - Hình ảnh minh chứng (2–3 ảnh)\n" in t
    assert "gửi bổ sung trước ngày 10/10/2021" in t
    assert "Lưu ý" not in t
    assert mail.in_reply_to == "<m-1@mail.example>"


def test_complete_and_late_receipt() -> None:
    u = _unit("complete", items=Items(True, True, 3, True))
    at = DEADLINE + timedelta(hours=9)
    mail = compose_receipt(
        u,
        _campaign(u),
        received_files=FILES[:1],
        to="a@thanhoai.example",
        in_reply_to="",
        now=at,
        env=make_env(),
    )
    assert "Hồ sơ của đơn vị đã đầy đủ theo yêu cầu. Trân trọng cảm ơn đơn vị." in mail.text
    assert "còn thiếu" not in mail.text
    assert "Lưu ý: hồ sơ được nhận sau thời hạn (trước ngày 10/10/2021)." in mail.text


def test_sender_strings_are_inert_in_html() -> None:
    u = _unit()
    mail = compose_receipt(
        u,
        _campaign(u),
        received_files=(("report", "<img src=x onerror=alert(1)>.docx"),),
        to="a@thanhoai.example",
        in_reply_to="",
        now=DEADLINE,
        env=make_env(),
        original_subject="<script>alert(1)</script>",
    )
    assert mail.html is not None
    assert "<script>" not in mail.html and "<img src=x" not in mail.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in mail.html
    assert "<script>alert(1)</script>" in mail.text  # plain text shows it as written


def test_parsed_subject_with_crlf_cannot_add_a_bcc(smtp_server: SmtpServer) -> None:
    # "=0D=0A" inside an encoded word decodes to a real CR LF in Python's parser.
    raw = _raw(
        "thcs-kim-bai@thanhoai.example", "=?utf-8?q?B=C3=A1o_c=C3=A1o=0D=0ABcc:_x@evil.example?="
    )
    parsed = email.parser.BytesParser(policy=email.policy.default).parsebytes(raw)
    subject = str(parsed["Subject"])
    assert "\r\nBcc: x@evil.example" in subject
    u = _unit()
    mail = compose_receipt(
        u,
        _campaign(u),
        received_files=(),
        to="thcs-kim-bai@thanhoai.example",
        in_reply_to=str(parsed["Message-ID"]),
        now=DEADLINE,
        env=make_env(),
        original_subject=subject,
    )
    msg = build_message(mail, sender=SENDER, now=DEADLINE, message_id="<rc-1@thanhoai.example>")
    SmtpMailer(
        SmtpConfig(
            host=smtp_server.host, port=smtp_server.port, security="none", sender=SENDER, timeout=5
        )
    ).send(msg)
    (got,) = smtp_server.received
    assert got.rcpt_tos == ["thcs-kim-bai@thanhoai.example"]
    out = email.parser.BytesParser(policy=email.policy.default).parsebytes(got.data)
    assert out["Bcc"] is None and b"\nBcc:" not in got.data
    assert out["In-Reply-To"] == "<m-1@mail.example>"
    body = out.get_body(("plain",))
    assert body is not None and 'tiêu đề "Báo cáo Bcc: x@evil.example"' in body.get_content()


def test_templates_can_be_overridden_and_misspellings_fail(tmp_path: Path) -> None:
    (tmp_path / "receipt.subject.txt").write_text(
        "[Phòng GDĐT] Đã nhận: {{ unit.name }}\n", encoding="utf-8"
    )
    u = _unit()
    mail = compose_receipt(
        u,
        _campaign(u),
        received_files=FILES,
        to="a@thanhoai.example",
        in_reply_to="",
        now=DEADLINE,
        env=make_env(tmp_path),
    )
    assert mail.subject == "[Phòng GDĐT] Đã nhận: Trường THCS Kim Bài"
    assert "Kính gửi: Trường THCS Kim Bài" in mail.text  # the rest falls back to ours
    (tmp_path / "receipt.subject.txt").write_text("{{ unit.nmae }}", encoding="utf-8")
    with pytest.raises(UndefinedError):
        compose_receipt(
            u,
            _campaign(u),
            received_files=(),
            to="a@thanhoai.example",
            in_reply_to="",
            now=DEADLINE,
            env=make_env(tmp_path),
        )
    with pytest.raises(FileNotFoundError):
        make_env(tmp_path / "nope")
