"""The daemon: a plain object whose jobs can run once (`poll_once`, `notify_once`); `run()`
only schedules them on the monotonic clock (`intake.scheduler`: a step of the wall clock
neither stalls nor hurries them), watches the mailbox with IMAP IDLE when offered, holds
the one-instance lock, and stops cleanly on SIGTERM/SIGINT (finish the message in hand, exit 0).

It refuses to start on a store it cannot write (a read-only SQLite file or mount, a read-only
database: one line, exit 2). At run time a failing store (store.faults) makes the poll back off
like a failing server, with the reason in the heartbeat when it can be written; the pooled
connections are dropped, so the daemon resumes as soon as the store can be written again.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import signal
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from filelock import FileLock, Timeout
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from core.config import MailboxConfig
from core.errors import AlreadyRunning, CredentialsError, IntakeError, StoreFault, TransientError
from intake.app import App
from intake.poll import PollResult
from intake.scheduler import Scheduler
from store import faults

log = logging.getLogger(__name__)

IDLE_RENEW = 25 * 60  # seconds; RFC 2177 servers may drop IDLE after 29 minutes
MAX_BACKOFF = 3600.0
NOTIFY_INTERVAL = 120.0  # seconds between two notifier ticks (receipts, reminders, digest)
LOGIN_WATCH = 2.0  # seconds between two looks at the OAuth2 token file while it is refused


def _canonical(address: str) -> str:
    """An IP address as one spelling: no zone, IPv4-mapped IPv6 as IPv4, compressed."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return str(ip)


