"""`intake reparse`: the current parsers rerun over stored raw mail, so a parser fix reaches old
submissions; the officer's assignments survive; quarantined mail gets another go."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import intake.parsestage as parsestage
from core.clock import FixedClock
from intake.app import App
from intake.cli import cli
from parsers.facts import DocumentFacts
from tests.support.config import ROSTER, make_config
from tests.support.mailgen import campaign_mailbox


def _nameless() -> bytes:
    import random
    from email.message import EmailMessage

    from intake.demo_mail import XLSX, make_table, read_units

    unit = next(u for u in read_units(ROSTER) if u.code == "th-kim-an")
    rng = random.Random(3)
    m = EmailMessage()
    m["From"] = "Hoa Nguyen <hoanguyen.1990@gmail.com>"
    m["To"] = "totrunghoc-thanhoai@thanhoai.example"
    m["Subject"] = "gửi số liệu"
    m["Message-ID"] = "<nameless-1@gmail.com>"
    m["Date"] = "Wed, 06 Oct 2021 21:14:00 +0700"
    m.set_content("Em gửi ạ.")
    m.add_attachment(
        make_table(unit, [("Ngày hội đọc sách", "Thư viện", 2, 640)], rng),
        maintype="application",
        subtype=XLSX.split("/")[1],
        filename="so lieu.xlsx",
    )
    return bytes(m)


def _blind(data: bytes, filename: str, content_type: str = "") -> DocumentFacts:
    """Yesterday's parser: sees the files, reads nothing in them."""
    return DocumentFacts(filename=filename, kind="other", fmt="bin")


def test_reparse_brings_a_parser_fix_to_old_mail(
    tmp_path: Path, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = make_config(tmp_path, limits={"parse_workers": 0})
    inbox = tmp_path / "eml"
    inbox.mkdir()
    for i, raw in enumerate(campaign_mailbox(ROSTER, n=11, seed=4)):
        (inbox / f"{i}.eml").write_bytes(raw)
    (inbox / "nameless.eml").write_bytes(_nameless())
    with App(cfg, clock) as app:
        app.import_roster(ROSTER)
        with monkeypatch.context() as m:
            m.setattr(parsestage, "read_document", _blind)
            app.import_paths([inbox])
        before = {u.code: u for u in app.status().units if u.messages}
        assert before and all(
            u.state == "incomplete" and u.total_participants is None for u in before.values()
        )
        # the officer files the nameless message by hand before the fix
        (loose,) = [m for m in app.status().unassigned if m.from_addr == "hoanguyen.1990@gmail.com"]
    runner = CliRunner()
    base = ["--config", cfg.source]
    r = runner.invoke(cli, [*base, "assign", str(loose.id), "th-kim-an"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, [*base, "reparse", "--all"])
    assert r.exit_code == 0 and "12 message(s) reparsed" in r.output, r.output
    with App(cfg, clock) as app:
        after = {u.code: u for u in app.status().units if u.messages}
        kim_an = after["th-kim-an"]  # the officer's hand is kept ...
        assert kim_an.items.data_table and kim_an.total_participants  # ... and its table read
    assert any(u.state == "complete" for u in after.values())
    assert any(u.total_participants for u in after.values())
    assert sum(u.messages for u in after.values()) >= sum(u.messages for u in before.values())
