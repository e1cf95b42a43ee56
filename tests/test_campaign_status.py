"""`intake status` with several campaigns (issue 15 item 6): the JSON contract — each campaign's
`units[].totals` keyed by its own total columns, the other mail at the top level — and the
readable table's words for mail that waits for the officer to name its campaign."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from intake.cli import cli
from notifier.render import fmt_number
from tests.support.campaignmail import campaigns_app, covid_mail, stats_mail, week_mail, write_mails

WEEK_ID, STATS_ID = "tuan-le-htsd-2021", "thong-ke-dau-nam-2021"
OTHER_KEYS = {"id", "message_id", "from", "unit", "subject", "received_at", "reason"}


def _subject(raw: bytes) -> str:
    import email
    import email.policy

    return str(email.message_from_bytes(raw, policy=email.policy.default)["Subject"])


def _status(base: list[str], *args: str) -> dict:  # type: ignore[type-arg]
    r = CliRunner().invoke(cli, [*base, "status", "--json", *args])
    assert r.exit_code == 0, r.output
    return json.loads(r.output)  # type: ignore[no-any-return]


def test_status_json_totals_are_keyed_by_each_campaigns_own_total_columns(
    tmp_path: Path, db_url: str
) -> None:
    with campaigns_app(tmp_path, db_url) as app:
        app.import_paths(
            [
                write_mails(
                    tmp_path,
                    "mail",
                    [
                        week_mail("thcs-bich-hoa", 1),
                        stats_mail("thcs-cao-duong", 10),
                        covid_mail("th-bich-hoa", 21),
                    ],
                )
            ]
        )
        base = ["--config", app.cfg.source]

    # several campaigns, no --campaign: {"campaigns": [...], "other": [...]} and nothing else
    doc = _status(base)
    assert set(doc) == {"campaigns", "other"}
    week, stats = doc["campaigns"]
    assert (week["campaign"]["id"], stats["campaign"]["id"]) == (WEEK_ID, STATS_ID)
    assert "other" not in week and "other" not in stats
    w = {u["code"]: u for u in week["units"]}
    st = {u["code"]: u for u in stats["units"]}
    # the week: the seed's columns, summed from its table (2 + 1 classes, 150 + 80 people)
    assert w["thcs-bich-hoa"]["totals"] == {"classes": 3, "participants": 230}
    assert w["thcs-cao-duong"]["totals"] == {"classes": None, "participants": None}
    # the statistics: its own columns, in the config's order (Khối 6: 5/198/11, Khối 7: 4/171/10)
    assert st["thcs-cao-duong"]["totals"] == {"classes": 9, "pupils": 369, "teachers": 21}
    assert list(st["thcs-cao-duong"]["totals"]) == ["classes", "pupils", "teachers"]
    assert st["thcs-bich-hoa"]["totals"] == {"classes": None, "pupils": None, "teachers": None}
    # other mail: one list at the top, each entry exactly the contract's keys
    (other,) = doc["other"]
    assert set(other) == OTHER_KEYS
    assert other["unit"] == "th-bich-hoa" and other["subject"] == "Báo cáo tháng 9"
    assert other["message_id"] == "<mix.21.th-bich-hoa@thanhoai.example>"
    assert other["received_at"].startswith("2021-10-")
    assert other["from"] and other["reason"]

    # --campaign ID: today's shape for that campaign, its totals, and "other" at the top
    one = _status(base, "--campaign", STATS_ID)
    assert one["campaign"]["id"] == STATS_ID and one["other"] == doc["other"]
    assert {u["code"]: u for u in one["units"]}["thcs-cao-duong"]["totals"] == {
        "classes": 9,
        "pupils": 369,
        "teachers": 21,
    }
    assert one["units"] == stats["units"]
    assert _status(base, "--campaign", WEEK_ID)["units"] == week["units"]


def test_remind_dry_run_names_the_campaign_of_each_notice(tmp_path: Path, db_url: str) -> None:
    with campaigns_app(tmp_path, db_url) as app:
        app.import_paths([write_mails(tmp_path, "mail", [covid_mail("th-bich-hoa", 21)])])
        base = ["--config", app.cfg.source]
    # 12/10 08:00: the week is past its deadline (overdue notices), the statistics are 3 days
    # before theirs; th-bich-hoa sent only other mail, so both speak to it
    r = CliRunner().invoke(cli, [*base, "remind", "--dry-run", "--at", "2021-10-12T08:00"])
    assert r.exit_code == 0, r.output
    lines = [line.split() for line in r.output.splitlines() if " th-bich-hoa " in line]
    assert sorted((cols[0], cols[2], cols[3]) for cols in lines) == [
        (STATS_ID, "reminder", "before-3d@2021-10-15"),
        (WEEK_ID, "overdue", "overdue@2021-10-10"),
    ]
    # a unit the statistics do not ask (a commune) is reminded of the week only
    xa = {line.split()[0] for line in r.output.splitlines() if " xa-bich-hoa " in line}
    assert xa == {WEEK_ID}


def test_status_table_lists_mail_waiting_for_its_campaign_apart_and_points_to_intake_move(
    tmp_path: Path, db_url: str
) -> None:
    from intake import demo_mixed
    from tests.support.config import ROSTER

    mailbox = demo_mixed.mixed_mailbox(ROSTER)
    unclear = [m for m in mailbox if m.expect == "unclear"]
    stats = next(m for m in mailbox if m.expect == STATS_ID)
    assert len(unclear) == 2
    with campaigns_app(tmp_path, db_url) as app:
        app.import_paths([write_mails(tmp_path, "mail", [m.raw for m in [*unclear, stats]])])
        base = ["--config", app.cfg.source]
    r = CliRunner().invoke(cli, [*base, "status"])
    assert r.exit_code == 0, r.output
    out = r.output
    # the mail whose unit is known and campaign unclear: its own heading, the command that
    # settles it, the campaigns it may belong to by title — not "unit unclear"
    head = (
        "Thư đang chờ xác định thuộc kế hoạch nào (chưa tính vào kế hoạch nào; chọn kế hoạch: "
        "intake move SỐ-THƯ MÃ-KẾ-HOẠCH, hoặc intake move SỐ-THƯ other nếu là thư khác):"
    )
    assert head in out
    assert "Thư chưa xác định được đơn vị" not in out
    assert "chưa rõ đơn vị: 0  chờ xác định kế hoạch: 2" in out
    listed = out.split(head)[1]
    for m in unclear:
        assert _subject(m.raw)[:30] in listed
    maybe = [line for line in listed.splitlines() if line.strip().startswith("có thể thuộc: ")]
    assert len(maybe) == 2
    assert "Tuần lễ hưởng ứng học tập suốt đời năm 2021 (tuan-le-htsd-2021)" in maybe[0]
    assert "Thống kê số liệu đầu năm học 2021-2022 (thong-ke-dau-nam-2021)" in maybe[0]
    assert "chưa rõ thuộc kế hoạch nào" in listed
    # two campaigns, the mailbox-wide list once
    assert out.count(head) == 1
    # each campaign's table has its own total columns, summed from its own table
    week_part, stats_part = out.split("Thống kê số liệu đầu năm học 2021-2022 — hạn nộp")[:2]
    assert "SỐ LỚP" in week_part and "SỐ NGƯỜI" in week_part
    assert "SỐ HỌC SINH" in stats_part and "SỐ GIÁO VIÊN" in stats_part
    row = next(line for line in stats_part.splitlines() if line.startswith(stats.unit + " "))
    doc = _status(base)
    totals = {u["code"]: u["totals"] for u in doc["campaigns"][1]["units"]}[stats.unit]
    assert all(isinstance(v, int) and v > 0 for v in totals.values()), totals
    assert row.split()[-3:] == [fmt_number(totals[k]) for k in ("classes", "pupils", "teachers")]

    # the officer assigns one to a unit again: still waiting for its campaign, in Vietnamese
    (first,) = [
        m for m in doc["campaigns"][0]["unassigned"] if m["subject"] == _subject(unclear[0].raw)
    ]
    # the JSON says what the candidates are: campaign ids here, unit codes for the others
    assert first["waits_for"] == "campaign"
    campaign_ids = {c["campaign"]["id"] for c in doc["campaigns"]}
    assert first["candidates"] and set(first["candidates"]) <= campaign_ids
    others = [m for m in doc["campaigns"][0]["unassigned"] if m["id"] != first["id"]]
    assert all(m["waits_for"] in ("unit", "campaign") for m in others)
    assert all(not set(m["candidates"]) & campaign_ids for m in others if m["waits_for"] == "unit")
    r = CliRunner().invoke(
        cli, [*base, "assign", str(first["id"]), unclear[0].unit, "--by", "co.hoa"]
    )
    assert r.exit_code == 0, r.output
    out = CliRunner().invoke(cli, [*base, "status"]).output
    listed = out.split(head)[1]
    assert f"co.hoa đã ghi nhận cho đơn vị {unclear[0].unit}; chưa rõ thuộc kế hoạch nào" in listed
    assert "lý do kỹ thuật" not in listed
