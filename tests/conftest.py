"""Shared fixtures: a fresh real database per test (SQLite file always, PostgreSQL at
127.0.0.1:5432 when reachable — required when CI=true), the app with a fixed clock.
Server fixtures (Dovecot, aiosmtpd) live in their own modules under tests/support/, loaded as
plugins; what tests import (ROSTER, make_config, ROOT) is in tests/support/config.py."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.clock import FixedClock
from intake.app import App
from tests.support.config import PG_URL, ROSTER, SCHEMAS, make_config, require_pg, schema_url

pytest_plugins = ["tests.support.smtpserver", "tests.support.dovecot", "tests.support.daemon"]


@pytest.fixture(autouse=True, scope="session")
def _drop_default_schemas() -> Iterator[None]:
    yield
    if not SCHEMAS:
        return
    import sqlalchemy as sa

    admin = sa.create_engine(PG_URL, poolclass=sa.pool.NullPool)
    # one transaction per schema: dropping hundreds at once takes a lock per table, index and
    # sequence of each, past the server's lock table ("out of shared memory")
    for schema in SCHEMAS.values():
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL schema for one test; the URL points its search_path there."""
    require_pg()
    import sqlalchemy as sa

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL, poolclass=sa.pool.NullPool)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield schema_url(schema)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each store test runs on a real SQLite file and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'intake.sqlite3'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2021, 10, 5, 2, 0, tzinfo=UTC))  # 09:00 in Hà Nội


@pytest.fixture
def app(tmp_path: Path, db_url: str, clock: FixedClock) -> Iterator[App]:
    """The application on a fresh store (SQLite and PostgreSQL), roster imported."""
    a = App(make_config(tmp_path, db_url), clock)
    a.import_roster(ROSTER)
    try:
        yield a
    finally:
        a.close()
