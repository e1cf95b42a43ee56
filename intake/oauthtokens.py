"""The OAuth2 token file and the token source the logins ask (`OAuth2Tokens`).

The file is JSON, mode 0600 (tightened with a warning when found wider), written atomically
under a file lock, so the daemon's IMAP and SMTP logins and `intake auth login` can share it.
`OAuth2Tokens.access_token()` gives a token good for at least `REFRESH_MARGIN`, refreshing it
first through `intake.oauth.refresh_grant` (the provider side: every exchange is authlib's);
`renew_due()` tells a long session (IDLE) that the token it logged in with is about to end.
`login_stamp(path)` is what a waiting daemon watches to see a new `intake auth login`.

Errors (core/errors.py): `CredentialsError` when there is no token or the file cannot be read
(the text says what to run), and whatever `refresh_grant` raises. A token never reaches a log
line, an exception text, the store or the digest.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from filelock import FileLock

from core.clock import Clock, SystemClock
from core.config import Secret
from core.errors import CredentialsError
from intake.oauth import OAuth2Settings, host_of, refresh_grant

log = logging.getLogger(__name__)

REFRESH_MARGIN = timedelta(minutes=5)  # refresh when the access token has less left than this


def login_stamp(path: Path) -> tuple[int, int] | None:
    """The token file as last written (mtime in ns, inode): changes when `intake auth login`
    (or a refresh) replaces it; None when there is no file."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_ino


@dataclass(frozen=True)
class TokenStatus:
    """What `intake auth status` shows: never a token."""

    account: str
    provider: str
    scopes: tuple[str, ...]
    expires_at: datetime | None
    obtained_at: datetime | None
    refreshed_at: datetime | None
    has_refresh_token: bool
    path: Path
    mode: int


def _read(path: Path) -> dict[str, Any] | None:
    try:
        st = path.stat()
        if st.st_mode & 0o077:
            log.warning(
                "token file %s was readable by others (mode %o); made 0600",
                path,
                st.st_mode & 0o777,
            )
            os.chmod(path, 0o600)
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise CredentialsError(
            f"the OAuth2 token file {path} cannot be read "
            f"({type(e).__name__}); run `intake auth login`"
        ) from None
    return data if isinstance(data, dict) else None


def _write(path: Path, data: dict[str, Any]) -> None:
    """Write atomically, created 0600 (never briefly wider: the mode is set at open)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _when(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _claims(id_token: object) -> dict[str, Any]:
    """The claims of an id_token, unverified: only to show which account logged in."""
    if not isinstance(id_token, str) or id_token.count(".") < 2:
        return {}
    payload = id_token.split(".")[1]
    try:
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, binascii.Error):
        return {}
    return data if isinstance(data, dict) else {}


class OAuth2Tokens:
    """The token source of one login: `access_token()` gives a token good for at least
    REFRESH_MARGIN, refreshing it first when needed. The file is read at every call, so a new
    `intake auth login` (or another process's refresh) is picked up without a restart."""

    def __init__(
        self,
        settings: OAuth2Settings,
        clock: Clock | None = None,
        *,
        margin: timedelta = REFRESH_MARGIN,
    ) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.margin = margin
        self._lock = threading.Lock()
        self.refreshes = 0
        self._handed_out: datetime | None = None  # expiry of the token access_token() gave last

    @property
    def user(self) -> str:
        return self.settings.username

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        path = self.settings.token_file
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, FileLock(str(path.with_name(path.name + ".lock")), mode=0o600):
            yield

    def _load(self) -> dict[str, Any]:
        data = _read(self.settings.token_file)
        if not data or not data.get("refresh_token"):
            raise CredentialsError(
                f"no OAuth2 token for the {self.settings.which} yet "
                f"({self.settings.token_file}): run `{self.settings.login_command}`"
            )
        return data

    def access_token(self) -> Secret:
        with self._locked():
            data = self._load()
            expires = _when(data.get("expires_at"))
            if (
                not data.get("access_token")
                or expires is None
                or expires - self.clock.now() < self.margin
            ):
                data = self._refresh(data)
            self._handed_out = _when(data.get("expires_at"))
            return Secret(str(data["access_token"]))

    def renew_due(self) -> bool:
        """True when the token last handed out (the one a long session logged in with) has
        less than the margin left: the session should log in again with a fresh one before
        the server ends it (Microsoft 365 drops an IMAP session when its token expires)."""
        return self._handed_out is not None and self._handed_out - self.clock.now() < self.margin

    def refresh(self) -> None:
        """Refresh now, whatever the expiry says (the server refused the access token)."""
        with self._locked():
            self._refresh(self._load())

    def _refresh(self, data: dict[str, Any]) -> dict[str, Any]:
        st = self.settings
        token = refresh_grant(st, str(data["refresh_token"]))
        self.refreshes += 1
        merged = self._merge(data, token, refreshed=True)
        _write(st.token_file, merged)
        log.info(
            "OAuth2 access token of the %s refreshed; valid until %s",
            st.which,
            merged["expires_at"],
        )
        return merged

    def _merge(
        self, data: dict[str, Any], token: dict[str, Any], *, refreshed: bool
    ) -> dict[str, Any]:
        now = self.clock.now()
        try:
            lifetime = int(token.get("expires_in", 3600))
        except (TypeError, ValueError):
            lifetime = 3600
        claims = _claims(token.get("id_token"))
        account = str(
            claims.get("email")
            or claims.get("preferred_username")
            or data.get("account")
            or self.settings.username
        )
        scope = token.get("scope")
        scopes = (
            scope.split()
            if isinstance(scope, str)
            else list(data.get("scopes") or []) or list(self.settings.scopes)
        )
        return {
            "version": 1,
            "provider": self.settings.provider,
            "client_id": self.settings.client_id,
            "token_endpoint": self.settings.token_endpoint,
            "account": account,
            "scopes": scopes,
            "access_token": token["access_token"],
            "refresh_token": token.get("refresh_token") or data.get("refresh_token"),
            "expires_at": (now + timedelta(seconds=lifetime)).isoformat(),
            "obtained_at": data.get("obtained_at") if refreshed else now.isoformat(),
            "refreshed_at": now.isoformat() if refreshed else None,
        }

    def save(self, token: dict[str, Any]) -> TokenStatus:
        """Keep the result of a login (replacing any earlier token)."""
        if not token.get("refresh_token"):
            raise CredentialsError(
                f"{host_of(self.settings.token_endpoint)} gave no refresh token; ask for the "
                "offline_access scope (Microsoft) or access_type=offline (Google) and log in again"
            )
        with self._locked():
            _write(self.settings.token_file, self._merge({}, token, refreshed=False))
        return self.status()

    def status(self) -> TokenStatus:
        path = self.settings.token_file
        data = _read(path)
        if data is None:
            raise CredentialsError(
                f"no OAuth2 token for the {self.settings.which} yet "
                f"({path}): run `{self.settings.login_command}`"
            )
        return TokenStatus(
            account=str(data.get("account") or ""),
            provider=str(data.get("provider") or ""),
            scopes=tuple(data.get("scopes") or ()),
            expires_at=_when(data.get("expires_at")),
            obtained_at=_when(data.get("obtained_at")),
            refreshed_at=_when(data.get("refreshed_at")),
            has_refresh_token=bool(data.get("refresh_token")),
            path=path,
            mode=path.stat().st_mode & 0o777,
        )
