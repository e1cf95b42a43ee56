"""Mail of two campaigns in one mailbox, as units send it: the week of lifelong learning's
report with its table and photos (`week_mail`), the start-of-year statistics (`stats_mail`), an
email carrying both (`both_mail`), and the mail that is neither (a COVID report, a contest's
list, Mid-Autumn photos, plain letters); `write_mails` puts them in a folder for `intake
import`, and `campaigns_app` is the application with both campaigns configured
(`CAMPAIGNS_TOML`, as the demo runs them) and the district's roster imported."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from pathlib import Path

from docx import Document
from openpyxl import Workbook

from core.clock import FixedClock
from intake import demo_mixed
from intake.app import App
from intake.demo_mail import (
    DOCX,
    XLSX,
    as_sent,
    attach,
    make_report,
    make_table,
    phone_photo,
    read_units,
)
from tests.support.config import ROSTER, make_config

ICT = timezone(timedelta(hours=7))
WHEN = datetime(2021, 10, 6, 9, 0, tzinfo=ICT)  # mail n is dated 37·n minutes after it

UNITS = {u.code: u for u in read_units(ROSTER)}


def base_mail(code: str | None, subject: str, body: str, n: int, sender: str = "") -> EmailMessage:
    m = EmailMessage()
    unit = UNITS[code] if code else None
    m["From"] = formataddr((unit.name if unit else "", sender or (unit.email if unit else "")))
    m["To"] = "totrunghoc-thanhoai@thanhoai.example"
    m["Subject"] = subject
    when = WHEN + timedelta(minutes=37 * n)
    m["Date"] = format_datetime(when)
    m["Message-ID"] = f"<mix.{n}.{code or 'x'}@thanhoai.example>"
    m.set_content(body)
    return m


def stats_xlsx(unit_name: str, grades: list[tuple[str, int, int, int]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "Thống kê"
    ws.append([unit_name.upper()])
    ws.append(["THỐNG KÊ SỐ LIỆU ĐẦU NĂM HỌC 2021-2022"])
    ws.append([])
    ws.append(["Khối lớp", "Số lớp", "Số học sinh", "Số giáo viên"])
    for row in grades:
        ws.append(list(row))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def letter_docx(title: str, lines: list[str]) -> bytes:
    doc = Document()
    doc.add_paragraph("UBND HUYỆN THANH OAI")
    doc.add_paragraph(title)
    for line in lines:
        doc.add_paragraph(line)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def week_mail(code: str, n: int, *, photos: int = 2, table: bool = True) -> bytes:
    import random

    unit, rng = UNITS[code], random.Random(n)
    rows = [
        ("Tuyên truyền về Tuần lễ", unit.name, 2, 150),
        ("Hội thi tìm hiểu chuyển đổi số", unit.name, 1, 80),
    ]
    m = base_mail(
        code,
        f"Báo cáo Tuần lễ HTSĐ 2021 - {unit.name}",
        f"Kính gửi Phòng GD&ĐT huyện Thanh Oai,\n\n{unit.name} gửi báo cáo kết quả tổ chức "
        "Tuần lễ hưởng ứng học tập suốt đời năm 2021 kèm số liệu và hình ảnh.\n\nTrân trọng!",
        n,
    )
    names: dict[bytes, bytes] = {}
    attach(
        m,
        make_report(unit, rows, rng),
        f"Báo cáo Tuần lễ HTSĐ - {unit.name}.docx",
        DOCX,
        "rfc2231",
        names,
    )
    if table:
        attach(
            m,
            make_table(unit, rows, rng),
            f"Tổng hợp số liệu {unit.name}.xlsx",
            XLSX,
            "rfc2231",
            names,
        )
    for k in range(photos):
        attach(
            m,
            phone_photo(k + n)[:-2] + f"{n:04d}{k}".encode() + b"\xff\xd9",
            f"IMG_2021100{k + 1}_08{n:02d}12.jpg",
            "image/jpeg",
            "rfc2231",
            names,
        )
    return as_sent(m, names)


def stats_mail(code: str, n: int) -> bytes:
    unit = UNITS[code]
    m = base_mail(
        code,
        f"{unit.name} gửi thống kê số liệu đầu năm học 2021-2022",
        "Kính gửi Phòng GD&ĐT,\n\nNhà trường gửi biểu thống kê đầu năm học.\n\nTrân trọng.",
        n,
    )
    names: dict[bytes, bytes] = {}
    attach(
        m,
        stats_xlsx(unit.name, [("Khối 6", 5, 198, 11), ("Khối 7", 4, 171, 10)]),
        "Thong ke dau nam 2021-2022.xlsx",
        XLSX,
        "rfc2231",
        names,
    )
    return as_sent(m, names)


def covid_mail(code: str, n: int) -> bytes:
    m = base_mail(
        code, "Báo cáo tháng 9", "Kính gửi Phòng GD&ĐT,\n\nNhà trường gửi báo cáo tháng 9.", n
    )
    names: dict[bytes, bytes] = {}
    attach(
        m,
        letter_docx(
            "BÁO CÁO\nCông tác phòng, chống dịch COVID-19 tháng 9 năm 2021",
            ["I. Tình hình dịch bệnh trên địa bàn", "Nhà trường không có ca mắc mới. " * 30],
        ),
        "BC phong chong dich T9.docx",
        DOCX,
        "rfc2231",
        names,
    )
    return as_sent(m, names)


def contest_mail(code: str, n: int) -> bytes:
    unit = UNITS[code]
    m = base_mail(
        code,
        "Danh sách giáo viên đăng ký dự thi giáo viên dạy giỏi cấp huyện",
        "Kính gửi Phòng GD&ĐT,\n\nNhà trường gửi danh sách đăng ký dự thi.",
        n,
    )
    wb = Workbook()
    ws = wb.active
    ws.append(["DANH SÁCH GIÁO VIÊN ĐĂNG KÝ DỰ THI GIÁO VIÊN DẠY GIỎI CẤP HUYỆN"])
    ws.append(["STT", "Họ và tên", "Chức vụ", "Đơn vị", "Thành tích"])
    ws.append([1, "Nguyễn Thị Hoa", "Giáo viên", unit.name, "Giáo viên dạy giỏi cấp trường"])
    out = io.BytesIO()
    wb.save(out)
    names: dict[bytes, bytes] = {}
    attach(m, out.getvalue(), "DS du thi GVDG.xlsx", XLSX, "rfc2231", names)
    return as_sent(m, names)


def plain_mail(code: str | None, subject: str, body: str, n: int, sender: str = "") -> bytes:
    return as_sent(base_mail(code, subject, body, n, sender), {})


def trung_thu_mail(code: str, n: int) -> bytes:
    m = base_mail(
        code,
        f"Hình ảnh Vui Tết Trung thu 2021 - {UNITS[code].name}",
        "Nhà trường gửi một số hình ảnh Vui Tết Trung thu cho các con.",
        n,
    )
    names: dict[bytes, bytes] = {}
    for k in range(2):
        attach(
            m,
            phone_photo(k)[:-2] + f"tt{n}{k}".encode() + b"\xff\xd9",
            f"IMG_20210921_19{k}512.jpg",
            "image/jpeg",
            "rfc2231",
            names,
        )
    return as_sent(m, names)


def both_mail(code: str, n: int) -> bytes:
    """One email carrying the week's report and table and the statistics table."""
    import email

    week = email.message_from_bytes(week_mail(code, n, photos=2))
    stats = email.message_from_bytes(stats_mail(code, n + 1))
    m = base_mail(
        code,
        f"Báo cáo Tuần lễ HTSĐ và thống kê đầu năm học - {UNITS[code].name}",
        "Kính gửi Phòng GD&ĐT,\n\nNhà trường gửi báo cáo Tuần lễ HTSĐ và biểu thống kê đầu năm.",
        n,
    )
    names: dict[bytes, bytes] = {}
    for part in [*week.walk(), *stats.walk()]:
        fn = part.get_filename()
        if fn:
            maintype, subtype = part.get_content_type().split("/")
            m.add_attachment(
                part.get_payload(decode=True), maintype=maintype, subtype=subtype, filename=fn
            )
    return as_sent(m, names)


def write_mails(tmp_path: Path, name: str, raws: list[bytes]) -> Path:
    d = tmp_path / name
    d.mkdir()
    for i, raw in enumerate(raws):
        (d / f"{i:03d}.eml").write_bytes(raw)
    return d


CAMPAIGNS_TOML = (
    demo_mixed.CAMPAIGNS_TOML
)  # the week and the start-of-year statistics, as the demo runs them


def campaigns_app(
    tmp_path: Path,
    db_url: str,
    campaigns: str = CAMPAIGNS_TOML,
    *,
    at: datetime = datetime(2021, 10, 8, 2, 0, tzinfo=UTC),
    **sections: dict[str, object],
) -> App:
    """The app with `campaigns` configured and the roster imported, its clock fixed at `at`;
    `sections` add to its config (parsing in-process unless `limits` says otherwise)."""
    sections["limits"] = {"parse_workers": 0, **sections.get("limits", {})}
    cfg = make_config(tmp_path, db_url, **sections)
    path = Path(cfg.source)
    path.write_text(path.read_text(encoding="utf-8") + campaigns, encoding="utf-8")
    from core import config as config_mod

    app = App(config_mod.load(path), FixedClock(at))
    app.import_roster(ROSTER)
    return app
