"""`intake db migrate-to`: a SQLite store moved to PostgreSQL without loss (counts and
checksums equal), refusing a non-empty target that differs from the source, and recognising a
complete copy left by a run killed after its commit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from email.message import EmailMessage
from pathlib import Path

import pytest
from click.testing import CliRunner

from core.clock import FixedClock
from intake.app import App
from intake.cli import cli
from store.db import make_engine
from store.migrate import MigrationError, checksum, migrate
from store.models import Base
from tests.support.config import ROOT, ROSTER, make_config

pytestmark = pytest.mark.postgres


def _eml(i: int) -> bytes:
    m = EmailMessage()
    m["From"] = (
        f"Trường Mầm non {'Kim Bài' if i % 2 else 'Bích Hòa'} "
        f"<mn-{'kim-bai' if i % 2 else 'bich-hoa'}@thanhoai.example>"
    )
    m["To"] = "totrunghoc-thanhoai@thanhoai.example"
    m["Subject"] = f"Báo cáo HTSĐ đợt {i}"
    m["Message-ID"] = f"<mig-{i}@thanhoai.example>"
    m["Date"] = "Fri, 08 Oct 2021 08:00:00 +0700"
    m.set_content("Kính gửi Phòng GD&ĐT huyện Thanh Oai")
    m.add_attachment(
        bytes([0xFF, 0xD8, 0xFF, 0xE0, i]) + bytes(500),
        maintype="image",
        subtype="jpeg",
        filename=f"Ảnh {i}.jpg",
    )
    return bytes(m)


def test_sqlite_to_postgres_verifies(tmp_path: Path, pg_url: str, clock: FixedClock) -> None:
    cfg = make_config(tmp_path)
    with App(cfg, clock) as app:
        app.import_roster(ROSTER)
        for i in range(6):
            (tmp_path / f"{i}.eml").write_bytes(_eml(i))
        app.import_paths([tmp_path / f"{i}.eml" for i in range(6)])
        before = app.status()
    runner = CliRunner()
    r = runner.invoke(cli, ["--config", cfg.source, "db", "migrate-to", pg_url])
    assert r.exit_code == 0, r.output
    assert "verified" in r.output and "messages" in r.output
    source, target = make_engine(cfg.store_url), make_engine(pg_url)
    for t in Base.metadata.sorted_tables:
        assert checksum(source, t) == checksum(target, t)
    assert checksum(target, Base.metadata.tables["messages"]).rows == 6
    # the target works as a store: same status, and new rows get fresh ids
    pg_cfg = make_config(tmp_path / "pg", pg_url)
    with App(pg_cfg, clock) as app:
        after = app.status()
        assert [(u.code, u.state, u.messages) for u in after.units] == [
            (u.code, u.state, u.messages) for u in before.units
        ]
        (tmp_path / "new.eml").write_bytes(_eml(99))
        assert app.import_paths([tmp_path / "new.eml"]).stored == 1
    with pytest.raises(MigrationError, match="not empty"):
        migrate(source, target)
    source.dispose()
    target.dispose()


KILLED_AFTER_COMMIT = textwrap.dedent("""
    import os, signal, sys
    from sqlalchemy import event
    from store.db import make_engine
    from store.migrate import migrate
    source, target = make_engine(sys.argv[1]), make_engine(sys.argv[2])
    copying, committed = [], []
    def seen(conn, clause, *args):
        if getattr(clause, "is_insert", False) and clause.table.name == "messages":
            copying.append(True)
    event.listen(target, "after_execute", seen)
    event.listen(target, "commit", lambda conn: copying and committed.append(True))
    # the first connection to the source after the copy's commit is the verification's
    event.listen(source, "engine_connect",
                 lambda conn: committed and os.kill(os.getpid(), signal.SIGKILL))
    migrate(source, target)
""")


def test_rerun_after_a_kill_past_the_commit_says_already_copied(
    tmp_path: Path, pg_url: str, clock: FixedClock
) -> None:
    cfg = make_config(tmp_path)
    with App(cfg, clock) as app:
        app.import_roster(ROSTER)
        for i in range(3):
            (tmp_path / f"{i}.eml").write_bytes(_eml(i))
        app.import_paths([tmp_path / f"{i}.eml" for i in range(3)])
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_AFTER_COMMIT, cfg.store_url, pg_url],
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()
    r = CliRunner().invoke(cli, ["--config", cfg.source, "db", "migrate-to", pg_url])
    assert r.exit_code == 0, r.output
    assert "already copied and verified" in r.output and "messages" in r.output
    # a source that moved on since the copy is not "already copied": refused, and says why
    with App(cfg, clock) as app:
        (tmp_path / "late.eml").write_bytes(_eml(7))
        app.import_paths([tmp_path / "late.eml"])
    r = CliRunner().invoke(cli, ["--config", cfg.source, "db", "migrate-to", pg_url])
    assert r.exit_code == 2
    assert "not empty and the target differs from the source" in r.output
    assert "messages: source 4 rows" in r.output
