"""Shared fixtures: a fresh real database per test (SQLite file always, PostgreSQL at
127.0.0.1:5432 when reachable — required when CI=true), configs, the app with a fixed clock.
Server fixtures (Dovecot, aiosmtpd) live in their own modules, loaded as plugins."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core import config as config_mod
from core.clock import FixedClock
from intake.app import App

pytest_plugins = ["tests.support.smtpserver", "tests.support.dovecot"]

ROOT = Path(__file__).resolve().parent.parent
ROSTER = ROOT / "examples" / "units-thanh-oai-2021.csv"
PG_URL = os.environ.get("INTAKE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pg_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


PG_AVAILABLE = _pg_reachable()
# `INTAKE_TEST_STORE=postgres` runs the whole suite with PostgreSQL as the default store
# (`make test` does a second pass so); tests that parametrize `db_url` run on both anyway.
STORE_BACKEND = os.environ.get("INTAKE_TEST_STORE", "sqlite")
_SCHEMAS: dict[Path, str] = {}


def _require_pg() -> None:
    if not PG_AVAILABLE:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL at 127.0.0.1:5432 is required in CI")
        pytest.skip("PostgreSQL at 127.0.0.1:5432 is not reachable")


def _schema_url(schema: str) -> str:
    return f"{PG_URL}?options=-csearch_path%3D{schema}"


def _default_store_url(tmp_path: Path) -> str:
    if STORE_BACKEND != "postgres":
        return f"sqlite:///{tmp_path / 'intake.sqlite3'}"
    _require_pg()
    if tmp_path not in _SCHEMAS:
        import sqlalchemy as sa

        schema = f"s_{uuid.uuid4().hex[:12]}"
        admin = sa.create_engine(PG_URL, poolclass=sa.pool.NullPool)
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
        _SCHEMAS[tmp_path] = schema
    return _schema_url(_SCHEMAS[tmp_path])


@pytest.fixture(autouse=True, scope="session")
def _drop_default_schemas() -> Iterator[None]:
    yield
    if not _SCHEMAS:
        return
    import sqlalchemy as sa

    admin = sa.create_engine(PG_URL, poolclass=sa.pool.NullPool)
    # one transaction per schema: dropping hundreds at once takes a lock per table, index and
    # sequence of each, past the server's lock table ("out of shared memory")
    for schema in _SCHEMAS.values():
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL schema for one test; the URL points its search_path there."""
    _require_pg()
    import sqlalchemy as sa

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL, poolclass=sa.pool.NullPool)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _schema_url(schema)
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


def make_config(
    tmp_path: Path, db_url: str | None = None, **sections: dict[str, object]
) -> config_mod.Config:
    """A Config for tests, written as TOML so the real loader runs."""
    import json

    data: dict[str, dict[str, object]] = {
        "store": {"url": db_url or _default_store_url(tmp_path), "files": str(tmp_path / "files")},
        "units": {
            "roster": str(ROSTER),
            "office_addresses": ["totrunghoc-thanhoai@thanhoai.example"],
        },
    }
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    lines = []
    for name, values in data.items():
        lines.append(f"[{name}]")
        lines += [f"{k} = {json.dumps(v, ensure_ascii=False)}" for k, v in values.items()]
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config_mod.load(path)


@pytest.fixture
def app(tmp_path: Path, db_url: str, clock: FixedClock) -> Iterator[App]:
    """The application on a fresh store (SQLite and PostgreSQL), roster imported."""
    a = App(make_config(tmp_path, db_url), clock)
    a.import_roster(ROSTER)
    try:
        yield a
    finally:
        a.close()
