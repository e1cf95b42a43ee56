"""The digest's mailbox-wide lists with several campaigns: mail whose unit is known but whose
campaign is unclear is listed apart from mail whose unit is unclear, with `intake move` and its
candidate campaigns by title (issue 15 items 2 and 4, as the officer reads the digest)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from notifier.digest import CampaignPart, compose_digest
from notifier.render import make_env
from store.queries import CampaignStatus, LooseMessage

ICT = timezone(timedelta(hours=7))
NOW = datetime(2021, 10, 12, 8, 0, tzinfo=ICT)
WEEK_ID, STATS_ID = "tuan-le-htsd-2021", "thong-ke-dau-nam-2021"
WEEK_TITLE = "Tuần lễ hưởng ứng học tập suốt đời năm 2021"
STATS_TITLE = "Thống kê số liệu đầu năm học 2021-2022"

STRANGER = LooseMessage(
    42,
    "<a@gmail.com>",
    "nguyenvana1987@gmail.com",
    "Báo cáo Tuần lễ HTSĐ 2021",
    NOW - timedelta(hours=1),
    "sender address not in the roster",
    ("thcs-kim-bai",),
)
UNCLEAR = LooseMessage(
    43,
    "<b@thanhoai.example>",
    "thcs-binh-minh@thanhoai.example",
    "Báo cáo Tuần lễ HTSĐ - Trường THCS Bình Minh",
    NOW - timedelta(hours=2),
    f"campaign unclear: the email names {WEEK_ID} but its files are {STATS_ID}'s",
    (STATS_ID, WEEK_ID),
)
# a stranger whose email names one campaign and whose file another: its unit is unknown too, so
# it waits for `intake assign` first (after it, for `intake move`)
STRANGER_UNCLEAR = LooseMessage(
    44,
    "<c@gmail.com>",
    "thuy.nguyen.gv@gmail.com",
    "Báo cáo Tuần lễ HTSĐ",
    NOW - timedelta(hours=3),
    f"campaign unclear: the email names {WEEK_ID} but its files are {STATS_ID}'s",
    (),
)


def _digest() -> tuple[str, str]:
    week = CampaignStatus(
        WEEK_ID,
        WEEK_TITLE,
        datetime(2021, 10, 10, tzinfo=ICT),
        "Asia/Ho_Chi_Minh",
        (),
        unassigned=(STRANGER, UNCLEAR, STRANGER_UNCLEAR),
    )
    stats = CampaignStatus(
        STATS_ID, STATS_TITLE, datetime(2021, 10, 15, 17, tzinfo=ICT), "Asia/Ho_Chi_Minh", ()
    )
    mail = compose_digest(
        week,
        since=NOW - timedelta(days=1),
        now=NOW,
        workbook=b"",
        env=make_env(),
        recipients=("officer@thanhoai.example",),
        campaigns=[CampaignPart(week), CampaignPart(stats)],
        campaign_titles={WEEK_ID: WEEK_TITLE, STATS_ID: STATS_TITLE},
    )
    return mail.text, mail.html or ""


def test_digest_lists_mail_waiting_for_its_campaign_apart_with_intake_move() -> None:
    text, html = _digest()
    by_unit = text.split("THƯ CHƯA XÁC ĐỊNH ĐƯỢC ĐƠN VỊ (2)")[1].split("THƯ CHỜ XÁC ĐỊNH")[0]
    assert "Thư số 42" in by_unit and "Thư số 44" in by_unit and "Thư số 43" not in by_unit
    head = "THƯ CHỜ XÁC ĐỊNH THUỘC KẾ HOẠCH NÀO (1)"
    by_campaign = text.split(head)[1].split("THƯ BỊ CÁCH LY")[0]
    assert "intake move SỐ-THƯ MÃ-KẾ-HOẠCH" in by_campaign
    assert "Thư số 43" in by_campaign
    assert "Thư số 42" not in by_campaign and "Thư số 44" not in by_campaign
    assert f"có thể thuộc: {STATS_TITLE} ({STATS_ID}); {WEEK_TITLE} ({WEEK_ID})" in by_campaign
    assert "chưa rõ thuộc kế hoạch nào" in by_campaign
    assert "Thư chờ xác định thuộc kế hoạch nào (1)</h2>" in html
    assert "<code>intake move SỐ-THƯ MÃ-KẾ-HOẠCH</code>" in html
    assert f"Có thể thuộc: {STATS_TITLE} ({STATS_ID})" in html
