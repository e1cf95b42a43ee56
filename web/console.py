"""What every view shares: one `Console` (config, store, clock, throttle, cookie signer), the
guard every request passes before any view runs, the response headers and the error pages.

The guard is the whole access policy, in one place, so a new route cannot forget it:
- only the endpoints in `PUBLIC` (the login page and the stylesheet) answer an anonymous
  request; any other GET or HEAD is sent to the login page (303), anything else is refused (403);
- every POST must carry the form field `csrf`: the session's token, or on the login form the
  token of the signed `intake_login` cookie (double submit); without it, 403 and nothing changes;
- every POST but logging out needs the `officer` role: a viewer changes nothing.
Every response carries `X-Content-Type-Options: nosniff`, a Content-Security-Policy with no
script source at all, and `Cache-Control: no-store`.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import Response, abort, g, redirect, render_template, request, url_for
from itsdangerous import BadSignature, TimestampSigner
from sqlalchemy.orm import Session, sessionmaker

from core.clock import Clock, SystemClock
from core.config import Config
from intake.filing import Filer
from intake.parsestage import Limits, ParseStage
from store.db import open_store
from store.files import FileStore
from web.accounts import SESSION_LIFETIME, Throttle, Who, session_user
from web.statuscache import StatusCache

log = logging.getLogger(__name__)

PUBLIC = frozenset({"auth.login", "static"})
SESSION_COOKIE = "intake_session"
LOGIN_COOKIE = "intake_login"
PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
STATE_VI = {
    "missing": "Chưa gửi",
    "incomplete": "Chưa đủ",
    "complete": "Đã đủ",
    "filed": "Đã nhận",
    "unassigned": "Chờ xử lý",
    "quarantined": "Tạm giữ",
    "ignored": "Bỏ qua",
    "other": "Thư khác",
    "received": "Đang xử lý",
}


@dataclass
class Console:
    """What the views share: built once per process, safe to use from waitress's threads."""

    cfg: Config
    sessions: sessionmaker[Session]
    files: FileStore
    clock: Clock
    signer: TimestampSigner
    throttle: Throttle = field(default_factory=Throttle)
    _filer: Filer | None = field(default=None, repr=False)
    filing: threading.Lock = field(default_factory=threading.Lock, repr=False)
    statuses: StatusCache = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.statuses = StatusCache(self.sessions)

    @property
    def tz(self) -> str:
        return self.cfg.campaign.timezone

    def now(self) -> datetime:
        return self.clock.now()

    def filer(self) -> Filer:
        """The daemon's filer over this store (built with the console, before the server's
        threads, since its parse workers' fork server starts then). Hold `filing` around it."""
        if self._filer is None:
            cfg = self.cfg
            stage = ParseStage(
                str(self.files.root),
                Limits(**dataclasses.asdict(cfg.limits)),
                secret_env=(cfg.mailbox.password_env, cfg.smtp.password_env),
            )
            self._filer = Filer(
                self.sessions,
                self.files,
                self.clock,
                cfg.campaign,
                office=cfg.units.office_addresses,
                max_attempts=cfg.mailbox.max_attempts,
                authserv_id=cfg.mailbox.authserv_id,
                stage=stage,
                campaigns=cfg.campaigns,
            )
        return self._filer

    def close(self) -> None:
        if self._filer is not None:
            self._filer.stage.close()


def secret_key(cfg: Config) -> bytes:
    """The cookie-signing key from `[web] secret_file` (default: `web-secret` beside the file
    store folder, which the service may write), made (0600) on first start."""
    path = (
        cfg.path(cfg.web.secret_file)
        if cfg.web.secret_file
        else cfg.files_dir.parent / "web-secret"
    )
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48).encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key + b"\n")
    log.info("made a new session-signing key in %s", path)
    return key


def build_console(cfg: Config, clock: Clock | None = None) -> tuple[Console, Callable[[], None]]:
    """The console over the configured store (migrated); returns it and its close function."""
    engine, sessions = open_store(cfg.store_url, migrate=True, files_root=cfg.files_dir)
    console = Console(
        cfg=cfg,
        sessions=sessions,
        files=FileStore(cfg.files_dir),
        clock=clock or SystemClock(),
        signer=TimestampSigner(secret_key(cfg), salt="intake-web"),
    )
    console.filer()

    def close() -> None:
        console.close()
        engine.dispose()

    return console, close


def console() -> Console:
    from flask import current_app

    c: Console = current_app.extensions["intake"]
    return c


def who() -> Who:
    """The signed-in account (the guard has run: never None inside a non-public view)."""
    w: Who | None = g.get("who")
    if w is None:
        abort(403)
    return w


def session_cookie(cfg: Config) -> str:
    """Behind https the cookie is Secure and, with the __Host- prefix, bound to this host."""
    return f"__Host-{SESSION_COOKIE}" if cfg.web.secure else SESSION_COOKIE


def _cookie_token(c: Console) -> str | None:
    raw = request.cookies.get(session_cookie(c.cfg))
    if not raw:
        return None
    try:
        return c.signer.unsign(raw, max_age=int(SESSION_LIFETIME.total_seconds())).decode()
    except BadSignature:
        return None


def login_token(c: Console) -> str | None:
    """The token of the signed login cookie (double submit), when it is there and valid."""
    raw = request.cookies.get(LOGIN_COOKIE)
    if not raw:
        return None
    try:
        return c.signer.unsign(raw, max_age=3600).decode()
    except BadSignature:
        return None


def _login_csrf_ok(c: Console) -> bool:
    token, sent = login_token(c), request.form.get("csrf")
    return bool(token and sent) and secrets.compare_digest(str(token).encode(), str(sent).encode())


def guard() -> Any:
    c = console()
    token = _cookie_token(c)
    g.who = None
    g.token = token
    if token:
        with c.sessions() as s:
            g.who = session_user(s, token, c.now())
    if request.endpoint in PUBLIC:
        if request.method == "POST" and not _login_csrf_ok(c):
            abort(403, "csrf")
        return None
    if g.who is None:
        if request.method in ("GET", "HEAD"):
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")), 303)
        abort(403)
    if request.method not in ("GET", "HEAD"):
        if not g.who.csrf_ok(request.form.get("csrf")):
            abort(403, "csrf")
        if request.endpoint != "auth.logout" and not g.who.can_act:
            abort(403, "viewer")
    return None


def security_headers(resp: Response) -> Response:
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers.setdefault("Content-Security-Policy", PAGE_CSP)
    resp.headers["X-Frame-Options"] = "DENY"
    resp.headers["Referrer-Policy"] = "no-referrer"
    resp.headers.setdefault("Cache-Control", "no-store")
    if console().cfg.web.secure:
        resp.headers["Strict-Transport-Security"] = "max-age=31536000"
    return resp


ERRORS = {
    400: "Yêu cầu không hợp lệ.",
    403: "Bạn không có quyền thực hiện thao tác này.",
    404: "Không tìm thấy trang hoặc tệp này.",
    405: "Thao tác này không được hỗ trợ.",
    413: "Dữ liệu gửi lên quá lớn.",
}
DETAILS = {
    "csrf": "Biểu mẫu đã hết hạn hoặc không hợp lệ. Hãy tải lại trang rồi thử lại.",
    "viewer": "Tài khoản chỉ xem không thể thay đổi dữ liệu.",
}


def error_page(e: Any) -> tuple[str, int]:
    code = getattr(e, "code", 500) or 500
    detail = DETAILS.get(getattr(e, "description", ""), "")
    return render_template("error.html", title=ERRORS.get(code, "Đã có lỗi."), detail=detail), code
