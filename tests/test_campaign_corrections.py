"""The officer's corrections and the reparse with several campaigns (issue 15 items 4 and 5):
`intake move` is audited and recomputes the unit's submissions on both sides, also for an email
whose files were split between two campaigns; `intake reparse` classifies stored mail again
against the campaigns configured now."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from sqlalchemy import select

from intake import demo_mixed
from intake.cli import cli
from store.models import AuditEntry
from tests.support.campaignmail import both_mail, campaigns_app, stats_mail, week_mail, write_mails

WEEK_ID, STATS_ID = "tuan-le-htsd-2021", "thong-ke-dau-nam-2021"


def _units(base: list[str], campaign: str) -> dict[str, dict[str, Any]]:
    r = CliRunner().invoke(cli, [*base, "status", "--json", "--campaign", campaign])
    assert r.exit_code == 0, r.output
    return {u["code"]: u for u in json.loads(r.output)["units"]}


def test_moving_a_split_email_is_audited_and_recomputes_the_campaign_its_file_left(
    tmp_path: Path, db_url: str
) -> None:
    with campaigns_app(tmp_path, db_url) as app:
        app.import_paths([write_mails(tmp_path, "mail", [both_mail("thcs-thanh-mai", 20)])])
        base = ["--config", app.cfg.source]
        with app.sessions() as s:
            from store.models import Message

            (pk,) = s.scalars(select(Message.id))
    assert _units(base, WEEK_ID)["thcs-thanh-mai"]["state"] == "complete"
    assert _units(base, STATS_ID)["thcs-thanh-mai"]["state"] == "complete"
    r = CliRunner().invoke(cli, [*base, "move", str(pk), WEEK_ID, "--by", "co.hoa"])
    assert r.exit_code == 0, r.output
    # the whole email is the week's now: its statistics table no longer counts there
    assert _units(base, WEEK_ID)["thcs-thanh-mai"]["state"] == "complete"
    stats = _units(base, STATS_ID)["thcs-thanh-mai"]
    assert stats["state"] == "missing" and stats["totals"]["pupils"] is None
    from core import config as config_mod
    from intake.app import App

    with App(config_mod.load(Path(base[1]))) as app, app.sessions() as s:
        (entry,) = s.scalars(select(AuditEntry).where(AuditEntry.action == "move"))
    assert entry.actor == "co.hoa"
    assert json.loads(entry.detail) == {
        "message": pk,
        "campaign": WEEK_ID,
        "previous": [STATS_ID, WEEK_ID],
    }


def test_reparse_classifies_stored_mail_again_against_the_campaigns_configured_now(
    tmp_path: Path, db_url: str
) -> None:
    week_only = demo_mixed.CAMPAIGNS_TOML.split("[[campaigns]]")[1]
    with campaigns_app(tmp_path, db_url, "[[campaigns]]" + week_only) as app:
        app.import_paths(
            [
                write_mails(
                    tmp_path,
                    "mail",
                    [week_mail("thcs-bich-hoa", 1), stats_mail("thcs-cao-duong", 10)],
                )
            ]
        )
        base = ["--config", app.cfg.source]
    r = CliRunner().invoke(cli, [*base, "status", "--json"])
    (other,) = json.loads(r.output)["other"]  # the statistics are no week report
    assert other["unit"] == "thcs-cao-duong"
    # the office adds the statistics campaign to the config, then reparses
    path = Path(base[1])
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("[[campaigns]]" + week_only, demo_mixed.CAMPAIGNS_TOML), encoding="utf-8"
    )
    r = CliRunner().invoke(cli, [*base, "reparse", "--all"])
    assert r.exit_code == 0, r.output
    doc = json.loads(CliRunner().invoke(cli, [*base, "status", "--json"]).output)
    assert doc["other"] == []
    week, stats = ({u["code"]: u for u in c["units"]} for c in doc["campaigns"])
    assert stats["thcs-cao-duong"]["state"] == "complete"
    assert stats["thcs-cao-duong"]["totals"] == {"classes": 9, "pupils": 369, "teachers": 21}
    assert week["thcs-bich-hoa"]["state"] == "complete"
    assert week["thcs-cao-duong"]["state"] == "missing"
