"""Messages carry hints for their channel (`extra`): the severity the plan gives a notice.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30

One new column with a default: existing messages get `{}` (the channel's own default).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN with a constant default: SQLite and PostgreSQL both do it in place.
    op.add_column("messages", sa.Column("extra", sa.JSON(), nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("extra")
