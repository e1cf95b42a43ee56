"""The officer's flows in a real browser: Debian's headless Chromium driven by Playwright against
`intake web`'s waitress server on a real store. Log in, find a unit by name typed without
diacritics, extend its deadline, assign a waiting email by a name typed without diacritics,
mark another as other mail and put it back, send a reminder now, download the unit's zip, the
workbook and the zip of all units, try quarantined mail again — then the store and the audit
log show it. Sender-written <script> stays
text. Screenshots at 390 px and 1280 px are kept under $INTAKE_TEST_ARTIFACTS/web
(default: $TMPDIR/intake-test-artifacts/web)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from core.clock import FixedClock
from store.models import OutboxMail, Unit
from tests.support.browser import ARTIFACTS as BROWSER_ARTIFACTS
from tests.support.browser import Browser, browser  # noqa: F401 - the session fixture
from tests.support.websupport import (
    HOSTILE_NAME,
    HOSTILE_SUBJECT,
    PASSWORD,
    QUARANTINED_SUBJECT,
    Site,
    audit_actions,
    running_site,
)

ARTIFACTS = BROWSER_ARTIFACTS / "web"


@pytest.fixture
def chromium(browser: Browser) -> Any:  # noqa: F811
    """The session's headless Chromium (tests/support/browser.py: one sync Playwright per
    process)."""
    return browser.chromium


@pytest.fixture
def site(tmp_path: Path, clock: FixedClock) -> Iterator[Site]:
    with running_site(tmp_path, None, clock) as s:
        yield s


def _shots(page: Any, name: str) -> None:
    """Full-page screenshots at 1280 and 390 px; at 390 nothing may be wider than the screen."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
        scroll = page.evaluate(
            "Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
        )
        assert scroll <= width, f"{name} is {scroll} px wide at {width} px"
    page.set_viewport_size({"width": 1280, "height": 900})


