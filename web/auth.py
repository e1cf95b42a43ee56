"""Logging in and out of the console. The login form is protected by a double-submit token (a
signed cookie and the same value in the form); failures are throttled per account name and per
client address (web.accounts.Throttle) and audited, as are logins and logouts."""

from __future__ import annotations

import logging
import math
import secrets
from typing import Any

from flask import Blueprint, g, make_response, redirect, render_template, request, url_for

from intake.officer import audit
from web.accounts import SESSION_LIFETIME, authenticate, close_session, open_session
from web.console import LOGIN_COOKIE, console, login_token, session_cookie, who

log = logging.getLogger(__name__)
bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never `//host` or a scheme (an open redirect)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return url_for("views.overview")


def _form(error: str = "", name: str = "", status: int = 200) -> Any:
    c = console()
    # the token of a login cookie still valid is kept: another tab (or the favicon request the
    # browser sends, redirected here too) must not invalidate the form already shown
    token = login_token(c) or secrets.token_urlsafe(32)
    resp = make_response(
        render_template(
            "login.html", csrf=token, error=error, name=name, next=request.args.get("next", "")
        ),
        status,
    )
    resp.set_cookie(
        LOGIN_COOKIE,
        c.signer.sign(token).decode(),
        max_age=3600,
        httponly=True,
        samesite="Strict",
        secure=c.cfg.web.secure,
        path="/login",
    )
    return resp


def _minutes(seconds: float) -> int:
    return max(1, math.ceil(seconds / 60))


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    c = console()
    if request.method == "GET":
        if g.get("who") is not None:
            return redirect(_safe_next(request.args.get("next")), 303)
        return _form()
    name = request.form.get("name", "").strip().lower()[:64]
    password = request.form.get("password", "")
    address = request.remote_addr or "?"
    now = c.now()
    locked = c.throttle.locked(name, address, now)
    if locked is not None:
        what, left = locked
        whom = "Tài khoản này" if what == "name" else "Máy của bạn"
        log.warning(
            "login refused: %s %s locked for %ss",
            what,
            name if what == "name" else address,
            int(left.total_seconds()),
        )
        return _form(
            f"{whom} tạm bị khoá vì đăng nhập sai nhiều lần. Hãy thử lại sau "
            f"{_minutes(left.total_seconds())} phút.",
            name,
            429,
        )
    with c.sessions.begin() as s:
        user = authenticate(s, name, password, now)
        if user is None:
            audit(s, name or "?", "web.login_failed", now, address=address)
        else:
            token = open_session(s, user, now)
            audit(s, user.name, "web.login", now, address=address)
    if user is None:
        c.throttle.failed(name, address, now)
        return _form("Tên đăng nhập hoặc mật khẩu không đúng.", name, 401)
    c.throttle.succeeded(name)
    resp = redirect(_safe_next(request.form.get("next")), 303)
    resp.set_cookie(
        session_cookie(c.cfg),
        c.signer.sign(token).decode(),
        max_age=int(SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="Strict",
        secure=c.cfg.web.secure,
        path="/",
    )
    resp.delete_cookie(LOGIN_COOKIE, path="/login")
    return resp


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    c = console()
    name = who().name
    with c.sessions.begin() as s:
        close_session(s, g.token)
        audit(s, name, "web.logout", c.now())
    resp = redirect(url_for("auth.login"), 303)
    resp.delete_cookie(session_cookie(c.cfg), path="/", secure=c.cfg.web.secure, samesite="Strict")
    return resp
