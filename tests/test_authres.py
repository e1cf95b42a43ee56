"""Authentication-Results: the topmost header of our authserv-id counts; forged lower ones and
other servers' headers do not."""

from __future__ import annotations

from parsers.authres import read

OURS = "mx.thanhoai.example"


def test_topmost_of_ours_counts_forged_lower_ignored() -> None:
    headers = (
        ("received", "from mail-lf1.google.com"),
        ("authentication-results", f"{OURS}; spf=pass (sender SPF authorized) smtp.mailfrom=gmail.com;"
                                   " dkim=pass header.d=gmail.com; dmarc=pass (p=NONE) header.from=gmail.com"),
        ("authentication-results", f"{OURS}; spf=fail; dkim=fail; dmarc=fail"),  # forged, lower
    )
    r = read(headers, OURS)
    assert r is not None and (r.spf, r.dkim, r.dmarc) == ("pass", "pass", "pass")
    assert not r.dmarc_failed


def test_dmarc_fail_and_comments() -> None:
    headers = (("authentication-results",
                f"{OURS} (Postfix); dkim=none (no signature); spf=softfail (dmarc=pass in comment) "
                "smtp.mailfrom=thanhoai.example; dmarc=fail (p=QUARANTINE) header.from=thanhoai.example"),)
    r = read(headers, OURS.upper())
    assert r is not None and r.dmarc == "fail" and r.spf == "softfail" and r.dkim == "none"
    assert r.dmarc_failed


def test_other_servers_and_unconfigured() -> None:
    headers = (("authentication-results", "mx.google.com; dmarc=pass"),)
    assert read(headers, OURS) is None
    assert read(headers, "") is None
    assert read((), OURS) is None
