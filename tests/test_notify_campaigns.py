"""The notifier with two campaigns in one mailbox (issue 15 item 5, issue 16 item 3), against
the real aiosmtpd sink and the real stores (SQLite file and PostgreSQL): the seed's week
(deadline 10/10, every unit) and the start-of-year statistics (deadline 15/10 17:00, schools
only, its own table). Reminders go per campaign and only to its units; a receipt names every
campaign a message counted in; one digest covers the open campaigns; the workbook has each
campaign's own columns."""

from __future__ import annotations

import email
import email.policy
import io
import logging
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import sqlalchemy as sa

from core.clock import FixedClock
from intake.app import App
from store.models import OutboxMail
from tests.support.campaignmail import (
    UNITS,
    both_mail,
    campaigns_app,
    covid_mail,
    plain_mail,
    stats_mail,
    week_mail,
    write_mails,
)
from tests.support.smtpserver import SmtpServer

HN = ZoneInfo("Asia/Ho_Chi_Minh")
WEEK, STATS = "tuan-le-htsd-2021", "thong-ke-dau-nam-2021"
WEEK_TITLE = "Tuần lễ hưởng ứng học tập suốt đời năm 2021"
STATS_TITLE = "Thống kê số liệu đầu năm học 2021-2022"
OFFICER = "totrunghoc-thanhoai@thanhoai.example"
BASE = "https://baocao.thanhoai.example"


def _app(tmp_path: Path, db_url: str, port: int, at: datetime, **notify: object) -> App:
    """The campaigns' app at `at`, its notices sent to the SMTP sink on `port`."""
    return campaigns_app(
        tmp_path,
        db_url,
        at=at,
        smtp={
            "host": "127.0.0.1",
            "port": port,
            "security": "none",
            "sender": f"Phòng GD&ĐT huyện Thanh Oai <{OFFICER}>",
        },
        digest={"recipients": [OFFICER], "at": "07:00"},
        notify={"receipt_max_age_hours": 24 * 30, **notify},
        web={"base_url": BASE},
    )


