"""The letters to units — receipt, reminder, overdue notice — rendered in a real headless
Chromium (Debian's `chromium`, tests/support/browser.py) at a phone's 390 px and a desktop's 1280
px:
no sideways scrolling, whatever long unbroken strings real mail brings (a file name that is one
word, a Drive link, a long unit name); the screenshots are kept as test artifacts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from notifier.message import OutgoingMail
from notifier.receipts import compose_receipt
from notifier.receivedfiles import PhotoLink, Received, Relay, Row, files_of
from notifier.reminders import Notice, compose_reminder
from notifier.render import make_env
from store.queries import CampaignStatus, Items, UnitStatus
from tests.support.browser import Browser, browser  # noqa: F401 - the session fixture

DEADLINE = datetime(2021, 10, 9, 17, 0, tzinfo=UTC)  # 10/10/2021 00:00 in Hà Nội
TITLE = "Tuần lễ hưởng ứng học tập suốt đời năm 2021"
LONG_NAME = (
    "BaoCao_TuanLe_HocTapSuotDoi_2021_TruongTHCSThanhMai_ban_chinh_thuc_final_v3_da_sua.docx"
)
LONG_LINK = (
    "https://drive.google.com/drive/folders/1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
    "?usp=sharing&resourcekey=0-AbCdEfGhIjKlMnOpQrStUv"
)


def _unit(**kw: object) -> UnitStatus:
    base: dict[str, object] = dict(
        code="gdnn-gdtx",
        name="Trung tâm Giáo dục nghề nghiệp – Giáo dục thường xuyên huyện Thanh Oai",
        kind="gdnn-gdtx",
        emails=("ttgdnn-gdtx.thanhoai.hanoi.edu.vn.vanthu@gmail.com",),
        state="incomplete",
        late=False,
        submitted_at=DEADLINE - timedelta(days=2),
        last_message_at=DEADLINE - timedelta(days=2),
        messages=1,
        items=Items(report=True, data_table=True, photos=0),
        total_classes=7,
        total_participants=1200,
        missing=("photos",),
        deadline=DEADLINE,
    )
    base.update(kw)
    return UnitStatus(**base)  # type: ignore[arg-type]


def _campaign(u: UnitStatus) -> CampaignStatus:
    return CampaignStatus("tuan-le-htsd-2021", TITLE, DEADLINE, "Asia/Ho_Chi_Minh", (u,))


def _receipt() -> OutgoingMail:
    rows = [
        Row(1, None, LONG_NAME, "document", "data_table,photo,report", 3, ""),
        Row(
            2,
            None,
            "HoSo_TTGDNN-GDTX_ThanhOai_TuanLeHTSD_2021_day_du.zip",
            "archive",
            "",
            0,
            f"{LONG_NAME}: file is larger than 50 MB uncompressed",
        ),
        Row(
            3,
            2,
            "TongHopSoLieu_TTGDNN-GDTX_ThanhOai_2021_bieu_mau_kem_theo.xlsx",
            "spreadsheet",
            "data_table",
            0,
            "",
        ),
        Row(
            4, None, "SoLieu_co_mat_khau_123456.xlsx", "other", "", 0, "file is password-protected"
        ),
    ]
    u = _unit()
    got = Received(
        files_of(rows),
        (PhotoLink(LONG_LINK, "Google Drive"),),
        Relay("phongvanthu.ubndxathanhmai.huyenthanhoai2021@gmail.com", "UBND xã Thanh Mai"),
    )
    return compose_receipt(
        u,
        _campaign(u),
        received=got,
        to="phongvanthu.ubndxathanhmai.huyenthanhoai2021@gmail.com",
        in_reply_to="",
        now=DEADLINE - timedelta(days=1),
        env=make_env(),
        original_subject="V/v gửi " + LONG_NAME,
    )


def _notice(kind: str) -> OutgoingMail:
    u = _unit(
        state="missing",
        items=Items(),
        missing=("report", "data_table", "photos"),
        overdue=kind == "overdue",
    )
    notice = Notice(u.code, kind, f"{kind}-1", u.emails, u.missing, DEADLINE, DEADLINE)
    now = DEADLINE + (timedelta(days=1) if kind == "overdue" else -timedelta(days=3))
    return compose_reminder(notice, u, _campaign(u), now, make_env())


LETTERS = {
    "receipt": _receipt,
    "reminder": lambda: _notice("reminder"),
    "overdue": lambda: _notice("overdue"),
}


@pytest.mark.parametrize("width", [390, 1280])
@pytest.mark.parametrize("letter", sorted(LETTERS))
def test_letters_read_without_sideways_scrolling(browser: Browser, letter: str, width: int) -> None:  # noqa: F811
    mail = LETTERS[letter]()
    assert mail.html is not None
    got = browser.render(mail.html, width, f"letter-{letter}")
    assert got.scroll_width <= width, f"the {letter} needs {got.scroll_width} px at {width} px"
    assert got.screenshot.stat().st_size > 10_000


def test_the_receipt_under_test_carries_the_long_strings() -> None:
    """The rendering test above would prove nothing if the letter dropped what stretches it."""
    html = _receipt().html or ""
    for needle in (LONG_NAME, LONG_LINK.replace("&", "&amp;"), "phongvanthu.ubndxathanhmai"):
        assert needle in html
