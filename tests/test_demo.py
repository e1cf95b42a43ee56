"""`intake demo`: the real IMAP path against the embedded pymap server, checked against what was
seeded (expectations are derived from the generated emails and what `intake.demo_mixed` says each
of its messages must become, not written down), and checked for leftovers: no process, thread,
listening port or temporary file survives it. The demo's mailbox holds two campaigns and other
mail, and its report says so in Vietnamese."""

from __future__ import annotations

import csv
import json
import os
import re
import socket
import subprocess
import sys
import threading
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from intake.cli import cli
from intake.demo import DEMO_NOW, PROCESSED_FOLDER, EmbeddedImap
from intake.demo_mail import campaign_messages
from intake.demo_mixed import OTHER, STATS_ID, STATS_TITLE, WEEK_ID, mixed_mailbox
from tests.support.config import ROOT, ROSTER

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
MIXED = [m for m in mixed_mailbox(ROSTER) if m.expect != WEEK_ID]  # what the demo adds to the week
ROW = re.compile(
    r"^(?P<code>\S+)\s.*?\s(?P<state>chưa gửi|chưa đủ|đã đủ)\s+(?P<late>quá hạn|nộp muộn|-)\s+"
    r"(?P<msgs>\d+)\s+(?P<rpt>[x-])\s+(?P<tbl>[x-])\s+(?P<photos>\d+)\s+(?P<nom>[x-])\s+"
    r"(?P<first>\d\d/\d\d \d\d:\d\d|-)"
)


@dataclass
class Expected:
    messages: int = 0
    report: bool = False
    data_table: bool = False
    nominations: bool = False
    photos: int = 0
    first: datetime | None = None
    senders: set[str] = field(default_factory=set)

    @property
    def state(self) -> str:
        return "complete" if self.report and self.data_table and self.photos >= 2 else "incomplete"


def _filename(part: EmailMessage) -> str:
    name = part.get_filename() or ""
    name = str(make_header(decode_header(name)))  # Outlook puts RFC 2047 words inside the quotes
    return unicodedata.normalize("NFC", name)  # Apple Mail sends NFD


def expected_units(n: int, seed: int = 1) -> tuple[dict[str, Expected], int]:
    """What each unit sent for the week in the demo's mail, read back from the emails themselves
    (by sender address, or the unit's name when a teacher wrote from a personal account; the
    email carrying both campaigns' files too, whose statistics table is no week file); and how
    many messages are automatic replies (bounces), which no unit sent."""
    with ROSTER.open(encoding="utf-8") as f:
        roster = list(csv.DictReader(f))
    by_address = {r["emails"].split(";")[0]: r["code"] for r in roster}
    by_name = {r["name"]: r["code"] for r in roster}
    units: dict[str, Expected] = defaultdict(Expected)
    automatic = 0
    for raw in campaign_messages(ROSTER, n, seed) + [m.raw for m in MIXED if m.expect == "split"]:
        m = message_from_bytes(raw, policy=policy.default)
        assert isinstance(m, EmailMessage)
        if m.get("Auto-Submitted", "no") != "no":
            automatic += 1
            continue
        [(name, address)] = getaddresses([str(m["From"])])
        code = by_address.get(address) or by_name[name]
        u = units[code]
        u.messages += 1
        u.senders.add(address)
        when = parsedate_to_datetime(str(m["Date"]))
        u.first = min(u.first, when) if u.first else when
        for part in m.iter_attachments():
            assert isinstance(part, EmailMessage)
            fname = _filename(part)
            if fname.endswith(".docx"):
                u.report = True
            elif fname.startswith("Tổng hợp số liệu"):
                u.data_table = True
            elif fname.startswith("Danh sách đề nghị khen thưởng"):
                u.nominations = True
            elif part.get_content_type() == "image/jpeg":
                u.photos += 1
    return dict(units), automatic


