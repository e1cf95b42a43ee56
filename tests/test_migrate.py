"""`intake db migrate-to`: a SQLite store moved to PostgreSQL without loss (counts and
checksums equal), refusing a non-empty target."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest
from click.testing import CliRunner

from intake.app import App
from intake.cli import cli
from intake.clock import FixedClock
from store.db import make_engine
from store.migrate import MigrationError, checksum, migrate
from store.models import Base
from tests.conftest import ROSTER, make_config

pytestmark = pytest.mark.postgres


def _eml(i: int) -> bytes:
    m = EmailMessage()
    m["From"] = f"Trường Mầm non {'Kim Bài' if i % 2 else 'Bích Hòa'} <mn-{'kim-bai' if i % 2 else 'bich-hoa'}@thanhoai.example>"
    m["To"] = "totrunghoc-thanhoai@thanhoai.example"
    m["Subject"] = f"Báo cáo HTSĐ đợt {i}"
    m["Message-ID"] = f"<mig-{i}@thanhoai.example>"
    m["Date"] = "Fri, 08 Oct 2021 08:00:00 +0700"
    m.set_content("Kính gửi Phòng GD&ĐT huyện Thanh Oai")
    m.add_attachment(bytes([0xFF, 0xD8, 0xFF, 0xE0, i]) + bytes(500), maintype="image", subtype="jpeg", filename=f"Ảnh {i}.jpg")
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
