"""Several campaigns in one mailbox (issue 15): the pure classifier on the evidence of real
office mail, and the whole pipeline on a mixed mailbox — the week of lifelong learning, the
start-of-year statistics, and the mail that is neither — asserting, message by message, that
no message lands in a wrong campaign and that each campaign's status is the one it would have
alone."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from core.campaignconfig import CampaignConfig, ColumnConfig, TableConfig
from intake.campaigns import CampaignEvidence, CampaignSpec, DocEvidence, classify
from intake.cli import cli
from tests.support.campaignmail import (
    ICT,
    UNITS,
    WHEN,
    both_mail,
    campaigns_app,
    contest_mail,
    covid_mail,
    plain_mail,
    stats_mail,
    trung_thu_mail,
    week_mail,
    write_mails,
)

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

WEEK_MAIL = {"thcs-bich-hoa": 1, "th-kim-an": 2, "mn-cao-duong": 3, "xa-bich-hoa": 4}
STATS_MAIL = {"thcs-cao-duong": 10, "th-thanh-mai": 11}
BOTH_MAIL = {"thcs-thanh-mai": 20}
OTHER_MAIL = {
    21: lambda: covid_mail("th-bich-hoa", 21),
    22: lambda: contest_mail("thcs-kim-an", 22),
    23: lambda: trung_thu_mail("mn-thanh-mai", 23),
    24: lambda: plain_mail(
        "thcs-cu-khe",
        "Kế hoạch giáo dục nhà trường năm học 2021-2022",
        "Kính gửi Phòng GD&ĐT, nhà trường gửi kế hoạch giáo dục năm học.",
        24,
    ),
    25: lambda: plain_mail(
        "th-cu-khe",
        "Re: Đăng ký tham gia lớp tập huấn chuyển đổi số",
        "Nhà trường đăng ký 2 đồng chí tham gia lớp tập huấn.",
        25,
    ),
    26: lambda: plain_mail(
        None,
        "Bản tin Nhà xuất bản Giáo dục Việt Nam tháng 10/2021",
        "Kính gửi quý thầy cô: giới thiệu sách tham khảo mới.",
        26,
        sender="bantin@nxbgd.example",
    ),
}


def _roster_codes() -> set[str]:
    return set(UNITS)


def test_a_mixed_mailbox_puts_every_message_in_its_campaign_and_nothing_wrong(
    tmp_path: Path, db_url: str
) -> None:
    from sqlalchemy import select

    from store.models import Attachment, Message

    missing = (set(WEEK_MAIL) | set(STATS_MAIL) | set(BOTH_MAIL)) - _roster_codes()
    assert not missing, missing
    raws = (
        [week_mail(c, n) for c, n in WEEK_MAIL.items()]
        + [stats_mail(c, n) for c, n in STATS_MAIL.items()]
        + [both_mail(c, n) for c, n in BOTH_MAIL.items()]
        + [make() for make in OTHER_MAIL.values()]
    )
    with campaigns_app(tmp_path / "mixed", db_url) as app:
        app.import_paths([write_mails(tmp_path, "mixed-mail", raws)])
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
            [week_mail(c, n) for c, n in WEEK_MAIL.items()]
            + [both_mail(c, n) for c, n in BOTH_MAIL.items()],
        ),
        (
            "thong-ke-dau-nam-2021",
            [stats_mail(c, n) for c, n in STATS_MAIL.items()]
            + [both_mail(c, n) for c, n in BOTH_MAIL.items()],
        ),
    ):
        alone_url = f"sqlite:///{tmp_path / f'alone-{cid}.sqlite3'}"  # a store of its own
        with campaigns_app(tmp_path / f"alone-{cid}", alone_url) as app:
            app.import_paths([write_mails(tmp_path, f"alone-mail-{cid}", only)])
            alone = app.status(cid)
        assert [(u.code, u.state, u.items, u.messages) for u in alone.units] == [
            (u.code, u.state, u.items, u.messages) for u in mixed[cid].units
        ], cid


def test_move_puts_a_message_in_another_campaign_and_recomputes_both(
    tmp_path: Path, db_url: str
) -> None:
    app = campaigns_app(tmp_path, db_url)
    with app:
        app.import_paths(
            [
                write_mails(
                    tmp_path, "mail", [week_mail("thcs-bich-hoa", 1), covid_mail("th-bich-hoa", 21)]
                )
            ]
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
