"""The officer's web console over HTTP: a real waitress server on a free loopback port over a
real store. The access contract is checked against the app's own route table, so a new route
cannot be forgotten: anonymous requests are refused, every POST needs the CSRF token, a viewer
changes nothing. Sender-written markup is inert; files are served by id with safe headers."""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from core.clock import FixedClock
from notifier.outbox import enqueue
from store.models import (
    Attachment,
    AuditEntry,
    OutboxMail,
    OutboxState,
    Unit,
    WebSession,
    WebUser,
)
from tests.support.websupport import (
    HOSTILE_BODY_FILE,
    HOSTILE_FILE,
    HOSTILE_NAME,
    HOSTILE_SUBJECT,
    PASSWORD,
    QUARANTINED_SUBJECT,
    Client,
    Site,
    audit_actions,
    running_site,
)
from web.accounts import Throttle, open_session
from web.app import create_app
from web.console import PUBLIC


@pytest.fixture
def site(tmp_path: Path, clock: FixedClock) -> Iterator[Site]:
    with running_site(tmp_path, None, clock, trusted_proxy="127.0.0.1") as s:
        yield s


# -- the route table ------------------------------------------------------------------------


def _forms(site: Site) -> dict[str, dict[str, str]]:
    """A form that would succeed for each POST endpoint (given the CSRF token and an officer)."""
    waiting = site.message("tieu-de")
    quarantined = site.message(QUARANTINED_SUBJECT)
    return {
        "auth.login": {"name": "co.hoa", "password": PASSWORD},
        "auth.logout": {},
        "views.extend_deadline": {"until": "2021-10-15"},
        "views.remind": {},
        "mail.assign_message": {"unit": "thcs-thanh-mai"},
        "mail.move_message": {
            "campaign_to": "other",
            "back": "pending",
            "seen": f"{waiting.state}:{waiting.campaign_id}",
        },
        "mail.retry": {"message": str(quarantined.id)},
        "mail.requeue_outbox": {},
        "mail.requeue_one": {},
    }


def _failed_outbox(site: Site) -> int:
    """The id of a failed outgoing mail (a reminder refused for good), queued once per site."""
    with site.app.sessions.begin() as s:
        found = s.scalar(select(OutboxMail.id).where(OutboxMail.slot == "test@2021-10-05"))
        if found is not None:
            return found
        msg = EmailMessage()
        msg["To"] = "th-thanh-cao@thanhoai.example"
        msg["Subject"] = "Nhắc nộp báo cáo"
        msg["Message-ID"] = "<nhac-test@thanhoai.example>"
        msg.set_content("Kính gửi Trường Tiểu học Thanh Cao")
        row = enqueue(
            s,
            site.app.files,
            msg,
            campaign_id="tuan-le-htsd-2021",
            kind="reminder",
            unit_code="th-thanh-cao",
            slot="test@2021-10-05",
            now=site.app.clock.now(),
        )
        assert row is not None
        row.state = OutboxState.FAILED
        row.attempts = 1
        row.last_error = "550 5.1.1 No such user"
        return row.id


def _outbox_states(site: Site) -> list[str]:
    with site.app.sessions() as s:
        return list(s.scalars(select(OutboxMail.state).order_by(OutboxMail.id)))


