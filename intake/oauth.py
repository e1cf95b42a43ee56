"""OAuth2 for the mailbox and SMTP (XOAUTH2), the provider side: the only module that imports
authlib.

It owns the provider presets (Google, Microsoft 365, any `custom` server) resolved from the
config (`settings_for`), the XOAUTH2 string, and every token exchange: the refresh grant
(`refresh_grant`, used by `intake.oauthtokens.OAuth2Tokens`, which owns the token file) and the
two grants `intake auth login` needs (the device code grant, RFC 8628, and the
authorization-code grant with PKCE for a loopback redirect). This module only carries authlib's
results; it keeps no token.

Errors, by what the caller does (core/errors.py):

    ConfigError        the [mailbox]/[smtp] OAuth2 keys cannot work (secret missing, http://)
    CredentialsError   alert a human: the refresh token was refused (revoked, expired, consent
                       withdrawn), a login not completed — the text says to run
                       `intake auth login`
    TransientError     retry next tick: the token endpoint is unreachable, slow or 5xx

Tokens never reach a log line or an exception text: any server text quoted in an error is
scrubbed of them first.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session, OAuthError

from core.config import Config, MailboxConfig, Secret, SmtpConfig
from core.errors import ConfigError, CredentialsError, TransientError

log = logging.getLogger(__name__)

HTTP_TIMEOUT = 30.0
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
# Errors of the token endpoint after which only a new login helps (RFC 6749 5.2, RFC 8628 3.5).
REFUSED = (
    "invalid_grant",
    "invalid_client",
    "unauthorized_client",
    "invalid_scope",
    "access_denied",
    "expired_token",
    "invalid_request",
)

GOOGLE_SCOPES = ("https://mail.google.com/",)
MS_IMAP = "https://outlook.office.com/IMAP.AccessAsUser.All"
MS_SMTP = "https://outlook.office.com/SMTP.Send"


@dataclass(frozen=True)
class OAuth2Settings:
    """One OAuth2 client and its token file, resolved from the config."""

    which: str  # "mailbox" or "smtp": whose login, for messages and `--smtp`
    provider: str
    client_id: str
    client_secret: Secret | None
    authorization_endpoint: str
    token_endpoint: str
    device_authorization_endpoint: str
    scopes: tuple[str, ...]
    token_file: Path
    username: str
    timeout: float = HTTP_TIMEOUT
    extra_authorize: tuple[tuple[str, str], ...] = field(default=())

    @property
    def login_command(self) -> str:
        return "intake auth login" + (" --smtp" if self.which == "smtp" else "")


def uses_oauth2(section: MailboxConfig | SmtpConfig) -> bool:
    return section.auth == "oauth2"


def settings_for(cfg: Config, which: str) -> OAuth2Settings:
    """The OAuth2 settings of [mailbox] or [smtp]. An [smtp] with `auth = "oauth2"` and no
    provider shares the mailbox's client and token file (one login covers both)."""
    own: MailboxConfig | SmtpConfig = cfg.smtp if which == "smtp" else cfg.mailbox
    sec: MailboxConfig | SmtpConfig = own
    shared = which == "smtp" and not own.provider
    if shared:
        sec = cfg.mailbox
    name = "mailbox" if shared else which
    if sec.auth != "oauth2":
        raise ConfigError(f'{cfg.source}: {name}.auth is not "oauth2"')
    scopes = tuple(sec.scopes)
    extra: tuple[tuple[str, str], ...] = ()
    if sec.provider == "google":
        auth_ep, token_ep, device_ep = (
            "https://accounts.google.com/o/oauth2/auth",
            "https://oauth2.googleapis.com/token",
            "",
        )
        scopes = scopes or GOOGLE_SCOPES
        extra = (("access_type", "offline"), ("prompt", "consent"))  # a refresh token every time
    elif sec.provider == "microsoft":
        base = f"https://login.microsoftonline.com/{sec.tenant or 'organizations'}/oauth2/v2.0"
        auth_ep, token_ep, device_ep = f"{base}/authorize", f"{base}/token", f"{base}/devicecode"
        if not scopes:
            want_smtp = cfg.smtp.auth == "oauth2" and (which == "smtp" or not cfg.smtp.provider)
            scopes = (MS_IMAP,) if which == "mailbox" or shared else ()
            scopes += (MS_SMTP,) if want_smtp else ()
            scopes += ("offline_access",)
    else:
        auth_ep, token_ep = sec.authorization_endpoint, sec.token_endpoint
        device_ep = sec.device_authorization_endpoint
    for url in (auth_ep, token_ep, device_ep):
        if url and not _safe_url(url):
            raise ConfigError(
                f"{cfg.source}: {name}: {url} must be https:// (http:// only on loopback)"
            )
    token_file = (
        cfg.path(sec.token_file) if sec.token_file else cfg.files_dir.parent / f"oauth2-{name}.json"
    )
    return OAuth2Settings(
        which=which,
        provider=sec.provider,
        client_id=sec.client_id,
        client_secret=_client_secret(sec, name, cfg),
        authorization_endpoint=auth_ep,
        token_endpoint=token_ep,
        device_authorization_endpoint=device_ep,
        scopes=scopes,
        token_file=token_file,
        username=(cfg.mailbox if shared else own).username,
        timeout=min(float(own.timeout), HTTP_TIMEOUT),
        extra_authorize=extra,
    )


