"""One mailbox, two campaigns and the rest of the office's mail, through the real IMAP path
(Dovecot → poll → store → parse stage → filing) — issue 15's "done when".

The mailbox (`intake.demo_mixed.mixed_mailbox`) holds the week of lifelong learning, the
start-of-year statistics (its own table and deadline, schools only), one email carrying both
campaigns' files, two emails whose document contradicts their subject, and office mail of no
campaign from roster units and strangers (a COVID-19 monthly report formatted like a report with
a figures table, a contest entry list, training-course replies, photos of other events, a school
plan, a publisher's newsletter, a parent's question), with subjects and file names encoded as
Gmail, Outlook, Thunderbird and Apple Mail send them. Every message is APPENDed with its Date as
INTERNALDATE, as delivered mail has.

Asserted message by message: its campaign, never a wrong one (an unsure one waits for the officer
with its candidates); each campaign's status equals the status of a mailbox holding that
campaign's mail alone; other mail is listed and counted nowhere.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from email import message_from_bytes
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from core import config as config_mod
from core.clock import FixedClock
from intake.app import App
from intake.cli import cli
from intake.demo_mixed import (
    OTHER,
    STATS_ID,
    WEEK_ID,
    MixedMail,
    campaign_of,
    mixed_mailbox,
)
from store.models import Attachment, Message, Unit
from tests.support.campaignmail import campaigns_app
from tests.support.config import ROSTER
from tests.support.dovecot import Dovecot

pytestmark = pytest.mark.dovecot

PW_ENV = "INTAKE_TEST_IMAP_PW"
NOW = datetime(2021, 10, 9, 2, 0, tzinfo=UTC)  # 09:00 in Hà Nội, before both deadlines
MAIL = mixed_mailbox(ROSTER)


@pytest.fixture(autouse=True)
def imap_password(monkeypatch: pytest.MonkeyPatch, dovecot: Dovecot) -> None:
    monkeypatch.setenv(PW_ENV, dovecot.password)


def _deliver(dovecot: Dovecot, mail: Sequence[MixedMail], folder: str) -> None:
    """APPEND each message with its Date as INTERNALDATE (when the server received it)."""
    with dovecot.client() as c:
        if not c.folder_exists(folder):
            c.create_folder(folder)
        for m in mail:
            date = parsedate_to_datetime(str(message_from_bytes(m.raw)["Date"]))
            c.append(folder, m.raw, msg_time=date)


def _app(tmp_path: Path, db_url: str, dovecot: Dovecot, folder: str) -> App:
    """The campaigns' app at NOW, polling `folder` of the Dovecot mailbox."""
    return campaigns_app(
        tmp_path,
        db_url,
        at=NOW,
        mailbox={
            "host": dovecot.host,
            "port": dovecot.port,
            "security": "none",
            "username": dovecot.user,
            "password_env": PW_ENV,
            "timeout": 10.0,
            "folder": folder,
            "processed_folder": f"{folder}-done",
        },
    )


def _poll(app: App, expected: int) -> None:
    result = app.poll_once()
    assert result.error == ""
    assert (result.stored, result.failed) == (expected, 0)


def _unit_rows(status: Any) -> dict[str, tuple[object, ...]]:
    return {
        u.code: (
            u.state,
            u.items,
            u.messages,
            u.submitted_at,
            u.late,
            u.missing,
            u.total_classes,
            u.total_participants,
        )
        for u in status.units
    }


def _wrong(mail: MixedMail, msg: Message, unit: str | None, files: dict[str, str]) -> str:
    """What is wrong with where `mail` went ("" when it is where it belongs), and why it went."""
    wrong = _misplaced(mail, msg, unit, files)
    return f"{wrong} (because: {msg.campaign_reason})" if wrong else ""


def _misplaced(mail: MixedMail, msg: Message, unit: str | None, files: dict[str, str]) -> str:
    got = (msg.state, msg.campaign_id)
    if unit != (mail.unit or None):
        return f"filed under unit {unit}, sent by {mail.unit or 'a stranger'}"
    if mail.expect == "unclear":
        named = {c["campaign"] for c in json.loads(msg.campaign_candidates or "[]")}
        if got != ("unassigned", "") or any(files.values()):
            return f"{got}, files {files}: it should wait for the officer"
        if not set(mail.candidates) <= named or not named <= {WEEK_ID, STATS_ID}:
            return f"waits with candidates {sorted(named)}, not {sorted(mail.candidates)}"
        if not msg.reason.startswith("campaign unclear"):
            return f"waits without saying why: {msg.reason!r}"
        return ""
    if mail.expect == OTHER:
        return (
            "" if got == ("other", OTHER) and not any(files.values()) else f"{got}, files {files}"
        )
    if mail.expect == "split":
        where = {name: files[name] or msg.campaign_id for name, _ in mail.apart}
        if msg.state != "filed" or where != dict(mail.apart):
            return f"{got}: files went {where}, not {dict(mail.apart)}"
        return ""
    wrong_files = {n: c for n, c in files.items() if c not in ("", mail.expect)}
    return (
        "" if got == ("filed", mail.expect) and not wrong_files else f"{got}, files {wrong_files}"
    )


