"""Authentication-Results: the topmost header of our authserv-id counts; forged lower ones and
other servers' headers do not."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from parsers.authres import read

OURS = "mx.thanhoai.example"


def test_topmost_of_ours_counts_forged_lower_ignored() -> None:
    headers = (
        ("received", "from mail-lf1.google.com"),
        (
            "authentication-results",
            f"{OURS}; spf=pass (sender SPF authorized) smtp.mailfrom=gmail.com;"
            " dkim=pass header.d=gmail.com; dmarc=pass (p=NONE) header.from=gmail.com",
        ),
        ("authentication-results", f"{OURS}; spf=fail; dkim=fail; dmarc=fail"),  # forged, lower
    )
    r = read(headers, OURS)
    assert r is not None and (r.spf, r.dkim, r.dmarc) == ("pass", "pass", "pass")
    assert not r.dmarc_failed


def test_dmarc_fail_and_comments() -> None:
    headers = (
        (
            "authentication-results",
            f"{OURS} (Postfix); dkim=none (no signature); spf=softfail (dmarc=pass in comment) "
            "smtp.mailfrom=thanhoai.example; "
            "dmarc=fail (p=QUARANTINE) header.from=thanhoai.example",
        ),
    )
    r = read(headers, OURS.upper())
    assert r is not None and r.dmarc == "fail" and r.spf == "softfail" and r.dkim == "none"
    assert r.dmarc_failed


def test_other_servers_and_unconfigured() -> None:
    headers = (("authentication-results", "mx.google.com; dmarc=pass"),)
    assert read(headers, OURS) is None
    assert read(headers, "") is None
    assert read((), OURS) is None


def test_dmarc_failure_is_filed_but_flagged_in_status_and_digest(tmp_path: Path) -> None:
    from email.message import EmailMessage

    from core.clock import FixedClock
    from intake.app import App
    from notifier.digest import compose_digest
    from notifier.render import make_env
    from store.queries import status_json
    from tests.support.config import ROSTER, make_config

    clock = FixedClock(datetime(2021, 10, 6, 3, 0, tzinfo=UTC))
    cfg = make_config(
        tmp_path, mailbox={"authserv_id": "mx.thanhoai.example"}, limits={"parse_workers": 0}
    )
    folder = tmp_path / "in"
    folder.mkdir()
    for i, verdict in enumerate(("fail", "pass")):
        m = EmailMessage()
        m["Authentication-Results"] = (
            f"mx.thanhoai.example; spf=softfail smtp.mailfrom=x; "
            f"dkim=none; dmarc={verdict} header.from=thanhoai.example"
        )
        m["From"] = (
            f"Trường THCS Thanh Mai "
            f"<{'thcs-thanh-mai' if i == 0 else 'th-kim-an'}@thanhoai.example>"
        )
        m["To"] = "totrunghoc-thanhoai@thanhoai.example"
        m["Subject"] = "Báo cáo Tuần lễ học tập suốt đời năm 2021"
        m["Message-ID"] = f"<dmarc-{i}@thanhoai.example>"
        m["Date"] = "Wed, 06 Oct 2021 09:00:00 +0700"
        m.set_content("Kính gửi Phòng GD&ĐT, đơn vị gửi báo cáo.")
        (folder / f"{i}.eml").write_bytes(bytes(m))
    with App(cfg, clock) as app:
        app.import_roster(ROSTER)
        app.import_paths([folder])
        status = app.status()
    (flagged,) = status.unverified
    assert flagged.message_id == "<dmarc-0@thanhoai.example>"
    assert flagged.candidates == ("thcs-thanh-mai",)
    assert flagged.reason == "DMARC fail, SPF softfail, DKIM none"
    assert status_json(status)["unverified"][0]["unit"] == "thcs-thanh-mai"
    mail = compose_digest(
        status,
        since=None,
        now=clock.now(),
        workbook=b"",
        env=make_env(),
        recipients=["totrunghoc-thanhoai@thanhoai.example"],
    )
    for body in (mail.text, mail.html):
        assert "không qua kiểm tra xác thực người gửi (DMARC)" in body
        assert (
            "thcs-thanh-mai" in body
            and "th-kim-an@" not in body.split("DMARC", 1)[1].split("7.", 1)[0]
        )
