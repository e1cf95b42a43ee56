"""One poll of one mailbox folder: fetch → store raw → commit the ledger → only then mark on
the server → process what was stored.

The ledger, not `\\Seen`, is the record of what was read (people read this mailbox too). Each
fetched batch is one transaction (its raw files made durable together first; a batch that cannot
be stored at once is stored one message per transaction); a crash at any point leaves either
pending ledger rows (fetched again next time) or committed rows whose server action is redone
next time (idempotent). FETCHes are bounded by count (`batch_size`) and by bytes
(`FETCH_BYTES`): the mailbox is never held in memory.

When our own store fails (the disk is full, read-only or failing; the database cannot be
written — store.faults), the poll stops where it is and reports it (`PollResult.error`, the
heartbeat when it can be written) for the daemon to back off: no message is charged an attempt,
nothing is told to the server, so nothing is lost however long the store stays down.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from core.clock import Clock
from core.config import MailboxConfig
from core.errors import CredentialsError, StoreFault, TransientError
from intake.imap import Fetched, Mailbox
from intake.progress import NullProgress, Progress
from parsers.mime import Envelope, body_sha256, envelope
from store import faults, ledger
from store.files import FileStore
from store.models import LedgerEntry, LedgerState, Message, MessageState

log = logging.getLogger(__name__)

FETCH_BYTES = 32 * 2**20  # at most this much mail per FETCH (a bigger message alone)


@dataclass
class PollResult:
    account: str
    new_uids: int = 0
    fetched: int = 0
    stored: int = 0
    duplicates: int = 0
    failed: int = 0
    marked: int = 0
    processed: int = 0
    error: str = ""
    store_fault: bool = False  # the error is our store's (the daemon backs off), not the server's
    uidvalidity_changed: bool = False
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RawInfo:
    """What the ledger keeps of a raw message, read from its bytes (the file written)."""

    digest: str
    body_digest: str
    env: Envelope
    size: int


def put_raw(files: FileStore, raw: bytes) -> RawInfo:
    """Write the raw message to the file store and read what its Message row needs."""
    return RawInfo(files.put(raw), body_sha256(raw), envelope(raw), len(raw))


def new_message(info: RawInfo, *, source: str, received_at: datetime, now: datetime) -> Message:
    env = info.env
    return Message(
        sha256=info.digest,
        body_sha256=info.body_digest,
        message_id=env.message_id,
        size=info.size,
        source=source,
        from_addr=env.from_addr,
        from_name=env.from_name,
        subject=env.subject,
        sent_at=env.date,
        received_at=received_at,
        state=MessageState.RECEIVED,
        created_at=now,
    )


def store_raw(
    s: Session,
    files: FileStore,
    raw: bytes,
    *,
    source: str,
    received_at: datetime,
    now: datetime,
) -> tuple[Message, bool]:
    """Write the raw message to the file store and return its (possibly existing) Message row.
    The caller commits. Returns (message, created)."""
    info = put_raw(files, raw)
    existing = ledger.find_message(s, info.digest, info.env.message_id, info.body_digest)
    if existing is not None:
        return existing, False
    msg = new_message(info, source=source, received_at=received_at, now=now)
    s.add(msg)
    s.flush()
    return msg, True


def _by_bytes(sizes: list[tuple[int, int]], limit: int) -> list[list[int]]:
    """Split (uid, size) into FETCH batches of at most `limit` bytes (a bigger message alone):
    a batch of fifty 25 MB messages must not be held in memory at once."""
    out: list[list[int]] = []
    total = 0
    for uid, size in sizes:
        if not out or (total + size > limit and out[-1]):
            out.append([])
            total = 0
        out[-1].append(uid)
        total += size
    return out


class Poller:
    """Polls one folder of one account. `process` (optional) files what was stored."""

    def __init__(
        self,
        mailbox: Mailbox,
        sessions: sessionmaker[Session],
        files: FileStore,
        clock: Clock,
        settings: MailboxConfig,
        process: Callable[[], int] | None = None,
        max_message_bytes: int = 50 * 2**20,
        progress: Progress | None = None,
        fetch_bytes: int = FETCH_BYTES,
    ) -> None:
        self.mailbox = mailbox
        self.sessions = sessions
        self.files = files
        self.clock = clock
        self.settings = settings
        self.process = process
        self.max_message_bytes = max_message_bytes
        self.fetch_bytes = fetch_bytes
        self.stop_requested = False
        self.progress: Progress = progress or NullProgress()

    def request_stop(self) -> None:
        """Finish the batch in hand (stored and committed), then return from poll_once."""
        self.stop_requested = True

    def poll_once(self) -> PollResult:
        account, folder = self.mailbox.account, self.settings.folder
        result = PollResult(account=account)
        try:
            self.mailbox.connect()
            try:
                self._poll(folder, result)
            finally:
                self.mailbox.close()
        except StoreFault as e:
            self._store_failed(result, e)
        except (TransientError, CredentialsError) as e:
            result.error = str(e)
            log.warning("poll of %s failed: %s", account, e)
        self._beat(result.error)
        if self.process is not None and not self.stop_requested and not result.store_fault:
            try:
                result.processed = self.process()
            except StoreFault as e:
                self._store_failed(result, e)
                self._beat(result.error)
        return result

    def _store_failed(self, result: PollResult, e: StoreFault) -> None:
        result.error = str(e)
        result.store_fault = True
        log.error("poll of %s stopped: %s", self.mailbox.account, e)
        faults.reset(self.sessions)  # a stale or read-only connection must not be used again

    def _beat(self, error: str) -> None:
        """Record the poll in the heartbeat; when the store cannot take even that, say so in
        the log only (the next poll tries again)."""
        try:
            with self.sessions.begin() as s:
                ledger.beat(s, self.mailbox.account, self.clock.now(), error)
        except (SQLAlchemyError, OSError) as e:
            if not faults.fault(e):
                raise
            faults.reset(self.sessions)
            log.error(
                "heartbeat of %s not recorded (%s); last error: %s",
                self.mailbox.account,
                faults.describe(e),
                error or "none",
            )

    def _poll(self, folder: str, result: PollResult) -> None:
        try:
            self._poll_folder(folder, result)
        except (SQLAlchemyError, OSError) as e:
            if not faults.fault(e):
                raise
            raise StoreFault(f"the store cannot be written: {faults.describe(e)}") from e

    def _poll_folder(self, folder: str, result: PollResult) -> None:
        account = self.mailbox.account
        info = self.mailbox.select(folder)
        now = self.clock.now()
        with self.sessions.begin() as s:
            fs = ledger.folder_state(s, account, folder, info.uidvalidity, now)
            last = fs.last_seen_uid
            result.uidvalidity_changed = last == 0 and ledger.other_epoch_seen(
                s, account, folder, info.uidvalidity
            )
        if result.uidvalidity_changed:
            log.warning(
                "UIDVALIDITY of %s/%s is now %d: re-matching by Message-ID and sha256",
                account,
                folder,
                info.uidvalidity,
            )
        # Fast path: nothing above the last seen UID, so no SEARCH and no FETCH.
        if info.uidnext == 0 or info.uidnext - 1 > last:
            uids = self.mailbox.search_from(last + 1)
            with self.sessions.begin() as s:
                result.new_uids = ledger.record_uids(
                    s, account, folder, info.uidvalidity, uids, now
                )
                fs = ledger.folder_state(s, account, folder, info.uidvalidity, now)
                fs.last_seen_uid = max([last, *uids])
                fs.updated_at = now
        with self.sessions() as s:
            pending = [e.uid for e in ledger.to_fetch(s, account, folder, info.uidvalidity, now)]
        size = max(self.settings.batch_size, 1)
        if pending:  # a poll with nothing to fetch reports no progress
            self.progress.start(f"fetching {account}/{folder}", len(pending))
        for start in range(0, len(pending), size):
            if self.stop_requested:
                break
            sizes = self._within_size(
                folder, info.uidvalidity, pending[start : start + size], result
            )
            for batch in _by_bytes(sizes, self.fetch_bytes):
                fetched = {f.uid: f for f in self.mailbox.fetch(batch)}
                result.fetched += len(fetched)
                for uid in batch:
                    if uid not in fetched:
                        self._missing(folder, info.uidvalidity, uid, result)
                self._store_batch(
                    folder, info.uidvalidity, [fetched[u] for u in batch if u in fetched], result
                )
                del fetched
                self.progress.advance(len(batch))
                if self.stop_requested:
                    break
            self._mark(folder, info.uidvalidity, result)
        self.progress.finish()
        self._mark(folder, info.uidvalidity, result)

    def _within_size(
        self, folder: str, uidvalidity: int, batch: list[int], result: PollResult
    ) -> list[tuple[int, int]]:
        """Check RFC822.SIZE before fetching: a message over the limit is quarantined with its
        size, never fetched (and stays on the server untouched). Returns (uid, size) of the
        rest."""
        sizes = self.mailbox.sizes(batch)
        too_big = [u for u in batch if sizes.get(u, 0) > self.max_message_bytes]
        if too_big:
            now = self.clock.now()
            with self.sessions.begin() as s:
                for uid in too_big:
                    entry = self._entry(s, folder, uidvalidity, uid)
                    entry.size = sizes[uid]
                    entry.state = LedgerState.QUARANTINED
                    entry.error = (
                        f"message too large: {sizes[uid]:,} bytes > limit "
                        f"{self.max_message_bytes:,} (limits.max_message_bytes)"
                    )
                    entry.updated_at = now
                    log.warning("UID %d quarantined: %s", uid, entry.error)
            result.failed += len(too_big)
        return [(u, sizes.get(u, 0)) for u in batch if u not in too_big]

    def _entry(self, s: Session, folder: str, uidvalidity: int, uid: int) -> LedgerEntry:
        (entry,) = ledger.entries(s, self.mailbox.account, folder, uidvalidity, [uid]).values()
        return entry

    def _store_batch(
        self, folder: str, uidvalidity: int, items: list[Fetched], result: PollResult
    ) -> None:
        """Store a fetched batch in one transaction: the raw files made durable together
        (FileStore.batch), then one commit for all the ledger rows, and only after it may the
        server be told (_mark). If the batch cannot be stored at once, each message is stored
        in its own transaction, so one bad message costs only itself."""
        if not items:
            return
        now = self.clock.now()
        account = self.mailbox.account
        created = 0
        try:
            with self.sessions.begin() as s:
                entries = ledger.entries(s, account, folder, uidvalidity, [f.uid for f in items])
                with self.files.batch():  # durable before the commit that names the files
                    infos = [put_raw(self.files, f.raw) for f in items]
                # the dedupe of store_raw for the whole batch in one query (a copy seen before,
                # then one earlier in this batch); the new rows are inserted at the commit
                found = ledger.find_messages(
                    s, [(i.digest, i.env.message_id, i.body_digest) for i in infos]
                )
                added: list[Message] = []
                for f, info, msg in zip(items, infos, found, strict=True):
                    if msg is None:
                        msg = ledger.match_message(
                            added, info.digest, info.env.message_id, info.body_digest
                        )
                    if msg is None:
                        msg = new_message(
                            info, source="imap", received_at=f.internaldate or now, now=now
                        )
                        s.add(msg)
                        added.append(msg)
                    entry = entries[f.uid]
                    entry.message = msg
                    entry.size = f.size
                    entry.state = LedgerState.STORED
                    entry.error = ""
                    entry.updated_at = now
                created = len(added)
        except (SQLAlchemyError, OSError) as e:
            if faults.fault(e):
                raise  # our store, not these messages: the poll stops and backs off
            log.warning(
                "a batch of %d could not be stored at once (%s: %s); storing one by one",
                len(items),
                type(e).__name__,
                e,
            )
            for f in items:
                self._store(folder, uidvalidity, f, result)
            return
        result.stored += created
        result.duplicates += len(items) - created

    def _store(self, folder: str, uidvalidity: int, f: Fetched, result: PollResult) -> None:
        now = self.clock.now()
        try:
            with self.sessions.begin() as s:
                entry = self._entry(s, folder, uidvalidity, f.uid)
                msg, created = store_raw(
                    s, self.files, f.raw, source="imap", received_at=f.internaldate or now, now=now
                )
                entry.message_fk = msg.id
                entry.size = f.size
                entry.state = LedgerState.STORED
                entry.error = ""
                entry.updated_at = now
        except (SQLAlchemyError, OSError) as e:
            if faults.fault(e):
                raise  # our store, not this message: nothing is charged to it
            # not committed: the message stays untouched on the server and is retried later
            log.error("UID %d could not be stored: %s", f.uid, e)
            result.failed += 1
            try:
                with self.sessions.begin() as s:
                    entry = self._entry(s, folder, uidvalidity, f.uid)
                    ledger.fail_entry(
                        entry,
                        f"store failed: {type(e).__name__}: {e}"[:500],
                        now,
                        self.settings.max_attempts,
                    )
            except (SQLAlchemyError, OSError) as e2:
                raise StoreFault(f"the store cannot be written: {faults.describe(e2)}") from e2
            return
        result.stored += created
        result.duplicates += not created

    def _missing(self, folder: str, uidvalidity: int, uid: int, result: PollResult) -> None:
        now = self.clock.now()
        with self.sessions.begin() as s:
            entry = self._entry(s, folder, uidvalidity, uid)
            ledger.fail_entry(
                entry,
                "the server returned no body for this UID (expunged meanwhile?)",
                now,
                self.settings.max_attempts,
            )
        result.failed += 1

    def _mark(self, folder: str, uidvalidity: int, result: PollResult) -> None:
        account = self.mailbox.account
        with self.sessions() as s:
            uids = ledger.server_pending(s, account, folder, uidvalidity)
        if not uids:
            return
        self.mailbox.mark_processed(
            uids, move_to=self.settings.processed_folder, keyword=self.settings.processed_keyword
        )
        with self.sessions.begin() as s:
            ledger.mark_server_done(s, account, folder, uidvalidity, uids, self.clock.now())
        result.marked += len(uids)
