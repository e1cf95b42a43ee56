"""states checked by the database and DMARC as a column: CHECK constraints on the state columns
of messages, ledger, submissions and outbox (the values of store.models' StrEnums), and
messages.dmarc, the DMARC verdict of the stored authentication results, backfilled from
messages.auth (queries find DMARC failures by this column, not by LIKE on the JSON).

A store holding a state outside its enum cannot take the constraint: the upgrade names the
table and values and stops, so nothing is changed behind the officer's back.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 13:00:00
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# the values as of this revision (written out: a migration must not change when the models do)
STATES = {
    "messages": ("received", "filed", "unassigned", "ignored", "quarantined", "other"),
    "ledger": ("pending", "stored", "quarantined"),
    "submissions": ("missing", "incomplete", "complete"),
    "outbox": ("pending", "sending", "sent", "failed"),
}


def _condition(values: tuple[str, ...]) -> str:
    return "state IN ({})".format(", ".join(f"'{v}'" for v in values))


def upgrade() -> None:
    bind = op.get_bind()
    for table, values in STATES.items():
        found = {r[0] for r in bind.execute(sa.text(f"SELECT DISTINCT state FROM {table}"))}
        if found - set(values):
            raise RuntimeError(f"{table}.state holds {sorted(found - set(values))}, "
                               f"not one of {list(values)}: fix those rows, then upgrade again")
    for table, values in STATES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_check_constraint(op.f(f"ck_{table}_state"), _condition(values))
            if table == "messages":
                batch_op.add_column(sa.Column("dmarc", sa.String(length=16), nullable=False,
                                              server_default=""))
    messages = sa.table("messages", sa.column("id", sa.Integer), sa.column("auth", sa.Text),
                        sa.column("dmarc", sa.String))
    rows = bind.execute(sa.select(messages.c.id, messages.c.auth)
                        .where(messages.c.auth.like('%"dmarc"%'))).all()
    for pk, auth in rows:
        try:
            verdict = str(json.loads(auth).get("dmarc") or "")
        except (ValueError, AttributeError):
            continue
        if verdict:
            bind.execute(messages.update().where(messages.c.id == pk).values(dmarc=verdict[:16]))


def downgrade() -> None:
    for table in reversed(STATES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            if table == "messages":
                batch_op.drop_column("dmarc")
            batch_op.drop_constraint(op.f(f"ck_{table}_state"), type_="check")
