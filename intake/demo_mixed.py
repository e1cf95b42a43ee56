"""The rest of the office's mailbox, for `intake demo`, the tests and the benchmark: beside the
week of lifelong learning (`intake.demo_mail`), the start-of-year statistics ("Thống kê số liệu
đầu năm học 2021-2022", a table of its own: khối lớp, số lớp, số học sinh, số giáo viên; a later
deadline; schools only), and the mail that is neither campaign's: a COVID-19 monthly report
formatted like a report with a figures table, a teachers' contest entry list (a name list that is
not a nomination list), training-course replies, photos of other events, school plans, a
publisher's newsletter and a parent's question from strangers. One email carries both
campaigns' files; two carry a document whose subject contradicts the email's.

Each message is a `MixedMail` that says what it must become (`expect`): a campaign id, "other",
"split" (the email's files go to both campaigns, `apart` says which file goes where) or
"unclear" (it waits for the officer; `candidates` are the campaigns it must name). Subjects are
written as Gmail and Outlook encode them (RFC 2047 base64 or quoted-printable words, folded);
file names the RFC 2231 way (Thunderbird, Gmail), the RFC 2047-in-quotes way (Outlook, Gmail
web) or NFD (Apple Mail). Deterministic: the same roster gives the same bytes.
"""

from __future__ import annotations

import io
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.header import Header
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from pathlib import Path

from intake.demo_mail import (
    DOCX,
    ICT,
    OFFICE,
    TITLE,
    WRITTEN,
    XLSX,
    RosterUnit,
    _pin_zip_dates,
    _save_workbook,
    as_sent,
    attach,
    make_report,
    make_table,
    phone_photo,
    read_units,
)

WEEK_ID = "tuan-le-htsd-2021"
STATS_ID = "thong-ke-dau-nam-2021"
OTHER = "other"
STATS_TITLE = "Thống kê số liệu đầu năm học 2021-2022"

# Both campaigns as `[[campaigns]]` (appended to a config that has no [campaign] table).
CAMPAIGNS_TOML = f'''
[[campaigns]]
id = "{WEEK_ID}"
title = "{TITLE}"
deadline = "2021-10-10T00:00:00+07:00"
opens = "2021-09-15T00:00:00+07:00"

[[campaigns]]
id = "{STATS_ID}"
title = "{STATS_TITLE}"
deadline = "2021-10-15T17:00:00+07:00"
opens = "2021-09-20T00:00:00+07:00"
keywords = ["thống kê đầu năm", "số liệu đầu năm", "đầu năm học 2021-2022"]
units = ["mn", "th", "thcs", "thpt"]
required = ["data_table"]
min_photos = 0

[campaigns.table]
title = "Thống kê số liệu đầu năm học"

[[campaigns.table.columns]]
key = "grade"
headers = ["Khối lớp", "Khối", "Nhóm, lớp"]
type = "text"

[[campaigns.table.columns]]
key = "classes"
headers = ["Số lớp", "Số nhóm, lớp"]
total = true

[[campaigns.table.columns]]
key = "pupils"
headers = ["Số học sinh", "Tổng số học sinh", "Số trẻ"]
total = true

[[campaigns.table.columns]]
key = "teachers"
headers = ["Số giáo viên", "Giáo viên"]
total = true
'''


@dataclass(frozen=True)
class MixedMail:
    raw: bytes
    message_id: str
    unit: str  # roster code of the sender, "" for a stranger
    expect: str  # WEEK_ID, STATS_ID, "other", "split" or "unclear"
    what: str  # what kind of mail it is (English, for test ids and logs)
    apart: tuple[tuple[str, str], ...] = ()  # "split": (file name, campaign) of each file
    candidates: tuple[str, ...] = ()  # "unclear": the campaigns it must name


