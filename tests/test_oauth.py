"""OAuth2 (XOAUTH2) end to end on loopback: a local authorization server
(tests/support/oauthserver.py)
issues, refreshes, expires and revokes tokens; Dovecot checks every XOAUTH2 login against its
introspection endpoint; aiosmtpd checks SMTP AUTH XOAUTH2 against it too. Covered: the config
keys, `intake auth login` (device code through the CLI; the browser flow with its loopback
redirect and with the pasted address), `intake auth status`, the token file's mode, a token
expiring between polls, a token the server ends early, a revoked refresh token (the heartbeat
and doctor say to run `intake auth login`), throttled logins backing off, and that no token
reaches a log line, an error text or the store."""

from __future__ import annotations

import logging
import socket
import stat
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from sqlalchemy import func, select

from core import config as config_mod
from core.clock import FixedClock
from core.errors import ConfigError, CredentialsError, TransientError
from intake.app import App, build_mailer
from intake.authlogin import login
from intake.cli import cli
from intake.daemon import Daemon
from intake.imap import ImapMailbox
from intake.oauth import MS_IMAP, MS_SMTP, settings_for
from intake.oauthtokens import OAuth2Tokens
from intake.scheduler import Scheduler
from notifier.smtp import SmtpMailer
from store.models import Heartbeat, LedgerEntry, Message
from tests.support import dovecot as dovecot_mod
from tests.support.config import ROSTER, make_config
from tests.support.faultproxy import Answer, proxied
from tests.support.oauthserver import OAuthServer, serve
from tests.support.smtpserver import SmtpServer

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


@pytest.fixture
def oauth_server() -> Iterator[OAuthServer]:
    yield from serve(OAuthServer())


@pytest.fixture
def oauth_dovecot(oauth_server: OAuthServer) -> Iterator[dovecot_mod.Dovecot]:
    with dovecot_mod.running(oauth2_introspection_url=f"{oauth_server.url}/introspect") as d:
        yield d


def _mailbox(d: dovecot_mod.Dovecot, server: OAuthServer) -> dict[str, object]:
    return {
        "host": d.host,
        "port": d.port,
        "security": "none",
        "username": d.user,
        "poll_interval": 60,
        **server.config(),
    }


def _device_login(tokens: OAuth2Tokens, server: OAuthServer) -> None:
    """`intake auth login` without the terminal: the 'sleep' is the admin typing the code."""

    def approve(_: float) -> None:
        for d in list(server.devices.values()):
            server.approve(d["user_code"])

    login(tokens.settings, tokens, out=lambda _: None, method="device", sleep=approve)


def _message(subject: str = "Báo cáo") -> bytes:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = "thcs-kim-an@thanhoai.example", "totrunghoc@x", subject
    m["Message-ID"] = f"<{time.monotonic_ns()}@thanhoai.example>"
    m.set_content("Kính gửi phòng GD&ĐT")
    return m.as_bytes()


def _no_token_in(texts: list[str], server: OAuthServer) -> None:
    assert server.tokens_seen
    for t in server.tokens_seen:
        for text in texts:
            assert t not in text, "a token leaked"


# -- config --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "mailbox, match",
    [
        ({"auth": "kerberos"}, "mailbox.auth must be one of"),
        ({"auth": "oauth2", "client_id": "x"}, "mailbox.provider must be one of"),
        ({"auth": "oauth2", "provider": "google"}, "client_id is required"),
        ({"auth": "oauth2", "provider": "custom", "client_id": "x"}, "needs token_endpoint"),
        (
            {"auth": "oauth2", "provider": "google", "client_id": "x", "password_env": "P"},
            "takes no password",
        ),
        ({"client_secret_env": "A", "client_secret_file": "b"}, "not both"),
        ({"client_secret": "GOCSPX-hunter2"}, "secrets do not belong"),
        ({"refresh_token": "1//hunter2"}, "secrets do not belong"),
    ],
)
def test_oauth2_keys_are_checked(tmp_path: Path, mailbox: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match) as e:
        make_config(tmp_path, mailbox=mailbox)
    assert "hunter2" not in str(e.value)


def test_smtp_shares_only_a_mailbox_oauth2_login(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="smtp.provider is required"):
        make_config(tmp_path, smtp={"auth": "oauth2"})


