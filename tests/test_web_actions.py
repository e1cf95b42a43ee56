"""What the officer changes from the console beyond assigning and extending, over HTTP against
`intake web`'s waitress server on a real store: other mail and campaign moves (the same
intake.campaignmoves.move as `intake move`), quarantined mail tried again (the filer's reparse),
a reminder now through the outbox delivered to the real aiosmtpd sink, failed mail requeued,
the streamed zips, the overview's filters. Two officers acting on one message or one unit at
once, as two real concurrent requests, on SQLite and PostgreSQL: one wins, the other is told,
nothing is doubled."""

from __future__ import annotations

import html
import io
import re
import threading
import zipfile
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select

from core.clock import FixedClock
from intake.app import build_mailer
from notifier.outbox import deliver_due
from store.models import Attachment, Message, OutboxMail, Unit
from tests.support.docgen_media import phone_jpeg
from tests.support.docgen_tables import make_xlsx_workbook
from tests.support.smtpserver import SmtpServer, smtp_server  # noqa: F401 - the fixture
from tests.support.websupport import (
    HOSTILE_FILE,
    QUARANTINED_SUBJECT,
    Client,
    Reply,
    Site,
    audit_actions,
    running_site,
)

SECOND = """
[[campaigns]]
id = "tuan-le-htsd-2021"
title = "Tuần lễ hưởng ứng học tập suốt đời năm 2021"
deadline = "2021-10-10T00:00:00+07:00"

[[campaigns]]
id = "thong-ke-dau-nam-2021"
title = "Thống kê số liệu đầu năm học 2021-2022"
deadline = "2021-10-15T17:00:00+07:00"
keywords = ["thống kê đầu năm", "số liệu đầu năm"]
required = ["data_table"]
min_photos = 0
"""


@pytest.fixture
def site(tmp_path: Path, db_url: str, clock: FixedClock) -> Iterator[Site]:
    with running_site(tmp_path, db_url, clock) as s:
        yield s


def _officer(site: Site, name: str = "co.hoa") -> tuple[Client, str]:
    client = Client(site.url)
    assert client.login(name).status == 303
    return client, client.get("/pending").csrf()


def _seen(msg: Message) -> str:
    return f"{msg.state}:{msg.campaign_id}"