# -- headers as mail clients write them ---------------------------------------------------------
def encoded_subject(raw: bytes, subject: str, style: str) -> bytes:
    """`raw` with its Subject written as `style` ("gmail": `=?UTF-8?B?…?=`; "outlook":
    `=?utf-8?B?…?=`; "thunderbird": `=?UTF-8?Q?…?=`), folded at 76 columns."""
    charset = "utf-8"
    words = Header(subject, charset, maxlinelen=76, header_name="Subject").encode(linesep="\n")
    if style == "thunderbird":
        from email.charset import QP, Charset

        cs = Charset("utf-8")
        cs.header_encoding = QP
        words = Header(subject, cs, maxlinelen=76, header_name="Subject").encode(linesep="\n")
        words = words.replace("=?utf-8?q?", "=?UTF-8?Q?")
    elif style == "gmail":
        words = words.replace("=?utf-8?b?", "=?UTF-8?B?")
    else:
        words = words.replace("=?utf-8?b?", "=?utf-8?B?")
    head, sep, body = raw.partition(b"\n\n")
    new, n = re.subn(
        rb"(?m)^Subject:.*(?:\n[ \t].*)*$", b"Subject: " + words.encode("ascii"), head, count=1
    )
    assert n == 1
    return new + sep + body


def _mail(
    unit: RosterUnit | None,
    subject: str,
    body: str,
    when: datetime,
    mid: str,
    sender: tuple[str, str] = ("", ""),
) -> EmailMessage:
    m = EmailMessage()
    m["From"] = formataddr(sender if unit is None else (unit.name, unit.email))
    m["To"] = OFFICE
    m["Subject"] = subject
    m["Date"] = format_datetime(when)
    m["Message-ID"] = mid
    m.set_content(body)
    return m


def _sent(m: EmailMessage, names: dict[bytes, bytes], style: str) -> bytes:
    return encoded_subject(as_sent(m, names), str(m["Subject"]), style)


