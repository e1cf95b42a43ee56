"""IMAP: the only module that imports imapclient. A narrow `Mailbox` protocol, and
`ImapMailbox`, its real implementation with timeouts and a verifying TLS context.

Library exceptions are wrapped here: login refusals become `CredentialsError`, dropped
connections, timeouts and server errors `TransientError` — and so does a login answered with a
throttling reply (Microsoft's `NO … Server Unavailable`, `[UNAVAILABLE]`, `[INUSE]`, Gmail's
bandwidth `[OVERQUOTA]`/`[LIMIT]`): the poll then backs off like after an outage, and the ledger
keeps its place. With `auth = "oauth2"` the login is AUTHENTICATE XOAUTH2 with a token from a
`TokenSource` (intake/oauthtokens.py); a token the server refuses is refreshed once and tried
again. An IDLE session logs in again with a fresh token before the one it logged in with
expires (Microsoft 365 ends the session then); a server that ends IDLE (`* BYE …`, or a bare
close) is reported as a `TransientError` with the server's words, so the watcher reconnects.
"""

from __future__ import annotations

import functools
import logging
import re
import select
import socket
import ssl
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError
from imapclient.util import to_bytes

from core.config import MailboxConfig, Secret
from core.errors import ConfigError, CredentialsError, TransientError

log = logging.getLogger(__name__)

FETCH_ITEMS = [b"BODY.PEEK[]", b"INTERNALDATE", b"RFC822.SIZE"]
# Login replies that mean "not now", not "wrong credentials" (RFC 5530 codes, Microsoft 365's
# "Server Unavailable" and throttling texts, Gmail's bandwidth limits, a BYE mid-login).
BUSY = re.compile(
    r"\[(UNAVAILABLE|INUSE|LIMIT|OVERQUOTA|SERVERBUG)\]|server unavailable|"
    r"throttl|try again later|bandwidth|temporar|socket error|\bEOF\b",
    re.I,
)


class TokenSource(Protocol):
    """Access tokens for XOAUTH2 (intake.oauthtokens.OAuth2Tokens, or a fake)."""

    def access_token(self) -> Secret: ...
    def refresh(self) -> None: ...
    def renew_due(self) -> bool: ...


@dataclass(frozen=True)
class FolderInfo:
    uidvalidity: int
    uidnext: int
    exists: int


@dataclass(frozen=True)
class Fetched:
    uid: int
    raw: bytes
    internaldate: datetime | None
    size: int


class Mailbox(Protocol):
    account: str

    def connect(self) -> None: ...
    def close(self) -> None: ...
    def select(self, folder: str) -> FolderInfo: ...
    def search_from(self, first_uid: int) -> list[int]: ...
    def sizes(self, uids: Sequence[int]) -> dict[int, int]: ...
    def fetch(self, uids: Sequence[int]) -> Iterator[Fetched]: ...
    def mark_processed(self, uids: Sequence[int], *, move_to: str, keyword: str) -> None: ...
    def capabilities(self) -> frozenset[str]: ...
    def folder_exists(self, folder: str) -> bool: ...
    def idle_start(self, folder: str) -> None: ...
    def idle_wait(self, timeout: float) -> bool: ...
    def idle_stop(self) -> None: ...


def _aware(value: object) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@functools.lru_cache(maxsize=1)
def default_ssl_context() -> ssl.SSLContext:
    """The system's verifying TLS context, made once (loading the CA store costs ~20 ms, which
    was a third of a re-poll)."""
    return ssl.create_default_context()


def _shutdown(client: IMAPClient | None) -> None:
    """Close the socket of a connection that failed half-way (no LOGOUT: it may be unusable)."""
    if client is not None:
        try:
            client.shutdown()
        except (IMAPClientError, OSError):
            pass


def _login(client: IMAPClient, s: MailboxConfig, password: str) -> None:
    """LOGIN sends ASCII only; a non-ASCII password (or user name) goes as UTF-8 through
    AUTHENTICATE PLAIN (RFC 4616) when the server offers it, else it is refused naming where
    it came from."""
    if s.username.isascii() and password.isascii():
        client.login(s.username, password)
        return
    if b"AUTH=PLAIN" in client.capabilities():
        client.plain_login(s.username, password)
        return
    _shutdown(client)
    where = (
        f"environment variable {s.password_env}"
        if s.password_env
        else f"file {s.password_file}"
        if s.password_file
        else "mailbox.username"
    )
    raise ConfigError(
        f"the IMAP password or user name (from {where}) has non-ASCII characters and {s.host} "
        "offers no AUTHENTICATE PLAIN to send them; use an ASCII password"
    )


