"""`intake doctor` says exactly what to do (issue 16 item 9), checked against a real Dovecot and a
real SMTP server (aiosmtpd): a processed folder the poller will create is not a failure, an unset
password variable is named, a wrong roster path is a missing file (with its path), and a missing
read folder comes with the folders the server does have."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from core.config import load, password
from intake.doctor import Check, render, run_checks
from intake.imap import ImapMailbox
from tests.support.config import make_config
from tests.support.smtpserver import SmtpServer

pytestmark = [pytest.mark.dovecot]

IMAP_PW = "INTAKE_TEST_DOCTOR_IMAP_PW"
SMTP_PW = "INTAKE_TEST_DOCTOR_SMTP_PW"


def _config(tmp_path: Path, dovecot: Any, server: SmtpServer, **extra: dict[str, object]) -> str:
    sections: dict[str, dict[str, object]] = {
        "mailbox": {
            "host": "127.0.0.1",
            "port": dovecot.port,
            "security": "none",
            "username": dovecot.user,
            "password_env": IMAP_PW,
            "timeout": 5.0,
        },
        "smtp": {
            "host": "127.0.0.1",
            "port": server.port,
            "security": "none",
            "sender": "totrunghoc-thanhoai@thanhoai.example",
        },
    }
    for name, values in extra.items():
        sections.setdefault(name, {}).update(values)
    return make_config(tmp_path, **sections).source


def _check(checks: list[Check], name: str) -> Check:
    (found,) = [c for c in checks if c.name == name]
    return found


@pytest.fixture
def imap_password(dovecot: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(IMAP_PW, dovecot.password)


def test_a_processed_folder_the_poller_will_create_is_not_a_failure(
    tmp_path: Path, dovecot: Any, smtp_server: SmtpServer, imap_password: None
) -> None:
    path = _config(tmp_path, dovecot, smtp_server, mailbox={"processed_folder": "Da-xu-ly"})
    imap = _check(run_checks(path), "imap")
    assert imap.ok, render([imap])
    assert (
        "processed folder 'Da-xu-ly' does not exist yet: it will be created at the first poll"
        in imap.detail
    )
    # and the poller's MOVE (ImapMailbox.mark_processed) does create it
    dovecot.append([b"From: a@b.example\r\nSubject: x\r\nMessage-ID: <d1@b>\r\n\r\nx\r\n"])
    cfg = load(path)
    box = ImapMailbox(cfg.mailbox, password(cfg.mailbox, "mailbox"))
    box.connect()
    try:
        box.select("INBOX")
        box.mark_processed(dovecot.uids(), move_to="Da-xu-ly", keyword="")
        assert box.folder_exists("Da-xu-ly")
    finally:
        box.close()
    again = _check(run_checks(path), "imap")
    assert again.ok and "does not exist" not in again.detail


def test_an_unset_password_variable_is_named(
    tmp_path: Path,
    dovecot: Any,
    smtp_server: SmtpServer,
    imap_password: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(SMTP_PW, raising=False)
    path = _config(
        tmp_path, dovecot, smtp_server, smtp={"username": "totrunghoc", "password_env": SMTP_PW}
    )
    smtp = _check(run_checks(path), "smtp")
    assert not smtp.ok
    assert smtp.fix.startswith(
        f"set the environment variable {SMTP_PW} to the SMTP password: export {SMTP_PW}=…"
    ), smtp.fix
    assert "/etc/intake/secrets.env" in smtp.fix
    monkeypatch.delenv(IMAP_PW)
    imap = _check(run_checks(path), "imap")
    assert (
        not imap.ok and f"set the environment variable {IMAP_PW} to the IMAP password" in imap.fix
    )


def test_a_wrong_roster_path_says_the_file_does_not_exist(
    tmp_path: Path, dovecot: Any, smtp_server: SmtpServer, imap_password: None
) -> None:
    path = _config(tmp_path, dovecot, smtp_server, units={"roster": "don-vi-2021.csv"})
    roster = _check(run_checks(path), "roster")
    where = tmp_path / "don-vi-2021.csv"
    assert not roster.ok
    assert roster.detail == f"ConfigError: roster file {where} does not exist"
    assert roster.fix == (
        f"put the roster (CSV or XLSX) at {where}, or set [units] roster in "
        f"{path} to the file's real path"
    )
    assert "columns" not in roster.fix
    # a file that is there but is not a roster still gets the columns
    where.write_text("ma,ten\n1,2\n", encoding="utf-8")
    bad = _check(run_checks(path), "roster")
    assert not bad.ok and "code,name,kind,emails,aliases" in bad.fix


def test_a_missing_read_folder_lists_the_folders_that_exist(
    tmp_path: Path, dovecot: Any, smtp_server: SmtpServer, imap_password: None
) -> None:
    with dovecot.client() as c:
        c.create_folder("Báo cáo 2021")
        c.create_folder("Archive")
    path = _config(tmp_path, dovecot, smtp_server, mailbox={"folder": "Bao-cao-HTSD"})
    imap = _check(run_checks(path), "imap")
    assert not imap.ok and "'Bao-cao-HTSD' does not exist" in imap.detail
    assert imap.fix.startswith(
        f"set [mailbox] folder in {path} to one of the folders on the server: "
    )
    listed = imap.fix.split(": ", 1)[1].split(", ")
    assert {"INBOX", "Archive", "Báo cáo 2021"} <= set(listed), imap.fix


def test_every_fail_line_of_a_broken_setup_names_what_to_do(
    tmp_path: Path, dovecot: Any, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """All at once, as an admin meets them: no vague 'fix the … section' is left."""
    monkeypatch.delenv(IMAP_PW, raising=False)
    monkeypatch.delenv(SMTP_PW, raising=False)
    path = _config(
        tmp_path,
        dovecot,
        smtp_server,
        units={"roster": "nope.csv"},
        smtp={"username": "u", "password_env": SMTP_PW},
    )
    out = render(run_checks(path))
    fixes = [line for line in out.splitlines() if "fix:" in line]
    assert len(fixes) >= 3, out
    for line in fixes:
        assert "fix the" not in line and "see the error" not in line, line