def test_officer_finds_a_unit_extends_it_assigns_mail_and_downloads_the_workbook(
    chromium: Any, site: Site
) -> None:
    context = chromium.new_context(
        viewport={"width": 1280, "height": 900},
        accept_downloads=True,
        locale="vi-VN",
        timezone_id="Asia/Ho_Chi_Minh",
    )
    page = context.new_page()
    dialogs: list[str] = []

    def on_dialog(dialog: Any) -> None:  # none is expected: kept, and dismissed
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    try:
        page.goto(site.url + "/")
        assert "/login" in page.url
        page.fill("input[name=name]", "co.hoa")
        page.fill("input[name=password]", PASSWORD)
        page.click("button:has-text('Đăng nhập')")
        page.wait_for_selector("h1:has-text('Tổng quan')")
        _shots(page, "tong-quan")

        page.fill("input[name=q]", "tieu hoc kim bai")  # no diacritics
        page.click("button:has-text('Lọc')")
        rows = page.locator("tbody tr")
        assert rows.count() == 1
        page.click("a:has-text('Trường Tiểu học Kim Bài')")
        page.wait_for_selector("h1:has-text('Trường Tiểu học Kim Bài')")
        assert page.locator("img.thumb").count() == 1  # the photo's thumbnail
        page.fill("input[name=until]", "2021-10-15")
        page.click("button:has-text('Gia hạn')")
        page.wait_for_selector("text=Đã gia hạn thời hạn nộp cho đơn vị.")
        assert "trước ngày 16/10/2021 (đã gia hạn)" in page.inner_text("dl.facts")
        _shots(page, "don-vi")

        page.click("nav a:has-text('Chờ xử lý')")
        waiting = site.message("tieu-de")
        article = page.locator(f"#message-{waiting.id}")
        assert article.locator("h3").inner_text() == HOSTILE_SUBJECT  # shown as text
        assert HOSTILE_NAME in article.locator("p.meta").inner_text()
        assert page.evaluate("document.scripts.length") == 0
        _shots(page, "cho-xu-ly")
        article.locator("input[name=unit]").fill("truong thcs thanh mai")
        article.locator("button:has-text('Giao thư')").click()
        page.wait_for_selector("text=Đã giao thư cho đơn vị.")
        assert page.locator(f"#message-{waiting.id}").count() == 0

        # the other waiting email is no report: other mail, kept and listed
        minh = site.message("gửi báo cáo")
        page.goto(f"{site.url}/pending#message-{minh.id}")  # as the digest links it
        page.locator(f"#message-{minh.id} button:has-text('chuyển sang Thư khác')").click()
        page.wait_for_selector("text=Đã chuyển thư sang Thư khác.")
        page.click("nav a:has-text('Thư khác')")
        assert page.locator(f"#message-{minh.id}").count() == 1
        _shots(page, "thu-khac")
        # a mistake after all: back to the campaign, waiting for its unit again
        page.locator(f"#message-{minh.id} button:has-text('Đưa về đợt này')").click()
        page.wait_for_selector("text=Đã chuyển thư sang đợt báo cáo khác.")

        # a reminder now to a unit that has sent nothing, and its files as a zip
        page.goto(f"{site.url}/units/th-kim-bai")
        page.click("button:has-text('Gửi thư nhắc ngay')")
        page.wait_for_selector("text=Đã xếp thư nhắc vào hàng gửi")
        with page.expect_download() as zinfo:
            page.click("a:has-text('Tải tất cả tệp của đơn vị')")
        unit_zip = ARTIFACTS / zinfo.value.suggested_filename
        zinfo.value.save_as(str(unit_zip))

        page.click("nav a:has-text('Tải về')")
        with page.expect_download() as info:
            page.click("a:has-text('Bảng tổng hợp')")
        download = info.value
        saved = ARTIFACTS / download.suggested_filename
        download.save_as(str(saved))
        with page.expect_download() as ainfo:
            page.click("a:has-text('Tệp của tất cả đơn vị')")
        all_zip = ARTIFACTS / ainfo.value.suggested_filename
        ainfo.value.save_as(str(all_zip))
        _shots(page, "tai-ve")
        page.click("nav a:has-text('Tình trạng hệ thống')")
        _shots(page, "tinh-trang")
        page.click("button:has-text('Thử lại')")  # the quarantined report, read again
        page.wait_for_selector("text=Đã đọc lại thư.")
        assert dialogs == []
    finally:
        context.close()

    from openpyxl import load_workbook

    assert download.suggested_filename == "tong-hop-tuan-le-htsd-2021-2021-10-05.xlsx"
    book = load_workbook(io.BytesIO(saved.read_bytes()), read_only=True)
    assert "Tổng hợp số liệu" in book.sheetnames and "Tình trạng đơn vị" in book.sheetnames
    msg = site.message("tieu-de")
    with site.app.sessions() as s:
        extended = s.scalar(select(Unit.extended_until).where(Unit.code == "th-kim-bai"))
        filed_to = s.scalar(select(Unit.code).where(Unit.id == msg.unit_id))
    assert extended == datetime(2021, 10, 16, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
    assert msg.state == "filed" and filed_to == "thcs-thanh-mai" and msg.assigned_by == "co.hoa"
    done = [(actor, action) for actor, action, _ in audit_actions(site)]
    assert ("co.hoa", "web.login") in done and ("co.hoa", "extend") in done
    assert ("co.hoa", "assign") in done and ("co.hoa", "remind") in done
    assert [a[2]["campaign"] for a in audit_actions(site) if a[1] == "move"] == [
        "other",
        "tuan-le-htsd-2021",
    ]
    minh = site.message("gửi báo cáo")
    assert (minh.state, minh.campaign_by) == ("unassigned", "co.hoa")
    assert site.message(QUARANTINED_SUBJECT).state == "filed"
    with site.app.sessions() as s:
        (reminder,) = s.scalars(select(OutboxMail)).all()
    assert (reminder.unit_code, reminder.kind, reminder.state) == (
        "th-kim-bai",
        "reminder",
        "pending",
    )
    with zipfile.ZipFile(unit_zip) as z:
        assert any(n.endswith("/Ảnh hoạt động 1.jpg") for n in z.namelist())
    with zipfile.ZipFile(all_zip) as z:
        assert {n.split("/", 1)[0] for n in z.namelist()} == {"th-kim-bai", "thcs-thanh-mai"}
