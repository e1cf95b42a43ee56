"""The content-addressed file store: every blob (raw message, attachment, thumbnail) is kept
once, under its sha256, as `ab/cd/<sha256>`. Writes are temp file + fsync + rename + directory
fsync, so a crash leaves either the whole file or a `.tmp` orphan that `sweep()` removes.

`batch()` makes the writes of one unit of work (a fetched batch of mail, one message's
attachments) durable together: the same steps in the same order, but the fsyncs of all its
files, then of all their directories (and of the parents of the directories just made for
them: only those), are issued at once from threads, so the file system
commits them together (on ext4, 50 files: ~15 ms instead of ~200 ms one by one). Nothing is
renamed into place before its data is on disk; the caller commits the rows that name the blobs
only after the block has ended.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import itertools
import logging
import os
import stat
import tempfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)

_TMP_SEQ = itertools.count()  # temp names unique within the process (threads included)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class FileStore:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        if not self.root.exists():
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._local = threading.local()  # a batch belongs to the thread that opened it

    def _batch(self) -> dict[Path, Path] | None:
        pending: dict[Path, Path] | None = getattr(self._local, "pending", None)
        return pending

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
        pending = self._batch()
        if pending is not None and target in pending:
            return digest
        try:
            st = os.stat(target)
            if stat.S_ISREG(st.st_mode) and st.st_size == len(data):
                return digest
        except (FileNotFoundError, NotADirectoryError):
            pass
        made: list[Path] = []
        fd, tmp = self._create_tmp(target, made)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                if pending is not None:  # fsync and rename when the batch ends
                    pending[target] = Path(tmp)
                    self._local.made.update(made)
                    return digest
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        for folder in (target.parent, *(d.parent for d in made)):
            _fsync_path(folder)
        return digest

    def _create_tmp(self, target: Path, made: list[Path]) -> tuple[int, str]:
        """A new temp file beside `target`; the directories made for it (when missing) are
        added to `made`, so their own parents' entries are made durable too."""
        tmp = str(target.parent / f".{target.name[:16]}.{os.getpid()}.{next(_TMP_SEQ)}.tmp")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
        try:
            return os.open(tmp, flags, 0o600), tmp
        except FileNotFoundError:
            for folder in (target.parent.parent, target.parent):
                try:
                    folder.mkdir(mode=0o700)
                except FileExistsError:
                    continue
                made.append(folder)
        except FileExistsError:  # a leftover of a crashed process that had our pid
            return tempfile.mkstemp(dir=target.parent, prefix=".", suffix=".tmp")
        return os.open(tmp, flags, 0o600), tmp

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Make every put() inside durable together when the block ends (see the module
        docstring). If the block raises, its temp files are removed and nothing is renamed.
        Nested blocks join the outer one."""
        if self._batch() is not None:
            yield
            return
        pending: dict[Path, Path] = {}
        made: set[Path] = set()
        self._local.pending, self._local.made = pending, made
        try:
            yield
        except BaseException:
            for tmp in pending.values():
                tmp.unlink(missing_ok=True)
            raise
        finally:
            self._local.pending = self._local.made = None
        self._commit(pending, made)

    def _commit(self, pending: dict[Path, Path], made: set[Path]) -> None:
        if not pending:
            return
        try:
            _fsync_all(list(pending.values()))
            for target, tmp in pending.items():
                os.replace(tmp, target)
        except BaseException:
            for tmp in pending.values():
                tmp.unlink(missing_ok=True)
            raise
        # the new names, and the entries of the directories made for them (in their parents):
        # a folder that already existed needs no fsync of its parent
        _fsync_all({target.parent for target in pending} | {d.parent for d in made})

    def get(self, digest: str) -> bytes:
        return self.path(digest).read_bytes()

    def sweep(self, keep: Iterable[str] | None = None, *, older_than: float | None = None) -> int:
        """Remove `.tmp` orphans of interrupted writes, and, given `keep`, blobs no row names.
        With `older_than` (a POSIX timestamp), only files last modified before it are removed:
        a blob written by a transaction still in flight (another daemon) is left alone.

        The walk follows no symbolic link: folders are opened relative to their parent's
        descriptor (`os.fwalk`), files are judged by `lstat` and unlinked by name in their
        folder, so a link planted in the store (to a folder or a file outside it) is reported
        and left alone, and nothing outside the store is ever deleted."""
        keep_set = set(keep) if keep is not None else None
        removed = 0
        top = self.root.resolve()  # the configured root may itself be a link: the admin's choice
        for dirpath, dirnames, filenames, dir_fd in os.fwalk(top, follow_symlinks=False):
            depth = len(Path(dirpath).relative_to(top).parts)
            for name in list(dirnames):  # fwalk lists a link to a folder here, unentered
                if _is_link(name, dir_fd):
                    log.warning(
                        "file store: %s is a symbolic link; not following it", Path(dirpath, name)
                    )
                    dirnames.remove(name)
            if depth >= 2:
                dirnames.clear()  # blobs live at ab/cd/<sha256>; nothing deeper is ours
            for name in filenames:
                try:
                    st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
                except FileNotFoundError:
                    continue
                if stat.S_ISLNK(st.st_mode):
                    log.warning(
                        "file store: %s is a symbolic link; not following it, not removing it",
                        Path(dirpath, name),
                    )
                    continue
                if depth != 2 or not stat.S_ISREG(st.st_mode):
                    continue
                if not (name.endswith(".tmp") or (keep_set is not None and name not in keep_set)):
                    continue
                if older_than is not None and st.st_mtime >= older_than:
                    continue
                try:
                    os.unlink(name, dir_fd=dir_fd)
                except FileNotFoundError:
                    continue
                removed += 1
        if removed:
            log.info("swept %d orphan file(s) from %s", removed, self.root)
        return removed


def _is_link(name: str, dir_fd: int) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except FileNotFoundError:
        return False


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_POOL: tuple[int, cf.ThreadPoolExecutor] | None = None
_POOL_LOCK = threading.Lock()


def _pool() -> cf.ThreadPoolExecutor:
    """The process's fsync threads (made again in a forked child, where they do not exist)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None or _POOL[0] != os.getpid():
            _POOL = (os.getpid(), cf.ThreadPoolExecutor(max_workers=16, thread_name_prefix="fsync"))
        return _POOL[1]


def _fsync_all(paths: Iterable[Path]) -> None:
    """fsync every path, concurrently: the file system groups the flushes into few commits."""
    todo = list(paths)
    if len(todo) <= 2:
        for p in todo:
            _fsync_path(p)
        return
    for _ in _pool().map(_fsync_path, todo):
        pass
