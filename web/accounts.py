"""Console accounts, sessions and the login throttle.

- Accounts (`web_users`): a name, a role (`officer` acts, `viewer` only reads) and an argon2id
  hash (argon2-cffi's RFC 9106 defaults); a hash made with older parameters is redone at the
  next login. Adding, changing and removing an account is audited.
- Sessions (`web_sessions`): the cookie carries a random token; the store keeps only its sha256
  (a copied database opens no session), the session's CSRF token and its expiry. A new password
  or a removed account ends every session of that account; logging out ends one.
- The throttle counts failed logins per account name and per client address in memory (one
  `intake web` process; a restart forgets them): past the limit the name (or address) is locked
  for a while and the page says for how long.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core.errors import IntakeError
from intake.officer import audit
from store.models import WebSession, WebUser

ROLES = ("officer", "viewer")
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
MIN_PASSWORD = 10
SESSION_LIFETIME = timedelta(hours=12)

_hasher = PasswordHasher()
# verified against when the name is unknown, so both answers take the same time
_DUMMY = _hasher.hash(secrets.token_urlsafe(16))


class AccountError(IntakeError):
    """A bad account name, role or password, or an account that does (not) exist."""


def check_name(name: str) -> str:
    if not NAME.match(name):
        raise AccountError(
            f"account name {name!r}: use 1-64 lower-case letters, digits, '.', '_' "
            "or '-', starting with a letter or digit (e.g. co.hoa)"
        )
    return name


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password is too short: at least {MIN_PASSWORD} characters")


def user_exists(s: Session, name: str) -> None:
    """Raises AccountError naming `name` when there is no such account."""
    _user(s, name)


def _user(s: Session, name: str) -> WebUser:
    user = s.scalar(select(WebUser).where(WebUser.name == name))
    if user is None:
        raise AccountError(f"no account {name!r} (see: intake users list)")
    return user


def add_user(s: Session, name: str, role: str, password: str, *, by: str, now: datetime) -> WebUser:
    check_name(name)
    if role not in ROLES:
        raise AccountError(f"role {role!r}: use one of {', '.join(ROLES)}")
    _check_password(password)
    if s.scalar(select(WebUser.id).where(WebUser.name == name)) is not None:
        raise AccountError(
            f"account {name!r} exists already (intake users passwd {name} changes its password)"
        )
    user = WebUser(
        name=name, role=role, password_hash=_hasher.hash(password), created_at=now, updated_at=now
    )
    s.add(user)
    audit(s, by, "web.user_add", now, account=name, role=role)
    return user


def set_password(s: Session, name: str, password: str, *, by: str, now: datetime) -> None:
    """A new password; every session of the account ends."""
    user = _user(s, name)
    _check_password(password)
    user.password_hash, user.updated_at = _hasher.hash(password), now
    s.execute(delete(WebSession).where(WebSession.user_id == user.id))
    audit(s, by, "web.user_passwd", now, account=name)


def remove_user(s: Session, name: str, *, by: str, now: datetime) -> None:
    user = _user(s, name)
    s.execute(delete(WebSession).where(WebSession.user_id == user.id))
    s.delete(user)
    audit(s, by, "web.user_remove", now, account=name)


def list_users(s: Session) -> list[WebUser]:
    return list(s.scalars(select(WebUser).order_by(WebUser.name)))


def authenticate(s: Session, name: str, password: str, now: datetime) -> WebUser | None:
    """The account when `password` is its password, else None (the same work either way)."""
    user = s.scalar(select(WebUser).where(WebUser.name == name)) if NAME.match(name) else None
    try:
        _hasher.verify(user.password_hash if user else _DUMMY, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash, user.updated_at = _hasher.hash(password), now
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def open_session(s: Session, user: WebUser, now: datetime) -> str:
    """A new session for `user`; returns the token for the cookie. Expired sessions are swept."""
    s.execute(delete(WebSession).where(WebSession.expires_at < now))
    token = secrets.token_urlsafe(32)
    s.add(
        WebSession(
            token_hash=_digest(token),
            user_id=user.id,
            csrf=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + SESSION_LIFETIME,
        )
    )
    return token


@dataclass(frozen=True)
class Who:
    """The account behind a request."""

    name: str
    role: str
    csrf: str

    @property
    def can_act(self) -> bool:
        return self.role == "officer"

    def csrf_ok(self, sent: str | None) -> bool:
        return bool(sent) and hmac.compare_digest(self.csrf.encode(), (sent or "").encode())


def session_user(s: Session, token: str, now: datetime) -> Who | None:
    row = s.execute(
        select(WebUser.name, WebUser.role, WebSession.csrf)
        .join(WebUser, WebUser.id == WebSession.user_id)
        .where(WebSession.token_hash == _digest(token), WebSession.expires_at > now)
    ).first()
    return Who(row.name, row.role, row.csrf) if row else None


def close_session(s: Session, token: str) -> None:
    s.execute(delete(WebSession).where(WebSession.token_hash == _digest(token)))


class Throttle:
    """Failed logins per account name and per client address within `window`; at `per_name`
    (or `per_address`) failures the name (address) is locked for `lock`."""

    def __init__(
        self,
        *,
        per_name: int = 5,
        per_address: int = 20,
        window: timedelta = timedelta(minutes=15),
        lock: timedelta = timedelta(minutes=15),
    ):
        self.limits = {"name": per_name, "address": per_address}
        self.window, self.lock = window, lock
        self._failures: dict[tuple[str, str], list[datetime]] = {}
        self._locked: dict[tuple[str, str], datetime] = {}
        self._mutex = threading.Lock()

    def locked(self, name: str, address: str, now: datetime) -> tuple[str, timedelta] | None:
        """("name" | "address", time left) when a login must not even be tried."""
        with self._mutex:
            for key in (("name", name), ("address", address)):
                until = self._locked.get(key)
                if until is not None and until > now:
                    return key[0], until - now
        return None

    def failed(self, name: str, address: str, now: datetime) -> None:
        with self._mutex:
            for key in (("name", name), ("address", address)):
                recent = [t for t in self._failures.get(key, []) if now - t < self.window]
                recent.append(now)
                self._failures[key] = recent
                if len(recent) >= self.limits[key[0]]:
                    self._locked[key] = now + self.lock
                    self._failures[key] = []

    def succeeded(self, name: str) -> None:
        with self._mutex:
            self._failures.pop(("name", name), None)
