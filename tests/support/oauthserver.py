"""A small OAuth2 authorization server for tests, on loopback: it issues, refreshes, expires
and revokes tokens, and answers token introspection (RFC 7662) for Dovecot's `oauth2` passdb.

Endpoints (form-encoded POSTs, JSON answers, as Google and Microsoft do):
- `POST /device`      device authorization (RFC 8628): device_code, user_code, verification_uri;
                      `approve(user_code)` is the admin typing the code on their phone
- `GET  /authorize`   the code grant with PKCE: signs the one user in at once and redirects to
                      `redirect_uri?code=…&state=…` (the browser half of Google's installed-app
                      flow)
- `POST /token`       grant types device_code, authorization_code, refresh_token
- `POST /introspect`  `token=…` → {"active": true, "username": …} or {"active": false}

`lifetime` is the access tokens' `expires_in`; `expire_access_tokens()` ends every access token
now (the server side of an expiry), `revoke_refresh_tokens()` withdraws consent; `rotate`
issues a new refresh token at each refresh (Microsoft does). `grants` counts the requests by
grant type, `tokens_seen` is every token it ever issued (to look for them in logs).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

USER = "totrunghoc"
CLIENT_ID = "intake-test-client"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


@dataclass
class OAuthServer:
    user: str = USER
    client_id: str = CLIENT_ID
    client_secret: str | None = None
    lifetime: int = 3600
    rotate: bool = False
    email: str = "totrunghoc@thanhoai.example"
    port: int = field(default_factory=_free_port)
    access: dict[str, float] = field(default_factory=dict)  # token -> monotonic expiry
    refresh: set[str] = field(default_factory=set)
    devices: dict[str, dict[str, Any]] = field(default_factory=dict)
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    grants: dict[str, int] = field(default_factory=dict)
    introspections: list[bool] = field(default_factory=list)
    tokens_seen: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- what a test does to it ----------------------------------------------------------------
    def approve(self, user_code: str) -> None:
        with self.lock:
            for d in self.devices.values():
                if d["user_code"] == user_code:
                    d["approved"] = True

    def expire_access_tokens(self) -> None:
        with self.lock:
            for t in self.access:
                self.access[t] = 0.0

    def revoke_refresh_tokens(self) -> None:
        with self.lock:
            self.refresh.clear()

    def config(self) -> dict[str, object]:
        """[mailbox] keys for provider = "custom" against this server."""
        return {
            "auth": "oauth2",
            "provider": "custom",
            "client_id": self.client_id,
            "token_endpoint": f"{self.url}/token",
            "authorization_endpoint": f"{self.url}/authorize",
            "device_authorization_endpoint": f"{self.url}/device",
            "scopes": ["imap", "smtp", "offline_access"],
        }

    # -- the protocol --------------------------------------------------------------------------
    def _issue(self, scope: str, *, new_refresh: str | None) -> dict[str, Any]:
        access = "at-" + secrets.token_urlsafe(24)
        self.access[access] = time.monotonic() + self.lifetime
        self.tokens_seen.append(access)
        out: dict[str, Any] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.lifetime,
            "scope": scope,
        }
        if new_refresh:
            self.refresh.add(new_refresh)
            self.tokens_seen.append(new_refresh)
            out["refresh_token"] = new_refresh
        out["id_token"] = f"{_b64({'alg': 'none'})}.{_b64({'email': self.email})}."
        return out

    def active(self, token: str) -> bool:
        with self.lock:
            return self.access.get(token, 0.0) > time.monotonic()

    def handle(self, path: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self.lock:
            if path == "/device":
                if form.get("client_id") != self.client_id:
                    return 400, {"error": "invalid_client"}
                dc = secrets.token_urlsafe(16)
                self.devices[dc] = {
                    "user_code": secrets.token_hex(3).upper(),
                    "approved": False,
                    "scope": form.get("scope", ""),
                }
                return 200, {
                    "device_code": dc,
                    "user_code": self.devices[dc]["user_code"],
                    "verification_uri": f"{self.url}/link",
                    "interval": 1,
                    "expires_in": 600,
                }
            if path == "/introspect":
                ok = self.access.get(form.get("token", ""), 0.0) > time.monotonic()
                self.introspections.append(ok)
                return 200, {"active": True, "username": self.user} if ok else {"active": False}
            if path != "/token":
                return 404, {"error": "not_found"}
            grant = form.get("grant_type", "")
            self.grants[grant] = self.grants.get(grant, 0) + 1
            if (
                form.get("client_id") != self.client_id
                or form.get("client_secret") != self.client_secret
            ):
                return 401, {"error": "invalid_client"}
            if grant == "urn:ietf:params:oauth:grant-type:device_code":
                d = self.devices.get(form.get("device_code", ""))
                if d is None:
                    return 400, {"error": "invalid_grant"}
                if not d["approved"]:
                    return 400, {"error": "authorization_pending"}
                del self.devices[form["device_code"]]
                return 200, self._issue(d["scope"], new_refresh="rt-" + secrets.token_urlsafe(24))
            if grant == "authorization_code":
                c = self.codes.pop(form.get("code", ""), None)
                verifier = form.get("code_verifier", "")
                digest = (
                    base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
                    .rstrip(b"=")
                    .decode()
                )
                if (
                    c is None
                    or c["challenge"] != digest
                    or c["redirect_uri"] != form.get("redirect_uri")
                ):
                    return 400, {"error": "invalid_grant"}
                return 200, self._issue(c["scope"], new_refresh="rt-" + secrets.token_urlsafe(24))
            if grant == "refresh_token":
                rt = form.get("refresh_token", "")
                if rt not in self.refresh:
                    return 400, {
                        "error": "invalid_grant",
                        "error_description": f"AADSTS70008: the refresh token {rt} has expired",
                    }
                if self.rotate:
                    self.refresh.discard(rt)
                return 200, self._issue(
                    form.get("scope", ""),
                    new_refresh=("rt-" + secrets.token_urlsafe(24)) if self.rotate else None,
                )
            return 400, {"error": "unsupported_grant_type"}

    def authorize(self, query: dict[str, str]) -> str:
        """The redirect location for GET /authorize (the user signs in and consents)."""
        code = secrets.token_urlsafe(16)
        with self.lock:
            self.codes[code] = {
                "challenge": query.get("code_challenge", ""),
                "redirect_uri": query.get("redirect_uri", ""),
                "scope": query.get("scope", ""),
            }
        return (
            f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query.get('state', '')})}"
        )


class _Handler(BaseHTTPRequestHandler):
    server: Any

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        status, body = self.server.box.handle(urlsplit(self.path).path, form)
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path != "/authorize":
            self.send_error(404)
            return
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        self.send_response(302)
        self.send_header("Location", self.server.box.authorize(query))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


def serve(box: OAuthServer) -> Iterator[OAuthServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", box.port), _Handler)
    httpd.daemon_threads = True
    httpd.box = box  # type: ignore[attr-defined]
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield box
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def oauth_server() -> Iterator[OAuthServer]:
    yield from serve(OAuthServer())
