"""The digest: contents in Vietnamese, escaping, list cuts, and the real thing sent through
STARTTLS + AUTH with the workbook attached."""

from __future__ import annotations

import email.parser
import email.policy
import io
import re
from dataclasses import replace
from datetime import timedelta

import openpyxl

from core.config import Secret, SmtpConfig
from notifier.digest import compose_digest
from notifier.message import OutgoingMail, build_message
from notifier.render import make_env
from notifier.smtp import SmtpMailer
from notifier.workbook import SUMMARY_SHEET, build_workbook
from store.queries import AccountHealth, CampaignStatus, UnitData
from tests.support.smtpserver import PASSWORD, USER, SmtpServer
from tests.support.workbookdata import DEADLINE, TITLE, make_campaign, roster_units

NOW = DEADLINE + timedelta(hours=7, minutes=30)  # 10/10/2021 07:30 in Hà Nội
SINCE = DEADLINE - timedelta(days=1)
OFFICER = "totrunghoc-thanhoai@thanhoai.example"


def _digest(**kw: object) -> tuple[CampaignStatus, list[UnitData], OutgoingMail]:
    status, data = make_campaign(roster_units())
    status = replace(
        status,
        health=(
            AccountHealth(
                "totrunghoc@imap.example:993",
                DEADLINE - timedelta(hours=3),
                DEADLINE - timedelta(hours=2),
                "IMAP imap.example:993: timed out after 60 s",
            ),
        ),
    )
    blob = build_workbook(status, data, now=NOW)
    args: dict[str, object] = {
        "since": SINCE,
        "now": NOW,
        "workbook": blob,
        "env": make_env(),
        "recipients": (OFFICER,),
    }
    args.update(kw)
    return status, data, compose_digest(status, **args)  # type: ignore[arg-type]


def test_digest_counts_lists_and_health() -> None:
    status, _, mail = _digest()
    units = status.units
    complete = sum(u.state == "complete" for u in units)
    assert mail.subject == (
        f"Tổng hợp tiến độ nhận báo cáo {TITLE}: {complete}/{len(units)} "
        "đơn vị đã đủ hồ sơ (10/10/2021)"
    )
    t = mail.text
    assert "Số liệu đến 07:30 ngày 10/10/2021. Hạn nộp: trước ngày 10/10/2021." in t
    assert (
        f"Tổng số đơn vị: {len(units)}; đã đủ hồ sơ: {complete}; "
        f"chưa đủ: {sum(u.state == 'incomplete' for u in units)}; "
        f"chưa gửi: {sum(u.state == 'missing' for u in units)}"
    ) in t
    mn = [u for u in units if u.kind == "mn"]
    assert re.search(rf"  - Mầm non: {len(mn)} \| {sum(u.state == 'complete' for u in mn)} \|", t)
    for label in ("UBND xã/thị trấn", "TT HTCĐ", "Tiểu học", "THCS", "THPT", "GDNN-GDTX"):
        assert f"  - {label}: " in t
    people = sum(u.total_participants or 0 for u in units)
    assert f"cộng số người tham gia: {people:,}".replace(",", ".") in t
    missing = [u for u in units if u.state == "missing"]
    assert f"3. ĐƠN VỊ CHƯA GỬI HỒ SƠ ({len(missing)})" in t
    assert f"  - {missing[0].name} (" in t and missing[0].emails[0] in t
    incomplete = [u for u in units if u.state == "incomplete"]
    assert f"  - {incomplete[0].name}: còn thiếu " in t
    arrived = [u for u in units if u.last_message_at and u.last_message_at > SINCE]
    assert f"TỪ 00:00 ngày 09/10/2021 ({len(arrived)})" in t
    assert (
        "Thư số 11 | 00:00 ngày 10/10/2021 | hieupho.thcs@gmail.com | "
        '"<script>alert(1)</script> Báo cáo tuần lễ" | lý do: địa chỉ gửi không có trong danh '
        "sách đơn vị | có thể là: Trường THCS Kim Bài (thcs-kim-bai)"
    ) in t
    assert '"BC HTSD.rar" | lý do: loại tệp nén không hỗ trợ (hãy gửi .zip hoặc gửi trực tiếp)' in t
    assert (
        "CẢNH BÁO: hộp thư totrunghoc@imap.example:993 không đọc được từ "
        "22:00 ngày 09/10/2021 (IMAP imap.example:993: timed out after 60 s)."
    ) in t
    h = mail.html or ""
    assert "<script>" not in h and "&lt;script&gt;alert(1)&lt;/script&gt;" in h
    for bar in re.findall(r"<tr>\s*((?:<td width=\"\d+%\" bgcolor[^>]*>[^<]*</td>\s*)+)</tr>", h):
        assert sum(int(w) for w in re.findall(r'width="(\d+)%"', bar)) == 100
    (att,) = mail.attachments
    assert att[0] == "tong-hop-tuan-le-htsd-2021-20211010-0730.xlsx"


def test_long_lists_are_cut_and_first_digest_shows_everything() -> None:
    status, _, mail = _digest(since=None, list_limit=3)
    n_missing = sum(u.state == "missing" for u in status.units)
    assert f"  ... và {n_missing - 3} mục khác (xem tệp Excel đính kèm)" in mail.text
    assert "HỒ SƠ NHẬN ĐƯỢC ĐẾN NAY" in mail.text
    assert f"… và {n_missing - 3} mục khác" in (mail.html or "")


def test_digest_sent_over_starttls_with_the_workbook(smtp_tls_server: SmtpServer) -> None:
    status, data, mail = _digest()
    msg = build_message(
        mail,
        sender="Hệ thống tiếp nhận báo cáo <intake@thanhoai.example>",
        now=NOW,
        message_id="<digest-20211010@thanhoai.example>",
    )
    SmtpMailer(
        SmtpConfig(
            host=smtp_tls_server.host,
            port=smtp_tls_server.port,
            security="starttls",
            username=USER,
            sender="intake@thanhoai.example",
            timeout=5,
        ),
        Secret(PASSWORD),
        cafile=smtp_tls_server.cafile,
    ).send(msg)
    (got,) = smtp_tls_server.received
    assert got.rcpt_tos == [OFFICER]
    out = email.parser.BytesParser(policy=email.policy.default).parsebytes(got.data)
    assert out["Subject"] == mail.subject
    assert out["Auto-Submitted"] == "auto-generated"
    html = out.get_body(("html",))
    assert html is not None and "Tổng hợp tiến độ nhận báo cáo" in html.get_content()
    (att,) = list(out.iter_attachments())
    assert att.get_content_type() == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    wb = openpyxl.load_workbook(io.BytesIO(att.get_content()))
    (grand,) = [r for r in wb[SUMMARY_SHEET].iter_rows(values_only=True) if r[1] == "TỔNG CỘNG"]
    assert grand[3] == sum(r.classes_or_contests or 0 for d in data for r in d.rows)
    assert grand[4] == sum(r.participants or 0 for d in data for r in d.rows)
