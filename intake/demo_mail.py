"""Realistic unit emails built from a roster, for `intake demo`, the tests and the benchmark.

They look like what the district's units send: the report as a `.docx` following the Phụ lục
outline with the unit's official header, the "Tổng hợp số liệu" table as an `.xlsx` with title
rows, a two-row merged header, `1.200`-style numbers typed as text and a "Tổng cộng" row, phone
photos with EXIF, sometimes a nomination list; file names in Vietnamese encoded the RFC 2231
way (`filename*=utf-8''…`, as Thunderbird and Apple Mail do; Apple Mail's in NFD) or the Gmail
web / Outlook way (RFC 2047 encoded words inside the quotes of `filename=` and `name=`); some
from a teacher's personal Gmail, some incomplete, one bounce. Only runtime dependencies
(openpyxl, python-docx, Pillow) are used. Deterministic for a seed: the same seed gives the same
bytes (the office files' zip and core-property dates are pinned to the campaign, not "now").
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import random
import re
import struct
import unicodedata
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from email.header import Header
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from openpyxl import Workbook

ICT = timezone(timedelta(hours=7))
OFFICE = "totrunghoc-thanhoai@thanhoai.example"
TITLE = "Tuần lễ hưởng ứng học tập suốt đời năm 2021"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ACTIVITIES = (
    ("Tuyên truyền về Tuần lễ trên cổng thông tin điện tử, Zalo, Facebook", "Nhà trường"),
    ("Treo băng rôn, khẩu hiệu hưởng ứng Tuần lễ", "Đoàn TN, Đội TNTP"),
    ("Lớp tập huấn kỹ năng sử dụng Zoom, K12Online cho phụ huynh", "Tổ CNTT"),
    ("Cuộc thi trực tuyến “Công dân số” cho học sinh", "Liên đội"),
    ("Ngày hội đọc sách, giới thiệu sách theo chủ đề", "Thư viện"),
    ("Chuyên đề sinh hoạt câu lạc bộ kỹ năng sống", "TT HTCĐ, Hội Khuyến học"),
)
WRITTEN = datetime(2021, 10, 4, 8, 0, tzinfo=ICT)  # when the offices saved their files
CREATORS = ("Admin", "Windows User", "HP", "Dell", "vanthu")
PERSONAL = ("vanthu.{slug}@gmail.com", "{slug}.hieutruong@gmail.com", "ketoan{slug}@yahoo.com.vn")


@dataclass(frozen=True)
class RosterUnit:
    code: str
    name: str
    kind: str
    email: str


def read_units(roster_csv: Path) -> list[RosterUnit]:
    with Path(roster_csv).open(encoding="utf-8-sig") as f:
        return [
            RosterUnit(
                r["code"], r["name"], r["kind"], (r.get("emails") or "").split(";")[0].strip()
            )
            for r in csv.DictReader(f)
            if r.get("code")
        ]


def _pin_zip_dates(data: bytes, when: datetime) -> bytes:
    """Office files are zips stamped with the time they were saved: pin every entry's DOS date
    (local header and central directory) so that a seed always gives the same bytes."""
    stamp = struct.pack(
        "<HH",
        (when.hour << 11) | (when.minute << 5) | (when.second // 2),
        ((when.year - 1980) << 9) | (when.month << 5) | when.day,
    )
    buf = bytearray(data)
    eocd = buf.rfind(b"PK\x05\x06")
    count, _, pos = struct.unpack_from("<HII", buf, eocd + 10)
    for _ in range(count):
        buf[pos + 12 : pos + 16] = stamp  # central directory entry
        (local,) = struct.unpack_from("<I", buf, pos + 42)
        buf[local + 10 : local + 14] = stamp  # local file header
        n, m, k = struct.unpack_from("<HHH", buf, pos + 28)
        pos += 46 + n + m + k
    return bytes(buf)


def _number(n: int, rng: random.Random) -> object:
    """How offices type numbers: a number, or text like `1.200`, `1 200`, `45 lớp`."""
    style = rng.random()
    if n >= 1000 and style < 0.5:
        return f"{n:,}".replace(",", ".")
    if style < 0.15:
        return f"{n} người" if n > 60 else f"{n} lớp"
    return n


def _rows(rng: random.Random) -> list[tuple[str, str, int, int]]:
    picks = rng.sample(ACTIVITIES, rng.randint(3, 5))
    return [
        (a, o, rng.randint(1, 12), rng.choice((35, 120, 450, 1200, 2350)) + rng.randint(0, 40))
        for a, o in picks
    ]


def make_table(
    unit: RosterUnit,
    rows: list[tuple[str, str, int, int]],
    rng: random.Random,
    *,
    when: datetime = WRITTEN,
) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Số liệu"
    ws["A1"] = unit.name.upper()
    ws["D1"] = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    ws["A3"] = "TỔNG HỢP SỐ LIỆU KẾT QUẢ TỔ CHỨC TUẦN LỄ HỌC TẬP SUỐT ĐỜI NĂM 2021"
    ws.merge_cells("A3:F3")
    ws["A3"].font = Font(bold=True)
    ws["A3"].alignment = Alignment(horizontal="center")
    header = ("STT", "Các hoạt động", "Đơn vị tổ chức", "Số lượng", None, "Ghi chú")
    for col, label in enumerate(header, 1):
        if label:
            ws.cell(5, col, label)
    ws.cell(6, 4, "Số lớp/số cuộc thi")
    ws.cell(6, 5, "Người")
    for rng_ in ("A5:A6", "B5:B6", "C5:C6", "D5:E5", "F5:F6"):
        ws.merge_cells(rng_)
    r = 7
    for i, (activity, organizer, classes, people) in enumerate(rows, 1):
        ws.cell(r, 1, i)
        ws.cell(r, 2, activity)
        ws.cell(r, 3, organizer)
        ws.cell(r, 4, _number(classes, rng))
        ws.cell(r, 5, _number(people, rng))
        ws.cell(r, 6, "Trực tuyến" if rng.random() < 0.3 else None)
        r += 1
    ws.cell(r, 1, "Tổng cộng")
    ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=3)
    ws.cell(r, 4, sum(c for _, _, c, _ in rows))
    ws.cell(r, 5, sum(p for _, _, _, p in rows))
    ws.column_dimensions["B"].width = 48
    return _save_workbook(wb, unit, when)


def _save_workbook(wb: Workbook, unit: RosterUnit, when: datetime) -> bytes:
    """`wb` as .xlsx bytes dated `when` (`Workbook.save` stamps "now" into the properties)."""
    from openpyxl.writer.excel import ExcelWriter

    props = wb.properties
    props.creator = props.lastModifiedBy = CREATORS[len(unit.code) % len(CREATORS)]
    props.created = props.modified = when.astimezone(UTC).replace(tzinfo=None)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(wb, archive).save()
    return _pin_zip_dates(out.getvalue(), when)


def make_report(
    unit: RosterUnit,
    rows: list[tuple[str, str, int, int]],
    rng: random.Random,
    *,
    when: datetime = WRITTEN,
) -> bytes:
    from docx import Document

    doc = Document()
    core = doc.core_properties
    core.author = core.last_modified_by = CREATORS[len(unit.code) % len(CREATORS)]
    core.created = core.modified = core.last_printed = when
    core.revision = 3
    core.title = core.subject = core.comments = core.keywords = ""
    head = doc.add_table(rows=2, cols=2)
    parent = {
        "mn": "PHÒNG GD&ĐT HUYỆN THANH OAI",
        "th": "PHÒNG GD&ĐT HUYỆN THANH OAI",
        "thcs": "PHÒNG GD&ĐT HUYỆN THANH OAI",
        "thpt": "SỞ GD&ĐT HÀ NỘI",
    }.get(unit.kind, "UBND HUYỆN THANH OAI")
    head.cell(0, 0).text = parent
    head.cell(1, 0).text = unit.name.upper()
    head.cell(0, 1).text = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    head.cell(1, 1).text = "Độc lập - Tự do - Hạnh phúc"
    doc.add_paragraph(f"Số: {rng.randint(12, 140)}/BC-{unit.code.split('-')[0].upper()}")
    doc.add_paragraph(f"BÁO CÁO\nKết quả tổ chức {TITLE}")
    doc.add_paragraph("I. KẾT QUẢ TRIỂN KHAI")
    doc.add_paragraph(
        f"1. Công tác chỉ đạo: {unit.name} xây dựng Kế hoạch số {rng.randint(20, 90)}/KH "
        "triển khai Tuần lễ tới toàn thể cán bộ, giáo viên, nhân viên và học sinh."
    )
    total = sum(p for _, _, _, p in rows)
    doc.add_paragraph(
        f"2. Các hoạt động đã tổ chức: {len(rows)} hoạt động với "
        f"{f'{total:,}'.replace(',', '.')} lượt người tham gia; Lễ khai mạc Tuần lễ được tổ "
        "chức trực tuyến do dịch COVID-19."
    )
    budget = rng.choice((5, 8, 12, 15)) * 1_000_000
    doc.add_paragraph(
        f"3. Kinh phí: Ngân sách nhà nước: {f'{budget:,}'.replace(',', '.')} đồng; "
        "nguồn hỗ trợ: 2.500.000 đồng."
    )
    doc.add_paragraph("II. ĐÁNH GIÁ CHUNG")
    doc.add_paragraph("1. Ưu điểm: hình thành thói quen đọc sách trong học sinh.")
    doc.add_paragraph(
        "2. Tồn tại, hạn chế: một số hoạt động phải chuyển sang trực tuyến do dịch COVID-19."
    )
    doc.add_paragraph("3. Đề xuất, kiến nghị: đề nghị bổ sung kinh phí cho thư viện.")
    doc.add_paragraph(
        "Hình ảnh hoạt động: https://www.facebook.com/thanhoai.edu/posts/"
        f"{rng.randint(10**9, 10**10)}"
    )
    doc.add_paragraph("Nơi nhận:\n- Phòng GDĐT (để b/c);\n- Lưu VT.")
    doc.add_paragraph("HIỆU TRƯỞNG" if unit.kind in ("mn", "th", "thcs", "thpt") else "GIÁM ĐỐC")
    out = io.BytesIO()
    doc.save(out)
    return _pin_zip_dates(out.getvalue(), when)


def make_nominations(unit: RosterUnit, rng: random.Random, *, when: datetime = WRITTEN) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Khen thưởng"
    ws["A1"] = "DANH SÁCH ĐỀ NGHỊ KHEN THƯỞNG"
    ws.append([])
    ws.append(["STT", "Họ và tên / Tập thể", "Chức vụ", "Đơn vị", "Thành tích"])
    ws.append([1, unit.name, "", unit.name, "Tổ chức tốt Tuần lễ học tập suốt đời năm 2021"])
    for i, name in enumerate(
        rng.sample(("Nguyễn Thị Hoa", "Trần Văn Minh", "Lê Thị Thu Hà", "Phạm Quang Huy"), 2), 2
    ):
        ws.append([i, name, "Giáo viên", unit.name, "Có nhiều đóng góp trong Tuần lễ"])
    return _save_workbook(wb, unit, when)


@functools.lru_cache(maxsize=16)
def phone_photo(seed: int) -> bytes:
    """A 1024×768 JPEG with the EXIF a phone writes (make, model, time taken)."""
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    img = Image.new(
        "RGB", (1024, 768), (rng.randint(60, 200), rng.randint(60, 200), rng.randint(60, 200))
    )
    draw = ImageDraw.Draw(img)
    for _ in range(40):
        x, y = rng.randint(0, 1000), rng.randint(0, 740)
        draw.rectangle(
            (x, y, x + rng.randint(10, 200), y + rng.randint(10, 120)),
            fill=(rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255)),
        )
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = rng.choice(
        (("samsung", "SM-A125F"), ("OPPO", "CPH2127"), ("Apple", "iPhone 11"))
    )
    taken = datetime(2021, 10, 1, 8, 0, tzinfo=ICT) + timedelta(minutes=rng.randint(0, 8000))
    exif.get_ifd(0x8769)[0x9003] = taken.strftime("%Y:%m:%d %H:%M:%S")
    out = io.BytesIO()
    img.save(out, "JPEG", quality=70, exif=exif)
    return out.getvalue()


def attach(
    m: EmailMessage,
    data: bytes,
    filename: str,
    mime: str,
    style: str,
    raw_names: dict[bytes, bytes],
) -> None:
    """Attach `data` named the way `style` ("rfc2231", "apple" or "rfc2047") mail clients do.

    Python's email package would turn RFC 2047 words inside `filename="…"` into RFC 2231 when
    it writes the message, so those names are written as a placeholder here and put into the
    bytes afterwards (`raw_names`, placeholder -> quoted value)."""
    maintype, subtype = mime.split("/")
    if style != "rfc2047":
        if style == "apple":  # Apple Mail: RFC 2231, decomposed (NFD) letters
            filename = unicodedata.normalize("NFD", filename)
        m.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
        return
    # Gmail web and Outlook: RFC 2047 encoded words inside the quotes, folded over lines
    placeholder = f"intake-name-{len(raw_names)}"
    words = Header(filename, "utf-8", maxlinelen=60).encode(linesep="\n")
    raw_names[f'"{placeholder}"'.encode()] = f'"{words}"'.encode()
    m.add_attachment(data, maintype=maintype, subtype=subtype, filename=placeholder)
    part = list(m.iter_attachments())[-1]
    part.set_param("name", placeholder)


def _slug(code: str) -> str:
    return code.replace("-", "")


def unit_message(unit: RosterUnit, i: int, rng: random.Random, *, photos: int = 2) -> bytes:
    """One unit's email; what it carries depends on `rng` (complete most of the time)."""
    scenario = rng.random()
    rows = _rows(rng)
    personal = rng.random() < 0.25
    outlook = rng.random() < 0.4
    m = EmailMessage()
    sender = PERSONAL[i % len(PERSONAL)].format(slug=_slug(unit.code)) if personal else unit.email
    m["From"] = formataddr((unit.name if personal or rng.random() < 0.7 else "", sender))
    m["To"] = OFFICE
    m["Subject"] = rng.choice(
        (
            f"Báo cáo {TITLE} - {unit.name}",
            f"V/v gửi báo cáo Tuần lễ HTSĐ 2021 ({unit.name})",
            f"{unit.name} gửi báo cáo, số liệu Tuần lễ học tập suốt đời",
        )
    )
    when = datetime(2021, 10, 4, 7, 30, tzinfo=ICT) + timedelta(minutes=rng.randint(0, 7000))
    m["Date"] = format_datetime(when)
    m["Message-ID"] = f"<{when:%Y%m%d%H%M}.{i}.{_slug(unit.code)}@{sender.split('@')[1]}>"
    m.set_content(
        "Kính gửi: Phòng Giáo dục và Đào tạo huyện Thanh Oai\n\n"
        f"{unit.name} xin gửi báo cáo kết quả tổ chức {TITLE}, bảng tổng hợp số liệu và hình "
        "ảnh hoạt động.\n\nTrân trọng cảm ơn!\n\n--\n"
        f"Văn thư {unit.name}\nĐT: 024.3387{rng.randint(1000, 9999)}\n"
    )
    raw_names: dict[bytes, bytes] = {}
    style = "rfc2047" if outlook else "apple" if personal and i % 2 == 0 else "rfc2231"
    saved = when - timedelta(minutes=25 + i % 95)  # the files were saved before sending
    with_report = scenario >= 0.1
    with_table = scenario < 0.85
    n_photos = 0 if 0.75 <= scenario < 0.85 else photos + (rng.random() < 0.3)
    if with_report:
        attach(
            m,
            make_report(unit, rows, rng, when=saved),
            f"Báo cáo Tuần lễ HTSĐ 2021 - {unit.name}.docx",
            DOCX,
            style,
            raw_names,
        )
    if with_table:
        attach(
            m,
            make_table(unit, rows, rng, when=saved),
            f"Tổng hợp số liệu {unit.name}.xlsx",
            XLSX,
            style,
            raw_names,
        )
    if rng.random() < 0.2:
        attach(
            m,
            make_nominations(unit, rng, when=saved),
            "Danh sách đề nghị khen thưởng.xlsx",
            XLSX,
            style,
            raw_names,
        )
    for k in range(n_photos):
        photo = phone_photo(rng.randrange(16))
        # the same pool photo differs per message: its bytes carry the message number
        photo = photo[:-2] + f"{i:06d}{k}".encode() + photo[-2:]
        attach(
            m,
            photo,
            f"IMG_202110{rng.randint(1, 9):02d}_{rng.randint(80000, 175959)}.jpg",
            "image/jpeg",
            style,
            raw_names,
        )
    return as_sent(m, raw_names)