def test_microsoft_and_google_presets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ms = make_config(
        tmp_path / "ms",
        mailbox={
            "auth": "oauth2",
            "provider": "microsoft",
            "client_id": "app",
            "tenant": "thanhoai.edu.vn",
            "username": "totrunghoc@thanhoai.edu.vn",
        },
        smtp={"auth": "oauth2", "host": "smtp.office365.com"},
    )
    st = settings_for(ms, "mailbox")
    assert st.device_authorization_endpoint == (
        "https://login.microsoftonline.com/thanhoai.edu.vn/oauth2/v2.0/devicecode"
    )
    assert st.scopes == (MS_IMAP, MS_SMTP, "offline_access")
    assert st.token_file == tmp_path / "ms" / "oauth2-mailbox.json"  # beside files/
    assert settings_for(ms, "smtp").token_file == st.token_file  # one login for both
    monkeypatch.setenv("GOOGLE_SECRET", "GOCSPX-x")
    g = make_config(
        tmp_path / "g",
        mailbox={
            "auth": "oauth2",
            "provider": "google",
            "client_id": "c.apps.googleusercontent.com",
            "client_secret_env": "GOOGLE_SECRET",
        },
    )
    gs = settings_for(g, "mailbox")
    assert gs.scopes == ("https://mail.google.com/",) and not gs.device_authorization_endpoint
    assert gs.client_secret is not None and "GOCSPX" not in repr(gs)
    plain = make_config(
        tmp_path / "c",
        mailbox={
            "auth": "oauth2",
            "provider": "custom",
            "client_id": "x",
            "token_endpoint": "http://idp.example/token",
            "device_authorization_endpoint": "https://idp.example/d",
        },
    )
    with pytest.raises(ConfigError, match="must be https"):
        settings_for(plain, "mailbox")


# -- logging in ----------------------------------------------------------------------------------


