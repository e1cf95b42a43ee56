"""What a receipt tells a unit about the files it sent (issue 16 item 7), end to end: real mail
imported through the parse stage and the filer into a real store (SQLite, or PostgreSQL with
INTAKE_TEST_STORE=postgres), the notifier's tick, and the letter read back from a real SMTP
server (aiosmtpd). A zip or a forwarded message is shown with what it held, a refused file with
the stored reason in Vietnamese, a .docx that is report + table + photos once with its roles,
photos sent as a Drive link are asked for as attachments, and a receipt for a forward the
officer assigned says it goes to the address that relayed it."""

from __future__ import annotations

import email
import email.policy
import io
import re
import zipfile
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formataddr
from pathlib import Path

import openpyxl

from core.clock import FixedClock
from intake.app import App
from intake.officer import assign
from store.models import Message
from tests.support.config import ROSTER
from tests.support.docgen_media import docx_report_with_photos, phone_jpeg
from tests.support.docgen_reports import make_docx_report
from tests.support.docgen_scans import photographed_report_pages
from tests.support.docgen_tables import make_encrypted_xlsx, make_xlsx_workbook
from tests.support.mailgen import forward_as_attachment
from tests.support.noticemail import import_mails, notify_config
from tests.support.smtpserver import SmtpServer
from tests.support.unitmail import Part, unit_mail

BICH_HOA = (
    "thcs-bich-hoa@thanhoai.example",
    "Trường THCS Bích Hòa",
)  # whose documents docgen makes
CLOCK = datetime(2021, 10, 5, 3, 0, tzinfo=UTC)
QUIET = {"reminder_days": [], "overdue": False}


def _mail(n: int, attachments: list[Part], *, body: str = "", subject: str = "") -> bytes:
    """Bích Hòa's mail `n` (whose documents docgen makes) carrying `attachments`."""
    address, name = BICH_HOA
    return unit_mail(
        n,
        address,
        name,
        subject=subject or f"Báo cáo Tuần lễ HTSĐ 2021 - {name}",
        body=body or f"Kính gửi Phòng GD&ĐT huyện Thanh Oai,\n{name} gửi hồ sơ báo cáo.\n",
        attachments=attachments,
        tag="rc",
    )


def _receipt(tmp_path: Path, smtp: SmtpServer, *mails: bytes) -> tuple[str, list[str]]:
    """Import `mails`, run one notices tick; the one receipt's text and its recipients."""
    with App(
        notify_config(tmp_path, smtp.port, notify=QUIET, digest={"recipients": []}),
        FixedClock(CLOCK),
    ) as app:
        app.import_roster(ROSTER)
        import_mails(app, tmp_path, *mails)
        result = app.notifier().tick()
    assert result.receipts == 1 and result.delivery.sent == 1, result
    (got,) = smtp.received
    return _text(got.data), list(got.rcpt_tos)


def _text(data: bytes) -> str:
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    body = msg.get_body(("plain",))
    assert body is not None
    return str(body.get_content()).replace("\r\n", "\n")


def _file_lines(text: str) -> list[str]:
    block = text.split("Các tệp đã nhận trong thư này:\n", 1)[1].split("\n\n", 1)[0]
    return block.splitlines()


XLSX = "openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "openxmlformats-officedocument.wordprocessingml.document"


