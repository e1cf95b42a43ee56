"""The officer's digest as people see it (issue 16 items 4–6): "quá hạn" apart from "nộp muộn",
what the officer needs to act (message numbers, candidate names with codes, extensions), and a
layout that reads on a 390 px phone and a 1280 px desktop in a real Chromium."""

from __future__ import annotations

from datetime import timedelta

import pytest

from notifier.digest import compose_digest
from notifier.render import make_env
from notifier.workbook import build_workbook
from store.queries import CampaignStatus, LooseMessage
from tests.support.browser import Browser, browser  # noqa: F401 - the session fixture
from tests.support.workbookdata import DEADLINE, TITLE, busy_campaign, unit_status

NOW = DEADLINE + timedelta(days=2, hours=8)  # 12/10/2021 08:00 in Hà Nội


def _mail(status: CampaignStatus, **kw: object) -> tuple[str, str]:
    mail = compose_digest(
        status,
        since=None,
        now=NOW,
        workbook=b"",
        env=make_env(),
        recipients=("officer@thanhoai.example",),
        **kw,
    )  # type: ignore[arg-type]
    return mail.text, mail.html or ""


def test_digest_calls_units_that_sent_nothing_overdue_not_late() -> None:
    sent = DEADLINE + timedelta(hours=5)
    units = (
        unit_status(
            "thcs-bich-hoa",
            "Trường THCS Bích Hòa",
            "missing",
            late=True,
            overdue=True,
            missing=("report", "data_table", "photos"),
        ),
        unit_status(
            "thcs-cao-duong",
            "Trường THCS Cao Dương",
            "incomplete",
            late=True,
            overdue=True,
            submitted_at=sent,
            last_message_at=sent,
            messages=1,
            missing=("photos",),
        ),
        unit_status(
            "thcs-kim-an",
            "Trường THCS Kim An",
            "complete",
            late=True,
            submitted_at=sent,
            last_message_at=sent,
            messages=2,
        ),
        unit_status(
            "thcs-kim-bai",
            "Trường THCS Kim Bài",
            "complete",
            submitted_at=DEADLINE - timedelta(days=1),
            messages=1,
        ),
    )
    text, html = _mail(CampaignStatus("c", TITLE, DEADLINE, "Asia/Ho_Chi_Minh", units))
    assert "quá hạn (chưa gửi hoặc chưa đủ): 2; nộp muộn (đủ hồ sơ sau hạn): 1." in text
    late = text.split("5. ĐƠN VỊ NỘP MUỘN")[1].split("\n6.")[0]
    assert "Trường THCS Kim An" in late
    assert "Bích Hòa" not in late and "Cao Dương" not in late
    assert "  - Trường THCS Bích Hòa (THCS): thcs-bich-hoa@thanhoai.example; QUÁ HẠN" in text
    assert "quá hạn (chưa gửi hoặc chưa đủ): <strong>2</strong>" in html
    assert "nộp muộn (đủ hồ sơ sau hạn): <strong>1</strong>" in html


def test_digest_gives_the_officer_message_numbers_unit_names_and_extensions() -> None:
    extended = DEADLINE + timedelta(days=6)  # the end of 15/10/2021
    units = (
        unit_status(
            "thcs-kim-bai", "Trường THCS Kim Bài", "missing", missing=("report",), deadline=extended
        ),
        unit_status("thcs-thanh-mai", "Trường THCS Thanh Mai", "missing", missing=("report",)),
    )
    loose = LooseMessage(
        42,
        "<x@gmail.com>",
        "hieupho.thcs@gmail.com",
        "Báo cáo tuần lễ",
        DEADLINE,
        "sender address not in the roster",
        ("thcs-kim-bai", "thcs-thanh-mai"),
    )
    status = CampaignStatus("c", TITLE, DEADLINE, "Asia/Ho_Chi_Minh", units, unassigned=(loose,))
    text, html = _mail(status)
    assert (
        "  - Thư số 42 | 00:00 ngày 10/10/2021 | hieupho.thcs@gmail.com | "
        '"Báo cáo tuần lễ" | lý do: địa chỉ gửi không có trong danh sách đơn vị | có thể là: '
        "Trường THCS Kim Bài (thcs-kim-bai); Trường THCS Thanh Mai (thcs-thanh-mai)"
    ) in text
    assert "intake assign SỐ-THƯ MÃ-ĐƠN-VỊ" in text
    assert (
        "ĐƠN VỊ ĐƯỢC GIA HẠN (1)\n"
        "  - Trường THCS Kim Bài (thcs-kim-bai): hạn mới hết ngày 15/10/2021" in text
    )
    assert "được gia hạn đến hết ngày 15/10/2021" in text
    assert "<strong>Thư số 42</strong>" in html
    assert "Trường THCS Kim Bài (thcs-kim-bai); Trường THCS Thanh Mai (thcs-thanh-mai)" in html
    assert "Hạn mới: hết ngày 15/10/2021" in html


@pytest.mark.parametrize("width", [390, 1280])
def test_digest_reads_without_sideways_scrolling(browser: Browser, width: int) -> None:  # noqa: F811
    status = busy_campaign()
    _, html = _mail(status)
    got = browser.render(html, width, "digest")
    assert got.scroll_width <= width, f"the digest needs {got.scroll_width} px at {width} px"
    assert got.screenshot.stat().st_size > 10_000


def test_digest_html_keeps_to_tables_and_inline_styles() -> None:
    _, html = _mail(busy_campaign())
    assert "<style" not in html and "<div" not in html.replace('<div style="margin:4px 0;">', "")
    assert "class=" not in html


def test_workbook_still_builds_for_the_busy_campaign() -> None:
    status = busy_campaign()
    assert build_workbook(status, [], now=NOW)[:2] == b"PK"