def test_device_code_login_through_the_cli_and_status(
    tmp_path: Path, oauth_server: OAuthServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    cfg = make_config(
        tmp_path, mailbox={"host": "127.0.0.1", "username": "totrunghoc", **oauth_server.config()}
    )
    stop = threading.Event()

    def admin_types_the_code() -> None:
        while not stop.is_set():
            for d in list(oauth_server.devices.values()):
                if oauth_server.grants:  # the CLI is polling: approve on the phone
                    oauth_server.approve(d["user_code"])
            time.sleep(0.05)

    t = threading.Thread(target=admin_types_the_code, daemon=True)
    t.start()
    try:
        r = CliRunner().invoke(cli, ["--config", cfg.source, "auth", "login"])
    finally:
        stop.set()
        t.join()
    assert r.exit_code == 0, r.output
    assert f"{oauth_server.url}/link" in r.output and "enter the code" in r.output
    assert "account:       totrunghoc@thanhoai.example" in r.output  # from the id_token
    path = tmp_path / "oauth2-mailbox.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    s = CliRunner().invoke(cli, ["--config", cfg.source, "auth", "status"])
    assert s.exit_code == 0, s.output
    assert "scopes:        imap smtp offline_access" in s.output and "mode 0600" in s.output
    assert "refresh token: held" in s.output
    _no_token_in([r.output, s.output] + [rec.getMessage() for rec in caplog.records], oauth_server)
    assert any(t in path.read_text() for t in oauth_server.tokens_seen)  # only in the file


def test_status_before_login_says_what_to_run(tmp_path: Path, oauth_server: OAuthServer) -> None:
    cfg = make_config(tmp_path, mailbox={"username": "u", **oauth_server.config()})
    r = CliRunner().invoke(cli, ["--config", cfg.source, "auth", "status"])
    assert r.exit_code == 2 and "run `intake auth login`" in r.stderr


def test_browser_login_through_the_loopback_redirect(
    tmp_path: Path, oauth_server: OAuthServer
) -> None:
    cfg = make_config(tmp_path, mailbox={"username": "totrunghoc", **oauth_server.config()})
    tokens = OAuth2Tokens(settings_for(cfg, "mailbox"))
    lines: list[str] = []

    def browser(url: str) -> None:  # signs in, follows the redirect to our listener
        threading.Thread(target=lambda: requests.get(url, timeout=10), daemon=True).start()

    status = login(
        tokens.settings, tokens, out=lines.append, method="browser", open_browser=browser, wait=20
    )
    assert status.has_refresh_token and oauth_server.grants == {"authorization_code": 1}
    assert "code_challenge=" in lines[0]  # PKCE
    assert stat.S_IMODE(tokens.settings.token_file.stat().st_mode) == 0o600


def test_browser_login_with_the_pasted_address(tmp_path: Path, oauth_server: OAuthServer) -> None:
    """A server without a browser: the admin signs in elsewhere, the redirect to 127.0.0.1
    fails there, and they paste the address it shows."""
    cfg = make_config(tmp_path, mailbox={"username": "totrunghoc", **oauth_server.config()})
    tokens = OAuth2Tokens(settings_for(cfg, "mailbox"))
    shown: list[str] = []
    ready = threading.Event()

    def out(line: str) -> None:
        shown.append(line)
        ready.set()

    def paste() -> str:
        ready.wait(10)
        url = shown[0].split()[-1]
        r = requests.get(url, allow_redirects=False, timeout=10)  # the other machine's browser
        return r.headers["Location"]

    status = login(tokens.settings, tokens, out=out, method="browser", read_line=paste, wait=20)
    assert status.has_refresh_token


# -- XOAUTH2 against Dovecot ----------------------------------------------------------------------


@pytest.mark.dovecot
def test_poll_with_xoauth2_refreshes_across_expiry_and_revocation(
    tmp_path: Path,
    oauth_server: OAuthServer,
    oauth_dovecot: dovecot_mod.Dovecot,
    clock: FixedClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    cfg = make_config(tmp_path, mailbox=_mailbox(oauth_dovecot, oauth_server))
    oauth_dovecot.append([_message("một")])
    with App(cfg, clock) as app:
        app.import_roster(ROSTER)
        _device_login(OAuth2Tokens(settings_for(cfg, "mailbox"), clock), oauth_server)
        daemon = Daemon(app)
        first = daemon.poll_once(force=True)
        assert first is not None and first.error == "" and first.stored == 1
        assert oauth_server.introspections == [True]

        # 1. the token expires between polls: refreshed before the login
        oauth_server.expire_access_tokens()
        clock.advance(timedelta(hours=1))
        oauth_dovecot.append([_message("hai")])
        second = daemon.poll_once(force=True)
        assert second is not None and second.error == "" and second.stored == 1
        assert oauth_server.grants["refresh_token"] == 1 and oauth_server.introspections[-1] is True

        # 2. the server ends the token before its stated expiry: refused once, refreshed, retried
        oauth_server.expire_access_tokens()
        oauth_dovecot.append([_message("ba")])
        third = daemon.poll_once(force=True)
        assert third is not None and third.error == "" and third.stored == 1
        assert oauth_server.grants["refresh_token"] == 2
        assert oauth_server.introspections[-2:] == [False, True]

        # 3. consent withdrawn: the refresh token is refused -> CredentialsError, said everywhere
        oauth_server.revoke_refresh_tokens()
        oauth_server.expire_access_tokens()
        fourth = daemon.poll_once(force=True)
        assert fourth is not None and "run `intake auth login`" in fourth.error
        with app.sessions() as s:
            hb = s.scalars(select(Heartbeat)).one()
        assert "run `intake auth login`" in hb.last_error and "invalid_grant" in hb.last_error
        health = app.status().health  # what the digest's warning line and status --json show
        assert "run `intake auth login`" in health[0].last_error
        with pytest.raises(CredentialsError, match="intake auth login"):
            app.mailbox().connect()
        texts = [rec.getMessage() for rec in caplog.records] + [hb.last_error, fourth.error]
    _no_token_in(texts, oauth_server)  # the refusal's description quoted the token: scrubbed

    r = CliRunner().invoke(cli, ["--config", cfg.source, "doctor"])
    assert "fix: run: intake auth login" in r.output, r.output
    _no_token_in([r.output], oauth_server)


@pytest.mark.dovecot
def test_xoauth2_token_of_another_account_is_refused(
    tmp_path: Path,
    oauth_server: OAuthServer,
    oauth_dovecot: dovecot_mod.Dovecot,
    clock: FixedClock,
) -> None:
    cfg = make_config(
        tmp_path, mailbox={**_mailbox(oauth_dovecot, oauth_server), "username": "other"}
    )
    tokens = OAuth2Tokens(settings_for(cfg, "mailbox"), clock)
    _device_login(tokens, oauth_server)
    box = ImapMailbox(cfg.mailbox, None, tokens=tokens)
    with pytest.raises(CredentialsError, match="XOAUTH2 with a fresh token"):
        box.connect()


# -- SMTP AUTH XOAUTH2 ---------------------------------------------------------------------------


def test_smtp_xoauth2_shares_the_mailbox_login(
    tmp_path: Path, oauth_server: OAuthServer, smtp_xoauth2_server: SmtpServer
) -> None:
    srv = smtp_xoauth2_server
    srv.token_check = lambda user, token: user == "totrunghoc" and oauth_server.active(token)
    cfg = make_config(
        tmp_path,
        mailbox={"username": "totrunghoc", **oauth_server.config()},
        smtp={
            "host": srv.host,
            "port": srv.port,
            "security": "ssl",
            "auth": "oauth2",
            "sender": "totrunghoc@thanhoai.example",
        },
    )
    tokens = OAuth2Tokens(settings_for(cfg, "mailbox"))
    _device_login(tokens, oauth_server)
    mailer = build_mailer(cfg)
    assert isinstance(mailer, SmtpMailer)
    mailer._context.load_verify_locations(srv.cafile)
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = "totrunghoc@thanhoai.example", "a@b.example", "Nhắc nộp"
    m.set_content("x")
    mailer.send(m)
    oauth_server.expire_access_tokens()  # refused once, refreshed, sent
    mailer.send(m)
    assert len(srv.received) == 2 and oauth_server.grants["refresh_token"] == 1
    assert "XOAUTH2" in mailer.check()
    oauth_server.revoke_refresh_tokens()
    oauth_server.expire_access_tokens()
    with pytest.raises(CredentialsError, match="intake auth login") as e:
        mailer.send(m)
    _no_token_in([str(e.value)], oauth_server)


# -- throttling --------------------------------------------------------------------------------


class _BusyImap:
    """An IMAP server that answers every login as Microsoft 365 does when throttling."""

    def __init__(self, reply: bytes) -> None:
        self.reply = reply
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.logins = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn, conn.makefile("rb") as f:
                conn.sendall(b"* OK [CAPABILITY IMAP4rev1 AUTH=XOAUTH2] ready\r\n")
                for line in f:
                    tag, cmd = line.split()[:2]
                    if cmd.upper() == b"CAPABILITY":
                        conn.sendall(
                            b"* CAPABILITY IMAP4rev1 AUTH=XOAUTH2\r\n" + tag + b" OK done\r\n"
                        )
                        continue
                    self.logins += 1
                    conn.sendall(self.reply.replace(b"TAG", tag))
                    if b"BYE" in self.reply:
                        break


@pytest.mark.parametrize(
    "reply",
    [
        b"TAG NO [UNAVAILABLE] Server Unavailable. 15\r\n",
        b"* BYE Server Unavailable. 21\r\n",
    ],
)
def test_throttled_login_backs_off_instead_of_alerting(
    tmp_path: Path,
    oauth_server: OAuthServer,
    clock: FixedClock,
    reply: bytes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    busy = _BusyImap(reply)
    cfg = make_config(
        tmp_path,
        mailbox={
            "host": "127.0.0.1",
            "port": busy.port,
            "security": "none",
            "username": "totrunghoc",
            "poll_interval": 60,
            **oauth_server.config(),
        },
    )
    with App(cfg, clock) as app:
        _device_login(OAuth2Tokens(settings_for(cfg, "mailbox"), clock), oauth_server)
        with pytest.raises(TransientError, match="busy or throttling"):
            app.mailbox().connect()
        daemon = Daemon(app)
        caplog.set_level(logging.WARNING, logger="intake.daemon")
        for _ in range(2):
            r = daemon.poll_once(force=True)
            assert r is not None and "busy or throttling" in r.error
        assert daemon.failures == 2 and "next try in 120 s" in caplog.records[-1].getMessage()
        logins = busy.logins
        assert daemon.poll_once() is None and busy.logins == logins  # backing off: no connection
    assert oauth_server.grants.get("refresh_token") is None  # a busy server is no token problem
    busy.sock.close()


def test_token_file_is_tightened_and_atomic(tmp_path: Path, oauth_server: OAuthServer) -> None:
    cfg = make_config(
        tmp_path,
        mailbox={
            "username": "totrunghoc",
            **oauth_server.config(),
            "token_file": "secrets/imap-token.json",
        },
    )
    tokens = OAuth2Tokens(settings_for(cfg, "mailbox"))
    _device_login(tokens, oauth_server)
    path = tmp_path / "secrets" / "imap-token.json"
    path.chmod(0o644)
    assert tokens.access_token().reveal().startswith("at-")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []
    assert config_mod.Secret("x").__repr__() == "Secret('***')"


# -- IDLE across token expiries (the daemon's watcher, in-process) --------------------------------


def _until(what: str, pred: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def _stored(app: App) -> int:
    with app.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(Message)) or 0)


@contextmanager
def _watching(daemon: Daemon, clock: FixedClock) -> Iterator[Scheduler]:
    """The daemon's IDLE watcher in a thread, its polls run by a scheduler only when IDLE
    triggers them (the regular poll is a day away on the test's fixed clock)."""
    sched = Scheduler(clock, tick=0.1)
    daemon.scheduler = sched
    sched.add("poll", daemon.poll_once, 86400, delay=86400)
    sched.start()
    watcher = threading.Thread(target=daemon.idle_loop, name="idle", daemon=True)
    watcher.start()
    try:
        yield sched
    finally:
        daemon.request_stop()
        sched.stop(wait=True)
        watcher.join(10)
        assert not watcher.is_alive()


@pytest.mark.dovecot
def test_idle_keeps_watching_across_token_expiries(
    tmp_path: Path,
    oauth_server: OAuthServer,
    oauth_dovecot: dovecot_mod.Dovecot,
    clock: FixedClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Mid-IDLE the token nears its expiry: the watcher logs in again with a refreshed token
    before the server would end the session; when the server drops the session anyway
    (Microsoft 365 does once the token has expired; Dovecot does not, so the session is killed
    here), the watcher logs in again, its stale token refused once, refreshed, and IDLE
    resumes. New mail is seen through IDLE after each: nothing waits for the regular poll."""
    caplog.set_level(logging.DEBUG)
    cfg = make_config(tmp_path, mailbox=_mailbox(oauth_dovecot, oauth_server))
    with App(cfg, clock) as app:
        app.import_roster(ROSTER)
        _device_login(OAuth2Tokens(settings_for(cfg, "mailbox"), clock), oauth_server)
        daemon = Daemon(app)
        with _watching(daemon, clock):
            _until("the IDLE login", lambda: oauth_server.introspections == [True])
            oauth_dovecot.append([_message("một")])
            _until("the first message, through IDLE", lambda: _stored(app) == 1)

            # 1. 56 minutes on, 4 left: the watcher renews its session with a fresh token
            logins = len(oauth_server.introspections)
            clock.advance(timedelta(minutes=56))
            _until(
                "a refresh by the watcher", lambda: oauth_server.grants.get("refresh_token") == 1
            )
            _until("the renewed IDLE login", lambda: len(oauth_server.introspections) > logins)
            assert False not in oauth_server.introspections  # never an expired token offered
            oauth_dovecot.append([_message("hai")])
            _until("the second message, through IDLE", lambda: _stored(app) == 2)

            # 2. the token ends server-side and the server drops the IDLE session
            oauth_server.expire_access_tokens()
            logins = len(oauth_server.introspections)
            assert oauth_dovecot.kill_sessions() >= 1
            _until(
                "the login after the drop",
                lambda: oauth_server.introspections[logins:] == [False, True],
                30,
            )
            assert oauth_server.grants["refresh_token"] == 2
            oauth_dovecot.append([_message("ba")])
            _until("the third message, through IDLE", lambda: _stored(app) == 3)
    texts = [rec.getMessage() for rec in caplog.records]
    assert any("about to expire; logging in again" in t for t in texts)
    assert any("IDLE connection lost" in t and "closed the connection" in t for t in texts), texts
    _no_token_in(texts, oauth_server)


@pytest.mark.dovecot
@pytest.mark.parametrize(
    "reply",
    [
        b"TAG NO [UNAVAILABLE] Server Unavailable. 15\r\n",
        b"* BYE Server Unavailable. 21\r\n",
    ],
    ids=["no-unavailable", "bye"],
)
def test_throttling_mid_poll_backs_off_and_keeps_the_ledgers_place(
    tmp_path: Path,
    dovecot: dovecot_mod.Dovecot,
    clock: FixedClock,
    reply: bytes,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Microsoft 365 throttles a session already logged in: the second batch's FETCH is
    answered `NO … Server Unavailable` (or the server says BYE). The poll stops with the first
    batch stored and moved, the daemon backs off (no connection until then), and the next poll
    takes the rest: every message stored once, none left, none twice."""
    monkeypatch.setenv("INTAKE_TEST_IMAP_PW", dovecot.password)
    dovecot.append([_message(f"thư {i}") for i in range(6)])
    with proxied(dovecot.host, dovecot.port) as proxy:
        proxy.fault_on_command(r"^UID FETCH .*BODY\.PEEK\[\]", Answer(reply), nth=2)
        cfg = make_config(
            tmp_path,
            mailbox={
                "host": proxy.host,
                "port": proxy.port,
                "security": "none",
                "username": dovecot.user,
                "password_env": "INTAKE_TEST_IMAP_PW",
                "batch_size": 3,
                "poll_interval": 60,
                "processed_folder": "Đã xử lý",
            },
            limits={"parse_workers": 0},
        )
        with App(cfg, clock) as app:
            daemon = Daemon(app)
            first = daemon.poll_once(force=True)
            assert first is not None and first.stored == 3 and first.error, first
            assert proxy.fired() == 1 and daemon.failures == 1
            asked = len(proxy.commands)
            assert daemon.poll_once() is None  # backing off: the server is not asked
            assert len(proxy.commands) == asked
            clock.advance(timedelta(seconds=61))
            second = daemon.poll_once()
            assert second is not None and second.error == "" and second.stored == 3
            assert daemon.failures == 0
            with app.sessions() as s:
                stored = s.scalars(
                    select(LedgerEntry.uid).where(LedgerEntry.message_fk.is_not(None))
                ).all()
                messages = s.scalar(select(func.count()).select_from(Message))
    assert sorted(stored) == [1, 2, 3, 4, 5, 6] and messages == 6
    assert dovecot.folder_count("INBOX") == 0 and dovecot.folder_count("Đã xử lý") == 6


@pytest.mark.dovecot
def test_after_a_revoked_login_the_daemon_resumes_once_auth_login_is_run(
    tmp_path: Path,
    oauth_server: OAuthServer,
    oauth_dovecot: dovecot_mod.Dovecot,
    clock: FixedClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Consent is withdrawn while the daemon watches: IDLE and the polls fail with a
    CredentialsError, the heartbeat and doctor say what to run; once `intake auth login` has
    written a new token file, the daemon polls again and IDLE resumes, with no restart."""
    caplog.set_level(logging.INFO)
    cfg = make_config(tmp_path, mailbox=_mailbox(oauth_dovecot, oauth_server))
    with App(cfg, clock) as app:
        app.import_roster(ROSTER)
        _device_login(OAuth2Tokens(settings_for(cfg, "mailbox"), clock), oauth_server)
        daemon = Daemon(app)
        with _watching(daemon, clock):
            _until("the IDLE login", lambda: oauth_server.introspections == [True])
            oauth_server.revoke_refresh_tokens()
            oauth_server.expire_access_tokens()
            oauth_dovecot.kill_sessions()  # the provider ends the session with the consent
            _until(
                "the watcher waiting for a login",
                lambda: any("waiting for a new login" in r.getMessage() for r in caplog.records),
                30,
            )
            failed = daemon.poll_once(force=True)
            assert failed is not None and "run `intake auth login`" in failed.error
            assert daemon.failures == 1 and daemon.poll_once() is None  # backing off
            with app.sessions() as s:
                hb = s.scalars(select(Heartbeat)).one()
            assert "run `intake auth login`" in hb.last_error
            assert "resumes by itself" in hb.last_error
            doctor = CliRunner().invoke(cli, ["--config", cfg.source, "doctor"])
            assert "fix: run: intake auth login" in doctor.output, doctor.output
            assert "no restart" in doctor.output

            oauth_dovecot.append([_message("gửi lại sau khi đăng nhập")])
            logins = len(oauth_server.introspections)
            _device_login(OAuth2Tokens(settings_for(cfg, "mailbox"), clock), oauth_server)
            _until("the mail polled without a restart", lambda: _stored(app) == 1, 30)
            _until("IDLE back", lambda: True in oauth_server.introspections[logins:], 30)
            _until("the backoff ended", lambda: daemon.failures == 0)  # the poll has returned
            oauth_dovecot.append([_message("thư sau")])
            _until("the next mail, through IDLE", lambda: _stored(app) == 2)
        with app.sessions() as s:
            assert s.scalars(select(Heartbeat)).one().last_error == ""
    # (the regular poll is a day away and the backoff on a fixed clock never ends: only the
    # new token file can have resumed it; `doctor` reconfigured logging, so no log is read)
    texts = [rec.getMessage() for rec in caplog.records] + [hb.last_error, doctor.output]
    _no_token_in(texts, oauth_server)
