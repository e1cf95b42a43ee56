"""The content-addressed file store: every blob (raw message, attachment, thumbnail) is kept
once, under its sha256, as `ab/cd/<sha256>`. Writes are temp file + fsync + rename + directory
fsync, so a crash leaves either the whole file or a `.tmp` orphan that `sweep()` removes."""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class FileStore:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, digest: str) -> Path:
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ValueError(f"not a sha256 hex digest: {digest[:80]!r}")
        return self.root / digest[:2] / digest[2:4] / digest

    def exists(self, digest: str) -> bool:
        return self.path(digest).is_file()

    def put(self, data: bytes) -> str:
        """Store `data` (idempotent) and return its sha256."""
        digest = sha256(data)
        target = self.path(digest)
        if target.is_file() and target.stat().st_size == len(data):
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return digest

    def get(self, digest: str) -> bytes:
        return self.path(digest).read_bytes()

    def sweep(self, keep: Iterable[str] | None = None, *, older_than: float | None = None) -> int:
        """Remove `.tmp` orphans of interrupted writes, and, given `keep`, blobs no row names.
        With `older_than` (a POSIX timestamp), only files last modified before it are removed:
        a blob written by a transaction still in flight (another daemon) is left alone."""
        keep_set = set(keep) if keep is not None else None
        removed = 0
        for p in self.root.glob("*/*/*"):
            if p.name.endswith(".tmp") or (keep_set is not None and p.name not in keep_set):
                if older_than is not None:
                    try:
                        if p.stat().st_mtime >= older_than:
                            continue
                    except FileNotFoundError:
                        continue
                p.unlink(missing_ok=True)
                removed += 1
        if removed:
            log.info("swept %d orphan file(s) from %s", removed, self.root)
        return removed