def _session_processes(sid: int) -> list[str]:
    """Processes still in session `sid` (a demo started with start_new_session)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[3]) == sid:  # state ppid pgrp session …
            out.append(f"{entry.name}: {stat[: stat.rindex(')') + 1]}")
    return out


def _tables(out: str) -> tuple[dict[str, re.Match[str]], dict[str, re.Match[str]]]:
    """The week's table rows and the statistics' table rows of the report, by unit code."""
    week, mark, stats = out.partition(f"{STATS_TITLE} — hạn nộp")
    assert mark, out
    rows = [
        {m["code"]: m for m in map(ROW.match, part.splitlines()) if m} for part in (week, stats)
    ]
    return rows[0], rows[1]


def test_demo_command_files_the_seeded_mail_and_leaves_nothing_behind(tmp_path: Path) -> None:
    """The console command as a user runs it, in a Vietnamese time zone (INTERNALDATE must not
    shift), with a private TMPDIR that must be empty again afterwards."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp), "TZ": "Asia/Ho_Chi_Minh", "PYTHONWARNINGS": "error"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "intake.cli", "demo"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err
    assert _session_processes(proc.pid) == []
    assert list(tmp.iterdir()) == []

    expected, automatic = expected_units(20)
    rows, stats_rows = _tables(out)
    assert len(rows) == 111  # the whole roster, one line each
    sent = {code: r for code, r in rows.items() if r["state"] != "chưa gửi"}
    assert set(sent) == set(expected)
    for code, exp in expected.items():
        r = rows[code]
        assert r["state"] == {"complete": "đã đủ", "incomplete": "chưa đủ"}[exp.state], code
        assert int(r["msgs"]) == exp.messages, code
        assert (r["rpt"] == "x", r["tbl"] == "x", r["nom"] == "x") == (
            exp.report,
            exp.data_table,
            exp.nominations,
        ), code
        assert int(r["photos"]) == exp.photos, code
        assert exp.first is not None
        assert r["first"] == exp.first.astimezone(TZ).strftime("%d/%m %H:%M"), code
        assert r["late"] == "-"  # all sent before the deadline, and the demo clock is before it
    assert all(int(r["msgs"]) == 0 for code, r in rows.items() if code not in expected)

    # the second campaign: schools only, each statistics table counted there and nowhere else
    with ROSTER.open(encoding="utf-8") as f:
        schools = {
            r["code"] for r in csv.DictReader(f) if r["kind"] in ("mn", "th", "thcs", "thpt")
        }
    assert set(stats_rows) == schools
    stats_units = {m.unit for m in MIXED if m.expect in (STATS_ID, "split")}
    assert {c for c, r in stats_rows.items() if r["state"] != "chưa gửi"} == stats_units
    assert all(
        (r["state"], r["msgs"], r["tbl"]) == ("đã đủ", "1", "x")
        for c, r in stats_rows.items()
        if c in stats_units
    )

    n = 20 + len(MIXED)
    others = [m for m in MIXED if m.expect == OTHER]
    waiting = [m for m in MIXED if m.expect == "unclear"]
    filed = sum(e.messages for e in expected.values()) + sum(m.expect == STATS_ID for m in MIXED)
    complete = sum(e.state == "complete" for e in expected.values())
    for line in (
        "Hộp thư minh họa có thư của 2 kế hoạch — «Tuần lễ hưởng ứng học tập suốt đời năm 2021» "
        f"(hạn nộp trước ngày 10/10/2021): {sum(e.messages for e in expected.values())} thư, "
        f"{complete}/111 đơn vị đã đủ; «{STATS_TITLE}» (hạn nộp trước 17:00 ngày 15/10/2021): "
        f"{len(stats_units)} thư, {len(stats_units)}/{len(schools)} đơn vị đã đủ.",
        f"Thư khác, không thuộc kế hoạch nào: {len(others)} thư",
        f"Chờ cán bộ chọn kế hoạch: {len(waiting)} thư (intake move SỐ-THƯ MÃ-KẾ-HOẠCH).",
        f"tải {n} thư, lưu {n} (trùng 0, lỗi 0), chuyển {n} thư sang “{PROCESSED_FOLDER}”",
        f"Máy chủ sau lần quét: INBOX 0, {PROCESSED_FOLDER} {n}; kho lưu: {filed} đã ghi nhận",
        f"{len(others)} thư khác, {len(waiting)} chờ cán bộ xử lý",
        "chưa gửi (bản minh họa không có máy chủ SMTP)",
    ):
        assert line in out, line
    if automatic:
        assert f"{automatic} bỏ qua (thư tự động)" in out
    # the other mail is listed, each by its subject
    listed = out.split("Thư khác, không thuộc kế hoạch nào (", 1)[1].split("\n\n", 1)[0]
    assert len(listed.splitlines()) == 1 + len(others)
    for m in others:
        subject = str(message_from_bytes(m.raw, policy=policy.default)["Subject"])
        assert subject[:30] in listed, subject