def test_a_docx_that_is_report_table_and_photos_is_listed_once_with_its_roles(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    data, expected, _ = docx_report_with_photos()
    text, _ = _receipt(
        tmp_path, smtp_server, _mail(1, [(expected.filename, data, "application/vnd." + DOCX)])
    )
    assert _file_lines(text) == [
        f"  - {expected.filename}: Báo cáo kết quả tổ chức Tuần lễ (theo Phụ lục); "
        "Bảng tổng hợp số liệu; Hình ảnh minh chứng (2 ảnh)",
    ]


def test_a_zip_read_fine_is_shown_with_what_it_held(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    report, _ = make_docx_report()
    table, _ = make_xlsx_workbook()
    photo, _ = phone_jpeg(5, size=(800, 600))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("Báo cáo Tuần lễ.docx", report)
        zf.writestr("Tổng hợp số liệu.xlsx", table)
        zf.writestr("Ảnh khai mạc.jpg", photo)
    text, _ = _receipt(
        tmp_path,
        smtp_server,
        _mail(2, [("Hồ sơ Bích Hòa.zip", buf.getvalue(), "application/zip")]),
    )
    assert _file_lines(text) == [
        "  - Hồ sơ Bích Hòa.zip: tệp nén, gồm 3 tệp:",
        "      + Báo cáo Tuần lễ.docx: Báo cáo kết quả tổ chức Tuần lễ (theo Phụ lục); "
        "Bảng tổng hợp số liệu",
        "      + Tổng hợp số liệu.xlsx: Bảng tổng hợp số liệu; Danh sách đề nghị khen thưởng",
        "      + Ảnh khai mạc.jpg: Hình ảnh minh chứng",
    ]
    assert "chưa xác định được nội dung" not in text


def test_a_refused_file_is_shown_with_the_stored_reason_in_vietnamese(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    locked, _ = make_encrypted_xlsx()
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["Ghi chú", "Đơn vị gửi kèm danh sách giáo viên tham gia"])
    plain = io.BytesIO()
    wb.save(plain)
    text, _ = _receipt(
        tmp_path,
        smtp_server,
        _mail(
            3,
            [
                ("Số liệu (mật khẩu).xlsx", locked, "application/vnd." + XLSX),
                ("Ghi chú.xlsx", plain.getvalue(), "application/vnd." + XLSX),
            ],
        ),
    )
    assert _file_lines(text) == [
        "  - Số liệu (mật khẩu).xlsx: tệp có đặt mật khẩu nên không mở được; đề nghị gửi lại "
        "tệp không đặt mật khẩu",
        "  - Ghi chú.xlsx: không tìm thấy bảng số liệu hay danh sách đề nghị khen thưởng trong tệp",
    ]


def test_photos_sent_as_a_drive_link_are_asked_for_as_attachments(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    report, _ = make_docx_report()
    body = (
        "Kính gửi Phòng GD&ĐT huyện Thanh Oai,\nTrường gửi báo cáo; ảnh hoạt động đơn vị để "
        "tại https://drive.google.com/drive/folders/1AbCdEfGh?usp=sharing, bài đăng tại "
        "https://www.facebook.com/thcsbichhoa/posts/123.\n"
    )
    text, _ = _receipt(
        tmp_path,
        smtp_server,
        _mail(4, [("Báo cáo.docx", report, "application/vnd." + DOCX)], body=body),
    )
    assert "Thư có đường dẫn tới ảnh trên Google Drive:\n" in text
    assert "  - https://drive.google.com/drive/folders/1AbCdEfGh?usp=sharing\n" in text
    assert "Hệ thống không đếm được ảnh qua đường dẫn" in text
    assert "gửi kèm trực tiếp trong thư trả lời" in text
    assert "facebook.com" not in text  # a post is evidence of an event, not a photo folder
    assert "  - Hình ảnh minh chứng: 0 ảnh\n" in text


def test_a_drive_link_says_nothing_once_the_photos_are_attached(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    photos = [(f"Ảnh {i}.jpg", phone_jpeg(i, size=(800, 600))[0], "image/jpeg") for i in (1, 2)]
    body = "Ảnh gốc độ phân giải cao: https://photos.app.goo.gl/AbCdEf123\n"
    text, _ = _receipt(tmp_path, smtp_server, _mail(5, photos, body=body))
    assert "đường dẫn" not in text and "photos.app.goo.gl" not in text


def test_a_receipt_for_an_assigned_relayed_forward_says_it_went_to_the_relay(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    relay = "vanthu.tamhung@gmail.com"  # the commune office's own mailbox, on no roster
    raw = forward_as_attachment(ROSTER, "xa-tam-hung", "th-tam-hung", seed=3)
    raw = re.sub(
        rb"^From: .*$",
        f"From: {formataddr(('Văn thư UBND xã Tam Hưng', relay))}".encode(),
        raw,
        count=1,
        flags=re.M,
    )
    with App(
        notify_config(tmp_path, smtp_server.port, notify=QUIET, digest={"recipients": []}),
        FixedClock(CLOCK),
    ) as app:
        app.import_roster(ROSTER)
        import_mails(app, tmp_path, raw)
        with app.sessions.begin() as s:
            (msg,) = s.query(Message).all()
            assign(s, app.cfg.campaign, str(msg.id), "th-tam-hung", by="co.hoa", now=CLOCK)
        result = app.notifier().tick()
    assert result.receipts == 1 and result.delivery.sent == 1
    (got,) = smtp_server.received
    assert got.rcpt_tos == [relay]
    text = _text(got.data)
    assert text.startswith("Kính gửi: Trường Tiểu học Tam Hưng\n")
    assert (
        f"Lưu ý: thư xác nhận này gửi tới địa chỉ {relay} (Văn thư UBND xã Tam Hưng), là địa "
        "chỉ đã chuyển tiếp hồ sơ của Trường Tiểu học Tam Hưng tới Phòng Giáo dục và Đào tạo "
        "huyện Thanh Oai, không phải địa chỉ của Trường Tiểu học Tam Hưng. Đề nghị chuyển "
        "tiếp thư này tới Trường Tiểu học Tam Hưng;"
    ) in " ".join(text.split())
    lines = _file_lines(text)
    assert re.fullmatch(r"  - .*\.eml: thư chuyển tiếp, gồm \d+ tệp:", lines[0]), lines
    assert all(line.startswith("      + ") for line in lines[1:]) and len(lines) > 1
    assert "chưa xác định được nội dung" not in text


def test_a_units_own_forward_gets_no_relay_note(tmp_path: Path, smtp_server: SmtpServer) -> None:
    """A unit forwarding its own earlier mail from its roster address is not a relay."""
    report, _ = make_docx_report()
    text, rcpt = _receipt(
        tmp_path,
        smtp_server,
        _mail(
            7,
            [("Báo cáo.docx", report, "application/vnd." + DOCX)],
            subject="Fwd: Báo cáo Tuần lễ HTSĐ 2021 - Trường THCS Bích Hòa",
        ),
    )
    assert rcpt == [BICH_HOA[0]]
    assert "chuyển tiếp hồ sơ" not in text


def test_a_photographed_page_is_listed_as_a_photo_of_a_document(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    """Two phone photos of the printed report (issue 20): each is "ảnh chụp văn bản", read as
    the report, and never counted as an evidence photo."""
    first, second = photographed_report_pages()
    text, _ = _receipt(
        tmp_path,
        smtp_server,
        _mail(
            9,
            [
                ("IMG_20211008_162011.jpg", first, "image/jpeg"),
                ("IMG_20211008_162034.jpg", second, "image/jpeg"),
            ],
        ),
    )
    lines = _file_lines(text)
    assert lines[0].startswith("  - IMG_20211008_162011.jpg: ảnh chụp văn bản; Báo cáo"), lines
    assert lines[1].startswith("  - IMG_20211008_162034.jpg: ảnh chụp văn bản"), lines
    assert "Hình ảnh minh chứng" not in "\n".join(lines)
