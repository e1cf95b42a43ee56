"""campaigns as data: a campaigns table, the campaign decision on messages (who, why, the
candidates when it waits for the officer) and attachments.campaign_id (an email carrying several
campaigns' files). A store made before holds one campaign: its id is registered and every
message keeps its campaign, so its status does not change.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 10:00:00
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("opens", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("campaign_by", sa.String(length=128), nullable=False,
                                      server_default=""))
        batch_op.add_column(sa.Column("campaign_reason", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("campaign_candidates", sa.Text(), nullable=False,
                                      server_default=""))
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("campaign_id", sa.String(length=64), nullable=False,
                                      server_default=""))
        batch_op.create_index(batch_op.f("ix_attachments_campaign_id"), ["campaign_id"], unique=False)
    # the campaign(s) an existing store already speaks of, so nothing it filed loses its home
    bind = op.get_bind()
    ids = {r[0] for r in bind.execute(sa.text(
        "SELECT DISTINCT campaign_id FROM submissions UNION "
        "SELECT DISTINCT campaign_id FROM messages WHERE campaign_id <> ''"))}
    now = datetime.now(UTC)
    if bind.dialect.name == "sqlite":
        now = now.replace(tzinfo=None)
    campaigns = sa.table("campaigns", sa.column("id", sa.String), sa.column("title", sa.Text),
                         sa.column("updated_at", sa.DateTime(timezone=True)))
    for cid in sorted(ids):
        bind.execute(campaigns.insert().values(id=cid, title=cid, updated_at=now))
    # what was filed before was decided by the filer: say so, as the filer now does
    bind.execute(sa.text("UPDATE messages SET campaign_by = 'auto' "
                         "WHERE campaign_id <> '' AND state = 'filed'"))


def downgrade() -> None:
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attachments_campaign_id"))
        batch_op.drop_column("campaign_id")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("campaign_candidates")
        batch_op.drop_column("campaign_reason")
        batch_op.drop_column("campaign_by")
    op.drop_table("campaigns")