def test_a_mixed_imap_mailbox_gives_each_campaign_the_status_it_has_alone(
    tmp_path: Path, dovecot: Dovecot, db_url: str
) -> None:
    kinds = {m.expect for m in MAIL}
    assert kinds == {WEEK_ID, STATS_ID, OTHER, "split", "unclear"}  # every kind is in the mailbox
    _deliver(dovecot, MAIL, "INBOX")
    with _app(tmp_path / "mixed", db_url, dovecot, "INBOX") as app:
        _poll(app, len(MAIL))
        with app.sessions() as s:
            codes = {uid: code for uid, code in s.execute(sa.select(Unit.id, Unit.code))}
            msgs = {m.message_id: m for m in s.scalars(sa.select(Message))}
            files: dict[int, dict[str, str]] = {}
            for a in s.scalars(sa.select(Attachment).where(Attachment.parent_id.is_(None))):
                files.setdefault(a.message_fk, {})[a.filename] = a.campaign_id
            s.expunge_all()
        mixed = {cid: app.status(cid) for cid in (WEEK_ID, STATS_ID)}
        source = app.cfg.source

    # message by message: where it belongs, never a wrong campaign
    assert set(msgs) == {m.message_id for m in MAIL}
    wrong = {
        m.what: w
        for m in MAIL
        if (
            w := _wrong(
                m,
                msgs[m.message_id],
                codes.get(msgs[m.message_id].unit_id),  # type: ignore[arg-type]
                files.get(msgs[m.message_id].id, {}),
            )
        )
    }
    assert wrong == {}

    # other mail: listed with its reason, counted nowhere
    doc = json.loads(CliRunner().invoke(cli, ["--config", source, "status", "--json"]).output)
    assert [c["campaign"]["id"] for c in doc["campaigns"]] == [WEEK_ID, STATS_ID]
    listed = {o["message_id"]: o for o in doc["other"]}
    assert set(listed) == {m.message_id for m in MAIL if m.expect == OTHER}
    assert all(
        o["reason"] and o["unit"] == (next(m.unit for m in MAIL if m.message_id == mid) or None)
        for mid, o in listed.items()
    )
    only_other = {m.unit for m in MAIL if m.unit} - {m.unit for m in MAIL if m.expect != OTHER}
    assert only_other  # units whose only mail was other mail: still "missing" everywhere
    for c in doc["campaigns"]:
        for u in c["units"]:
            if u["code"] in only_other:
                assert (u["state"], u["messages"]) == ("missing", 0), (
                    c["campaign"]["id"],
                    u["code"],
                )
    # the statistics are asked of schools only; a commune's week report does not appear there
    assert "xa-bich-hoa" not in _unit_rows(mixed[STATS_ID])
    assert _unit_rows(mixed[WEEK_ID])["xa-bich-hoa"][0] == "complete"

    # each campaign as if the mailbox held its mail alone
    for cid in (WEEK_ID, STATS_ID):
        own = [m for m in MAIL if campaign_of(m, cid)]
        folder = f"alone-{cid}"
        _deliver(dovecot, own, folder)
        with _app(
            tmp_path / folder, f"sqlite:///{tmp_path / f'{folder}.sqlite3'}", dovecot, folder
        ) as alone:
            _poll(alone, len(own))
            assert _unit_rows(alone.status(cid)) == _unit_rows(mixed[cid]), cid
        sent = {m.unit for m in own}
        assert {c for c, row in _unit_rows(mixed[cid]).items() if row[2]} == sent, cid


def test_the_officer_settles_an_unclear_message_and_only_its_campaign_changes(
    tmp_path: Path, dovecot: Dovecot, db_url: str
) -> None:
    """The statistics table under a week subject waits; `intake move` puts it in the statistics
    campaign: that unit becomes complete there, and the week does not change."""
    unclear = next(m for m in MAIL if m.expect == "unclear" and STATS_ID in m.candidates)
    week = next(m for m in MAIL if m.expect == WEEK_ID)
    _deliver(dovecot, [unclear, week], "INBOX")
    with _app(tmp_path, db_url, dovecot, "INBOX") as app:
        _poll(app, 2)
        before = {cid: _unit_rows(app.status(cid)) for cid in (WEEK_ID, STATS_ID)}
        assert before[STATS_ID][unclear.unit][0] == "missing"
        assert [x.message_id for x in app.status(STATS_ID).unassigned] == [unclear.message_id]
        with app.sessions() as s:
            pk = s.scalars(
                sa.select(Message.id).where(Message.message_id == unclear.message_id)
            ).one()
        base = ["--config", app.cfg.source]
    r = CliRunner().invoke(cli, [*base, "move", str(pk), STATS_ID, "--by", "co.hoa"])
    assert r.exit_code == 0, r.output
    with App(config_mod.load(Path(base[1])), FixedClock(NOW)) as app:
        after = {cid: _unit_rows(app.status(cid)) for cid in (WEEK_ID, STATS_ID)}
    assert after[STATS_ID][unclear.unit][0] == "complete"
    assert after[WEEK_ID] == before[WEEK_ID]
    assert {c: r for c, r in after[STATS_ID].items() if c != unclear.unit} == {
        c: r for c, r in before[STATS_ID].items() if c != unclear.unit
    }