def _routes(site: Site) -> list[tuple[str, str, str]]:
    """(endpoint, method, path) of every route, its arguments filled with real ids."""
    waiting = site.message("tieu-de")
    with site.app.sessions() as s:
        attachment = s.scalar(
            select(Attachment.id).where(Attachment.message_fk == waiting.id).order_by(Attachment.id)
        )
    samples = {
        "message_id": str(waiting.id),
        "attachment_id": str(attachment),
        "code": "th-kim-bai",
        "filename": "console.css",
        "outbox_id": str(_failed_outbox(site)),
    }
    out = []
    for rule in create_app(site.console).url_map.iter_rules():
        unknown = set(rule.arguments) - set(samples)
        assert not unknown, f"{rule.rule}: give the test a sample value for {unknown}"
        path = re.sub(r"<(?:[^:<>]+:)?(\w+)>", lambda m: samples[m[1]], rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            out.append((rule.endpoint, method, path))
    return out


def test_anonymous_get_of_the_root_is_sent_to_the_login_page(site: Site) -> None:
    r = Client(site.url).get("/")
    assert r.status in (302, 303) and r.location.startswith("/login")
    page = Client(site.url).get(r.location)
    assert page.status == 200 and "Đăng nhập" in page.text


def test_every_route_refuses_an_anonymous_request_and_serves_an_officer(site: Site) -> None:
    routes = _routes(site)
    forms = _forms(site)
    assert {e for e, _, _ in routes if e in PUBLIC} == {"auth.login", "static"}
    officer = Client(site.url)
    assert officer.login("co.hoa").status == 303
    for endpoint, method, path in routes:
        if endpoint in PUBLIC:
            continue
        anonymous = Client(site.url)
        if method == "GET":
            r = anonymous.get(path)
            assert r.status in (302, 303) and r.location.startswith("/login"), (path, r.status)
            assert officer.get(path).status == 200, path  # the refusal was about the login
        else:
            assert method == "POST", (endpoint, method)
            r = anonymous.post(path, {"csrf": "x", **forms[endpoint]})
            assert r.status in (401, 403), (path, r.status)


def test_every_post_without_the_csrf_token_is_refused_and_changes_nothing(site: Site) -> None:
    officer = Client(site.url)
    officer.login("co.hoa")
    before = audit_actions(site)
    forms = _forms(site)
    posts = [(e, p) for e, m, p in _routes(site) if m == "POST"]
    assert {e for e, _ in posts} == set(forms), "give _forms a working form for each POST route"
    for endpoint, path in posts:
        for token in ({}, {"csrf": ""}, {"csrf": "forged-token"}):
            r = officer.post(path, {**forms[endpoint], **token})
            assert r.status == 403, (path, token, r.status)
            assert "Biểu mẫu đã hết hạn" in r.text
    assert audit_actions(site) == before
    assert site.message("tieu-de").state == "unassigned"
    assert site.message(QUARANTINED_SUBJECT).state == "quarantined"
    assert _outbox_states(site) == ["failed"]
    assert officer.get("/").status == 200  # still signed in: logout without a token did nothing
    # the same forms with the token work (the refusals above were about the token alone)
    csrf = officer.get("/units/th-kim-bai").csrf()
    # (the waiting message is moved away: assign another one; requeuing all goes last, or the
    # failed row would be requeued before its own button is pressed)
    for endpoint, path in sorted(posts, key=lambda p: p[0] == "mail.requeue_outbox"):
        if endpoint.startswith(("views.", "mail.")) and endpoint != "mail.assign_message":
            r = officer.post(path, {**forms[endpoint], "csrf": csrf})
            assert r.status == 303, (path, r.status, r.text[-800:])
    other = site.message("gửi báo cáo")
    r = officer.post(f"/messages/{other.id}/assign", {**forms["mail.assign_message"], "csrf": csrf})
    assert r.status == 303


def test_a_viewer_reads_every_page_but_changes_nothing(site: Site) -> None:
    viewer = Client(site.url)
    assert viewer.login("xem").status == 303
    before = audit_actions(site)
    forms = _forms(site)
    token = viewer.get("/pending").csrf()
    for page in ("/pending", "/other", "/system", "/units/th-kim-bai"):
        text = viewer.get(page).text
        assert 'method="post"' not in text.replace(  # no forms offered but logging out
            'method="post" action="/logout"', ""
        ), page
    for endpoint, method, path in _routes(site):
        if endpoint in PUBLIC or endpoint == "auth.logout":
            continue
        if method == "GET":
            assert viewer.get(path).status == 200, path
        else:
            r = viewer.post(path, {"csrf": token, **forms[endpoint]})
            assert r.status == 403 and "chỉ xem" in r.text, (path, r.status)
    assert audit_actions(site) == before
    assert site.message("tieu-de").state == "unassigned"
    assert site.message(QUARANTINED_SUBJECT).state == "quarantined"
    with site.app.sessions() as s:
        assert s.scalar(select(Unit.extended_until).where(Unit.code == "th-kim-bai")) is None
    assert _outbox_states(site) == ["failed"]


def test_sender_written_markup_is_inert_on_every_page(site: Site) -> None:
    officer = Client(site.url)
    officer.login("co.hoa")
    waiting = site.message("tieu-de")
    pending = officer.get("/pending")
    for text in (HOSTILE_SUBJECT, HOSTILE_NAME, HOSTILE_FILE, HOSTILE_BODY_FILE):
        escaped = (
            text.replace("&", "&amp;")
            .replace("<", "&lt;")
            .replace(">", "&gt;")
            .replace("'", "&#39;")
        )
        assert escaped in pending.text, text
    r = officer.post(
        f"/messages/{waiting.id}/assign", {"csrf": pending.csrf(), "unit": "th-kim-bai"}
    )
    assert r.status == 303
    filed = site.message("tieu-de")  # now other mail of its unit: listed on Thư khác as well
    r = officer.post(
        f"/messages/{waiting.id}/move",
        {
            "csrf": pending.csrf(),
            "campaign_to": "other",
            "back": "pending",
            "seen": f"{filed.state}:{filed.campaign_id}",
        },
    )
    assert r.status == 303
    other = officer.get("/other").text
    for text in (HOSTILE_SUBJECT, HOSTILE_NAME, HOSTILE_FILE, HOSTILE_BODY_FILE):
        assert html.escape(text).replace("&#x27;", "&#39;") in other, text
    pages = [
        p
        for e, m, p in _routes(site)
        if m == "GET"
        and e.startswith(("views.", "mail."))
        and not e.startswith(("views.stored_file", "views.thumbnail", "views.workbook"))
        and not p.endswith(".zip")
    ]
    assert {"/units/th-kim-bai", "/pending", "/other", "/system"} <= set(pages)
    for path in pages + ["/?q=%3Cscript%3E"]:
        r = officer.get(path)
        assert r.status == 200
        assert "<script" not in r.text.lower() and "<img src=x" not in r.text, path
        assert "script-src" not in r.headers["Content-Security-Policy"]  # no script runs at all
        assert r.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert "&lt;script&gt;alert(&#39;tieu-de&#39;)" in officer.get("/units/th-kim-bai").text
    assert f"thư số {waiting.id}" in officer.get("/units/th-kim-bai").text


def test_files_are_served_by_id_inline_only_for_images_and_pdf(site: Site) -> None:
    officer = Client(site.url)
    officer.login("co.hoa")
    waiting = site.message("tieu-de")
    with site.app.sessions() as s:
        files = {
            a.filename: a.id
            for a in s.scalars(select(Attachment).where(Attachment.message_fk == waiting.id))
        }
    photo = officer.get(f"/files/{files[HOSTILE_FILE]}")
    assert photo.status == 200 and photo.headers["Content-Type"] == "image/jpeg"
    assert photo.headers["Content-Disposition"].startswith("inline;")
    assert photo.body[:3] == b"\xff\xd8\xff"
    html = officer.get(f"/files/{files[HOSTILE_BODY_FILE]}")
    assert html.status == 200 and html.headers["Content-Type"] == "application/octet-stream"
    disposition = html.headers["Content-Disposition"]
    assert re.fullmatch(
        r'attachment; filename="[\w. -]+"; '
        r"filename\*=UTF-8''%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E\.html",
        disposition,
    ), disposition
    assert html.body == b"<html><script>alert(2)</script></html>"
    for r in (photo, html):
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in r.headers["Content-Security-Policy"]
    thumb = officer.get(f"/files/{files[HOSTILE_FILE]}/thumb")
    assert thumb.status == 200 and thumb.headers["Content-Type"] == "image/jpeg"
    assert officer.get("/files/999999").status == 404
    assert officer.get("/files/../../etc/passwd").status == 404


def test_login_is_throttled_per_account_and_per_address_and_says_for_how_long(site: Site) -> None:
    site.console.throttle = Throttle(per_name=3, per_address=6)  # the defaults (5, 20), sooner
    attacker = Client(site.url, address="203.0.113.7")
    for _ in range(3):
        r = attacker.login("co.hoa", "sai-mat-khau")
        assert r.status == 401 and "không đúng" in r.text
    r = attacker.login("co.hoa")  # the right password, but the account is locked now
    assert r.status == 429 and "Tài khoản này tạm bị khoá" in r.text and "15 phút" in r.text
    assert Client(site.url, address="198.51.100.2").login("co.hoa").status == 429  # per account
    assert Client(site.url, address="198.51.100.2").login("thay.nam").status == 303
    failed = [a for a in audit_actions(site) if a[1] == "web.login_failed"]
    assert (
        len(failed) == 3 and failed[0][0] == "co.hoa" and failed[0][2]["address"] == "203.0.113.7"
    )
    for i in range(3):  # 6 failures from one address lock the address, whatever the name
        attacker.login(f"khong-co-{i}", "sai-mat-khau")
    r = attacker.login("thay.nam")
    assert r.status == 429 and "Máy của bạn tạm bị khoá" in r.text
    assert Client(site.url, address="198.51.100.3").login("thay.nam").status == 303


def test_the_session_cookie_is_httponly_strict_and_logout_ends_the_session(site: Site) -> None:
    officer = Client(site.url)
    r = officer.login("co.hoa")
    cookie = next(
        c for c in r.headers.get_all("Set-Cookie") or [] if c.startswith("intake_session=")
    )
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
    kept = dict(officer.cookies)
    assert [a[:2] for a in audit_actions(site)][-1] == ("co.hoa", "web.login")
    token = officer.get("/").csrf()
    assert officer.post("/logout", {"csrf": token}).status == 303
    replay = Client(site.url, cookies=kept)  # the old cookie, replayed after the logout
    assert replay.get("/").status == 303
    tampered = Client(site.url, cookies={"intake_session": kept["intake_session"][:-2] + "xx"})
    assert tampered.get("/").status == 303
    assert [a[:2] for a in audit_actions(site)][-1] == ("co.hoa", "web.logout")


def test_behind_https_the_cookie_is_secure_and_host_bound(
    tmp_path: Path, clock: FixedClock
) -> None:
    with running_site(tmp_path, None, clock, base_url="https://intake.thanhoai.example") as site:
        r = Client(site.url).login("co.hoa")
        cookie = next(c for c in r.headers.get_all("Set-Cookie") or [] if "intake_session=" in c)
        assert cookie.startswith("__Host-intake_session=") and "Secure" in cookie
        assert r.headers["Strict-Transport-Security"].startswith("max-age=")


def test_two_officers_assigning_one_message_at_once_one_wins_the_other_is_told(site: Site) -> None:
    waiting = site.message("tieu-de")
    officers = {name: Client(site.url) for name in ("co.hoa", "thay.nam")}
    tokens = {}
    for name, client in officers.items():
        client.login(name)
        tokens[name] = client.get("/pending").csrf()
    units = {"co.hoa": "th-kim-bai", "thay.nam": "thcs-thanh-mai"}
    replies: dict[str, int] = {}
    texts: dict[str, str] = {}
    start = threading.Barrier(2)

    def act(name: str) -> None:
        start.wait()
        r = officers[name].post(
            f"/messages/{waiting.id}/assign", {"csrf": tokens[name], "unit": units[name]}
        )
        replies[name], texts[name] = r.status, r.text

    threads = [threading.Thread(target=act, args=(n,)) for n in officers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(replies.values()) == [303, 409], replies
    winner = next(n for n, st in replies.items() if st == 303)
    loser = next(n for n, st in replies.items() if st == 409)
    assert f"đã được {winner} xử lý trước bạn" in texts[loser]
    msg = site.message("tieu-de")
    with site.app.sessions() as s:
        code = s.scalar(select(Unit.code).where(Unit.id == msg.unit_id))
    assert msg.state == "filed" and msg.assigned_by == winner and code == units[winner]
    assigns = [a for a in audit_actions(site) if a[1] == "assign"]
    assert [(a[0], a[2]["unit"]) for a in assigns] == [(winner, units[winner])]


def test_assign_by_name_without_diacritics_and_unknown_names_are_told(site: Site) -> None:
    officer = Client(site.url)
    officer.login("co.hoa")
    waiting = site.message("gửi báo cáo")
    token = officer.get("/pending").csrf()
    r = officer.post(f"/messages/{waiting.id}/assign", {"csrf": token, "unit": "Kim Bai"})
    assert r.status == 400 and "khớp với" in r.text  # several units: the officer is told
    r = officer.post(f"/messages/{waiting.id}/assign", {"csrf": token, "unit": "truong xyz"})
    assert r.status == 400 and "Không tìm thấy đơn vị" in r.text
    r = officer.post(
        f"/messages/{waiting.id}/assign", {"csrf": token, "unit": "truong thcs thanh mai"}
    )
    assert r.status == 303
    msg = site.message("gửi báo cáo")
    assert msg.state == "filed" and msg.assigned_by == "co.hoa"
    assert audit_actions(site)[-1][:2] == ("co.hoa", "assign")


# -- accounts on the command line ----------------------------------------------------------


def test_users_add_passwd_list_remove(tmp_path: Path, clock: FixedClock) -> None:
    from tests.support.config import make_config
    from web.cli import cli

    cfg = make_config(tmp_path)
    base = ["--config", cfg.source]
    runner = CliRunner()
    r = runner.invoke(
        cli,
        [*base, "users", "add", "co.hoa", "--role", "officer", "--password-stdin"],
        input="mot-mat-khau-dai\n",
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(
        cli,
        [*base, "users", "add", "xem", "--role", "viewer"],
        input="mat-khau-xem-1\nmat-khau-xem-1\n",
    )  # prompted twice
    assert r.exit_code == 0, r.output
    r = runner.invoke(
        cli, [*base, "users", "add", "ngan", "--role", "viewer", "--password-stdin"], input="ngan\n"
    )
    assert r.exit_code == 2 and "too short" in r.stderr
    r = runner.invoke(cli, [*base, "users", "list"])
    assert (
        r.exit_code == 0
        and re.search(r"co\.hoa\s+officer", r.output)
        and "2 account(s)" in r.output
    )
    from store.db import open_store

    engine, sessions = open_store(cfg.store_url)
    with sessions() as s:
        hashes = list(s.scalars(select(WebUser.password_hash)))
    assert all(h.startswith("$argon2id$") for h in hashes) and "mot-mat-khau-dai" not in str(hashes)
    with sessions.begin() as s:
        user = s.scalar(select(WebUser).where(WebUser.name == "co.hoa"))
        assert user is not None
        open_session(s, user, clock.now())
    r = runner.invoke(
        cli, [*base, "users", "passwd", "co.hoa", "--password-stdin"], input="mat-khau-moi-dai\n"
    )
    assert r.exit_code == 0, r.output
    with sessions() as s:
        assert s.scalar(select(WebSession.id)) is None  # a new password ends the sessions
    r = runner.invoke(cli, [*base, "users", "remove", "xem"])
    assert r.exit_code == 0
    r = runner.invoke(cli, [*base, "users", "remove", "xem"])
    assert r.exit_code == 2 and "no account 'xem'" in r.stderr
    with sessions() as s:
        actions = list(s.scalars(select(AuditEntry.action)))
    assert actions.count("web.user_add") == 2 and "web.user_passwd" in actions
    engine.dispose()