# -- documents ----------------------------------------------------------------------------------
def stats_table(unit: RosterUnit, *, titled: bool = True) -> bytes:
    """A school's start-of-year statistics: title rows, then one row per grade."""
    from openpyxl import Workbook

    rng = random.Random(unit.code)
    grades = {
        "mn": ["Nhà trẻ", "Mẫu giáo bé", "Mẫu giáo nhỡ", "Mẫu giáo lớn"],
        "th": [f"Khối {k}" for k in range(1, 6)],
        "thcs": [f"Khối {k}" for k in range(6, 10)],
        "thpt": [f"Khối {k}" for k in range(10, 13)],
    }.get(unit.kind, ["Khối 1"])
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "TK đầu năm"
    if titled:
        ws.append(["PHÒNG GD&ĐT HUYỆN THANH OAI", None, None, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"])
        ws.append([unit.name.upper(), None, None, "Độc lập - Tự do - Hạnh phúc"])
        ws.append([])
        ws.append(["THỐNG KÊ SỐ LIỆU ĐẦU NĂM HỌC 2021-2022"])
        ws.append([])
    ws.append(
        ["STT", "Khối lớp", "Số lớp", "Số học sinh", "Trong đó: Nữ", "Số giáo viên", "Ghi chú"]
    )
    for i, g in enumerate(grades, 1):
        classes = rng.randint(3, 6)
        pupils = classes * rng.randint(30, 42)
        ws.append([i, g, classes, pupils, pupils // 2 - rng.randint(0, 9), classes * 2 - 1, None])
    return _save_workbook(wb, unit, WRITTEN)


def _docx(
    unit: RosterUnit, title: str, lines: list[str], table: list[tuple[str, ...]] | None = None
) -> bytes:
    from docx import Document

    doc = Document()
    core = doc.core_properties
    core.author = core.last_modified_by = "vanthu"
    core.created = core.modified = core.last_printed = WRITTEN  # the same bytes on every run
    head = doc.add_table(rows=2, cols=2)
    head.cell(0, 0).text = "PHÒNG GD&ĐT HUYỆN THANH OAI"
    head.cell(1, 0).text = unit.name.upper()
    head.cell(0, 1).text = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    head.cell(1, 1).text = "Độc lập - Tự do - Hạnh phúc"
    doc.add_paragraph(f"Số: {len(unit.code) * 3}/BC-{unit.code.split('-')[0].upper()}")
    doc.add_paragraph(title)
    for line in lines:
        doc.add_paragraph(line)
    if table:
        t = doc.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                t.cell(r, c).text = value
    doc.add_paragraph("Nơi nhận:\n- Phòng GDĐT (để b/c);\n- Lưu VT.")
    doc.add_paragraph("HIỆU TRƯỞNG")
    out = io.BytesIO()
    doc.save(out)
    return _pin_zip_dates(out.getvalue(), WRITTEN)


def covid_report(unit: RosterUnit) -> bytes:
    """The monthly COVID-19 report: a BÁO CÁO with a figures table headed like the week's
    ("Số lớp", "Số người"): formatted like the week's report, and not it."""
    return _docx(
        unit,
        "BÁO CÁO\nCông tác phòng, chống dịch COVID-19 tháng 9 năm 2021",
        [
            "I. TÌNH HÌNH DỊCH BỆNH",
            f"Trong tháng 9/2021, {unit.name} không có cán bộ, giáo viên, học sinh là F0; "
            f"3 học sinh là F1 "
            "đã hoàn thành cách ly tại nhà theo quy định.",
            "II. CÔNG TÁC TRIỂN KHAI",
            "1. Tổ chức dạy học trực tuyến qua K12Online, Zoom; "
            "2. Tiêm vắc xin cho cán bộ, giáo viên, "
            "nhân viên: 100% đã tiêm mũi 1, 86% đã tiêm mũi 2.",
        ],
        [
            ("STT", "Nội dung", "Số lớp", "Số người", "Ghi chú"),
            ("1", "Lớp học trực tuyến", "18", "642", ""),
            ("2", "Cán bộ, giáo viên đã tiêm vắc xin mũi 2", "", "37", ""),
        ],
    )


def monthly_report(unit: RosterUnit) -> bytes:
    """The month's work report: among the month's activities, the week of lifelong learning —
    a report that speaks of the campaign and is not its report."""
    return _docx(
        unit,
        "BÁO CÁO\nKết quả công tác tháng 9 năm 2021",
        [
            "I. KẾT QUẢ THỰC HIỆN NHIỆM VỤ THÁNG 9",
            "1. Tổ chức Lễ khai giảng năm học 2021-2022 theo hình thức trực tuyến.",
            "2. Xây dựng kế hoạch tổ chức Tuần lễ hưởng ứng học tập suốt đời năm 2021.",
            "3. Hoàn thành thống kê số liệu đầu năm học.",
            "II. PHƯƠNG HƯỚNG NHIỆM VỤ THÁNG 10",
            "Tổ chức các hoạt động hưởng ứng Tuần lễ; kiểm tra nội bộ; bồi dưỡng giáo viên.",
        ],
    )


def contest_list(unit: RosterUnit) -> bytes:
    """Teachers entered for the district's good-teacher contest: a list of names, not a
    nomination list."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "DS dự thi"
    ws.append([unit.name.upper()])
    ws.append(["DANH SÁCH GIÁO VIÊN ĐĂNG KÝ DỰ THI GIÁO VIÊN DẠY GIỎI CẤP HUYỆN"])
    ws.append(["NĂM HỌC 2021-2022"])
    ws.append(["STT", "Họ và tên", "Năm sinh", "Môn dạy", "Trình độ chuyên môn", "Ghi chú"])
    for i, (name, year, subject) in enumerate(
        (
            ("Nguyễn Thị Thu Hằng", 1988, "Toán"),
            ("Đỗ Văn Quý", 1990, "Ngữ văn"),
            ("Lê Thị Ngọc Ánh", 1993, "Tiếng Anh"),
        ),
        1,
    ):
        ws.append([i, name, year, subject, "Đại học sư phạm", None])
    return _save_workbook(wb, unit, WRITTEN)


def training_list(unit: RosterUnit) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["DANH SÁCH CÁN BỘ, GIÁO VIÊN THAM GIA LỚP BỒI DƯỠNG ỨNG DỤNG CÔNG NGHỆ THÔNG TIN"])
    ws.append(["STT", "Họ và tên", "Chức vụ", "Số điện thoại", "Email"])
    ws.append([1, "Phạm Thị Lan", "Giáo viên", "0912345678", "lanpt@gmail.com"])
    ws.append([2, "Vũ Minh Đức", "Tổng phụ trách Đội", "0987654321", "ducvm@gmail.com"])
    return _save_workbook(wb, unit, WRITTEN)


def school_plan(unit: RosterUnit) -> bytes:
    return _docx(
        unit,
        "KẾ HOẠCH\nGiáo dục nhà trường năm học 2021 - 2022",
        [
            "Căn cứ Công văn số 2345/BGDĐT-GDTH ngày 07/6/2021 "
            "của Bộ GDĐT về hướng dẫn xây dựng kế "
            "hoạch giáo dục nhà trường cấp tiểu học;",
            "I. ĐẶC ĐIỂM TÌNH HÌNH",
            "1. Đội ngũ: 42 cán bộ, giáo viên, nhân viên.",
            "II. MỤC TIÊU GIÁO DỤC NĂM HỌC",
        ],
    )


# -- messages -----------------------------------------------------------------------------------
def _photos(
    m: EmailMessage, n: int, seed: int, names: dict[bytes, bytes], style: str, day: int
) -> None:
    for k in range(n):
        photo = phone_photo((seed + k) % 16)
        photo = photo[:-2] + f"mx{seed:05d}{k}".encode() + photo[-2:]  # each message's own photos
        attach(
            m, photo, f"IMG_202110{day:02d}_{80512 + 97 * seed + k}.jpg", "image/jpeg", style, names
        )


def week_mail(
    unit: RosterUnit,
    n: int,
    when: datetime,
    *,
    table: bool = True,
    photos: int = 2,
    style: str = "rfc2231",
    subject_style: str = "gmail",
) -> MixedMail:
    rng = random.Random(n)
    rows = [
        ("Tuyên truyền về Tuần lễ trên cổng thông tin điện tử", "Nhà trường", 2, 150 + n),
        ("Cuộc thi trực tuyến “Công dân số” cho học sinh", "Liên đội", 1, 80 + n),
    ]
    mid = f"<mx.{n}.{unit.code}@thanhoai.example>"
    m = _mail(
        unit,
        f"Báo cáo Tuần lễ HTSĐ năm 2021 - {unit.name}",
        f"Kính gửi: Phòng Giáo dục và Đào tạo huyện Thanh Oai\n\n{unit.name} gửi báo cáo kết "
        f"quả tổ chức {TITLE}, bảng tổng hợp số liệu và hình ảnh hoạt động.\n\nTrân trọng!",
        when,
        mid,
    )
    names: dict[bytes, bytes] = {}
    attach(
        m,
        make_report(unit, rows, rng),
        f"Báo cáo Tuần lễ HTSĐ - {unit.name}.docx",
        DOCX,
        style,
        names,
    )
    if table:
        attach(
            m, make_table(unit, rows, rng), f"Tổng hợp số liệu {unit.name}.xlsx", XLSX, style, names
        )
    _photos(m, photos, n, names, style, when.day)
    return MixedMail(_sent(m, names, subject_style), mid, unit.code, WEEK_ID, "week report")


def stats_mail(
    unit: RosterUnit,
    n: int,
    when: datetime,
    *,
    subject: str = "",
    titled: bool = True,
    style: str = "rfc2047",
    subject_style: str = "outlook",
) -> MixedMail:
    mid = f"<mx.{n}.{unit.code}@thanhoai.example>"
    m = _mail(
        unit,
        subject or f"{unit.name} gửi thống kê số liệu đầu năm học 2021-2022",
        "Kính gửi Phòng GD&ĐT huyện Thanh Oai,\n\nNhà trường gửi biểu thống kê số liệu đầu năm "
        "học 2021-2022.\n\nTrân trọng.\nVăn thư",
        when,
        mid,
    )
    names: dict[bytes, bytes] = {}
    attach(
        m,
        stats_table(unit, titled=titled),
        "Thống kê đầu năm học 2021-2022.xlsx" if titled else "Book1.xlsx",
        XLSX,
        style,
        names,
    )
    return MixedMail(
        _sent(m, names, subject_style),
        mid,
        unit.code,
        STATS_ID,
        "start-of-year statistics" if titled else "statistics: a bare table, a vague subject",
    )


def both_mail(unit: RosterUnit, n: int, when: datetime) -> MixedMail:
    """One email carrying the week's report, table and photos and the statistics table."""
    rng = random.Random(n)
    rows = [("Ngày hội đọc sách, giới thiệu sách theo chủ đề", "Thư viện", 3, 420)]
    mid = f"<mx.{n}.{unit.code}@thanhoai.example>"
    m = _mail(
        unit,
        f"V/v gửi báo cáo Tuần lễ HTSĐ và thống kê đầu năm học - {unit.name}",
        "Kính gửi Phòng GD&ĐT,\n\nNhà trường gửi báo cáo Tuần lễ hưởng ứng học tập suốt đời "
        "năm 2021 và biểu thống kê số liệu đầu năm học 2021-2022.\n\nTrân trọng.",
        when,
        mid,
    )
    names: dict[bytes, bytes] = {}
    report, table, stats = (
        f"Báo cáo Tuần lễ - {unit.name}.docx",
        f"Tổng hợp số liệu {unit.name}.xlsx",
        "Thống kê đầu năm học 2021-2022.xlsx",
    )
    attach(m, make_report(unit, rows, rng), report, DOCX, "rfc2231", names)
    attach(m, make_table(unit, rows, rng), table, XLSX, "rfc2231", names)
    attach(m, stats_table(unit), stats, XLSX, "rfc2231", names)
    _photos(m, 2, n, names, "rfc2231", when.day)
    return MixedMail(
        _sent(m, names, "gmail"),
        mid,
        unit.code,
        "split",
        "both campaigns' files in one email",
        apart=((report, WEEK_ID), (table, WEEK_ID), (stats, STATS_ID)),
    )


def _with(
    unit: RosterUnit | None,
    n: int,
    when: datetime,
    subject: str,
    body: str,
    files: list[tuple[bytes, str, str]],
    expect: str,
    what: str,
    *,
    style: str = "rfc2231",
    subject_style: str = "gmail",
    sender: tuple[str, str] = ("", ""),
    candidates: tuple[str, ...] = (),
    photos: int = 0,
    html: str = "",
) -> MixedMail:
    domain = "thanhoai.example" if unit else sender[1].split("@")[1]
    mid = f"<mx.{n}.{unit.code if unit else 'x'}@{domain}>"
    m = _mail(unit, subject, body, when, mid, sender)
    if html:
        m.add_alternative(html, subtype="html")
    names: dict[bytes, bytes] = {}
    for data, name, mime in files:
        attach(m, data, name, mime, style, names)
    _photos(m, photos, n, names, style, when.day)
    return MixedMail(
        _sent(m, names, subject_style),
        mid,
        unit.code if unit else "",
        expect,
        what,
        candidates=candidates,
    )


def other_mail(u: dict[str, RosterUnit], start: datetime) -> list[MixedMail]:
    """Office mail of no campaign, and two emails whose document contradicts their subject."""
    at: Callable[[int], datetime] = lambda k: start + timedelta(hours=5 * k, minutes=13 * k)  # noqa: E731
    out = [
        _with(
            u["th-bich-hoa"],
            40,
            at(1),
            "Báo cáo công tác phòng, chống dịch COVID-19 tháng 9/2021",
            "Kính gửi Phòng GD&ĐT,\n\nNhà trường gửi báo cáo tháng 9/2021.\n\nTrân trọng.",
            [(covid_report(u["th-bich-hoa"]), "BC phòng chống dịch tháng 9.docx", DOCX)],
            OTHER,
            "COVID-19 monthly report",
            style="rfc2047",
            subject_style="outlook",
        ),
        # the same unit also sends the week: only the week's mail counts for it
        _with(
            u["th-kim-an"],
            41,
            at(2),
            "Báo cáo tháng 9",
            "Kính gửi Phòng GD&ĐT,\n\nTrường Tiểu học Kim An gửi báo cáo tháng 9.",
            [(covid_report(u["th-kim-an"]), "Bao cao thang 9.docx", DOCX)],
            OTHER,
            "COVID-19 report under a vague subject",
        ),
        # the month's report speaks of both campaigns among the month's work: it is neither's
        _with(
            u["thcs-do-dong"],
            52,
            at(13),
            "Báo cáo tháng 9 năm 2021 - THCS Đỗ Động",
            "Kính gửi Phòng GD&ĐT,\n\nNhà trường gửi báo cáo kết quả công tác tháng 9.",
            [(monthly_report(u["thcs-do-dong"]), "BC thang 9-2021.docx", DOCX)],
            OTHER,
            "monthly work report naming the campaigns among its tasks",
        ),
        _with(
            u["thcs-kim-an"],
            42,
            at(3),
            "V/v đăng ký dự thi Giáo viên dạy giỏi cấp huyện năm học 2021-2022",
            "Kính gửi Phòng GD&ĐT,\n\nTrường THCS Kim An gửi danh sách giáo viên đăng ký dự thi.",
            [(contest_list(u["thcs-kim-an"]), "DS đăng ký dự thi GVDG cấp huyện.xlsx", XLSX)],
            OTHER,
            "teachers' contest entry list",
            subject_style="thunderbird",
        ),
        _with(
            u["th-cu-khe"],
            43,
            at(4),
            "Re: V/v cử cán bộ, giáo viên tham gia lớp bồi dưỡng ứng dụng CNTT",
            "Kính gửi Phòng GD&ĐT,\n\nNhà trường cử 02 đồng chí tham gia lớp bồi dưỡng (danh sách "
            "kèm theo).\n\nVào 15:02 Th 2, 4 thg 10, 2021 "
            "Phòng GD&ĐT đã viết:\n> Đề nghị các đơn vị "
            "cử cán bộ, giáo viên tham gia lớp bồi dưỡng ứng dụng công nghệ thông tin.",
            [(training_list(u["th-cu-khe"]), "Danh sách tham gia bồi dưỡng CNTT.xlsx", XLSX)],
            OTHER,
            "training-course reply with its list",
            style="rfc2047",
            subject_style="outlook",
        ),
        _with(
            u["mn-cu-khe"],
            44,
            at(5),
            "Re: Đăng ký tham gia lớp tập huấn chuyển đổi số",
            "Trường Mầm non Cự Khê đăng ký 02 đồng chí: Nguyễn Thị Mai, Trần Thu Trang.",
            [],
            OTHER,
            "training-course reply, text only",
        ),
        _with(
            u["mn-thanh-mai"],
            45,
            at(6),
            "Hình ảnh Vui Tết Trung thu 2021 - Trường Mầm non Thanh Mai",
            "Nhà trường gửi một số hình ảnh Vui Tết Trung thu cho các con.",
            [],
            OTHER,
            "photos of another event",
            photos=3,
            style="apple",
        ),
        _with(
            u["th-thanh-mai"],
            46,
            at(7),
            "Hình ảnh Lễ khai giảng năm học mới",
            "Trường Tiểu học Thanh Mai gửi hình ảnh Lễ khai giảng trực tuyến.",
            [],
            OTHER,
            "photos of the school year's opening",
            photos=2,
            style="rfc2047",
            subject_style="outlook",
        ),
        _with(
            u["thcs-cu-khe"],
            47,
            at(8),
            "Kế hoạch giáo dục nhà trường năm học 2021-2022",
            "Kính gửi Phòng GD&ĐT, nhà trường gửi kế hoạch giáo dục năm học 2021-2022.",
            [(school_plan(u["thcs-cu-khe"]), "KH giáo dục nhà trường 2021-2022.docx", DOCX)],
            OTHER,
            "school plan",
        ),
        _with(
            None,
            48,
            at(9),
            "Bản tin Nhà xuất bản Giáo dục Việt Nam tháng 10/2021",
            "Kính gửi quý thầy cô: giới thiệu sách giáo khoa lớp 2, lớp 6 mới và sách tham khảo.",
            [],
            OTHER,
            "publisher's newsletter",
            sender=("Nhà xuất bản Giáo dục Việt Nam", "bantin@nxbgd.example"),
            html="<html><body><h1>Bản tin NXBGD Việt Nam</h1><p>Giới thiệu sách giáo khoa mới"
            "</p></body></html>",
        ),
        _with(
            None,
            49,
            at(10),
            "Xin hỏi về lịch học trực tuyến của lớp 3A",
            "Em chào Phòng ạ, em là phụ huynh học sinh lớp 3A, cho em hỏi lịch học trực tuyến tuần "
            "sau ạ.",
            [],
            OTHER,
            "a parent's question",
            sender=("Hoàng Thị Nga", "ngahoang86@gmail.com"),
        ),
        # a document whose subject contradicts its email: it waits for the officer
        _with(
            u["thcs-binh-minh"],
            50,
            at(11),
            "Báo cáo Tuần lễ HTSĐ - Trường THCS Bình Minh",
            "Kính gửi Phòng GD&ĐT,\n\nNhà trường gửi báo cáo.",
            [(stats_table(u["thcs-binh-minh"]), "Thống kê đầu năm học.xlsx", XLSX)],
            "unclear",
            "week subject, statistics table",
            candidates=(WEEK_ID, STATS_ID),
        ),
        _with(
            u["mn-binh-minh"],
            51,
            at(12),
            "Báo cáo kết quả Tuần lễ học tập suốt đời",
            "Kính gửi Phòng GD&ĐT,\n\nNhà trường gửi báo cáo.",
            [(covid_report(u["mn-binh-minh"]), "Báo cáo.docx", DOCX)],
            "unclear",
            "week subject, COVID-19 report",
            candidates=(WEEK_ID,),
        ),
    ]
    return out


def mixed_mailbox(roster: Path) -> list[MixedMail]:
    """The first ten days of October 2021 in the office's mailbox (see the module docstring)."""
    u = {x.code: x for x in read_units(roster)}
    day = datetime(2021, 10, 4, 7, 40, tzinfo=ICT)
    week = [
        week_mail(u["thcs-bich-hoa"], 1, day),
        week_mail(
            u["th-kim-an"], 2, day + timedelta(hours=3), style="rfc2047", subject_style="outlook"
        ),
        week_mail(u["mn-cao-duong"], 3, day + timedelta(days=1), table=False),
        week_mail(
            u["xa-bich-hoa"],
            4,
            day + timedelta(days=1, hours=2),
            style="apple",
            subject_style="thunderbird",
        ),
        week_mail(u["htcd-kim-an"], 5, day + timedelta(days=2), photos=1),
    ]
    stats = [
        stats_mail(u["thcs-cao-duong"], 10, day + timedelta(hours=5)),
        stats_mail(
            u["th-thanh-cao"],
            11,
            day + timedelta(days=2, hours=1),
            style="rfc2231",
            subject_style="gmail",
        ),
        stats_mail(
            u["mn-kim-bai"], 12, day + timedelta(days=3), subject="gửi phòng ạ", titled=False
        ),
    ]
    both = [both_mail(u["thcs-thanh-mai"], 20, day + timedelta(days=2, hours=6))]
    others = other_mail(u, day)
    return week + stats + both + others


def campaign_of(mail: MixedMail, campaign: str) -> bool:
    """Whether `mail` is (also) `campaign`'s: what a mailbox of that campaign alone holds."""
    return mail.expect == campaign or any(c == campaign for _, c in mail.apart)
