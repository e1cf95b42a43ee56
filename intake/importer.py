"""Local import: .eml files, an mbox or a Maildir (what an officer exports from webmail) go
through the same store and the same dedupe as IMAP mail."""

from __future__ import annotations

import email.utils
import logging
import mailbox
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from intake.clock import Clock
from intake.poll import store_raw
from intake.progress import NullProgress, Progress
from parsers.mime import split_raw
from store.files import FileStore

log = logging.getLogger(__name__)


@dataclass
class ImportResult:
    seen: int = 0
    stored: int = 0
    duplicates: int = 0
    errors: list[str] | None = None


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


def iter_messages(path: Path) -> Iterator[tuple[str, bytes]]:
    """(label, raw bytes) for every message under `path`."""
    if path.is_dir():
        if (path / "cur").is_dir() and (path / "new").is_dir():
            md = mailbox.Maildir(str(path), factory=None, create=False)
            for key in md.iterkeys():
                with md.get_file(key) as fh:
                    yield f"{path}:{key}", fh.read()
            return
        for child in sorted(path.rglob("*.eml")):
            yield str(child), child.read_bytes()
        return
    with path.open("rb") as fh:
        head = fh.read(5)
    if head == b"From ":
        mb = mailbox.mbox(str(path), factory=None, create=False)
        for key in mb.iterkeys():
            yield f"{path}#{key}", mb.get_bytes(key)
        mb.close()
        return
    yield str(path), path.read_bytes()


def import_paths(
    paths: list[Path], sessions: sessionmaker[Session], files: FileStore, clock: Clock,
    progress: Progress | None = None,
) -> ImportResult:
    progress = progress or NullProgress()
    progress.start("importing", 0)
    result = ImportResult(errors=[])
    assert result.errors is not None
    for path in paths:
        if not path.exists():
            result.errors.append(f"{path}: no such file or directory")
            continue
        for label, raw in iter_messages(path):
            result.seen += 1
            progress.advance()
            now = clock.now()
            try:
                with sessions.begin() as s:
                    _, created = store_raw(
                        s, files, raw, source="import",
                        received_at=_received_at(raw) or now, now=now,
                    )
            except OSError as e:
                result.errors.append(f"{label}: {e}")
                continue
            result.stored += created
            result.duplicates += not created
    progress.finish()
    return result
