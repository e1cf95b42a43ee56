"""Engine and sessions: SQLite in WAL mode with foreign keys on and synchronous=FULL (a power
loss must not undo a commit after the server was already told), or PostgreSQL via psycopg.
`upgrade()` runs the Alembic migrations; `open_store()` is what the application calls."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


class StoreUnavailable(RuntimeError):
    """The database URL cannot be parsed, names a driver that is not installed, or its server
    cannot be reached: fix the URL (or start the server) and try again."""


_EXAMPLES = (
    "e.g. sqlite:////var/lib/intake/intake.sqlite3 or postgresql+psycopg://intake@127.0.0.1/intake"
)


def shown_url(url: str) -> str:
    """`url` fit for a message: its password hidden, even when it does not parse."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)[:200]


def _reason(e: BaseException) -> str:
    orig = getattr(e, "orig", None) or e
    lines = [line.strip() for line in str(orig).splitlines() if line.strip()]
    return lines[0] if lines else type(orig).__name__


def _private_sqlite_file(path: Path) -> None:
    """Create the SQLite file (and its folder, when missing) readable by our user only, 0600 /
    0700, whatever the umask: it holds every unit's mail metadata. SQLite gives the -wal and
    -shm files it makes beside it the database file's mode. A database that exists already is
    left as the admin set it, with a warning when every user can read it."""
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(
            path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600
        )
    except FileExistsError:
        try:
            mode = path.stat().st_mode
        except OSError:
            return
        if mode & 0o004:
            log.warning("%s can be read by every user (mode %o): chmod 600 it", path, mode & 0o777)
        return
    os.fchmod(fd, 0o600)  # the umask may have taken more away; never less
    os.close(fd)


def make_engine(url: str) -> Engine:
    """An engine for `url`; `StoreUnavailable` names the URL when it cannot be parsed, its driver
    is missing, or (PostgreSQL) the server cannot be reached."""
    try:
        u = make_url(url)
    except ArgumentError as e:
        raise StoreUnavailable(
            f"database URL {shown_url(url)!r} cannot be parsed ({_EXAMPLES})"
        ) from e
    try:
        if u.get_backend_name() == "sqlite":
            if u.database and u.database != ":memory:" and not u.database.startswith("file:"):
                _private_sqlite_file(Path(u.database))
            engine = create_engine(url, connect_args={"timeout": 30})
            event.listen(engine, "connect", _sqlite_pragmas)
            return engine
        if u.get_backend_name() == "postgresql" and u.drivername == "postgresql":
            u = u.set(drivername="postgresql+psycopg")
            url = str(u.render_as_string(hide_password=False))
        args: dict[str, Any] = {}
        if u.drivername == "postgresql+psycopg" and "connect_timeout" not in u.query:
            args["connect_timeout"] = 10  # libpq waits forever on a host that drops packets
        engine = create_engine(url, pool_pre_ping=True, connect_args=args)
    except (ArgumentError, ImportError) as e:
        raise StoreUnavailable(
            f"database URL {shown_url(url)}: {_reason(e)} "
            f"(installed: sqlite, postgresql+psycopg; {_EXAMPLES})"
        ) from e
    except OSError as e:
        raise StoreUnavailable(
            f"database {shown_url(url)}: cannot make its folder: {e.strerror}"
        ) from e
    try:  # a server that cannot be reached is named now, not as a traceback at the first query
        with engine.connect():
            pass
    except DBAPIError as e:
        raise StoreUnavailable(
            f"cannot connect to the database {shown_url(url)}: {_reason(e)}; "
            "check the URL and that the server is running and lets this user in"
        ) from e
    finally:
        engine.dispose()  # the probe's connection is not kept: an engine never used holds none
    return engine


def alembic_config(engine: Engine, files_root: str | Path | None = None) -> AlembicConfig:
    """Migrations run on `engine`; those that read stored mail (0004 recomputes body hashes
    from the raw files) find the file store at `config.attributes["files_root"]`."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    if files_root is not None:
        cfg.attributes["files_root"] = str(files_root)
    return cfg


def upgrade(
    engine: Engine, revision: str = "head", *, files_root: str | Path | None = None
) -> None:
    """Bring the schema to `revision` (idempotent). A store holding messages needs `files_root`
    for the migrations that read their raw files."""
    command.upgrade(alembic_config(engine, files_root), revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def open_store(
    url: str, *, migrate: bool = True, files_root: str | Path | None = None
) -> tuple[Engine, sessionmaker[Session]]:
    engine = make_engine(url)
    if migrate:
        upgrade(engine, files_root=files_root)
    return engine, session_factory(engine)