def _parsed(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def _text(msg: EmailMessage) -> str:
    body = msg.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def _rows(app: App, *kinds: str) -> list[tuple[str, str, str, str]]:
    with app.sessions() as s:
        return [
            tuple(r)
            for r in s.execute(  # type: ignore[misc]
                sa.select(
                    OutboxMail.campaign_id, OutboxMail.kind, OutboxMail.unit_code, OutboxMail.slot
                )
                .where(OutboxMail.kind.in_(kinds))
                .order_by(OutboxMail.id)
            )
        ]


def test_one_receipt_per_message_naming_each_campaign_it_counted_in_and_none_for_other_mail(
    tmp_path: Path, db_url: str, smtp_server: SmtpServer
) -> None:
    at = datetime(2021, 10, 8, 9, 0, tzinfo=HN)
    with _app(tmp_path, db_url, smtp_server.port, at, reminder_days=[], overdue=False) as app:
        app.import_paths(
            [
                write_mails(
                    tmp_path,
                    "mail",
                    [
                        week_mail("thcs-bich-hoa", 1),
                        stats_mail("thcs-cao-duong", 10),
                        both_mail("thcs-thanh-mai", 20),
                        covid_mail("th-bich-hoa", 21),
                    ],
                )
            ]
        )
        n = app.notifier()
        assert n.queue_receipts(app.clock.now()) == 3
        assert n.queue_receipts(app.clock.now()) == 0  # answered: never a second receipt
        assert n.deliver().sent == 3
        receipt_rows = _rows(app, "receipt")
    got = {r.rcpt_tos[0]: _parsed(r.data) for r in smtp_server.received}
    assert set(got) == {
        UNITS[c].email for c in ("thcs-bich-hoa", "thcs-cao-duong", "thcs-thanh-mai")
    }
    week = got[UNITS["thcs-bich-hoa"].email]
    assert WEEK_TITLE in str(week["Subject"]) and STATS_TITLE not in _text(week)
    stats = _text(got[UNITS["thcs-cao-duong"].email])
    assert STATS_TITLE in stats and WEEK_TITLE not in stats
    # the statistics ask for the table alone: no photo or report line in its letter
    assert "Bảng tổng hợp số liệu: đã nhận" in stats and "Hình ảnh minh chứng" not in stats
    both = got[UNITS["thcs-thanh-mai"].email]
    text = _text(both)
    assert f"về việc báo cáo kết quả {WEEK_TITLE} và {STATS_TITLE}." in text
    assert f"--- {WEEK_TITLE} ---" in text and f"--- {STATS_TITLE} ---" in text
    assert text.count("Hồ sơ của đơn vị đã đầy đủ theo yêu cầu.") == 2
    # the receipt row is keyed on the message once, under its own campaign
    assert sorted(c for c, *_ in receipt_rows) == sorted([WEEK, WEEK, STATS])


def _walk(
    app: App, start: datetime, end: datetime, step: timedelta
) -> list[tuple[datetime, str, str, str, str]]:
    """Tick the reminders like the daemon from `start` to `end`; each queued notice with when."""
    n = app.notifier()
    clock = app.clock
    assert isinstance(clock, FixedClock)
    clock.set(start)
    out: list[tuple[datetime, str, str, str, str]] = []
    seen = 0
    while clock.now() <= end:
        n.queue_reminders(clock.now())
        rows = _rows(app, "reminder", "overdue")
        out += [(clock.now().astimezone(HN), *r) for r in rows[seen:]]
        seen = len(rows)
        clock.advance(step)
    return out


def test_reminders_go_per_campaign_on_its_own_deadline_and_only_to_its_units(
    tmp_path: Path, db_url: str, smtp_server: SmtpServer
) -> None:
    start = datetime(2021, 10, 1, 8, 0, tzinfo=HN)
    with _app(tmp_path, db_url, smtp_server.port, start, receipts=False) as app:
        app.import_paths(
            [
                write_mails(
                    tmp_path,
                    "mail",
                    [
                        week_mail("thcs-bich-hoa", 1),
                        stats_mail("thcs-cao-duong", 10),
                        both_mail("thcs-thanh-mai", 20),
                        covid_mail("th-bich-hoa", 21),
                    ],
                )
            ]
        )
        # every 3 hours, through each 08:00
        sent = _walk(app, start, datetime(2021, 10, 17, 12, 0, tzinfo=HN), timedelta(hours=3))
        statuses = {c.id: app.status(c.id) for c in app.cfg.campaigns}
    keys = [(c, u, slot) for _, c, _, u, slot in sent]
    assert len(keys) == len(set(keys)), "a (campaign, unit, slot) queued twice"
    by = {
        (c, u): [(slot, when) for when, c2, _, u2, slot in sent if (c2, u2) == (c, u)]
        for c, u in {(c, u) for _, c, _, u, _ in sent}
    }
    stats_units = {u.code for u in statuses[STATS].units}
    week_units = {u.code for u in statuses[WEEK].units}
    assert "xa-bich-hoa" in week_units and "xa-bich-hoa" not in stats_units
    # a unit outside the statistics' `units` gets none of its reminders, all of the week's
    assert ("xa-bich-hoa", STATS) not in {(u, c) for c, u in by}
    assert [s for s, _ in by[(WEEK, "xa-bich-hoa")]] == [
        "before-5d@2021-10-10",
        "before-3d@2021-10-10",
        "before-1d@2021-10-10",
        "overdue@2021-10-10",
    ]
    assert {u for c, u in by if c == STATS} <= stats_units
    # each campaign on its own deadline: the statistics' slots at 08:00 on 10, 12 and 14/10,
    # the overdue notice the morning after 15/10 17:00
    assert by[(STATS, "th-bich-hoa")] == [
        ("before-5d@2021-10-15", datetime(2021, 10, 10, 8, 0, tzinfo=HN)),
        ("before-3d@2021-10-15", datetime(2021, 10, 12, 8, 0, tzinfo=HN)),
        ("before-1d@2021-10-15", datetime(2021, 10, 14, 8, 0, tzinfo=HN)),
        ("overdue@2021-10-15", datetime(2021, 10, 16, 8, 0, tzinfo=HN)),
    ]
    # a unit complete in one campaign is reminded only of the other; complete in both: nothing;
    # other mail counts nowhere (th-bich-hoa sent only its COVID report)
    assert (STATS, "thcs-cao-duong") not in by and (WEEK, "thcs-cao-duong") in by
    assert (WEEK, "thcs-bich-hoa") not in by and (STATS, "thcs-bich-hoa") in by
    assert not {c for c, u in by if u == "thcs-thanh-mai"}
    assert len(by[(WEEK, "th-bich-hoa")]) == 4
    # each letter speaks of its campaign: delivered through the real SMTP server
    with _app(tmp_path, db_url, smtp_server.port, datetime(2021, 10, 17, 12, 0, tzinfo=HN)) as app:
        assert app.notifier().deliver().sent == len(sent)
    subjects = [
        str(_parsed(r.data)["Subject"])
        for r in smtp_server.received
        if UNITS["xa-bich-hoa"].email in r.rcpt_tos
    ]
    assert len(subjects) == 4 and all(WEEK_TITLE in s for s in subjects)
    stats_letters = [
        _text(_parsed(r.data))
        for r in smtp_server.received
        if UNITS["th-bich-hoa"].email in r.rcpt_tos
        and STATS_TITLE in str(_parsed(r.data)["Subject"])
    ]
    assert len(stats_letters) == 4 and "17:00 ngày 15/10/2021" in stats_letters[0]


def test_started_mid_schedule_the_daemon_sends_the_next_reminder_not_a_stale_one(
    tmp_path: Path, db_url: str, smtp_server: SmtpServer
) -> None:
    """Issue 16 item 3: first start at 07:50 on 07/10 (the 3-day morning of the week)."""
    start = datetime(2021, 10, 7, 7, 50, tzinfo=HN)
    with _app(tmp_path, db_url, smtp_server.port, start, receipts=False) as app:
        sent = _walk(app, start, datetime(2021, 10, 7, 12, 0, tzinfo=HN), timedelta(minutes=10))
        week_units = [u for u in app.status(WEEK).units if u.emails]
    assert {(c, slot) for _, c, _, _, slot in sent} == {(WEEK, "before-3d@2021-10-10")}
    assert {when for when, *_ in sent} == {datetime(2021, 10, 7, 8, 0, tzinfo=HN)}
    assert len(sent) == len(week_units)  # once each, at 08:00, never the 5-day one before it


def test_one_digest_covers_the_open_campaigns_with_links_other_mail_and_their_own_tables(
    tmp_path: Path, db_url: str, smtp_server: SmtpServer
) -> None:
    at = datetime(2021, 10, 12, 8, 0, tzinfo=HN)
    with _app(
        tmp_path, db_url, smtp_server.port, at, receipts=False, reminder_days=[], overdue=False
    ) as app:
        app.import_paths(
            [
                write_mails(
                    tmp_path,
                    "mail",
                    [
                        week_mail("thcs-bich-hoa", 1),
                        stats_mail("thcs-cao-duong", 10),
                        stats_mail("th-thanh-mai", 11),
                        both_mail("thcs-thanh-mai", 20),
                        covid_mail("th-bich-hoa", 21),
                        plain_mail(
                            None,
                            "Báo cáo Tuần lễ HTSĐ 2021",
                            "Gửi Phòng GD&ĐT báo cáo Tuần lễ HTSĐ.",
                            27,
                            sender="nguyenvana1987@gmail.com",
                        ),
                    ],
                )
            ]
        )
        pending = [m.id for m in app.status(WEEK).unassigned]
        n = app.notifier()
        assert n.queue_digest(app.clock.now()) == 1
        assert n.queue_digest(app.clock.now()) == 0  # one a day
        assert n.deliver().sent == 1
        # a week after the week's deadline it leaves the digest; the statistics stay
        later = datetime(2021, 10, 17, 8, 0, tzinfo=HN)
        late_mail, _ = n.build_digest(later)
    (got,) = smtp_server.received
    assert got.rcpt_tos == [OFFICER]
    msg = _parsed(got.data)
    assert WEEK_TITLE in str(msg["Subject"]) and STATS_TITLE in str(msg["Subject"])
    text = _text(msg)
    html = msg.get_body(("html",))
    assert html is not None
    page = str(html.get_content())
    assert f"A. {WEEK_TITLE}" in page and f"B. {STATS_TITLE}" in page
    assert text.index(f"==== A. {WEEK_TITLE.upper()} ====") < text.index(
        f"==== B. {STATS_TITLE.upper()} ===="
    )
    # the statistics' section sums its own total columns (3 schools × (198 + 171) pupils)
    stats_part = text.split(f"==== B. {STATS_TITLE.upper()} ====")[1]
    assert "Cộng: số lớp 27; số học sinh 1.107; số giáo viên 63." in stats_part
    assert "Xã Bích Hòa" not in stats_part  # a commune is not asked for the statistics
    # links to the console: each unit, each waiting message
    assert f'href="{BASE}/units/thcs-bich-hoa"' in page
    assert pending and all(f'href="{BASE}/pending#message-{pk}"' in page for pk in pending)
    # other mail: a short count with subjects
    assert "Thư khác (1)" in page and "Báo cáo tháng 9" in page
    assert "THƯ KHÁC (1)" in text
    # the workbook: each campaign's sheets, the statistics with its own columns
    (att,) = [p for p in msg.iter_attachments()]
    wb = openpyxl.load_workbook(io.BytesIO(att.get_content()), read_only=True)
    assert wb.sheetnames[:4] == [
        f"A. {WEEK_TITLE}"[:31].rstrip(),
        "A. Tình trạng đơn vị",
        f"B. {STATS_TITLE}"[:31].rstrip(),
        "B. Tình trạng đơn vị",
    ]
    stats_rows = [r for r in wb.worksheets[2].iter_rows(values_only=True) if any(r)]
    header = next(r for r in stats_rows if r[0] == "STT")
    assert list(header) == ["STT", "Đơn vị", "Khối lớp", "Số lớp", "Số học sinh", "Số giáo viên"]
    assert stats_rows[-1][1:] == ("TỔNG CỘNG", None, 27, 1107, 63)
    status_head = next(wb.worksheets[3].iter_rows(values_only=True))
    assert "Số học sinh" in status_head and "Người" not in status_head
    codes = {r[1] for r in wb.worksheets[3].iter_rows(min_row=2, values_only=True)}
    assert "xa-bich-hoa" not in codes and "th-thanh-mai" in codes
    # closed a week ago: the week is gone, the statistics alone read as today's one-campaign digest
    assert WEEK_TITLE not in late_mail.text and late_mail.subject.startswith(
        f"Tổng hợp tiến độ nhận báo cáo {STATS_TITLE}: "
    )


def test_no_digest_on_a_day_no_campaign_is_open_and_nothing_waits_said_in_one_log_line(
    tmp_path: Path, db_url: str, smtp_server: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    """The week opens 15/09 and closes a week after 10/10; the statistics open 20/09 and close
    a week after 15/10 17:00. A digest goes out on a day one of them is open, or when
    something waits for the officer; otherwise none, and one log line says why."""
    caplog.set_level(logging.INFO, logger="notifier.service")
    at = datetime(2021, 9, 14, 7, 30, tzinfo=HN)
    with _app(
        tmp_path, db_url, smtp_server.port, at, receipts=False, reminder_days=[], overdue=False
    ) as app:
        app.import_paths([write_mails(tmp_path, "mail", [week_mail("thcs-bich-hoa", 1)])])
        n = app.notifier()

        def day(d: datetime, times: int = 1) -> int:
            return sum(n.queue_digest(d + timedelta(minutes=10 * i)) for i in range(times))

        assert day(datetime(2021, 9, 14, 7, 30, tzinfo=HN)) == 0  # nothing opened yet
        assert day(datetime(2021, 9, 15, 7, 30, tzinfo=HN)) == 1  # the week opens
        assert day(datetime(2021, 10, 17, 7, 30, tzinfo=HN)) == 1  # the statistics still open
        assert day(datetime(2021, 10, 22, 7, 30, tzinfo=HN)) == 1  # their last day in it
        caplog.clear()
        assert day(datetime(2021, 10, 23, 7, 30, tzinfo=HN), times=3) == 0
        said = [r.getMessage() for r in caplog.records if "digest" in r.getMessage()]
        assert said == [
            "digest of 2021-10-23 not sent: no campaign open "
            "(tuan-le-htsd-2021 closed 2021-10-17T00:00:00+07:00; "
            "thong-ke-dau-nam-2021 closed 2021-10-22T17:00:00+07:00) "
            "and nothing waits for the officer"
        ]
        # the officer asks for one: it goes
        assert n.queue_digest(datetime(2021, 10, 23, 9, 0, tzinfo=HN), force=True) == 1
        # a stranger's mail waits for the officer: the daily digest goes again, with no section
        app.import_paths(
            [
                write_mails(
                    tmp_path,
                    "stranger",
                    [
                        plain_mail(
                            None,
                            "Báo cáo Tuần lễ HTSĐ 2021",
                            "Gửi Phòng GD&ĐT báo cáo Tuần lễ HTSĐ.",
                            27,
                            sender="nguyenvana1987@gmail.com",
                        )
                    ],
                )
            ]
        )
        assert day(datetime(2021, 10, 24, 7, 30, tzinfo=HN)) == 1
        assert n.deliver().sent == 5
    last = _text(_parsed(smtp_server.received[-1].data))
    assert "Không có kế hoạch nào đang nhận báo cáo." in last and "Thư số" in last
    first = _text(_parsed(smtp_server.received[0].data))
    assert WEEK_TITLE in first and STATS_TITLE not in first  # 15/09: the week only
