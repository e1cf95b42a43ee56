"""End to end on Dovecot: a unit's email with its documents in → the right items, totals and
state out (issue 3); personal-address emails land on the right unit, and an officer's
`assign` teaches the address so the next email from it files itself (issue 4)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from core.clock import FixedClock
from core.config import Config
from intake.app import App
from intake.cli import cli
from intake.demo_mail import XLSX, as_sent, attach
from tests.support import docgen_reports, docgen_tables
from tests.support.config import ROSTER, make_config
from tests.support.phonephoto import ICT, large_phone_jpeg

pytestmark = pytest.mark.dovecot

PW_ENV = "INTAKE_TEST_IMAP_PW"


def _cfg(tmp_path: Path, dovecot: Any) -> Config:
    return make_config(
        tmp_path,
        mailbox={
            "host": "127.0.0.1",
            "port": dovecot.port,
            "security": "none",
            "username": dovecot.user,
            "password_env": PW_ENV,
        },
        # the server stamps mail with today's date: a deadline ahead keeps "late" meaningful
        campaign={"deadline": "2099-10-10T00:00:00+07:00"},
        limits={"parse_workers": 2},
    )


@pytest.fixture
def imap_env(monkeypatch: pytest.MonkeyPatch, dovecot: Any) -> None:
    monkeypatch.setenv(PW_ENV, dovecot.password)


def unit_mail(sender: str, subject: str, body: str, when: datetime, mid: str) -> EmailMessage:
    m = EmailMessage()
    m["From"] = sender
    m["To"] = "totrunghoc-thanhoai@thanhoai.example"
    m["Subject"] = subject
    m["Message-ID"] = mid
    m["Date"] = format_datetime(when)
    m.set_content(body)
    return m


def test_unit_email_with_documents_gives_items_totals_and_state(
    tmp_path: Path, dovecot: Any, imap_env: None
) -> None:
    xlsx, expected = docgen_tables.make_xlsx_workbook()
    report, _ = docgen_reports.make_docx_report()
    when = datetime(2021, 10, 6, 16, 45, tzinfo=ICT)
    first = unit_mail(
        "Trường THCS Bích Hòa <thcs-bich-hoa@thanhoai.example>",
        "Báo cáo kết quả Tuần lễ hưởng ứng học tập suốt đời năm 2021 - THCS Bích Hòa",
        "Kính gửi Phòng GD&ĐT huyện Thanh Oai,\nTrường THCS Bích Hòa gửi báo cáo, bảng tổng hợp "
        "số liệu và ảnh hoạt động.\n\nTrân trọng,\nVăn thư nhà trường\n",
        when,
        "<bh-1@thanhoai.example>",
    )
    first.add_attachment(
        report,
        maintype="application",
        subtype="vnd.openxmlformats-officedocument.wordprocessingml.document",
        filename="Báo cáo Tuần lễ HTSĐ 2021.docx",
    )  # Gmail: RFC 2231
    outlook: dict[bytes, bytes] = {}  # Outlook: RFC 2047 encoded words inside the quotes
    attach(first, xlsx, "Tổng hợp số liệu THCS Bích Hòa.xlsx", XLSX, "rfc2047", outlook)
    for i in range(2):
        first.add_attachment(
            large_phone_jpeg(i, when - timedelta(days=3, hours=i)),
            maintype="image",
            subtype="jpeg",
            filename=f"IMG_2021100{3 + i}_0915{i}.jpg",
        )
    sent = as_sent(first, outlook)
    assert b'filename="=?utf-8?' in sent.replace(b"\n ", b"")
    dovecot.append([sent])
    cfg = _cfg(tmp_path, dovecot)
    runner = CliRunner()
    with App(cfg, FixedClock(datetime(2021, 10, 7, 2, 0, tzinfo=UTC))) as app:
        app.import_roster(ROSTER)
        app.poll_once()
    out = runner.invoke(cli, ["--config", cfg.source, "status", "--json"])
    assert out.exit_code == 0, out.output
    units = {u["code"]: u for u in json.loads(out.output)["units"]}
    bh = units["thcs-bich-hoa"]
    # the workbook carries a "Khen thưởng" sheet as well: the nomination list comes with it
    assert expected.nominations
    assert bh["items"] == {"report": True, "data_table": True, "photos": 2, "nominations": True}
    table = expected.data_table
    assert table is not None
    assert bh["totals"] == {
        "classes": table.total_classes,
        "participants": table.total_participants,
    }
    assert bh["state"] == "complete" and bh["late"] is False and bh["messages"] == 1
    assert units["th-bich-hoa"]["state"] == "missing"  # the primary school of the same commune

    # a correction: a later email with another table replaces the totals, history is kept
    fixed, fixed_expected = docgen_tables.make_xlsx_english_locale()
    second = unit_mail(
        "Trường THCS Bích Hòa <thcs-bich-hoa@thanhoai.example>",
        "V/v gửi lại bảng số liệu (đã sửa) - THCS Bích Hòa",
        "Nhà trường xin gửi lại bảng số liệu đã chỉnh sửa.\n",
        when + timedelta(days=1),
        "<bh-2@thanhoai.example>",
    )
    second.add_attachment(
        fixed, maintype="application", subtype="octet-stream", filename="So lieu TLHTSD (sua).xlsx"
    )
    dovecot.append([bytes(second)])
    with App(cfg, FixedClock(datetime(2021, 10, 8, 2, 0, tzinfo=UTC))) as app:
        app.poll_once()
        status = {u.code: u for u in app.status().units}
    bh2 = status["thcs-bich-hoa"]
    assert fixed_expected.data_table is not None
    assert bh2.messages == 2 and bh2.state == "complete"
    assert (bh2.total_classes, bh2.total_participants) == (
        fixed_expected.data_table.total_classes,
        fixed_expected.data_table.total_participants,
    )
    names = {name for _, name in bh2.files}
    assert {
        "Báo cáo Tuần lễ HTSĐ 2021.docx",
        "Tổng hợp số liệu THCS Bích Hòa.xlsx",
        "So lieu TLHTSD (sua).xlsx",
    } <= names


def test_personal_addresses_land_right_and_assign_teaches(
    tmp_path: Path, dovecot: Any, imap_env: None
) -> None:
    when = datetime(2021, 10, 5, 9, 0, tzinfo=ICT)
    by_name = unit_mail(
        "Trường THCS Thanh Mai <thcsthanhmai.vanthu@gmail.com>",
        "Báo cáo Tuần lễ học tập suốt đời",
        "Kính gửi Phòng GD&ĐT.\n",
        when,
        "<p-1@gmail.com>",
    )
    by_signature = unit_mail(
        "Nguyen Van Hung <hungnv1979@gmail.com>",
        "Fwd: bao cao tuan le hoc tap suot doi",
        "Kính gửi Phòng GD&ĐT,\nEm gửi báo cáo của đơn vị.\n\n--\nNguyễn Văn Hùng\n"
        "Phó Hiệu trưởng - Trường Tiểu học Kim An\n",
        when,
        "<p-2@gmail.com>",
    )
    nameless = unit_mail(
        "Hoa Nguyen <hoanguyen.1990@gmail.com>",
        "gửi báo cáo",
        "Em gửi ạ.\n",
        when,
        "<p-3@gmail.com>",
    )
    dovecot.append([bytes(by_name), bytes(by_signature), bytes(nameless)])
    cfg = _cfg(tmp_path, dovecot)
    runner = CliRunner()
    base = ["--config", cfg.source]
    with App(cfg, FixedClock(datetime(2021, 10, 5, 3, 0, tzinfo=UTC))) as app:
        app.import_roster(ROSTER)
        app.poll_once()
        st = app.status()
    filed = {u.code: u.messages for u in st.units if u.messages}
    assert filed == {"thcs-thanh-mai": 1, "th-kim-an": 1}
    (loose,) = st.unassigned
    assert loose.from_addr == "hoanguyen.1990@gmail.com"

    r = runner.invoke(cli, [*base, "assign", str(loose.id), "mn-thanh-cao"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, [*base, "units", "aliases"])
    assert "hoanguyen.1990@gmail.com" in r.output and "mn-thanh-cao" in r.output

    again = unit_mail(
        "Hoa Nguyen <hoanguyen.1990@gmail.com>",
        "bổ sung ảnh",
        "Em gửi thêm ảnh ạ.\n",
        when + timedelta(days=1),
        "<p-4@gmail.com>",
    )
    dovecot.append([bytes(again)])
    with App(cfg, FixedClock(datetime(2021, 10, 6, 3, 0, tzinfo=UTC))) as app:
        app.poll_once()
        st = app.status()
    assert not st.unassigned
    assert {u.code: u.messages for u in st.units if u.messages}["mn-thanh-cao"] == 2