def _at_once(*calls: Callable[[], Reply]) -> list[Reply]:
    """The calls as concurrent requests, released together."""
    start = threading.Barrier(len(calls))
    replies: list[Reply | None] = [None] * len(calls)

    def run(i: int) -> None:
        start.wait()
        replies[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert all(r is not None for r in replies)
    return [r for r in replies if r is not None]


def test_waiting_mail_marked_as_other_is_kept_listed_and_can_be_put_back(site: Site) -> None:
    officer, csrf = _officer(site)
    waiting = site.message("gửi báo cáo")
    page = officer.get("/pending")
    assert f'id="message-{waiting.id}"' in page.text
    r = officer.post(
        f"/messages/{waiting.id}/move",
        {"csrf": csrf, "campaign_to": "other", "back": "pending", "seen": _seen(waiting)},
    )
    assert r.status == 303 and r.location == "/pending?ok=other"
    assert "Đã chuyển thư sang Thư khác." in officer.get(r.location).text
    msg = site.message("gửi báo cáo")
    assert (msg.state, msg.campaign_id, msg.campaign_by) == ("other", "other", "co.hoa")
    assert f'id="message-{waiting.id}"' not in officer.get("/pending").text
    other = officer.get("/other")
    assert f'id="message-{waiting.id}"' in other.text and "IMG_20211006_3.jpg" in other.text
    assert "Do co.hoa chuyển sang Thư khác." in other.text
    moves = [(a[0], a[2]["campaign"]) for a in audit_actions(site) if a[1] == "move"]
    assert moves == [("co.hoa", "other")]
    # a mistake: it belongs to the campaign after all, and waits for its unit again
    r = officer.post(
        f"/messages/{waiting.id}/move",
        {"csrf": csrf, "campaign_to": "tuan-le-htsd-2021", "back": "other", "seen": _seen(msg)},
    )
    assert r.status == 303 and r.location == "/other?ok=moved"
    msg = site.message("gửi báo cáo")
    assert (msg.state, msg.campaign_id) == ("unassigned", "tuan-le-htsd-2021")
    assert f'id="message-{waiting.id}"' in officer.get("/pending").text
    assert "Không có thư khác." in officer.get("/other").text


def test_a_message_moved_to_another_campaign_counts_there(
    tmp_path: Path, clock: FixedClock
) -> None:
    with running_site(tmp_path, None, clock, campaigns_toml=SECOND) as site:
        officer, csrf = _officer(site)
        msg = site.message("tieu-de")
        page = officer.get("/pending")
        assert "Thống kê số liệu đầu năm học 2021-2022" in page.text  # offered as a target
        r = officer.post(
            f"/messages/{msg.id}/assign", {"csrf": csrf, "unit": "Trường THCS Thanh Mai"}
        )
        assert r.status == 303
        filed = site.message("tieu-de")
        assert filed.state == "filed" and filed.campaign_id == "tuan-le-htsd-2021"
        r = officer.post(
            f"/messages/{msg.id}/move",
            {
                "csrf": csrf,
                "campaign_to": "thong-ke-dau-nam-2021",
                "back": "pending",
                "seen": _seen(filed),
            },
        )
        assert r.status == 303
        moved = site.message("tieu-de")
        assert (moved.state, moved.campaign_id, moved.campaign_by) == (
            "filed",
            "thong-ke-dau-nam-2021",
            "co.hoa",
        )
        units = {
            k: officer.get(f"/?campaign={k}&q=thanh+mai").text
            for k in ("tuan-le-htsd-2021", "thong-ke-dau-nam-2021")
        }
        assert "Thống kê số liệu đầu năm học 2021-2022" in units["thong-ke-dau-nam-2021"]
        unit = officer.get("/units/thcs-thanh-mai?campaign=thong-ke-dau-nam-2021")
        assert unit.status == 200 and f"thư số {msg.id}" in unit.text
        # a campaign not configured is refused, and nothing changes
        r = officer.post(
            f"/messages/{msg.id}/move",
            {"csrf": csrf, "campaign_to": "khong-co", "back": "pending", "seen": _seen(moved)},
        )
        assert r.status == 400 and "Hãy chọn một đợt báo cáo" in r.text
        assert site.message("tieu-de").campaign_id == "thong-ke-dau-nam-2021"


def test_two_officers_moving_one_message_at_once_one_wins_the_other_is_told(site: Site) -> None:
    (hoa, hoa_csrf), (nam, nam_csrf) = _officer(site, "co.hoa"), _officer(site, "thay.nam")
    msg = site.message("tieu-de")
    seen = _seen(msg)
    path = f"/messages/{msg.id}"
    replies = _at_once(
        lambda: hoa.post(
            f"{path}/move",
            {"csrf": hoa_csrf, "campaign_to": "other", "back": "pending", "seen": seen},
        ),
        lambda: nam.post(f"{path}/assign", {"csrf": nam_csrf, "unit": "th-kim-bai"}),
    )
    assert sorted(r.status for r in replies) == [303, 409], [r.status for r in replies]
    winner = "co.hoa" if replies[0].status == 303 else "thay.nam"
    loser = replies[1] if winner == "co.hoa" else replies[0]
    assert f"đã được {winner} xử lý trước bạn" in loser.text
    done = [(a[0], a[1]) for a in audit_actions(site) if a[1] in ("move", "assign")]
    assert done == [(winner, "move" if winner == "co.hoa" else "assign")]
    after = site.message("tieu-de")
    assert after.state == ("other" if winner == "co.hoa" else "filed")


def test_two_officers_moving_one_message_the_same_way_move_it_once(site: Site) -> None:
    (hoa, hoa_csrf), (nam, nam_csrf) = _officer(site, "co.hoa"), _officer(site, "thay.nam")
    msg = site.message("gửi báo cáo")
    form = {"campaign_to": "other", "back": "pending", "seen": _seen(msg)}
    replies = _at_once(
        lambda: hoa.post(f"/messages/{msg.id}/move", {"csrf": hoa_csrf, **form}),
        lambda: nam.post(f"/messages/{msg.id}/move", {"csrf": nam_csrf, **form}),
    )
    assert sorted(r.status for r in replies) == [303, 409]
    assert len([a for a in audit_actions(site) if a[1] == "move"]) == 1
    assert "xử lý trước bạn" in next(r for r in replies if r.status == 409).text


def test_quarantined_mail_tried_again_is_filed_and_only_once(site: Site) -> None:
    (hoa, hoa_csrf), (nam, nam_csrf) = _officer(site, "co.hoa"), _officer(site, "thay.nam")
    bad = site.message(QUARANTINED_SUBJECT)
    assert bad.state == "quarantined" and "too many MIME parts" in bad.reason
    page = hoa.get("/system")
    assert f'id="quarantined-{bad.id}"' in page.text and "Thử lại" in page.text
    form = {"message": str(bad.id)}
    replies = _at_once(
        lambda: hoa.post("/system/retry", {"csrf": hoa_csrf, **form}),
        lambda: nam.post("/system/retry", {"csrf": nam_csrf, **form}),
    )
    assert sorted(r.status for r in replies) == [303, 409], [r.status for r in replies]
    again = site.message(QUARANTINED_SUBJECT)
    assert again.state == "filed"
    with site.app.sessions() as s:
        code = s.scalar(select(Unit.code).where(Unit.id == again.unit_id))
        files = s.scalars(select(Attachment.filename).where(Attachment.message_fk == bad.id)).all()
    assert code == "th-kim-an" and len(files) == 6
    assert len([a for a in audit_actions(site) if a[1] == "reparse"]) == 1
    assert f'id="quarantined-{bad.id}"' not in hoa.get("/system").text


def test_a_reminder_now_goes_out_once_and_failed_mail_is_requeued(
    tmp_path: Path,
    clock: FixedClock,
    smtp_server: SmtpServer,  # noqa: F811
) -> None:
    smtp = {
        "host": "127.0.0.1",
        "port": smtp_server.port,
        "security": "none",
        "sender": "Phòng GD&ĐT huyện Thanh Oai <totrunghoc-thanhoai@thanhoai.example>",
    }
    with running_site(tmp_path, None, clock, sections={"smtp": smtp}) as site:
        (hoa, hoa_csrf), (nam, nam_csrf) = _officer(site, "co.hoa"), _officer(site, "thay.nam")
        assert "Gửi thư nhắc ngay" in hoa.get("/units/th-thanh-cao").text
        replies = _at_once(
            lambda: hoa.post("/units/th-thanh-cao/remind", {"csrf": hoa_csrf}),
            lambda: nam.post("/units/th-thanh-cao/remind", {"csrf": nam_csrf}),
        )
        assert sorted(r.status for r in replies) == [303, 409], [r.status for r in replies]
        assert "đã có một thư nhắc gửi ngay" in next(r for r in replies if r.status == 409).text
        with site.app.sessions() as s:
            rows = s.scalars(select(OutboxMail).where(OutboxMail.unit_code == "th-thanh-cao")).all()
            assert [(o.kind, o.slot, o.state) for o in rows] == [
                ("reminder", "manual@2021-10-05", "pending")
            ]
        # delivered by the daemon's outbox; the first try is refused for good (550)
        smtp_server.refuse["th-thanh-cao@thanhoai.example"] = "550 5.1.1 No such user"
        mailer = build_mailer(site.app.cfg)
        assert mailer is not None
        assert deliver_due(site.app.sessions, site.app.files, mailer, clock).failed == 1
        system = hoa.get("/system")
        assert "Không gửi được" in system.text and "Gửi lại thư gửi không được" in system.text
        smtp_server.refuse.clear()
        r = hoa.post("/system/outbox/requeue", {"csrf": hoa_csrf})
        assert r.status == 303 and "Đã đưa thư gửi không được" in hoa.get(r.location).text
        assert deliver_due(site.app.sessions, site.app.files, mailer, clock).sent == 1
        assert deliver_due(site.app.sessions, site.app.files, mailer, clock).sent == 0
        (got,) = smtp_server.received
        assert got.rcpt_tos == ["th-thanh-cao@thanhoai.example"]
        actions = [(a[0], a[1]) for a in audit_actions(site) if a[1] in ("remind", "outbox-retry")]
        assert len(actions) == 2 and actions[1] == ("co.hoa", "outbox-retry")


def test_one_failed_mail_requeued_by_two_officers_at_once_is_sent_once(
    tmp_path: Path,
    db_url: str,
    clock: FixedClock,
    smtp_server: SmtpServer,  # noqa: F811
) -> None:
    smtp = {"host": "127.0.0.1", "port": smtp_server.port, "security": "none"}
    with running_site(tmp_path, db_url, clock, sections={"smtp": smtp}) as site:
        (hoa, hoa_csrf), (nam, nam_csrf) = _officer(site, "co.hoa"), _officer(site, "thay.nam")
        for code in ("th-thanh-cao", "mn-kim-bai"):
            assert hoa.post(f"/units/{code}/remind", {"csrf": hoa_csrf}).status == 303
            smtp_server.refuse[f"{code}@thanhoai.example"] = "550 5.1.1 No such user"
        mailer = build_mailer(site.app.cfg)
        assert mailer is not None
        assert deliver_due(site.app.sessions, site.app.files, mailer, clock).failed == 2
        with site.app.sessions() as s:
            ids = {code: pk for code, pk in s.execute(select(OutboxMail.unit_code, OutboxMail.id))}
        page = hoa.get("/system").text
        assert all(f'action="/system/outbox/{pk}/requeue"' in page for pk in ids.values())
        smtp_server.refuse.clear()
        viewer, viewer_csrf = _officer(site, "xem")
        path = f"/system/outbox/{ids['th-thanh-cao']}/requeue"
        assert "Gửi lại" not in viewer.get("/system").text
        r = viewer.post(path, {"csrf": viewer_csrf})
        assert r.status == 403 and "chỉ xem" in r.text
        replies = _at_once(
            lambda: hoa.post(path, {"csrf": hoa_csrf}),
            lambda: nam.post(path, {"csrf": nam_csrf}),
        )
        assert sorted(r.status for r in replies) == [303, 409], [r.status for r in replies]
        loser = next(r for r in replies if r.status == 409)
        assert "không còn ở tình trạng “không gửi được”" in html.unescape(loser.text)
        winner = "co.hoa" if replies[0].status == 303 else "thay.nam"
        done = [a for a in audit_actions(site) if a[1] == "outbox-retry"]
        assert [(a[0], a[2]["requeued_failed"]) for a in done] == [(winner, [ids["th-thanh-cao"]])]
        assert deliver_due(site.app.sessions, site.app.files, mailer, clock).sent == 1
        # sent now: pressing its button again (a page left open) changes nothing
        r = hoa.post(path, {"csrf": hoa_csrf})
        assert r.status == 409
        assert deliver_due(site.app.sessions, site.app.files, mailer, clock).sent == 0
        (got,) = smtp_server.received
        assert got.rcpt_tos == ["th-thanh-cao@thanhoai.example"]
        with site.app.sessions() as s:
            states = {
                code: st for code, st in s.execute(select(OutboxMail.unit_code, OutboxMail.state))
            }
        assert states == {"th-thanh-cao": "sent", "mn-kim-bai": "failed"}  # only its own row
        assert hoa.post("/system/outbox/999999/requeue", {"csrf": hoa_csrf}).status == 404


def test_a_complete_or_unknown_unit_gets_no_reminder(site: Site) -> None:
    officer, csrf = _officer(site)
    assert officer.post("/units/khong-co/remind", {"csrf": csrf}).status == 404
    with site.app.sessions() as s:
        assert s.scalars(select(OutboxMail)).all() == []


def _zip(r: Reply) -> zipfile.ZipFile:
    assert r.status == 200 and r.headers["Content-Type"] == "application/zip"
    assert r.headers["Content-Disposition"].startswith("attachment;")
    assert r.headers.get("Transfer-Encoding") == "chunked"  # streamed: no length known ahead
    z = zipfile.ZipFile(io.BytesIO(r.body))
    assert z.testzip() is None
    return z


def test_zips_of_one_unit_and_of_all_units_hold_their_stored_files(site: Site) -> None:
    officer, csrf = _officer(site)
    waiting = site.message("tieu-de")
    assert (
        officer.post(f"/messages/{waiting.id}/assign", {"csrf": csrf, "unit": "th-kim-bai"}).status
        == 303
    )
    waiting = site.message("tieu-de")
    assert waiting.unit_id is not None
    one = _zip(officer.get("/download/units/th-kim-bai.zip"))
    names = one.namelist()
    assert all(n.startswith("th-kim-bai/2021-10-06-thu-") for n in names), names
    with site.app.sessions() as s:
        stored = {
            a.filename: site.app.files.get(a.sha256)
            for a in s.scalars(
                select(Attachment)
                .join(Message, Message.id == Attachment.message_fk)
                .where(Message.unit_id == waiting.unit_id)
            )
        }
    by_name = {n.rsplit("/", 1)[1]: one.read(n) for n in names}
    assert "Ảnh hoạt động 1.jpg" in by_name and len(by_name) == len(stored) == 3
    safe_file = next(n for n in by_name if n.endswith(".jpg") and "alert" in n)
    assert by_name[safe_file] == stored[HOSTILE_FILE] and "/" not in safe_file
    # named as `intake export` names files: a zip the officer opens on Windows refuses none
    assert not [n for n in by_name if re.search(r'[<>:"|?*\\]', n)], sorted(by_name)
    assert by_name["Ảnh hoạt động 1.jpg"] == stored["Ảnh hoạt động 1.jpg"]
    minh = site.message("gửi báo cáo")
    assert (
        officer.post(f"/messages/{minh.id}/assign", {"csrf": csrf, "unit": "thcs-thanh-mai"}).status
        == 303
    )
    every = _zip(officer.get("/download/all.zip"))
    assert {n.split("/", 1)[0] for n in every.namelist()} == {"th-kim-bai", "thcs-thanh-mai"}
    assert len(every.namelist()) == len(names) + 1
    assert officer.get("/download/units/khong-co.zip").status == 404


def test_the_overview_filters_by_state_kind_and_overdue(site: Site) -> None:
    officer, _ = _officer(site)
    everyone = officer.get("/")
    complete = officer.get("/?state=complete")
    th = officer.get("/?kind=th")
    assert "Trường Tiểu học Kim Bài" in th.text and "Trường THCS Thanh Mai" not in th.text
    # every unit once across the pages (100 a page), in the roster's order
    seen: list[str] = []
    page, path = everyone, "/"
    while True:
        seen += re.findall(r'<td data-label="Đơn vị"><a href="/units/([\w-]+)">', page.text)
        m = re.search(r'<a href="([^"]+)" rel="next">', page.text)
        if not m:
            break
        path = html.unescape(m[1])
        page = officer.get(path)
    with site.app.sessions() as s:
        codes = set(s.scalars(select(Unit.code)))
    assert path == "/?page=2" and len(seen) == len(set(seen)) == len(codes) > 100
    assert set(seen) == codes and "thcs-thanh-mai" in seen
    assert "Trang 2/2" in page.text and 'rel="prev"' in page.text
    assert "Trường Tiểu học Kim Bài" not in complete.text
    assert "Không có đơn vị nào khớp với bộ lọc." in officer.get("/?overdue=1").text  # 05/10
    site.console.clock = FixedClock(site.console.now().replace(month=11))  # past the deadline
    officer, _ = _officer(site)  # (the session of a month ago has expired)
    late = officer.get("/?overdue=1&kind=thcs")
    assert "Trường THCS Thanh Mai" in late.text and "Trường Tiểu học Kim Bài" not in late.text


def test_mail_filed_by_the_daemon_shows_at_the_next_view(site: Site, tmp_path: Path) -> None:
    """The pages are served from the status computed for the store as it is (web.statuscache):
    mail the daemon files meanwhile, in the same store, shows at once."""
    officer, _ = _officer(site)
    before = officer.get("/units/th-thanh-cao")
    assert "Đơn vị chưa gửi thư nào." in before.text
    assert officer.get("/?state=missing&kind=th&q=thanh+cao").text.count("/units/th-thanh-cao") == 1
    m = EmailMessage()
    m["From"] = "Trường Tiểu học Thanh Cao <th-thanh-cao@thanhoai.example>"
    m["To"] = "totrunghoc-thanhoai@thanhoai.example"
    m["Subject"] = "Báo cáo Tuần lễ học tập suốt đời - TH Thanh Cao"
    m["Message-ID"] = "<web-thanh-cao@thanhoai.example>"
    m["Date"] = "Tue, 05 Oct 2021 08:30:00 +0700"
    m.set_content("Kính gửi Phòng GD&ĐT, trường gửi ảnh hoạt động Tuần lễ ạ.")
    m.add_attachment(
        phone_jpeg(9, size=(320, 240))[0],
        maintype="image",
        subtype="jpeg",
        filename="Ảnh Tuần lễ Thanh Cao.jpg",
    )
    path = tmp_path / "thanh-cao.eml"
    path.write_bytes(bytes(m))
    site.app.import_paths([path])  # the daemon's side: the same store, not the console
    after = officer.get("/units/th-thanh-cao")
    assert "Ảnh Tuần lễ Thanh Cao.jpg" in after.text
    assert "/units/th-thanh-cao" not in officer.get("/?state=missing&kind=th&q=thanh+cao").text


def test_the_unit_page_shows_the_data_table_rows_and_the_nomination_list(
    site: Site, tmp_path: Path
) -> None:
    book, expected = make_xlsx_workbook()
    assert expected.data_table is not None and expected.nominations
    m = EmailMessage()
    m["From"] = "Trường THCS Bích Hòa <thcs-bich-hoa@thanhoai.example>"
    m["To"] = "totrunghoc-thanhoai@thanhoai.example"
    m["Subject"] = "Biểu tổng hợp số liệu Tuần lễ học tập suốt đời - THCS Bích Hòa"
    m["Message-ID"] = "<web-bich-hoa@thanhoai.example>"
    m["Date"] = "Tue, 05 Oct 2021 08:40:00 +0700"
    m.set_content(
        "Kính gửi Phòng GD&ĐT, trường gửi biểu tổng hợp số liệu và danh sách khen thưởng."
    )
    m.add_attachment(
        book,
        maintype="application",
        subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        filename=expected.filename,
    )
    path = tmp_path / "bich-hoa.eml"
    path.write_bytes(bytes(m))
    site.app.import_paths([path])
    officer, _ = _officer(site)
    page = officer.get("/units/thcs-bich-hoa")
    assert "Bảng tổng hợp số liệu" in page.text and "Danh sách đề nghị khen thưởng" in page.text
    text = html.unescape(page.text)
    for row in expected.data_table.rows:
        assert row.activity in text, row.activity
    for n in expected.nominations:
        assert n.name in text and n.achievement in text, n.name


def test_mail_of_another_matter_is_listed_on_thu_khac_with_its_reason(
    site: Site, tmp_path: Path
) -> None:
    m = EmailMessage()
    m["From"] = "Trường Tiểu học Kim An <th-kim-an@thanhoai.example>"
    m["To"] = "totrunghoc-thanhoai@thanhoai.example"
    m["Subject"] = "Kế hoạch kiểm tra nội bộ trường học năm học 2021-2022"
    m["Message-ID"] = "<web-kiem-tra@thanhoai.example>"
    m["Date"] = "Tue, 05 Oct 2021 09:10:00 +0700"
    m.set_content("Kính gửi Phòng GD&ĐT, trường gửi kế hoạch kiểm tra nội bộ năm học 2021-2022.")
    path = tmp_path / "kiem-tra.eml"
    path.write_bytes(bytes(m))
    site.app.import_paths([path])
    msg = site.message("kiểm tra nội bộ")
    officer, _ = _officer(site)
    page = officer.get("/other")
    assert f'id="message-{msg.id}"' in page.text, (msg.state, msg.campaign_id)
    assert "th-kim-an" in page.text and "lý do kỹ thuật" not in page.text
    assert (msg.state, msg.campaign_by) == ("other", "auto")
