"""An existing store moves to campaigns (migration 0007) with its status unchanged (issue 15
item 7): the store is made by the code from before campaigns — the tree of `PRE_CAMPAIGNS`, taken
out of git with `git archive` and run as its own `intake` command — on a real SQLite file and on
PostgreSQL, from a mailbox of the week's mail plus mail the old code counted in its one campaign
(a COVID-19 report, the start-of-year statistics, a school plan from a roster unit). Today's code
opens it (upgrading to head) and prints the same `intake status --json`, plus an empty
`"other"`: what was counted stays counted until the officer reparses or moves it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from intake.cli import cli
from intake.demo_mail import campaign_messages
from intake.demo_mixed import WEEK_ID, mixed_mailbox
from store.db import head_revision, make_engine
from tests.support.config import ROOT, ROSTER, make_config

# the last commit before migration 0007 (5c1c85f, "Campaigns are data") landed
PRE_CAMPAIGNS = "046edd5"


@pytest.fixture(scope="module")
def old_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pre-campaign source tree, extracted from git (the repository is not touched)."""
    if not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout to run the pre-campaign code")
    out = tmp_path_factory.mktemp("pre-campaigns")
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", PRE_CAMPAIGNS], check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(out, filter="data")
    assert not (out / "store/migrations/versions/0007_campaigns.py").exists()
    return out


def _old_intake(tree: Path, config: str, *args: str) -> str:
    """`intake ARGS` as the pre-campaign code runs it (its own packages first on the path)."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    code = (
        "import sys, intake.cli as c; "
        f"assert c.__file__.startswith({str(tree)!r}), c.__file__; "
        "sys.argv[0] = 'intake'; c.main()"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, "--config", config, *args],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _mail(tmp_path: Path) -> Path:
    """The week's mail as the demo makes it, and the mixed mailbox's campaign and other mail
    (all of which the old code counted in its one campaign)."""
    d = tmp_path / "mail"
    d.mkdir()
    raws = campaign_messages(ROSTER, 12, seed=5) + [m.raw for m in mixed_mailbox(ROSTER)]
    for i, raw in enumerate(raws):
        (d / f"{i:03d}.eml").write_bytes(raw)
    return d


def _revision(url: str) -> str:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return str(
                conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one()
            )
    finally:
        engine.dispose()


@pytest.mark.parametrize("store", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_store_made_before_campaigns_migrates_with_its_status_unchanged(
    tmp_path: Path, old_tree: Path, store: str, request: pytest.FixtureRequest
) -> None:
    url = (
        f"sqlite:///{tmp_path / 'intake.sqlite3'}"
        if store == "sqlite"
        else str(request.getfixturevalue("pg_url"))
    )
    source = make_config(tmp_path, url).source
    out = _old_intake(old_tree, source, "import", str(_mail(tmp_path)))
    assert "0 already in the store" in out, out
    assert _revision(url) == "0006"
    before: dict[str, Any] = json.loads(_old_intake(old_tree, source, "status", "--json"))
    counted = {u["code"] for u in before["units"] if u["messages"]}
    # the old code counted other mail and the statistics in its one campaign: that stays
    assert {"th-bich-hoa", "thcs-kim-an", "thcs-cu-khe", "thcs-cao-duong"} <= counted
    assert sum(u["state"] == "complete" for u in before["units"]) >= 3
    filed_before = sum(u["messages"] for u in before["units"])

    r = CliRunner().invoke(cli, ["--config", source, "status", "--json"])
    assert r.exit_code == 0, r.output
    after = json.loads(r.stdout)  # stderr: the old store is world-readable (a warning says so)
    assert _revision(url) == head_revision(make_engine(url))
    assert after.pop("other") == []
    # the same units, each as it was (today's code lists them kind by kind, issue 16, and adds
    # "overdue" beside "late": the CLI's clock is years past the deadline)
    now = {u["code"]: u for u in after.pop("units")}
    was = {u["code"]: u for u in before.pop("units")}
    assert set(now) == set(was)
    for code, u in now.items():
        assert u.pop("overdue") == (u["state"] != "complete"), code
        assert u == was[code], code
    # today's JSON says what each waiting message waits for: the old store's wait for a unit
    assert [m.pop("waits_for") for m in after["unassigned"]] == ["unit"] * len(before["unassigned"])
    assert after == before

    # the migrated store knows its one campaign, and every filed message is in it
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            assert list(conn.execute(sa.text("SELECT id FROM campaigns")).scalars()) == [WEEK_ID]
            filed = conn.execute(
                sa.text(
                    "SELECT campaign_id, campaign_by, count(*) FROM messages WHERE state = 'filed' "
                    "GROUP BY campaign_id, campaign_by"
                )
            ).all()
            assert [tuple(row) for row in filed] == [(WEEK_ID, "auto", filed_before)]
    finally:
        engine.dispose()