def _safe_url(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme == "https":
        return True
    return parts.scheme == "http" and (parts.hostname or "") in ("127.0.0.1", "localhost", "::1")


def _client_secret(sec: MailboxConfig | SmtpConfig, name: str, cfg: Config) -> Secret | None:
    if sec.client_secret_env:
        value = os.environ.get(sec.client_secret_env)
        if value is None:
            raise ConfigError(
                f"{name}.client_secret_env: environment variable {sec.client_secret_env} is not set"
            )
        return Secret(value.strip())
    if sec.client_secret_file:
        try:
            return Secret(cfg.path(sec.client_secret_file).read_text(encoding="utf-8").strip())
        except OSError as e:
            raise ConfigError(
                f"{name}.client_secret_file: cannot read {sec.client_secret_file}: {e.strerror}"
            ) from e
    return None


def xoauth2(user: str, token: Secret) -> str:
    """The SASL XOAUTH2 initial response (unencoded), as Google and Microsoft define it."""
    return f"user={user}\x01auth=Bearer {token.reveal()}\x01\x01"


def scrub(text: str, *secrets: str | None) -> str:
    """`text` (a server's error description) without any of `secrets`, at most 300 chars."""
    for s in secrets:
        if s:
            text = text.replace(s, "***")
    return " ".join(text.split())[:300]


def refresh_grant(st: OAuth2Settings, refresh_token: str) -> dict[str, Any]:
    """A new access token for `refresh_token` (RFC 6749 6), as the token endpoint answered."""
    with _session(st) as session:
        try:
            return dict(
                session.refresh_token(
                    st.token_endpoint, refresh_token=refresh_token, timeout=st.timeout
                )
            )
        except OAuthError as e:
            what = _said(e, refresh_token)
            if e.error in REFUSED:
                raise CredentialsError(
                    f"the OAuth2 refresh token of the {st.which} ({st.username}) was refused by "
                    f"{host_of(st.token_endpoint)} ({what}): run `{st.login_command}`; "
                    "a running daemon resumes by itself once it is done"
                ) from None
            raise TransientError(
                f"OAuth2 token refresh at {host_of(st.token_endpoint)} failed: {what}"
            ) from None
        except (requests.RequestException, ValueError) as e:
            raise TransientError(
                f"OAuth2 token refresh at {host_of(st.token_endpoint)} failed: {type(e).__name__}"
            ) from None


def _said(e: AuthlibBaseError, *secrets: str) -> str:
    """What the server said (error code and description), scrubbed of `secrets`."""
    return scrub(f"{e.error}: {e.description or ''}".rstrip(": "), *secrets)


def host_of(url: str) -> str:
    return urlsplit(url).netloc or url


def _session(st: OAuth2Settings, **kwargs: Any) -> OAuth2Session:
    secret = st.client_secret.reveal() if st.client_secret else None
    return OAuth2Session(
        client_id=st.client_id,
        client_secret=secret,
        token_endpoint_auth_method="client_secret_post" if secret else "none",
        scope=" ".join(st.scopes) or None,
        default_timeout=st.timeout,
        **kwargs,
    )


# -- the login grants (driven by intake/authlogin.py) -----------------------------------------
@dataclass(frozen=True)
class DeviceCode:
    user_code: str
    verification_uri: str
    verification_uri_complete: str
    interval: float
    expires_in: float
    device_code: Secret = field(repr=False)
    message: str = ""


def start_device_flow(st: OAuth2Settings) -> DeviceCode:
    """Ask the device authorization endpoint for a user code (RFC 8628 3.1-3.2)."""
    if not st.device_authorization_endpoint:
        raise ConfigError(
            f"{st.which}: this provider has no device-code login; use the browser login"
        )
    with _session(st) as session:
        try:
            resp = session.post(
                st.device_authorization_endpoint,
                timeout=st.timeout,
                withhold_token=True,
                data={"client_id": st.client_id, "scope": " ".join(st.scopes)},
            )
            body = resp.json()
        except (requests.RequestException, ValueError) as e:
            raise TransientError(
                f"device authorization at {host_of(st.device_authorization_endpoint)} "
                f"failed: {type(e).__name__}"
            ) from None
    if resp.status_code >= 400 or "device_code" not in body:
        raise CredentialsError(
            f"device authorization refused by "
            f"{host_of(st.device_authorization_endpoint)}: "
            f"{scrub(str(body.get('error', resp.status_code)))} "
            f"{scrub(str(body.get('error_description', '')))}".rstrip()
        )
    return DeviceCode(
        user_code=str(body["user_code"]),
        verification_uri=str(body.get("verification_uri") or body.get("verification_url") or ""),
        verification_uri_complete=str(body.get("verification_uri_complete") or ""),
        interval=float(body.get("interval") or 5),
        expires_in=float(body.get("expires_in") or 900),
        device_code=Secret(str(body["device_code"])),
        message=str(body.get("message") or ""),
    )


def poll_device_flow(
    st: OAuth2Settings,
    code: DeviceCode,
    *,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """Poll the token endpoint until the user approved (RFC 8628 3.4-3.5)."""
    interval = max(code.interval, 1.0)
    deadline = monotonic() + code.expires_in
    with _session(st) as session:
        while True:
            try:
                return dict(
                    session.fetch_token(
                        st.token_endpoint,
                        grant_type=DEVICE_GRANT,
                        device_code=code.device_code.reveal(),
                        timeout=st.timeout,
                    )
                )
            except OAuthError as e:
                if e.error == "authorization_pending":
                    pass
                elif e.error == "slow_down":
                    interval += 5
                else:
                    raise CredentialsError(f"login not completed: {_said(e)}") from None
            except (requests.RequestException, ValueError) as e:
                raise TransientError(
                    f"token endpoint {host_of(st.token_endpoint)} failed: {type(e).__name__}"
                ) from None
            if monotonic() + interval > deadline:
                raise CredentialsError(
                    "the code expired before the login was completed; "
                    f"run `{st.login_command}` again"
                )
            sleep(interval)


@dataclass(frozen=True)
class BrowserLogin:
    url: str
    state: str
    redirect_uri: str
    code_verifier: Secret = field(repr=False)


def start_browser_flow(st: OAuth2Settings, redirect_uri: str) -> BrowserLogin:
    """The authorization URL (code grant with PKCE, RFC 7636) for a loopback redirect."""
    if not st.authorization_endpoint:
        raise ConfigError(f"{st.which}: this provider has no browser login; use the device code")
    verifier = generate_token(64)
    with _session(st, redirect_uri=redirect_uri, code_challenge_method="S256") as session:
        url, state = session.create_authorization_url(
            st.authorization_endpoint, code_verifier=verifier, **dict(st.extra_authorize)
        )
    return BrowserLogin(
        url=url, state=state, redirect_uri=redirect_uri, code_verifier=Secret(verifier)
    )


def finish_browser_flow(
    st: OAuth2Settings, login: BrowserLogin, response_url: str
) -> dict[str, Any]:
    """Exchange the code in `response_url` (the redirect the browser was sent to)."""
    with _session(
        st, redirect_uri=login.redirect_uri, state=login.state, code_challenge_method="S256"
    ) as session:
        try:
            return dict(
                session.fetch_token(
                    st.token_endpoint,
                    authorization_response=response_url,
                    state=login.state,
                    code_verifier=login.code_verifier.reveal(),
                    timeout=st.timeout,
                )
            )
        except AuthlibBaseError as e:  # OAuthError, a state that does not match
            raise CredentialsError(f"login refused: {_said(e)}") from None
        except (requests.RequestException, ValueError) as e:
            raise TransientError(
                f"token endpoint {host_of(st.token_endpoint)} failed: {type(e).__name__}"
            ) from None
