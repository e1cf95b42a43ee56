"""Orphan files: blobs a crash left in the file store with no row naming them (written, then
the transaction never committed) and `.tmp` halves of interrupted writes. Swept when the daemon
starts; only files older than `min_age` go, so another daemon's write in flight is safe. What a
row names is read from the one list of blob columns beside the models (store.models
BLOB_COLUMNS, BLOB_JSON_KEYS): raw messages, attachments, thumbnails and queued outgoing mail."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from store import facts
from store.files import FileStore
from store.models import BLOB_COLUMNS, BLOB_JSON_KEYS


def live_blobs(s: Session) -> set[str]:
    """Every sha256 a row refers to."""
    keep: set[str] = set()
    for column in BLOB_COLUMNS:
        keep.update(sha for sha in s.scalars(select(column).distinct()) if sha)
    for column, key in BLOB_JSON_KEYS:
        for text in s.scalars(select(column).where(column.contains(f'"{key}"'))):
            keep.update(facts.named_blobs(text, key))
    return keep


def sweep_orphans(
    sessions: sessionmaker[Session], files: FileStore, now: datetime, min_age: float = 3600.0
) -> int:
    with sessions() as s:
        keep = live_blobs(s)
    return files.sweep(keep, older_than=now.timestamp() - min_age)