def lock_keys(mailbox: MailboxConfig) -> list[str]:
    """What the single-instance lock of `mailbox` holds: the folder of this user on the server,
    named once by the host as written (case and a trailing dot aside) and once per address the
    host resolves to (socket.getaddrinfo), so "127.0.0.1" and "localhost" meet on 127.0.0.1
    while a name whose DNS answers rotate still meets itself. A host that cannot be resolved
    is locked by its name only."""
    host = mailbox.host.strip().rstrip(".").lower()
    tail = f"{mailbox.port}/{mailbox.username.strip().lower()}/{mailbox.folder}"
    keys = {f"name {host}:{tail}"}
    if not host:
        return sorted(keys)
    try:
        infos = socket.getaddrinfo(host, mailbox.port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as e:
        log.warning("instance lock: %s cannot be resolved (%s); locking by its name only", host, e)
        return sorted(keys)
    for info in infos:
        try:
            keys.add(f"addr {_canonical(str(info[4][0]))}:{tail}")
        except ValueError:
            continue
    return sorted(keys)


class InstanceLock:
    """One daemon per store and mailbox: file locks beside a SQLite store, session-level
    advisory locks on PostgreSQL (held by a dedicated connection) — one per key of
    `lock_keys`, all or none, so two spellings of one server cannot both run."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.keys = lock_keys(app.cfg.mailbox)
        self.digests = [hashlib.sha256(k.encode()).digest() for k in self.keys]
        self._files: list[FileLock] = []
        self._conn: Connection | None = None
        self._pg_keys: list[int] = []

    def _refused(self, where: str) -> AlreadyRunning:
        return AlreadyRunning(
            f"another intake daemon already runs for {self.app.cfg.mailbox.account} {where}"
        )

    def acquire(self) -> None:
        url = make_url(self.app.cfg.store_url)
        if url.get_backend_name() == "sqlite":
            path = Path(url.database or "intake.sqlite3")
            for digest in self.digests:
                lock_path = path.with_name(f"{path.name}.{digest.hex()[:12]}.lock")
                lock = FileLock(str(lock_path), timeout=0, mode=0o600)
                try:
                    lock.acquire()
                except Timeout as e:
                    self.release()
                    raise self._refused(f"on {path} (lock {lock_path})") from e
                self._files.append(lock)
            return
        conn = self.app.engine.connect()
        self._conn = conn
        for digest in self.digests:
            key = int.from_bytes(digest[:8], "big", signed=True)
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
            conn.commit()
            if not got:
                self.release()
                raise self._refused("on this PostgreSQL database (advisory lock held)")
            self._pg_keys.append(key)

    def release(self) -> None:
        for lock in reversed(self._files):
            lock.release()
        self._files = []
        if self._conn is not None:
            # the connection goes back to the pool, so the session (and a session-level lock)
            # would live on: unlock explicitly
            for key in self._pg_keys:
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            self._conn.commit()
            self._conn.close()
            self._conn = None
            self._pg_keys = []


class Daemon:
    def __init__(self, app: App, notify: Callable[[], Any] | None = None) -> None:
        self.app = app
        self.clock = app.clock
        self.notify = notify
        self.poller = app.poller()
        self.stop_event = threading.Event()
        self.failures = 0
        self.next_poll_at: float | None = None  # monotonic; set while backing off
        self.scheduler: Scheduler | None = None
        self._idle_thread: threading.Thread | None = None
        self._login_at_failure: tuple[int, int] | None = None  # token file after the last failure

    # -- jobs (each can be called directly) ---------------------------------------------------
    def poll_once(self, *, force: bool = False) -> PollResult | None:
        now = self.clock.monotonic()
        if not force and self.next_poll_at is not None and now < self.next_poll_at:
            if self._login_at_failure is None or self._login_stamp() == self._login_at_failure:
                log.debug("poll skipped: backing off %.0f s more", self.next_poll_at - now)
                return None
            log.info("a new OAuth2 login was saved: polling now")
        result = self.poller.poll_once()
        if result.error:
            self._login_at_failure = self._login_stamp()
            self.failures += 1
            delay = min(self.app.cfg.mailbox.poll_interval * 2 ** (self.failures - 1), MAX_BACKOFF)
            self.next_poll_at = self.clock.monotonic() + delay
            log.warning("poll failed %d time(s) in a row; next try in %.0f s", self.failures, delay)
        else:
            if self.failures:
                log.info("poll recovered after %d failure(s)", self.failures)
            self.failures = 0
            self.next_poll_at = None
            # a poll that found nothing is routine: said only at -v
            busy = result.new_uids or result.stored or result.duplicates or result.processed
            log.log(
                logging.INFO if busy else logging.DEBUG,
                "poll: %d new, %d stored, %d duplicate(s), %d filed",
                result.new_uids,
                result.stored,
                result.duplicates,
                result.processed,
            )
            if result.processed and self.scheduler is not None:
                self.scheduler.trigger("notify")  # receipts now, not at the next notify tick
        return result

    def notify_once(self) -> Any:
        if self.notify is None:
            return None
        try:
            return self.notify()
        except (SQLAlchemyError, OSError) as e:
            if not faults.fault(e):
                raise
            faults.reset(self.app.sessions)
            log.error(
                "notices skipped this time: the store cannot be written: %s", faults.describe(e)
            )
            return None

    def warm_parsers(self) -> None:
        """Start the parse workers now rather than when the first mail arrives: a worker's
        start (its fork and imports, ~2.5 s on a small machine) would otherwise be added to
        the time the first unit waits to see its mail filed. Each worker is handed a sha256
        that names nothing, so it starts, imports the parsers, and answers "no such file"."""
        workers = self.app.cfg.limits.parse_workers
        if workers <= 0:
            return
        started = self.clock.monotonic()
        self.app.stage.run_many(["0" * 64] * workers)
        log.debug("%d parse worker(s) ready in %.1f s", workers, self.clock.monotonic() - started)

    def request_stop(self) -> None:
        self.stop_event.set()
        self.poller.request_stop()
        self.app.filer.stop_requested = True

    # -- IDLE --------------------------------------------------------------------------------
    def _login_stamp(self) -> tuple[int, int] | None:
        """The mailbox's OAuth2 token file as last written (None with a password login): a
        new `intake auth login` changes it, and the daemon resumes without a restart."""
        if self.app.cfg.mailbox.auth != "oauth2":
            return None
        from intake.oauth import settings_for
        from intake.oauthtokens import login_stamp

        try:
            return login_stamp(settings_for(self.app.cfg, "mailbox").token_file)
        except IntakeError:
            return None

    def _wait_for_login(self) -> bool:
        """Wait until the token file changes (True) or the daemon stops (False)."""
        seen = self._login_stamp()
        while not self.stop_event.wait(LOGIN_WATCH):
            if self._login_stamp() != seen:
                return True
        return False

    def _trigger_poll(self) -> None:
        if self.scheduler is not None and not self.stop_event.is_set():
            self.scheduler.trigger("poll")

    def idle_loop(self) -> None:
        """Watch the folder with IDLE; new mail triggers a poll at once. Falls back to plain
        polling when IDLE is missing; reconnects with backoff after errors. A refused OAuth2
        login stops it until `intake auth login` writes a new token file (no restart)."""
        folder = self.app.cfg.mailbox.folder
        delay = 5.0
        watched = False  # an IDLE session was up before this connection attempt
        while not self.stop_event.is_set():
            box = self.app.mailbox()
            try:
                box.connect()
                if "IDLE" not in box.capabilities():
                    log.info(
                        "server has no IDLE: polling every %d s", self.app.cfg.mailbox.poll_interval
                    )
                    return
                box.idle_start(folder)
                log.log(logging.DEBUG if watched else logging.INFO, "IDLE: watching %s", folder)
                if watched:
                    # IDLE reports only what arrives from now on: mail that came while the
                    # session was down is fetched at once, not at the next regular poll
                    self._trigger_poll()
                started = self.clock.monotonic()
                delay = 5.0
                watched = True
                while not self.stop_event.is_set():
                    if box.idle_wait(1.0):
                        # routine: the poll it triggers logs what it found
                        log.debug("IDLE: new mail in %s", folder)
                        self._trigger_poll()
                    if self.clock.monotonic() - started >= IDLE_RENEW:
                        box.idle_stop()
                        box.idle_start(folder)
                        started = self.clock.monotonic()
            except CredentialsError as e:
                if self.app.cfg.mailbox.auth != "oauth2":
                    log.error("IDLE stopped: %s", e)
                    return
                log.error("IDLE stopped: %s; waiting for a new login (the token file)", e)
                if not self._wait_for_login():
                    return
                log.info("a new OAuth2 login was saved: IDLE resumes")
                self._trigger_poll()
            except (TransientError, IntakeError) as e:
                if self.stop_event.is_set():
                    return  # the connection ends with the daemon: nothing to report
                # a server dropping a long IDLE session now and then is routine; failing to get
                # one back is not
                log.log(
                    logging.INFO if delay == 5.0 and watched else logging.WARNING,
                    "IDLE connection lost (%s); reconnecting in %.0f s",
                    e,
                    delay,
                )
                self.stop_event.wait(delay)
                delay = min(delay * 2, 300.0)
            finally:
                box.close()

    # -- the service -------------------------------------------------------------------------
    def _acquire(self, lock: InstanceLock, standby: float) -> None:
        waiting = False
        while True:
            try:
                lock.acquire()
                if waiting:
                    log.info("standby: the lock is ours, taking over")
                return
            except AlreadyRunning as e:
                if standby <= 0:
                    raise
                if not waiting:
                    log.info("standby: %s; waiting to take over", e)
                    waiting = True
            if self.stop_event.wait(standby):
                return

    def run(self, *, idle: bool = True, standby: float = 0.0) -> int:
        """Run until SIGTERM/SIGINT. With `standby` > 0, a second daemon for the same mailbox
        waits (retrying every `standby` seconds) and takes over when the leader stops or dies,
        instead of refusing to start."""
        reason = faults.probe(self.app.engine, self.app.files.root)
        if reason is not None:
            raise StoreFault(
                f"the store ({faults.where(self.app.cfg.store_url)}) cannot be "
                f"written: {reason}; make it writable (owner, permissions, mount, "
                "disk) and start again"
            )
        lock = InstanceLock(self.app)
        previous = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            log.info("signal %d: finishing the message in hand, then stopping", signum)
            self.request_stop()

        for s in previous:
            signal.signal(s, on_signal)
        try:
            self._acquire(lock, standby)
        except AlreadyRunning:
            for s, handler in previous.items():
                signal.signal(s, handler)
            raise
        if self.stop_event.is_set():
            lock.release()
            for s, handler in previous.items():
                signal.signal(s, handler)
            return 0
        try:
            self.app.ensure_roster()
        except IntakeError as e:
            log.error("roster not imported: %s", e)
        try:
            from store.gc import sweep_orphans

            sweep_orphans(self.app.sessions, self.app.files, self.clock.now())
        except (OSError, SQLAlchemyError) as e:
            log.warning("orphan sweep skipped: %s", e)
        self.warm_parsers()
        interval = self.app.cfg.mailbox.poll_interval
        sched = Scheduler(self.clock)
        self.scheduler = sched
        sched.add("poll", self.poll_once, interval)
        if self.notify is not None:
            sched.add("notify", self.notify_once, NOTIFY_INTERVAL)
        try:
            sched.start()
            if idle:
                self._idle_thread = threading.Thread(
                    target=self.idle_loop, name="idle", daemon=True
                )
                self._idle_thread.start()
            log.info("intake running: %s, poll every %d s", self.app.cfg.mailbox.account, interval)
            self.stop_event.wait()
        finally:
            sched.stop(wait=True)  # lets the running job finish its current message
            if self._idle_thread is not None:
                self._idle_thread.join(timeout=5)
            lock.release()
            for s, handler in previous.items():
                signal.signal(s, handler)
            log.info("intake stopped")
        return 0
