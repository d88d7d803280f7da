"""The delivery journal gets a table of its own: one row per recipient served.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30

A dispatcher records each recipient of a long list as it is served, so that a successor after a
crash resends nothing but the copy in flight. Until now that journal was one `meta` value per
message, appended to: each append rewrote the growing value, and every 100 recipients the
results were folded onto the message row (rewriting all results so far), which made a 5,000-
recipient list cost more in bookkeeping than in SMTP. A row per recipient costs the same at the
5,000th recipient as at the first. Journals left by a dispatcher that stopped mid-list are moved
into the table, so that its successor still knows who was served; downgrading moves them back.
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_PREFIX = "delivery_journal:"
_meta = sa.table("meta", sa.column("key", sa.String()), sa.column("value", sa.Text()))


def _entries(text: str) -> list[object]:
    """The entries of a `meta` journal: a JSON list, or ","-prefixed JSON objects appended."""
    if not text:
        return []
    loaded = json.loads(text if text.startswith("[") else f"[{text[1:]}]")
    return list(loaded)


def upgrade() -> None:
    journal = op.create_table(
        "delivery_journal",
        sa.Column("message_id", sa.String(), primary_key=True),
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("entry", sa.Text(), nullable=False),
        # SQLite: rows in the primary key's b-tree, one page written per record (not two).
        sqlite_with_rowid=False,
    )
    conn = op.get_bind()
    old = conn.execute(sa.select(_meta).where(_meta.c.key.startswith(_PREFIX))).all()
    rows = [
        {"message_id": key[len(_PREFIX) :], "seq": seq, "entry": json.dumps(entry)}
        for key, value in old
        for seq, entry in enumerate(_entries(value))
    ]
    if rows:
        conn.execute(sa.insert(journal), rows)
    conn.execute(sa.delete(_meta).where(_meta.c.key.startswith(_PREFIX)))


def downgrade() -> None:
    journal = sa.table(
        "delivery_journal",
        sa.column("message_id", sa.String()),
        sa.column("seq", sa.Integer()),
        sa.column("entry", sa.Text()),
    )
    conn = op.get_bind()
    order = (journal.c.message_id, journal.c.seq)
    gathered: dict[str, list[object]] = {}
    for message_id, _seq, entry in conn.execute(sa.select(journal).order_by(*order)):
        gathered.setdefault(message_id, []).append(json.loads(entry))
    if gathered:
        conn.execute(
            sa.insert(_meta),
            [{"key": _PREFIX + mid, "value": json.dumps(e)} for mid, e in gathered.items()],
        )
    op.drop_table("delivery_journal")
