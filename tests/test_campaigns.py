"""Several campaigns in one mailbox (issue 15): the pure classifier on the evidence of real
office mail, and the whole pipeline on a mixed mailbox — the week of lifelong learning, the
start-of-year statistics, and the mail that is neither — asserting, message by message, that
no message lands in a wrong campaign and that each campaign's status is the one it would have
alone."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from pathlib import Path

import pytest
from click.testing import CliRunner
from docx import Document
from openpyxl import Workbook

from core.campaignconfig import CampaignConfig, ColumnConfig, TableConfig
from core.clock import FixedClock
from intake import demo_mixed
from intake.app import App
from intake.campaigns import CampaignEvidence, CampaignSpec, DocEvidence, classify
from intake.cli import cli
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
WEEK = CampaignConfig()  # the seed: Tuần lễ hưởng ứng học tập suốt đời năm 2021
STATS = CampaignConfig(
    id="thong-ke-dau-nam-2021",
    title="Thống kê số liệu đầu năm học 2021-2022",
    deadline="2021-10-15T17:00:00+07:00",
    opens="2021-09-20T00:00:00+07:00",
    keywords=["thống kê đầu năm", "số liệu đầu năm", "đầu năm học 2021-2022"],
    units=["mn", "th", "thcs", "thpt"],
    required=["data_table"],
    min_photos=0,
    table=TableConfig(
        title="Thống kê số liệu đầu năm học",
        columns=(
            ColumnConfig("grade", ["Khối lớp", "Khối"], "text"),
            ColumnConfig("classes", ["Số lớp"], "int", True),
            ColumnConfig("pupils", ["Số học sinh", "Tổng số học sinh"], "int", True),
            ColumnConfig("teachers", ["Số giáo viên"], "int", True),
        ),
    ),
)
WHEN = datetime(2021, 10, 6, 9, 0, tzinfo=ICT)
BOTH = (CampaignSpec.of(WEEK), CampaignSpec.of(STATS))
ONE = (CampaignSpec.of(WEEK),)


def ev(
    subject: str,
    *docs: DocEvidence,
    body: str = "",
    unit: str = "thcs-bich-hoa",
    kind: str = "thcs",
    at: datetime = WHEN,
) -> CampaignEvidence:
    return CampaignEvidence(subject, body, docs, at, unit, kind)


WEEK_REPORT = DocEvidence(
    "Báo cáo Tuần lễ HTSĐ 2021.docx",
    "BÁO CÁO Kết quả tổ chức Tuần lễ hưởng ứng học tập suốt đời năm 2021",
    items=frozenset({"report"}),
)
WEEK_TABLE = DocEvidence(
    "Tổng hợp số liệu.xlsx",
    "",
    (
        "TỔNG HỢP SỐ LIỆU KẾT QUẢ TỔ CHỨC TUẦN LỄ",
        "STT | Các hoạt động | Đơn vị tổ chức | Số lượng | Ghi chú",
        "Số lớp/số cuộc thi | Người",
    ),
    frozenset({"data_table"}),
    seed_table=True,
)
STATS_TABLE = DocEvidence(
    "TK dau nam.xlsx",
    "",
    (
        "THỐNG KÊ SỐ LIỆU ĐẦU NĂM HỌC 2021-2022",
        "Khối lớp | Số lớp | Số học sinh | Trong đó nữ | Số giáo viên",
    ),
    frozenset(),
)
UNTITLED_STATS = DocEvidence("Book1.xlsx", "", ("Khối lớp | Số lớp | Số học sinh | Số giáo viên",))
COVID = DocEvidence(
    "BC thang 9.docx",
    "BÁO CÁO Công tác phòng, chống dịch COVID-19 tháng 9 năm 2021",
    items=frozenset({"report"}),
)
# formatted like the week's: a figures table the built-in reader takes for the seed's
COVID_TABLED = DocEvidence(
    "BC phong chong dich T9.docx",
    COVID.title,
    ("STT | Nội dung | Số lớp | Số người | Ghi chú",),
    frozenset({"report", "data_table"}),
    seed_table=True,
)
# the month's report lists the week among the month's work
MONTHLY = DocEvidence(
    "BC thang 9-2021.docx",
    "BÁO CÁO Kết quả công tác tháng 9 năm 2021",
    (
        "I. KẾT QUẢ THỰC HIỆN NHIỆM VỤ THÁNG 9",
        "2. Xây dựng kế hoạch tổ chức Tuần lễ hưởng ứng học tập suốt đời năm 2021.",
    ),
    frozenset({"report"}),
)
CONTEST = DocEvidence(
    "Danh sach GV.xlsx",
    "",
    (
        "DANH SÁCH GIÁO VIÊN ĐĂNG KÝ DỰ THI GIÁO VIÊN DẠY GIỎI CẤP HUYỆN",
        "STT | Họ và tên | Môn dạy | Ghi chú",
    ),
    frozenset({"nominations"}),
)
PHOTO = DocEvidence("IMG_20211005_081512.jpg", items=frozenset({"photo"}))
SCAN = DocEvidence("scan0001.pdf", items=frozenset({"report"}))  # an image-only scan: no words
RICOH = "Scanned from a RICOH MP 3055"  # the subject the scanner writes by itself


@pytest.mark.parametrize(
    "evidence, campaigns, status, campaign",
    [
        (
            ev("Báo cáo Tuần lễ HTSĐ 2021 - THCS Bích Hòa", WEEK_REPORT, WEEK_TABLE, PHOTO),
            BOTH,
            "campaign",
            WEEK.id,
        ),
        (ev("Gửi số liệu", STATS_TABLE), BOTH, "campaign", STATS.id),
        (ev("gửi phòng ạ", UNTITLED_STATS), BOTH, "campaign", STATS.id),  # its columns say whose
        (
            ev("gửi báo cáo lần 1", PHOTO),
            ONE,
            "campaign",
            WEEK.id,
        ),  # one campaign: today's behaviour
        (ev("gửi báo cáo lần 1", PHOTO), BOTH, "unclear", None),  # two: never guess
        (ev("Báo cáo tháng 9", COVID), ONE, "other", "other"),
        (ev("Báo cáo tháng 9", COVID), BOTH, "other", "other"),
        (ev("Báo cáo Tuần lễ HTSĐ", COVID), ONE, "unclear", None),  # the document contradicts
        (ev("Báo cáo tháng 9", COVID_TABLED), BOTH, "other", "other"),  # however it is formatted
        (ev("Báo cáo tháng 9 năm 2021", MONTHLY), ONE, "other", "other"),  # a periodic report
        (ev("Báo cáo tháng 9 năm 2021", MONTHLY), BOTH, "other", "other"),
        (ev("Báo cáo quý III"), ONE, "other", "other"),
        (ev("Báo cáo Tuần lễ HTSĐ", MONTHLY), ONE, "unclear", None),  # the document contradicts
        (
            ev("Gửi báo cáo tháng 10", WEEK_REPORT, PHOTO),
            BOTH,
            "campaign",
            WEEK.id,
        ),  # its file says
        (ev("Báo cáo tháng 9", COVID_TABLED), ONE, "other", "other"),
        (ev("Báo cáo Tuần lễ HTSĐ", COVID_TABLED), BOTH, "unclear", None),
        (ev("Danh sách dự thi giáo viên dạy giỏi", CONTEST), BOTH, "other", "other"),
        (
            ev("Hình ảnh Tết Trung thu 2021 - MN Bích Hòa", PHOTO, kind="mn", unit="mn-bich-hoa"),
            ONE,
            "other",
            "other",
        ),
        (
            ev("Bản tin Nhà xuất bản Giáo dục Việt Nam tháng 10/2021", unit="", kind=""),
            BOTH,
            "other",
            "other",
        ),
        (ev("Kế hoạch giáo dục nhà trường năm học 2021-2022"), ONE, "other", "other"),
        (ev("Re: Đăng ký tham gia lớp tập huấn chuyển đổi số"), ONE, "other", "other"),
        (
            ev("Báo cáo Tuần lễ HTSĐ và thống kê đầu năm", WEEK_REPORT, STATS_TABLE, PHOTO),
            BOTH,
            "split",
            None,
        ),
        (ev("Báo cáo Tuần lễ HTSĐ", STATS_TABLE), BOTH, "unclear", None),  # its file says stats
        # a commune office sends no statistics: that campaign is not its
        (ev("Thống kê đầu năm", unit="ubnd-bich-hoa", kind="ubnd"), BOTH, "other", "other"),
        # before the statistics campaign opened
        (ev("Số liệu", STATS_TABLE, at=datetime(2021, 9, 1, tzinfo=ICT)), BOTH, "other", "other"),
        # scan to email: the machine's subject names no other matter; no evidence either way
        (ev(RICOH, SCAN), ONE, "campaign", WEEK.id),
        (ev("Message from KM_C224e", SCAN), ONE, "campaign", WEEK.id),
        (ev(RICOH, SCAN), BOTH, "unclear", None),
        (ev(RICOH, COVID), ONE, "other", "other"),  # its document names another matter
        (ev("Scan kế hoạch giáo dục nhà trường", SCAN), ONE, "other", "other"),  # a person wrote it
    ],
)
def test_each_message_goes_to_its_campaign_or_waits(
    evidence: CampaignEvidence,
    campaigns: tuple[CampaignSpec, ...],
    status: str,
    campaign: str | None,
) -> None:
    d = classify(evidence, campaigns)
    assert (d.status, d.campaign if status != "split" else None) == (status, campaign), d.reason
    assert d.reason


def test_an_email_with_both_campaigns_files_puts_each_where_it_points() -> None:
    d = classify(
        ev("Báo cáo Tuần lễ HTSĐ và thống kê đầu năm", WEEK_REPORT, STATS_TABLE, PHOTO), BOTH
    )
    assert dict(d.per_attachment) == {0: WEEK.id, 1: STATS.id, 2: WEEK.id}


def test_an_unclear_message_names_its_candidates() -> None:
    d = classify(ev("Báo cáo Tuần lễ HTSĐ", STATS_TABLE), BOTH)
    assert {c.id for c in d.candidates} == {WEEK.id, STATS.id}
    assert "its files name" in d.reason


# -- the pipeline on a mixed mailbox ------------------------------------------------------------

UNITS = {u.code: u for u in read_units(ROSTER)}


def _mail(code: str | None, subject: str, body: str, n: int, sender: str = "") -> EmailMessage:
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


def _stats_xlsx(unit_name: str, grades: list[tuple[str, int, int, int]]) -> bytes:
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


def _docx(title: str, lines: list[str]) -> bytes:
    doc = Document()
    doc.add_paragraph("UBND HUYỆN THANH OAI")
    doc.add_paragraph(title)
    for line in lines:
        doc.add_paragraph(line)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def _week(code: str, n: int, *, photos: int = 2, table: bool = True) -> bytes:
    import random

    unit, rng = UNITS[code], random.Random(n)
    rows = [
        ("Tuyên truyền về Tuần lễ", unit.name, 2, 150),
        ("Hội thi tìm hiểu chuyển đổi số", unit.name, 1, 80),
    ]
    m = _mail(
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


def _stats(code: str, n: int) -> bytes:
    unit = UNITS[code]
    m = _mail(
        code,
        f"{unit.name} gửi thống kê số liệu đầu năm học 2021-2022",
        "Kính gửi Phòng GD&ĐT,\n\nNhà trường gửi biểu thống kê đầu năm học.\n\nTrân trọng.",
        n,
    )
    names: dict[bytes, bytes] = {}
    attach(
        m,
        _stats_xlsx(unit.name, [("Khối 6", 5, 198, 11), ("Khối 7", 4, 171, 10)]),
        "Thong ke dau nam 2021-2022.xlsx",
        XLSX,
        "rfc2231",
        names,
    )
    return as_sent(m, names)


def _covid(code: str, n: int) -> bytes:
    m = _mail(
        code, "Báo cáo tháng 9", "Kính gửi Phòng GD&ĐT,\n\nNhà trường gửi báo cáo tháng 9.", n
    )
    names: dict[bytes, bytes] = {}
    attach(
        m,
        _docx(
            "BÁO CÁO\nCông tác phòng, chống dịch COVID-19 tháng 9 năm 2021",
            ["I. Tình hình dịch bệnh trên địa bàn", "Nhà trường không có ca mắc mới. " * 30],
        ),
        "BC phong chong dich T9.docx",
        DOCX,
        "rfc2231",
        names,
    )
    return as_sent(m, names)


def _contest(code: str, n: int) -> bytes:
    unit = UNITS[code]
    m = _mail(
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


def _plain(code: str | None, subject: str, body: str, n: int, sender: str = "") -> bytes:
    return as_sent(_mail(code, subject, body, n, sender), {})


def _trung_thu(code: str, n: int) -> bytes:
    m = _mail(
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


def _both(code: str, n: int) -> bytes:
    """One email carrying the week's report and table and the statistics table."""
    import email

    week = email.message_from_bytes(_week(code, n, photos=2))
    stats = email.message_from_bytes(_stats(code, n + 1))
    m = _mail(
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


WEEK_MAIL = {"thcs-bich-hoa": 1, "th-kim-an": 2, "mn-cao-duong": 3, "xa-bich-hoa": 4}
STATS_MAIL = {"thcs-cao-duong": 10, "th-thanh-mai": 11}
BOTH_MAIL = {"thcs-thanh-mai": 20}
OTHER_MAIL = {
    21: lambda: _covid("th-bich-hoa", 21),
    22: lambda: _contest("thcs-kim-an", 22),
    23: lambda: _trung_thu("mn-thanh-mai", 23),
    24: lambda: _plain(
        "thcs-cu-khe",
        "Kế hoạch giáo dục nhà trường năm học 2021-2022",
        "Kính gửi Phòng GD&ĐT, nhà trường gửi kế hoạch giáo dục năm học.",
        24,
    ),
    25: lambda: _plain(
        "th-cu-khe",
        "Re: Đăng ký tham gia lớp tập huấn chuyển đổi số",
        "Nhà trường đăng ký 2 đồng chí tham gia lớp tập huấn.",
        25,
    ),
    26: lambda: _plain(
        None,
        "Bản tin Nhà xuất bản Giáo dục Việt Nam tháng 10/2021",
        "Kính gửi quý thầy cô: giới thiệu sách tham khảo mới.",
        26,
        sender="bantin@nxbgd.example",
    ),
}


def _roster_codes() -> set[str]:
    return set(UNITS)


def _write(tmp_path: Path, name: str, raws: list[bytes]) -> Path:
    d = tmp_path / name
    d.mkdir()
    for i, raw in enumerate(raws):
        (d / f"{i:03d}.eml").write_bytes(raw)
    return d


CAMPAIGNS_TOML = (
    demo_mixed.CAMPAIGNS_TOML
)  # the week and the start-of-year statistics, as the demo runs them


def _app(tmp_path: Path, db_url: str, campaigns: str = CAMPAIGNS_TOML) -> App:
    cfg = make_config(tmp_path, db_url, limits={"parse_workers": 0})
    path = Path(cfg.source)
    path.write_text(path.read_text(encoding="utf-8") + campaigns, encoding="utf-8")
    from core import config as config_mod

    app = App(config_mod.load(path), FixedClock(datetime(2021, 10, 8, 2, 0, tzinfo=UTC)))
    app.import_roster(ROSTER)
    return app


def test_a_mixed_mailbox_puts_every_message_in_its_campaign_and_nothing_wrong(
    tmp_path: Path, db_url: str
) -> None:
    from sqlalchemy import select

    from store.models import Attachment, Message

    missing = (set(WEEK_MAIL) | set(STATS_MAIL) | set(BOTH_MAIL)) - _roster_codes()
    assert not missing, missing
    raws = (
        [_week(c, n) for c, n in WEEK_MAIL.items()]
        + [_stats(c, n) for c, n in STATS_MAIL.items()]
        + [_both(c, n) for c, n in BOTH_MAIL.items()]
        + [make() for make in OTHER_MAIL.values()]
    )
    with _app(tmp_path / "mixed", db_url) as app:
        app.import_paths([_write(tmp_path, "mixed-mail", raws)])
        with app.sessions() as s:
            got = {
                m.message_id: (m.state, m.campaign_id, m.reason) for m in s.scalars(select(Message))
            }
            apart = {
                (a.filename, a.campaign_id) for a in s.scalars(select(Attachment)) if a.campaign_id
            }
        mixed = {c.id: app.status(c.id) for c in app.cfg.campaigns}
    # message by message: the expected campaign, never another
    for code, n in WEEK_MAIL.items():
        assert got[f"<mix.{n}.{code}@thanhoai.example>"][:2] == ("filed", "tuan-le-htsd-2021"), code
    for code, n in STATS_MAIL.items():
        assert got[f"<mix.{n}.{code}@thanhoai.example>"][:2] == (
            "filed",
            "thong-ke-dau-nam-2021",
        ), code
    for n in OTHER_MAIL:
        mid = next(k for k in got if k.startswith(f"<mix.{n}."))
        assert got[mid][:2] == ("other", "other"), (mid, got[mid])
    # one email, both campaigns: the statistics table counts there, the rest in the week
    assert ("Thong ke dau nam 2021-2022.xlsx", "thong-ke-dau-nam-2021") in apart
    by = {c: {u.code: u for u in st.units} for c, st in mixed.items()}
    assert by["thong-ke-dau-nam-2021"]["thcs-thanh-mai"].state == "complete"
    assert by["tuan-le-htsd-2021"]["thcs-thanh-mai"].state == "complete"
    # the statistics are asked of schools only
    assert "xa-bich-hoa" not in by["thong-ke-dau-nam-2021"]
    # other mail counts nowhere: a unit that sent only other mail is still "missing"
    for code in ("th-bich-hoa", "thcs-kim-an", "mn-thanh-mai", "thcs-cu-khe", "th-cu-khe"):
        assert by["tuan-le-htsd-2021"][code].state == "missing", code
        assert by["thong-ke-dau-nam-2021"][code].state == "missing", code

    # each campaign alone: the same status
    for cid, only in (
        (
            "tuan-le-htsd-2021",
            [_week(c, n) for c, n in WEEK_MAIL.items()]
            + [_both(c, n) for c, n in BOTH_MAIL.items()],
        ),
        (
            "thong-ke-dau-nam-2021",
            [_stats(c, n) for c, n in STATS_MAIL.items()]
            + [_both(c, n) for c, n in BOTH_MAIL.items()],
        ),
    ):
        alone_url = f"sqlite:///{tmp_path / f'alone-{cid}.sqlite3'}"  # a store of its own
        with _app(tmp_path / f"alone-{cid}", alone_url) as app:
            app.import_paths([_write(tmp_path, f"alone-mail-{cid}", only)])
            alone = app.status(cid)
        assert [(u.code, u.state, u.items, u.messages) for u in alone.units] == [
            (u.code, u.state, u.items, u.messages) for u in mixed[cid].units
        ], cid


def test_move_puts_a_message_in_another_campaign_and_recomputes_both(
    tmp_path: Path, db_url: str
) -> None:
    app = _app(tmp_path, db_url)
    with app:
        app.import_paths(
            [_write(tmp_path, "mail", [_week("thcs-bich-hoa", 1), _covid("th-bich-hoa", 21)])]
        )
        base = ["--config", app.cfg.source]
    runner = CliRunner()
    import json

    doc = json.loads(runner.invoke(cli, [*base, "status", "--json"]).output)
    assert [c["campaign"]["id"] for c in doc["campaigns"]] == [
        "tuan-le-htsd-2021",
        "thong-ke-dau-nam-2021",
    ]
    (other,) = doc["other"]
    assert other["unit"] == "th-bich-hoa" and other["subject"] == "Báo cáo tháng 9"
    week = {u["code"]: u for u in doc["campaigns"][0]["units"]}
    assert (
        week["thcs-bich-hoa"]["state"] == "complete" and week["th-bich-hoa"]["state"] == "missing"
    )
    # the officer: this one was the week's after all
    r = runner.invoke(cli, [*base, "move", str(other["id"]), "tuan-le-htsd-2021", "--by", "co.hoa"])
    assert r.exit_code == 0, r.output
    one = json.loads(
        runner.invoke(cli, [*base, "status", "--json", "--campaign", "tuan-le-htsd-2021"]).output
    )
    assert one["other"] == []
    week = {u["code"]: u for u in one["units"]}
    assert week["th-bich-hoa"]["state"] == "incomplete"
    # a reparse keeps the officer's choice
    assert runner.invoke(cli, [*base, "reparse", "--all"]).exit_code == 0
    again = json.loads(
        runner.invoke(cli, [*base, "status", "--json", "--campaign", "tuan-le-htsd-2021"]).output
    )
    assert {u["code"]: u for u in again["units"]}["th-bich-hoa"]["state"] == "incomplete"
    # and back to other mail
    assert runner.invoke(cli, [*base, "move", str(other["id"]), "other"]).exit_code == 0
    back = json.loads(
        runner.invoke(cli, [*base, "status", "--json", "--campaign", "tuan-le-htsd-2021"]).output
    )
    assert {u["code"]: u for u in back["units"]}["th-bich-hoa"]["state"] == "missing"
    assert [o["id"] for o in back["other"]] == [other["id"]]
