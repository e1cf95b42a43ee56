"""The digest with several campaigns, as the officer reads it (issue 15 item 5): a section per
campaign with its own sums, console links, "có dấu đỏ" beside a sealed scanned report, the
other mail counted with subjects — and still no sideways scrolling at 390 px in Chromium.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from core.campaignconfig import ColumnConfig, TableConfig
from notifier.digest import CampaignPart, Cut, OtherEntry, OtherMail, compose_digest
from notifier.render import make_env
from store.queries import CampaignStatus, LooseMessage
from tests.support.browser import Browser, browser  # noqa: F401 - the session fixture
from tests.support.workbookdata import DEADLINE, TITLE, busy_campaign, unit_status

NOW = DEADLINE + timedelta(days=2, hours=8)  # 12/10/2021 08:00 in Hà Nội
STATS_TITLE = "Thống kê số liệu đầu năm học 2021-2022"
STATS_DEADLINE = DEADLINE + timedelta(days=5, hours=17)  # 15/10/2021 17:00
BASE = "https://baocao.thanhoai.example"
STATS_TABLE = TableConfig(
    title="Thống kê số liệu đầu năm học",
    columns=(
        ColumnConfig("grade", ["Khối lớp", "Khối"], "text"),
        ColumnConfig("classes", ["Số lớp"], "int", True),
        ColumnConfig("pupils", ["Số học sinh"], "int", True),
        ColumnConfig("teachers", ["Số giáo viên", "Số GV"], "int", True),
    ),
)


def _stats_status() -> CampaignStatus:
    units = (
        unit_status(
            "thcs-cao-duong",
            "Trường THCS Cao Dương",
            "complete",
            messages=1,
            last_message_at=NOW - timedelta(hours=5),
            deadline=STATS_DEADLINE,
        ),
        unit_status(
            "th-kim-an",
            "Trường Tiểu học Kim An",
            "missing",
            kind="th",
            missing=("data_table",),
            deadline=STATS_DEADLINE,
        ),
    )
    return CampaignStatus(
        "thong-ke-dau-nam-2021", STATS_TITLE, STATS_DEADLINE, "Asia/Ho_Chi_Minh", units
    )


def _week_status() -> CampaignStatus:
    sent = NOW - timedelta(hours=3)
    units = (
        unit_status(
            "thcs-bich-hoa",
            "Trường THCS Bích Hòa",
            "complete",
            messages=1,
            last_message_at=sent,
            submitted_at=sent,
            late=True,
        ),
        unit_status(
            "thcs-kim-bai",
            "Trường THCS Kim Bài",
            "missing",
            overdue=True,
            late=True,
            missing=("report", "data_table", "photos"),
        ),
    )
    loose = LooseMessage(
        42,
        "<x@gmail.com>",
        "nguyenvana1987@gmail.com",
        "Báo cáo Tuần lễ HTSĐ 2021",
        NOW - timedelta(hours=1),
        "sender address not in the roster",
        ("thcs-kim-bai",),
    )
    return CampaignStatus(
        "tuan-le-htsd-2021", TITLE, DEADLINE, "Asia/Ho_Chi_Minh", units, unassigned=(loose,)
    )


def _other() -> OtherMail:
    entries = (
        OtherEntry(
            "Báo cáo tháng 9",
            "Trường Tiểu học Bích Hòa",
            "c1bichhoa@thanhoai.example",
            NOW - timedelta(hours=2),
        ),
        OtherEntry(
            "Bản tin Nhà xuất bản Giáo dục Việt Nam tháng 10/2021",
            "",
            "bantin@nxbgd.example",
            NOW - timedelta(hours=4),
        ),
    )
    return OtherMail(5, Cut(entries, 0))


def _digest(
    parts: list[CampaignPart],
    *,
    base_url: str = BASE,
    other: OtherMail | None = None,
    status: CampaignStatus | None = None,
) -> tuple[str, str, str]:
    mail = compose_digest(
        status or parts[0].status,
        since=NOW - timedelta(days=1),
        now=NOW,
        workbook=b"",
        env=make_env(),
        recipients=("officer@thanhoai.example",),
        campaigns=parts,
        other=other or _other(),
        base_url=base_url,
    )
    return mail.subject, mail.text, mail.html or ""


def _parts() -> list[CampaignPart]:
    stats_sums = {
        ("", "classes"): 9,
        ("", "pupils"): 369,
        ("", "teachers"): 21,
        ("thcs", "classes"): 9,
        ("thcs", "pupils"): 369,
        ("thcs", "teachers"): 21,
    }
    return [
        CampaignPart(_week_status(), sealed=frozenset({"thcs-bich-hoa"})),
        CampaignPart(
            _stats_status(),
            total_columns=(
                ("số lớp", "classes"),
                ("số học sinh", "pupils"),
                ("số giáo viên", "teachers"),
            ),
            sums=stats_sums,
        ),
    ]


def test_one_digest_gives_each_campaign_its_section_and_sums() -> None:
    subject, text, html = _digest(_parts())
    assert subject == (
        f"Tổng hợp tiến độ nhận báo cáo ngày 12/10/2021: {TITLE} 1/2; {STATS_TITLE} 1/2"
    )
    week = text.split(f"==== A. {TITLE.upper()} ====")[1].split("==== B.")[0]
    stats = text.split(f"==== B. {STATS_TITLE.upper()} ====")[1].split("THƯ CHƯA XÁC ĐỊNH")[0]
    assert "Cộng số lớp/số cuộc thi:" in week and "Cộng số lớp/số cuộc thi:" not in stats
    assert "Cộng: số lớp 9; số học sinh 369; số giáo viên 21." in stats
    assert "Hạn nộp: trước 17:00 ngày 15/10/2021." in stats
    assert "Kim Bài" in week and "Kim Bài" not in stats
    assert "A.3. ĐƠN VỊ CHƯA GỬI HỒ SƠ (1)" in week and "B.3. ĐƠN VỊ CHƯA GỬI HỒ SƠ (1)" in stats
    assert f"B. {STATS_TITLE}</h2>" in html


def test_units_and_waiting_messages_link_to_the_console_only_when_it_has_an_address() -> None:
    _, text, html = _digest(_parts())
    assert (
        f'<a href="{BASE}/units/thcs-kim-bai" style="color:#1f3b5a;">Trường THCS Kim Bài</a>'
        in html
    )
    assert f'<a href="{BASE}/pending#message-42" style="color:#1f3b5a;">Thư số 42</a>' in html
    assert f"Thư số 42 <{BASE}/pending#message-42>" in text
    assert f"Trường THCS Kim Bài <{BASE}/units/thcs-kim-bai>" in text
    _, text, html = _digest(_parts(), base_url="")
    assert "/units/" not in html and "/pending" not in html and "<https" not in text


def test_a_sealed_scanned_report_reads_co_dau_do_and_other_mail_is_a_short_count() -> None:
    _, text, html = _digest(_parts())
    arrived = text.split("A.2. HỒ SƠ NHẬN ĐƯỢC")[1].split("A.3.")[0]
    assert "Trường THCS Bích Hòa" in arrived and "(có dấu đỏ)" in arrived
    assert html.count("có dấu đỏ") == 1  # Bích Hòa's report only
    assert "THƯ KHÁC (5)" in text and "mới nhận từ 08:00 ngày 11/10/2021: 2" in text
    assert '"Báo cáo tháng 9" | Trường Tiểu học Bích Hòa' in text
    assert (
        "Thư khác (5)</h2>" in html
        and "Bản tin Nhà xuất bản Giáo dục Việt Nam tháng 10/2021" in html
    )


def test_with_no_campaign_open_the_digest_keeps_the_mailbox_lists() -> None:
    subject, text, _ = _digest([], status=_week_status())
    assert "Không có kế hoạch nào đang nhận báo cáo." in text
    assert "Thư số 42" in text and TITLE not in subject


@pytest.mark.parametrize("width", [390, 1280])
def test_two_campaign_digest_reads_without_sideways_scrolling(browser: Browser, width: int) -> None:  # noqa: F811
    busy = busy_campaign()
    stats = replace(
        busy, campaign_id="thong-ke-dau-nam-2021", title=STATS_TITLE, deadline=STATS_DEADLINE
    )
    parts = [
        CampaignPart(busy, sealed=frozenset(u.code for u in busy.units[:5])),
        CampaignPart(
            stats,
            total_columns=(("số lớp", "classes"), ("số học sinh", "pupils")),
            sums={("", "pupils"): 123_456},
        ),
    ]
    _, _, html = _digest(parts)
    got = browser.render(html, width, "digest-campaigns")
    assert got.scroll_width <= width, f"the digest needs {got.scroll_width} px at {width} px"


def test_each_campaigns_section_gives_its_dates_in_its_own_timezone() -> None:
    """A campaign run from Tokyo (UTC+9) beside the week in Hà Nội (UTC+7): its deadline,
    15/10 17:00 in Hà Nội, reads 19:00 in its section; the week's stay in Hà Nội time."""
    week, stats = _parts()
    tokyo = CampaignPart(
        replace(stats.status, timezone="Asia/Tokyo"),
        total_columns=stats.total_columns,
        sums=stats.sums,
    )
    _, text, html = _digest([week, tokyo])
    week_text = text.split(f"==== A. {TITLE.upper()} ====")[1].split("==== B.")[0]
    stats_text = text.split(f"==== B. {STATS_TITLE.upper()} ====")[1].split("THƯ CHƯA XÁC ĐỊNH")[0]
    assert "Hạn nộp: trước 19:00 ngày 15/10/2021." in stats_text
    assert "trước 17:00 ngày 15/10/2021" not in text
    # Cao Dương's table came 5 hours before 08:00 on 12/10 in Hà Nội: 03:00 there, 05:00 in Tokyo
    assert "05:00 ngày 12/10/2021: Trường THCS Cao Dương" in stats_text
    assert "Hạn nộp: trước ngày 10/10/2021." in week_text
    assert "05:00 ngày 12/10/2021: Trường THCS Bích Hòa" in week_text  # 3 h before, Hà Nội
    overview = text.split("==== A.")[0]
    assert f"B. {STATS_TITLE} – hạn nộp trước 19:00 ngày 15/10/2021" in overview
    assert "Hạn nộp: trước 19:00 ngày 15/10/2021.</p>" in html
