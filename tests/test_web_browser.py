"""The officer's flows in a real browser: Debian's headless Chromium driven by Playwright against
`intake web`'s waitress server on a real store. Log in, find a unit by name typed without
diacritics, extend its deadline, assign a waiting email by a name typed without diacritics,
download the workbook — then the store and the audit log show it. Sender-written <script> stays
text. Screenshots at 390 px and 1280 px are kept under $INTAKE_TEST_ARTIFACTS/web
(default: $TMPDIR/intake-test-artifacts/web)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from core.clock import FixedClock
from store.models import Unit
from tests.browser import ARTIFACTS as BROWSER_ARTIFACTS
from tests.browser import Browser, browser  # noqa: F401 - the session fixture
from tests.websupport import (
    HOSTILE_NAME,
    HOSTILE_SUBJECT,
    PASSWORD,
    Site,
    audit_actions,
    running_site,
)

ARTIFACTS = BROWSER_ARTIFACTS / "web"


@pytest.fixture
def chromium(browser: Browser) -> Any:  # noqa: F811
    """The session's headless Chromium (tests/browser.py: one sync Playwright per process)."""
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
        scroll = page.evaluate("Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)")
        assert scroll <= width, f"{name} is {scroll} px wide at {width} px"
    page.set_viewport_size({"width": 1280, "height": 900})


def test_officer_finds_a_unit_extends_it_assigns_mail_and_downloads_the_workbook(
        chromium: Any, site: Site) -> None:
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True,
                                   locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
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
        article = page.locator(f"#m{waiting.id}")
        assert article.locator("h3").inner_text() == HOSTILE_SUBJECT  # shown as text
        assert HOSTILE_NAME in article.locator("p.meta").inner_text()
        assert page.evaluate("document.scripts.length") == 0
        _shots(page, "cho-xu-ly")
        article.locator("input[name=unit]").fill("truong thcs thanh mai")
        article.locator("button:has-text('Giao thư')").click()
        page.wait_for_selector("text=Đã giao thư cho đơn vị.")
        assert page.locator(f"#m{waiting.id}").count() == 0

        page.click("nav a:has-text('Tải về')")
        with page.expect_download() as info:
            page.click("a:has-text('Bảng tổng hợp')")
        download = info.value
        saved = ARTIFACTS / download.suggested_filename
        download.save_as(str(saved))
        page.click("nav a:has-text('Tình trạng hệ thống')")
        _shots(page, "tinh-trang")
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
    assert ("co.hoa", "assign") in done