def as_sent(m: EmailMessage, raw_names: dict[bytes, bytes]) -> bytes:
    """The message's bytes as the mail client sent them: a boundary fixed by the Message-ID,
    and the RFC 2047 names of `attach(..., style="rfc2047")` put in place."""
    if m.is_multipart():  # the generator would pick a random boundary
        m.set_boundary("000000000000" + hashlib.sha1(m["Message-ID"].encode()).hexdigest()[:16])
    # long lines unfolded by Python: its folder would turn a long MIME subtype into an
    # encoded word (`application/=?utf-8?q?vnd=2E…?=`); the names are folded below
    raw = m.as_bytes(policy=m.policy.clone(max_line_length=998))
    for placeholder, value in raw_names.items():  # each parameter on its own folded line
        for param in (b"filename", b"name"):
            raw = re.sub(
                rb";\s*" + param + b"=" + re.escape(placeholder),
                b";\n " + param + b"=" + value.replace(b"\\", b"\\\\"),
                raw,
            )
    return raw


def bounce(i: int) -> bytes:
    m = EmailMessage()
    m["From"] = "Mail Delivery Subsystem <mailer-daemon@googlemail.com>"
    m["To"] = OFFICE
    m["Subject"] = "Delivery Status Notification (Failure)"
    m["Date"] = format_datetime(datetime(2021, 10, 5, 9, 12, tzinfo=ICT))
    m["Message-ID"] = f"<bounce-{i}@mx.google.com>"
    m["Auto-Submitted"] = "auto-replied"
    m.set_content("Address not found: thcs-cu@thanhoai.example")
    return bytes(m)


def campaign_messages(roster_csv: Path, n: int = 20, seed: int = 1) -> list[bytes]:
    """`n` emails for a campaign: units drawn from the roster (a few write twice), one bounce
    per twenty messages."""
    rng = random.Random(seed)
    units = read_units(roster_csv)
    out: list[bytes] = []
    for i in range(n):
        if i % 20 == 19:
            out.append(bounce(i))
            continue
        out.append(unit_message(units[rng.randrange(len(units))], i, rng))
    return out
