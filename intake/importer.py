"""Local import: message files of any name, mbox files and Maildirs (what an officer exports
from webmail or a mail client), or folders of those, go through the same store and the same
dedupe as IMAP mail.

One reader for every route (`read_path`): a folder is walked and every regular file in it is
sniffed (`parsers.mbox`), whatever its name; an mbox is split so that each message has the bytes
it has saved as a file of its own; a Maildir's cur/ and new/ hold one message per file (its
tmp/, deliveries in progress, is not read). What is not read is reported with the reason
(`ImportResult.skipped`), never dropped without a word.
"""

from __future__ import annotations

import email.utils
import logging
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from core.clock import Clock
from intake.poll import store_raw
from intake.progress import NullProgress, Progress
from parsers.mbox import SNIFF_BYTES, message_bytes, sniff, split_mbox
from parsers.mime import split_raw
from store.files import FileStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Found:
    """One message read: where from (a path, `path#n` for the n-th message of an mbox)."""

    label: str
    raw: bytes


@dataclass(frozen=True)
class Skipped:
    """A file (or an mbox entry) not imported, and why."""

    label: str
    reason: str

    def __str__(self) -> str:
        return f"{self.label}: {self.reason}"


@dataclass(frozen=True)
class Unreadable:
    """A file or folder that could not be read (an error: the import is incomplete)."""

    label: str
    reason: str


@dataclass
class ImportResult:
    seen: int = 0
    stored: int = 0
    duplicates: int = 0
    errors: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def _received_at(raw: bytes) -> datetime | None:
    """The topmost Received: date (when the receiving server took it), else Date:."""
    head, _ = split_raw(raw)
    msg = email.message_from_bytes(head[:262144] + b"\r\n\r\n")
    candidates = []
    received = msg.get_all("Received") or []
    if received:
        candidates.append(str(received[0]).rpartition(";")[2])
    candidates.append(str(msg.get("Date", "")))
    for value in candidates:
        try:
            dt = email.utils.parsedate_to_datetime(value.strip())
        except (TypeError, ValueError, IndexError):
            continue
        return dt.astimezone(UTC) if dt.tzinfo else dt.replace(tzinfo=UTC)
    return None


def read_path(path: Path) -> Iterator[Found | Skipped | Unreadable]:
    """Every message under `path` (a file, an mbox, a Maildir or a folder of those), every file
    not imported with the reason, and every read error, in a stable order."""
    if path.is_dir():
        yield from _read_folder(path)
    else:
        yield from read_file(path)


def _is_maildir(folder: Path) -> bool:
    return (folder / "cur").is_dir() and (folder / "new").is_dir()


def _read_folder(root: Path) -> Iterator[Found | Skipped | Unreadable]:
    errors: list[OSError] = []
    for dirpath, dirnames, filenames in os.walk(root, onerror=errors.append):
        while errors:
            e = errors.pop()
            yield Unreadable(str(e.filename or dirpath), e.strerror or str(e))
        here = Path(dirpath)
        dirnames.sort()
        for name in [d for d in dirnames if (here / d).is_symlink()]:
            yield Skipped(str(here / name), "a link to a folder, not followed")
            dirnames.remove(name)
        if here.name == "tmp" and _is_maildir(here.parent):
            for name in sorted(filenames):
                yield Skipped(
                    str(here / name), "a Maildir delivery still in progress (tmp/), not read"
                )
            dirnames.clear()
            continue
        for name in sorted(filenames):
            yield from read_file(here / name)
    for e in errors:
        yield Unreadable(str(e.filename or root), e.strerror or str(e))


def read_file(path: Path) -> Iterator[Found | Skipped | Unreadable]:
    """The messages of one file: an mbox (sniffed by its From_ line, whatever its name), else one
    message; or why it is not read."""
    label = str(path)
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            yield Skipped(label, "not a regular file")
            return
        with path.open("rb") as fh:
            kind = sniff(fh.read(SNIFF_BYTES))
            fh.seek(0)
            if kind.kind == "not-mail":
                yield Skipped(label, kind.reason)
            elif kind.kind == "mbox":
                for n, raw in enumerate(split_mbox(fh), 1):
                    if raw.strip():
                        yield Found(f"{label}#{n}", raw)
                    else:
                        yield Skipped(f"{label}#{n}", "empty message in the mbox")
            else:
                yield Found(label, message_bytes(fh.read()))
    except OSError as e:
        yield Unreadable(label, e.strerror or str(e))


def import_paths(
    paths: list[Path],
    sessions: sessionmaker[Session],
    files: FileStore,
    clock: Clock,
    progress: Progress | None = None,
) -> ImportResult:
    progress = progress or NullProgress()
    progress.start("importing", 0)
    result = ImportResult()
    for path in paths:
        if not path.exists():
            result.errors.append(f"{path}: no such file or directory")
            continue
        for item in read_path(path):
            if isinstance(item, Skipped):
                log.info("skipped %s", item)
                result.skipped.append(item)
                continue
            if isinstance(item, Unreadable):
                result.errors.append(f"{item.label}: {item.reason}")
                continue
            result.seen += 1
            progress.advance()
            now = clock.now()
            raw = item.raw
            try:
                with sessions.begin() as s:
                    _, created = store_raw(
                        s,
                        files,
                        raw,
                        source="import",
                        received_at=_received_at(raw) or now,
                        now=now,
                    )
            except OSError as e:
                result.errors.append(f"{item.label}: {e}")
                continue
            result.stored += created
            result.duplicates += not created
    progress.finish()
    return result
