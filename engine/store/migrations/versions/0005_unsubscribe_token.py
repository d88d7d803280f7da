"""Subscribers get an unsubscribe token of their own, apart from the confirmation token.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30

The confirmation link goes out once, to prove the mailbox; the unsubscribe link goes out in every
newsletter copy. With one token for both, anyone who saw a newsletter could also confirm (and so
re-subscribe) the reader, and a confirmation link could unsubscribe. Existing rows get a fresh
random unsubscribe token: the links in newsletters sent before this change carried the
confirmation token, which no longer unsubscribes.
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_subscribers = sa.table(
    "subscribers", sa.column("id", sa.String()), sa.column("unsubscribe_token", sa.String())
)


def upgrade() -> None:
    # Added nullable, filled row by row with a fresh token, then made NOT NULL and unique:
    # a constant default would collide with the unique constraint on the second row.
    with op.batch_alter_table("subscribers") as batch:
        batch.add_column(sa.Column("unsubscribe_token", sa.String(), nullable=True))
    conn = op.get_bind()
    ids = conn.execute(sa.select(_subscribers.c.id)).scalars().all()
    for subscriber_id in ids:
        conn.execute(
            sa.update(_subscribers)
            .where(_subscribers.c.id == subscriber_id)
            .values(unsubscribe_token=secrets.token_urlsafe(24))
        )
    with op.batch_alter_table("subscribers") as batch:
        batch.alter_column("unsubscribe_token", existing_type=sa.String(), nullable=False)
        batch.create_unique_constraint("uq_subscribers_unsubscribe_token", ["unsubscribe_token"])


def downgrade() -> None:
    with op.batch_alter_table("subscribers") as batch:
        batch.drop_constraint("uq_subscribers_unsubscribe_token", type_="unique")
        batch.drop_column("unsubscribe_token")