class ImapMailbox:
    """A connection to one account. Use as a context manager or call connect()/close()."""

    def __init__(
        self,
        settings: MailboxConfig,
        password: Secret | None,
        *,
        ssl_context: ssl.SSLContext | None = None,
        tokens: TokenSource | None = None,
    ) -> None:
        self.settings = settings
        self.account = settings.account
        self._password = password
        self._tokens = tokens
        self._ctx = ssl_context
        self._client: IMAPClient | None = None
        self._idle_folder = ""
        self._idling = False  # in IDLE: LOGOUT must wait for DONE

    # -- lifecycle ---------------------------------------------------------------------------
    def connect(self) -> None:
        s = self.settings
        if s.plaintext_refused():
            raise ConfigError(
                f"mailbox.security = 'none' sends the password in clear to {s.host}; "
                "use 'ssl' or 'starttls', or set allow_insecure = true"
            )
        ctx = self._ctx or (default_ssl_context() if s.security != "none" else None)
        for attempt in (1, 2):
            client: IMAPClient | None = None
            try:
                client = IMAPClient(
                    s.host, port=s.port, ssl=s.security == "ssl", ssl_context=ctx, timeout=s.timeout
                )
                client._imap.debug = 0  # imaplib's debug formatting costs time even when off
                client.normalise_times = False  # aware INTERNALDATEs, not naive local time
                if s.security == "starttls":
                    client.starttls(ctx)
                if self._tokens is not None:
                    client.oauth2_login(s.username, self._tokens.access_token().reveal())
                else:
                    _login(client, s, self._password.reveal() if self._password else "")
            except LoginError as e:
                _shutdown(client)
                said = " ".join(str(e).split())[:200]
                if BUSY.search(said):
                    raise TransientError(
                        f"IMAP {s.host} is busy or throttling logins ({said}); backing off"
                    ) from e
                if self._tokens is not None and attempt == 1:
                    log.info("IMAP %s refused the access token; refreshing it and retrying", s.host)
                    self._tokens.refresh()
                    continue
                how = (
                    "XOAUTH2 with a fresh token: check mailbox.username is the account of "
                    "`intake auth login` and that IMAP is enabled for it"
                    if self._tokens is not None
                    else ""
                )
                raise CredentialsError(
                    f"IMAP login refused for {s.username}@{s.host}: "
                    f"{said}{'; ' if how else ''}{how}"
                ) from e
            except (IMAPClientError, OSError, ssl.SSLError) as e:
                _shutdown(client)
                raise TransientError(f"IMAP connect to {s.host}:{s.port} failed: {e}") from e
            self._client = client
            return

    def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        idling, self._idling = self._idling, False
        try:
            if idling:  # a LOGOUT sent in IDLE is read as a bad DONE: the reply never comes
                client.idle_done()
            client.logout()
        except (IMAPClientError, OSError):
            try:
                client.shutdown()
            except OSError:
                pass

    def __enter__(self) -> ImapMailbox:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def client(self) -> IMAPClient:
        if self._client is None:
            raise TransientError("IMAP not connected")
        return self._client

    # -- operations --------------------------------------------------------------------------
    def _wrap(self, what: str, exc: BaseException) -> TransientError:
        client, self._client = self._client, None  # the connection is unusable after an abort
        self._idling = False
        if client is not None:
            try:
                client.shutdown()
            except (IMAPClientError, OSError):
                pass
        return TransientError(f"IMAP {what} failed: {type(exc).__name__}: {exc}")

    def capabilities(self) -> frozenset[str]:
        try:
            return frozenset(c.decode().upper() for c in self.client.capabilities())
        except (IMAPClientError, OSError) as e:
            raise self._wrap("CAPABILITY", e) from e

    def folder_exists(self, folder: str) -> bool:
        try:
            return bool(self.client.folder_exists(folder))
        except (IMAPClientError, OSError) as e:
            raise self._wrap("LIST", e) from e

    def folders(self) -> list[str]:
        """Every folder's name on the server (LIST "" "*"), for `intake doctor` to show."""
        try:
            return [
                name if isinstance(name, str) else name.decode("utf-8", "replace")
                for _flags, _delim, name in self.client.list_folders()
            ]
        except (IMAPClientError, OSError) as e:
            raise self._wrap("LIST", e) from e

    def select(self, folder: str) -> FolderInfo:
        try:
            info = self.client.select_folder(folder)
        except (IMAPClientError, OSError) as e:
            raise self._wrap(f"SELECT {folder}", e) from e
        return FolderInfo(
            uidvalidity=int(info.get(b"UIDVALIDITY", 0)),
            uidnext=int(info.get(b"UIDNEXT", 0)),
            exists=int(info.get(b"EXISTS", 0)),
        )

    def search_from(self, first_uid: int) -> list[int]:
        """UIDs >= first_uid (ASCII-only criteria; `n:*` always answers the last UID too)."""
        try:
            uids = self.client.search(["UID", f"{max(first_uid, 1)}:*"])
        except (IMAPClientError, OSError) as e:
            raise self._wrap("UID SEARCH", e) from e
        return sorted(int(u) for u in uids if int(u) >= first_uid)

    def sizes(self, uids: Sequence[int]) -> dict[int, int]:
        if not uids:
            return {}
        try:
            resp = self.client.fetch(list(uids), [b"RFC822.SIZE"])
        except (IMAPClientError, OSError) as e:
            raise self._wrap("FETCH RFC822.SIZE", e) from e
        return {int(uid): int(d.get(b"RFC822.SIZE", 0)) for uid, d in resp.items()}

    def fetch(self, uids: Sequence[int]) -> Iterator[Fetched]:
        """Fetch one batch of bodies (without setting \\Seen)."""
        if not uids:
            return
        try:
            resp = self.client.fetch(list(uids), FETCH_ITEMS)
        except (TimeoutError, IMAPClientError, OSError) as e:
            raise self._wrap("UID FETCH", e) from e
        for uid in uids:
            data = resp.get(uid)
            if data is None or b"BODY[]" not in data:
                continue  # expunged meanwhile; the caller sees it missing
            raw = data[b"BODY[]"]
            yield Fetched(
                uid=int(uid),
                raw=to_bytes(raw),
                internaldate=_aware(data.get(b"INTERNALDATE")),
                size=int(data.get(b"RFC822.SIZE", len(raw))),
            )

    def mark_processed(self, uids: Sequence[int], *, move_to: str, keyword: str) -> None:
        """After the store committed: MOVE to `move_to`, or set `keyword`. Never deletes
        anything that was not first copied."""
        if not uids:
            return
        c = self.client
        try:
            if move_to:
                if not c.folder_exists(move_to):
                    c.create_folder(move_to)
                caps = self.capabilities()
                if "MOVE" in caps:
                    c.move(list(uids), move_to)
                elif "UIDPLUS" in caps:
                    c.copy(list(uids), move_to)
                    c.add_flags(list(uids), [b"\\Deleted"])
                    c.uid_expunge(list(uids))
                else:  # no safe expunge of just these: copy and label instead of deleting
                    c.copy(list(uids), move_to)
                    c.add_flags(list(uids), [keyword.encode()])
            else:
                c.add_flags(list(uids), [keyword.encode()])
        except (IMAPClientError, OSError) as e:
            raise self._wrap("mark processed", e) from e

    # -- IDLE --------------------------------------------------------------------------------
    def idle_start(self, folder: str) -> None:
        """SELECT `folder` read-only and enter IDLE."""
        try:
            self.client.select_folder(folder, readonly=True)
            self.client.idle()
        except (IMAPClientError, OSError) as e:
            raise self._wrap("IDLE", e) from e
        self._idle_folder, self._idling = folder, True

    def idle_wait(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds in IDLE; True when the server reported new mail (or
        may have: after the session was renewed). Renews an OAuth2 session whose token is
        about to expire; raises `TransientError` when the server ended the session."""
        if self._tokens is not None and self._idle_folder and self._tokens.renew_due():
            self._renew()
            return True  # mail that came while logging in again is not announced by IDLE
        client = self.client
        try:
            responses = client.idle_check(timeout=timeout)
        except (IMAPClientError, OSError) as e:
            raise self._wrap("IDLE check", e) from e
        for r in responses:
            if isinstance(r, tuple) and r and r[0] == b"BYE":
                said = " ".join(
                    x.decode("utf-8", "replace") if isinstance(x, bytes) else str(x) for x in r[1:]
                )
                raise self._wrap("IDLE", ConnectionAbortedError(f"server said BYE {said[:200]}"))
        if not responses and _peer_closed(client.socket()):
            # imapclient's idle_check swallows EOF and returns nothing, at once, forever after
            raise self._wrap("IDLE", ConnectionAbortedError("server closed the connection"))
        return any(
            isinstance(r, tuple) and len(r) >= 2 and r[1] in (b"EXISTS", b"RECENT")
            for r in responses
        )

    def _renew(self) -> None:
        folder = self._idle_folder
        log.info(
            "IMAP %s: the access token of this IDLE session is about to expire; "
            "logging in again with a fresh one",
            self.settings.host,
        )
        self.close()
        self.connect()
        self.idle_start(folder)

    def idle_stop(self) -> None:
        self._idling = False
        try:
            self.client.idle_done()
        except (IMAPClientError, OSError) as e:
            raise self._wrap("IDLE done", e) from e


def _peer_closed(sock: socket.socket) -> bool:
    """True when the server has closed the TCP connection (a peek at the raw socket, under any
    TLS layer, finds the end of the stream); False while it is open or has data waiting.
    Never waits: a socket with a timeout waits up to that timeout for data before any recv,
    MSG_DONTWAIT or not, so an idle watcher stalled [mailbox] timeout per second (and a
    SIGTERM waited as long); hence the zero-timeout select first."""
    try:
        if not select.select([sock], [], [], 0)[0]:
            return False  # nothing to read: not closed
        return socket.socket.recv(sock, 1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except (BlockingIOError, InterruptedError):
        return False
    except (OSError, ValueError):  # ValueError: select on a socket already closed here
        return True