def test_demo_keep_leaves_a_readable_store_and_no_server(tmp_path: Path) -> None:
    """In-process with --keep: the kept config opens the store with `intake status --json`,
    which agrees with the mail; the server thread is gone and its port closed. Run again on the
    same store: the new server has a new UIDVALIDITY, and nothing is filed twice."""
    keep = tmp_path / "keep"
    runner = CliRunner()
    n = 6 + len(MIXED)
    r = runner.invoke(cli, ["demo", "--messages", "6", "--keep", str(keep)])
    assert r.exit_code == 0, r.output
    assert f"chuyển {n} thư sang" in r.output and f"Đã giữ lại: {keep}" in r.output
    assert not [t for t in threading.enumerate() if t.name == "intake-demo-imap"]
    port = int(re.search(r"^port = (\d+)$", (keep / "config.toml").read_text(), re.M)[1])  # type: ignore[index]
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()

    week = ["--config", str(keep / "config.toml"), "status", "--json", "--campaign", WEEK_ID]
    r = runner.invoke(cli, week)
    assert r.exit_code == 0, r.output
    units = {u["code"]: u for u in json.loads(r.output)["units"]}
    expected, _ = expected_units(6)
    assert {c for c, u in units.items() if u["messages"]} == set(expected)
    for code, exp in expected.items():
        u = units[code]
        assert u["state"] == exp.state
        assert u["items"] == {
            "report": exp.report,
            "data_table": exp.data_table,
            "photos": exp.photos,
            "nominations": exp.nominations,
        }
        assert exp.first is not None
        assert datetime.fromisoformat(u["submitted_at"]) == exp.first

    r = runner.invoke(cli, ["demo", "--messages", "6", "--keep", str(keep)])
    assert r.exit_code == 0, r.output
    assert f"tải {n} thư, lưu 0 (trùng {n}, lỗi 0), chuyển {n} thư" in r.output
    again = {u["code"]: u for u in json.loads(runner.invoke(cli, week).output)["units"]}
    assert {c: u["messages"] for c, u in again.items()} == {
        c: u["messages"] for c, u in units.items()
    }


def test_embedded_server_serves_the_poller_contract(tmp_path: Path) -> None:
    """The server the demo relies on: a folder created on MOVE, UIDs from 101, counts per folder,
    seeded INTERNALDATE from the Date header; and it stops cleanly."""
    from core.config import MailboxConfig, Secret
    from intake.imap import ImapMailbox

    mail = campaign_messages(ROSTER, 3, seed=7)
    with EmbeddedImap() as server:
        assert server.seed(mail, fallback=DEMO_NOW) == 3
        settings = MailboxConfig(
            host=server.host, port=server.port, security="none", username=server.user, timeout=10.0
        )
        with ImapMailbox(settings, Secret(server.password)) as mbx:
            info = mbx.select("INBOX")
            uids = mbx.search_from(1)
            assert uids == [101, 102, 103] and info.exists == 3
            fetched = list(mbx.fetch(uids))
            assert [f.raw for f in fetched] == mail
            for f in fetched:
                m = message_from_bytes(f.raw, policy=policy.default)
                assert f.internaldate == parsedate_to_datetime(str(m["Date"]))
            mbx.mark_processed(uids[:2], move_to=PROCESSED_FOLDER, keyword="$IntakeFiled")
        assert server.counts("INBOX", PROCESSED_FOLDER, "Nope") == {
            "INBOX": 1,
            PROCESSED_FOLDER: 2,
            "Nope": 0,
        }
        wrong = ImapMailbox(settings, Secret("not-the-password"))
        from core.errors import CredentialsError

        with pytest.raises(CredentialsError):
            wrong.connect()
        port = server.port
    assert not [t for t in threading.enumerate() if t.name == "intake-demo-imap"]
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
