"""an index on attachments.unit_id (a unit's submission is recomputed from it)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 05:55:00
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_attachments_unit_id", "attachments", ["unit_id"])


def downgrade() -> None:
    op.drop_index("ix_attachments_unit_id", table_name="attachments")
