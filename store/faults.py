"""When the store itself fails: telling a fault of our own storage (the file store's disk is
full, read-only or failing; the database cannot be written or reached) from a fault of the
message being stored. The first is the daemon's failure — the poll backs off and no message is
charged for it (core.errors.StoreFault); the second costs that one message.

`fault()` classifies an exception, `describe()` gives its one-line reason, `reset()` drops the
pooled connections (a SQLite connection opened while the file was read-only stays read-only
for good, and one whose file was replaced says "readonly database" for good: only a new
connection sees the file as it is now), and `probe()` tells at start-up whether the store can
be written at all.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

# errno values that say the storage, not the data, is at fault
STORE_ERRNOS = frozenset(
    {
        errno.ENOSPC,
        errno.EDQUOT,
        errno.EROFS,
        errno.EIO,
        errno.EACCES,
        errno.EPERM,
        errno.EMFILE,
        errno.ENFILE,
    }
)
# PostgreSQL: read-only transaction (a standby, default_transaction_read_only), out of disk /
# memory / connections (class 53), I/O error, the server going away
_PG_STATES = ("25006", "53", "58030", "57P01", "57P02", "57P03", "08")


def fault(e: BaseException) -> bool:
    """True when `e` says our storage failed (not the message being stored)."""
    if isinstance(e, OSError):
        return e.errno in STORE_ERRNOS
    if isinstance(e, OperationalError | InterfaceError):
        return True  # SQLite: full, read-only, I/O error, cannot open, locked; PG: connection
    if isinstance(e, DBAPIError):
        state = str(getattr(e.orig, "sqlstate", "") or "")
        return bool(state) and state.startswith(_PG_STATES)
    return False


def database_fault(e: BaseException) -> bool:
    """A fault of the database (its connections may be stale), rather than of the files."""
    return isinstance(e, SQLAlchemyError) and fault(e)


def describe(e: BaseException) -> str:
    """One line: where (database or files) and why, e.g. "database: attempt to write a
    readonly database (SQLITE_READONLY_DBMOVED)" or "files: No space left on device"."""
    if isinstance(e, SQLAlchemyError):
        orig = getattr(e, "orig", None) or e
        lines = [ln.strip() for ln in str(orig).splitlines() if ln.strip()]
        reason = lines[0] if lines else type(orig).__name__
        code = getattr(orig, "sqlite_errorname", "") or getattr(orig, "sqlstate", "") or ""
        return f"database: {reason}" + (f" ({code})" if code else "")
    if isinstance(e, OSError):
        where = f" ({e.filename})" if e.filename else ""
        return f"files: {e.strerror or type(e).__name__}{where}"
    return f"{type(e).__name__}: {e}"


def where(url: str) -> str:
    """The store named in a message: the SQLite file, or the database's host and name (never
    a password)."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        return str(u.database or ":memory:")
    return f"database {u.database or ''} on {u.host or 'localhost'}"


def reset(sessions: sessionmaker[Session]) -> None:
    """Drop the pooled connections of the engine behind `sessions`; the next use connects
    afresh."""
    bind = sessions.kw.get("bind")
    if isinstance(bind, Engine):
        bind.dispose()


def probe(engine: Engine, files_root: Path) -> str | None:
    """Why the store cannot be written, or None when it can: the database accepts a write in a
    transaction that is rolled back (a no-op UPDATE: SQLite grants even BEGIN IMMEDIATE on a
    read-only file, but not a write), and a file can be created in the file store. Nothing is
    changed."""
    try:
        with engine.connect() as c:
            c.execute(text("UPDATE alembic_version SET version_num = version_num WHERE 1 = 0"))
            c.rollback()
    except (SQLAlchemyError, OSError) as e:
        engine.dispose()  # a connection opened read-only must not stay in the pool
        return describe(e)
    probe_file = files_root / f".probe.{os.getpid()}.tmp"
    try:
        fd = os.open(probe_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        probe_file.unlink()
    except OSError as e:
        return describe(e)
    return None
