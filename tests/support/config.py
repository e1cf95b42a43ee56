"""What a test needs to build a config: the repository root, the example roster, and
`make_config`, which writes a TOML file so the real loader runs. Its store is a fresh SQLite
file, or a fresh PostgreSQL schema when `INTAKE_TEST_STORE=postgres` (dropped at the end of the
session by conftest's fixture)."""

from __future__ import annotations

import json
import os
import socket
import uuid
from pathlib import Path

import pytest

from core import config as config_mod

ROOT = Path(__file__).resolve().parent.parent.parent
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
# the schemas made for default stores, {tmp_path: schema}; conftest drops them after the session
SCHEMAS: dict[Path, str] = {}


def require_pg() -> None:
    if not PG_AVAILABLE:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL at 127.0.0.1:5432 is required in CI")
        pytest.skip("PostgreSQL at 127.0.0.1:5432 is not reachable")


def schema_url(schema: str) -> str:
    return f"{PG_URL}?options=-csearch_path%3D{schema}"


def default_store_url(tmp_path: Path) -> str:
    if STORE_BACKEND != "postgres":
        return f"sqlite:///{tmp_path / 'intake.sqlite3'}"
    require_pg()
    if tmp_path not in SCHEMAS:
        import sqlalchemy as sa

        schema = f"s_{uuid.uuid4().hex[:12]}"
        admin = sa.create_engine(PG_URL, poolclass=sa.pool.NullPool)
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
        SCHEMAS[tmp_path] = schema
    return schema_url(SCHEMAS[tmp_path])


def make_config(
    tmp_path: Path, db_url: str | None = None, **sections: dict[str, object]
) -> config_mod.Config:
    """A Config for tests, written as TOML so the real loader runs."""
    data: dict[str, dict[str, object]] = {
        "store": {"url": db_url or default_store_url(tmp_path), "files": str(tmp_path / "files")},
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
