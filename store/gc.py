"""Orphan files: blobs a crash left in the file store with no row naming them (written, then
the transaction never committed) and `.tmp` halves of interrupted writes. Swept when the daemon
starts; only files older than `min_age` go, so another daemon's write in flight is safe."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from store.files import FileStore
from store.models import Attachment, Message

_THUMB = re.compile(r'"thumbnail_sha256": "([0-9a-f]{64})"')


def live_blobs(s: Session) -> set[str]:
    """Every sha256 a row refers to: raw messages, attachments, photo thumbnails."""
    keep = set(s.scalars(select(Message.sha256)))
    for sha, facts in s.execute(select(Attachment.sha256, Attachment.facts)):
        keep.add(sha)
        if facts and "thumbnail_sha256" in facts:
            keep.update(_THUMB.findall(facts))
    return keep


def sweep_orphans(sessions: sessionmaker[Session], files: FileStore, now: datetime,
                  min_age: float = 3600.0) -> int:
    with sessions() as s:
        keep = live_blobs(s)
    return files.sweep(keep, older_than=now.timestamp() - min_age)
