"""`intake auth login` and `intake auth status`: getting the refresh token once, and showing
what is held (account, scopes, expiry — never a token).

Two ways to log in, both over intake/oauth.py (authlib does every token exchange):
- the device code (Microsoft 365, any `custom` server with a device endpoint): the admin opens
  the printed address on any device — a phone will do — and types the code;
- the browser (Google's installed-app flow, or `--browser`): a one-shot HTTP listener on
  127.0.0.1 receives the redirect. On a server without a browser, the admin opens the address
  elsewhere; the redirect then fails there, and they paste the address the browser shows
  (`http://127.0.0.1:PORT/?code=…`) at the prompt instead. Whichever arrives first is used.

The listener answers one request, logs nothing (the code is in its query string) and stops.
"""

from __future__ import annotations

import http.server
import queue
import threading
import time
from collections.abc import Callable
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

from core.errors import CredentialsError
from intake.oauth import (
    OAuth2Settings,
    finish_browser_flow,
    poll_device_flow,
    start_browser_flow,
    start_device_flow,
)
from intake.oauthtokens import OAuth2Tokens, TokenStatus

BROWSER_WAIT = 600.0  # seconds to wait for the redirect or a pasted address

DONE_PAGE = (
    b"<!doctype html><meta charset=utf-8><title>intake</title>"
    b"<p>\xc4\x90\xc3\xa3 \xc4\x91\xc4\x83ng nh\xe1\xba\xadp xong. Logged in: "
    b"you can close this tab and return to the terminal.</p>"
)


def choose_method(st: OAuth2Settings, method: str) -> str:
    if method != "auto":
        return method
    if st.device_authorization_endpoint and st.provider != "google":
        return "device"
    return "browser"


def login(
    st: OAuth2Settings,
    tokens: OAuth2Tokens,
    *,
    out: Callable[[str], None],
    method: str = "auto",
    open_browser: Callable[[str], object] | None = None,
    read_line: Callable[[], str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    wait: float = BROWSER_WAIT,
) -> TokenStatus:
    """Log in once and keep the tokens in `st.token_file`; returns what `status` shows."""
    if choose_method(st, method) == "device":
        code = start_device_flow(st)
        where = code.verification_uri_complete or code.verification_uri
        out(
            f"Open {where} on any device and enter the code {code.user_code} "
            f"(valid for {code.expires_in / 60:.0f} minutes). Waiting…"
        )
        token = poll_device_flow(st, code, sleep=sleep)
    else:
        token = _browser(st, out, open_browser, read_line, wait)
    return tokens.save(token)


class _Catcher(http.server.BaseHTTPRequestHandler):
    results: queue.Queue[str]
    base: str

    def do_GET(self) -> None:  # the name http.server calls
        query = parse_qs(urlsplit(self.path).query)
        if "code" not in query and "error" not in query:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(DONE_PAGE)))
        self.end_headers()
        self.wfile.write(DONE_PAGE)
        self.results.put(self.base + self.path.lstrip("/"))

    def log_message(self, format: str, *args: object) -> None:
        return  # the request line carries the authorization code


def _browser(
    st: OAuth2Settings,
    out: Callable[[str], None],
    open_browser: Callable[[str], object] | None,
    read_line: Callable[[], str] | None,
    wait: float,
) -> dict[str, object]:
    results: queue.Queue[str] = queue.Queue()

    class Handler(_Catcher):
        pass

    Handler.results = results
    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    redirect_uri = f"http://127.0.0.1:{server.server_port}/"
    Handler.base = redirect_uri
    server.timeout = 0.2
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set() and results.empty():
            server.handle_request()

    threading.Thread(target=serve, name="oauth2-redirect", daemon=True).start()
    try:
        flow = start_browser_flow(st, redirect_uri)
        out(f"Open this address in a browser and sign in as {st.username}:\n\n  {flow.url}\n")
        if open_browser is not None:
            open_browser(flow.url)
        if read_line is not None:
            out(
                "If the browser runs on another machine, the last page will fail to load: copy "
                f"its address (it starts with {redirect_uri}) and paste it here."
            )

            def paste() -> None:
                try:
                    line = read_line().strip()
                except (EOFError, OSError):
                    return
                if line:
                    results.put(line)

            threading.Thread(target=paste, name="oauth2-paste", daemon=True).start()
        try:
            response = results.get(timeout=wait)
        except queue.Empty:
            raise CredentialsError(
                f"no sign-in within {wait / 60:.0f} minutes; run `{st.login_command}` again"
            ) from None
    finally:
        stop.set()
        server.server_close()
    if "code=" not in response:
        error = parse_qs(urlsplit(response).query).get("error", ["no code in the address"])[0]
        raise CredentialsError(f"sign-in not completed: {error[:100]}")
    return finish_browser_flow(st, flow, response)


def render_status(s: TokenStatus, now: datetime) -> str:
    """Lines for `intake auth status`: no token, ever."""

    def when(d: datetime | None) -> str:
        return d.isoformat(timespec="seconds") if d else "-"

    left = ""
    if s.expires_at is not None:
        secs = (s.expires_at - now).total_seconds()
        left = (
            f" (in {secs / 60:.0f} min; refreshed automatically)"
            if secs > 0
            else " (expired; the next login refreshes it)"
        )
    return "\n".join(
        [
            f"account:       {s.account}",
            f"provider:      {s.provider}",
            f"scopes:        {' '.join(s.scopes) or '-'}",
            f"access token:  expires {when(s.expires_at)}{left}",
            f"refresh token: {'held' if s.has_refresh_token else 'MISSING: run intake auth login'}",
            f"obtained:      {when(s.obtained_at)}; last refreshed {when(s.refreshed_at)}",
            f"token file:    {s.path} (mode {s.mode:04o})",
        ]
    )
