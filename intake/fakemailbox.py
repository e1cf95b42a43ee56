"""An in-memory `Mailbox` beside the real one, for fast tests of the poller's logic (the
protocol path itself is always tested against a real Dovecot). It counts body FETCHes and can
fail on a chosen call, to act out a dropped connection."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from core.errors import TransientError
from intake.imap import Fetched, FolderInfo


@dataclass
class FakeFolder:
    uidvalidity: int = 1
    next_uid: int = 1
    messages: dict[int, bytes] = field(default_factory=dict)
    keywords: dict[int, set[str]] = field(default_factory=dict)


class FakeMailbox:
    def __init__(self, account: str = "fake@example") -> None:
        self.account = account
        self.folders: dict[str, FakeFolder] = {"INBOX": FakeFolder()}
        self.selected: str | None = None
        self.connected = False
        self.body_fetches = 0
        self.fail_on: dict[str, int] = {}  # operation → fail on its n-th call from now
        self.calls: dict[str, int] = {}
        self.idle_events: list[bool] = []

    # -- test helpers ------------------------------------------------------------------------
    def append(self, raw: bytes, folder: str = "INBOX") -> int:
        f = self.folders.setdefault(folder, FakeFolder())
        uid = f.next_uid
        f.messages[uid] = raw
        f.next_uid += 1
        return uid

    def recreate(self, folder: str = "INBOX") -> None:
        old = self.folders[folder]
        new = FakeFolder(uidvalidity=old.uidvalidity + 1)
        for raw in old.messages.values():
            new.messages[new.next_uid] = raw
            new.next_uid += 1
        self.folders[folder] = new

    def _tick(self, op: str) -> None:
        self.calls[op] = self.calls.get(op, 0) + 1
        if op in self.fail_on:
            self.fail_on[op] -= 1
            if self.fail_on[op] <= 0:
                del self.fail_on[op]
                self.connected = False
                raise TransientError(f"fake connection dropped during {op}")

    def _folder(self) -> FakeFolder:
        if not self.connected or self.selected is None:
            raise TransientError("not connected")
        return self.folders[self.selected]

    # -- the Mailbox protocol ----------------------------------------------------------------
    def connect(self) -> None:
        self._tick("connect")
        self.connected = True

    def close(self) -> None:
        self.connected = False
        self.selected = None

    def capabilities(self) -> frozenset[str]:
        return frozenset({"IMAP4REV1", "MOVE", "UIDPLUS", "IDLE"})

    def folder_exists(self, folder: str) -> bool:
        return folder in self.folders

    def select(self, folder: str) -> FolderInfo:
        self._tick("select")
        if folder not in self.folders:
            raise TransientError(f"no folder {folder}")
        self.selected = folder
        f = self.folders[folder]
        return FolderInfo(f.uidvalidity, f.next_uid, len(f.messages))

    def search_from(self, first_uid: int) -> list[int]:
        self._tick("search")
        return sorted(u for u in self._folder().messages if u >= first_uid)

    def sizes(self, uids: Sequence[int]) -> dict[int, int]:
        self._tick("sizes")
        f = self._folder()
        return {u: len(f.messages[u]) for u in uids if u in f.messages}

    def fetch(self, uids: Sequence[int]) -> Iterator[Fetched]:
        self._tick("fetch")
        f = self._folder()
        self.body_fetches += 1
        for u in uids:
            if u in f.messages:
                yield Fetched(
                    u, f.messages[u], datetime(2021, 10, 5, 1, 0, tzinfo=UTC), len(f.messages[u])
                )

    def mark_processed(self, uids: Sequence[int], *, move_to: str, keyword: str) -> None:
        self._tick("mark")
        f = self._folder()
        if move_to:
            target = self.folders.setdefault(move_to, FakeFolder())
            for u in uids:
                if u in f.messages:
                    target.messages[target.next_uid] = f.messages.pop(u)
                    target.next_uid += 1
        else:
            for u in uids:
                if u in f.messages:
                    f.keywords.setdefault(u, set()).add(keyword)

    def idle_start(self, folder: str) -> None:
        self.select(folder)

    def idle_wait(self, timeout: float) -> bool:
        return self.idle_events.pop(0) if self.idle_events else False

    def idle_stop(self) -> None:
        pass
