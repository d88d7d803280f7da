"""An index for the incident list's pages: (closed, updated_at, id).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30

`incident list` and `GET /api/v1/incidents` read a page at a time, open incidents first and
the most recently updated first (engine.store.incident_pages). Without an index every page
sorted the whole table; with it a page is a range read of about `limit` entries. Only an index
is added: no row changes, and downgrading drops it.
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_incidents_closed_updated_at_id", "incidents", ["closed", "updated_at", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_incidents_closed_updated_at_id", table_name="incidents")
