"""Engine and sessions: SQLite in WAL mode with foreign keys on and synchronous=FULL (a power
loss must not undo a commit after the server was already told), or PostgreSQL via psycopg.
`upgrade()` runs the Alembic migrations; `open_store()` is what the application calls."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
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


def make_engine(url: str) -> Engine:
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if u.get_backend_name() == "postgresql" and u.drivername == "postgresql":
        url = str(u.set(drivername="postgresql+psycopg").render_as_string(hide_password=False))
    return create_engine(url, pool_pre_ping=True)


def alembic_config(engine: Engine, files_root: str | Path | None = None) -> AlembicConfig:
    """Migrations run on `engine`; those that read stored mail (0004 recomputes body hashes
    from the raw files) find the file store at `config.attributes["files_root"]`."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    if files_root is not None:
        cfg.attributes["files_root"] = str(files_root)
    return cfg


def upgrade(engine: Engine, revision: str = "head", *, files_root: str | Path | None = None) -> None:
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
