"""Alembic environment: runs on the engine handed over in `config.attributes["engine"]`.

On SQLite, foreign keys are off while the migrations run (and checked before they are turned
back on): a batch migration rebuilds a table, and dropping `messages` with foreign keys on would
run its ON DELETE actions (every attachment gone). The pragma only takes effect outside a
transaction, so it is set before the migrations' transaction begins."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from store.models import Base

config = context.config
target_metadata = Base.metadata


def run() -> None:
    engine = config.attributes.get("engine")
    if engine is None:
        engine = create_engine(config.get_main_option("sqlalchemy.url") or "sqlite://")
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=sqlite,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all() if sqlite else []
            if broken:
                raise RuntimeError(
                    f"the migrations left rows that break a foreign key: {broken[:5]}"
                )
        connection.commit()
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()


run()
