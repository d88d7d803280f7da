"""The installation's chain and incident seals; existing events are linked, incidents sealed.

Revision ID: 0002
Revises: 0001
Create Date: 2025-06-01

Every event becomes a link of one chain across the installation (`chain_links`, head in
`chain_head`), and every incident row gets a seal (`incident_seals`); see engine.store.audit.
An installation made before this revision has events already: they are linked here, in the
order (at, incident, seq), and every incident is sealed, so that the old log verifies. Both
need the audit key, which `Database.migrate()` hands in (`config.attributes["audit_key"]`).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import context, op

from engine.errors import ConfigurationError
from engine.store.hashing import (
    SEALED_FIELDS,
    head_mac,
    incident_seal,
    link_hash,
    link_mac,
)

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
_BATCH = 1000

# The tables as they are at this revision (not engine.store.tables, which moves on).
_events = sa.table(
    "events",
    sa.column("incident_id", sa.String()),
    sa.column("seq", sa.Integer()),
    sa.column("at", TS),
    sa.column("hash", sa.String()),
)
# Typed as stored, so that a seal hashes what the repositories will read back (booleans, not
# SQLite's 0 and 1; timestamps, not SQLite's text).
_TYPES: dict[str, Any] = {
    "state_epoch": sa.Integer(),
    "data": sa.JSON(),
    "flags": sa.JSON(),
    "fired_rules": sa.JSON(),
    "created_at": TS,
    "updated_at": TS,
    "exercise": sa.Boolean(),
    "closed": sa.Boolean(),
    "last_event_seq": sa.Integer(),
}
_incidents = sa.table(
    "incidents", *(sa.column(name, _TYPES.get(name, sa.String())) for name in SEALED_FIELDS)
)


def upgrade() -> None:
    links = op.create_table(
        "chain_links",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("incident_id", sa.String(), nullable=False),
        sa.Column("event_seq", sa.Integer(), nullable=False),
        sa.Column("event_hash", sa.String(), nullable=False),
        sa.Column("prev_hash", sa.String(), nullable=False),
        sa.Column("hash", sa.String(), nullable=False),
        sa.Column("mac", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_chain_links"),
        sa.UniqueConstraint(
            "incident_id", "event_seq", name="uq_chain_links_incident_id_event_seq"
        ),
    )
    head = op.create_table(
        "chain_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(), nullable=False),
        sa.Column("mac", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_chain_head"),
    )
    seals = op.create_table(
        "incident_seals",
        sa.Column("incident_id", sa.String(), nullable=False),
        sa.Column("mac", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name="fk_incident_seals_incident_id_incidents"
        ),
        sa.PrimaryKeyConstraint("incident_id", name="pk_incident_seals"),
    )
    assert links is not None and head is not None and seals is not None
    conn = op.get_bind()
    has_rows = conn.execute(sa.select(sa.func.count()).select_from(_incidents)).scalar_one() > 0
    key: bytes | None = context.config.attributes.get("audit_key")
    if has_rows and key is None:
        raise ConfigurationError(
            "This database holds incidents, and migration 0002 links their events into the "
            "installation's chain and seals them, which needs the audit key. Run driftplan "
            "with the installation's key (DRIFTPLAN_AUDIT_KEY, DRIFTPLAN_AUDIT_KEY_FILE or "
            "<data>/audit.key)."
        )
    seq, prev, mac = 0, "", ""
    if key is not None:
        seq, prev = _link_events(conn, links, key)
        mac = head_mac(key, seq, prev) if seq else ""
    conn.execute(sa.insert(head), {"id": 1, "seq": seq, "hash": prev, "mac": mac})
    if key is not None:
        _seal_incidents(conn, seals, key)


def _link_events(conn: sa.Connection, links: sa.Table, key: bytes) -> tuple[int, str]:
    """Link every event, oldest first; returns the head (seq, hash)."""
    query = sa.select(_events.c.incident_id, _events.c.seq, _events.c.hash).order_by(
        _events.c.at, _events.c.incident_id, _events.c.seq
    )
    seq, prev = 0, ""
    batch: list[dict[str, Any]] = []
    for incident_id, event_seq, event_hash in conn.execute(query).all():
        seq += 1
        hash_ = link_hash(seq, incident_id, event_seq, event_hash, prev)
        batch.append(
            {
                "seq": seq,
                "incident_id": incident_id,
                "event_seq": event_seq,
                "event_hash": event_hash,
                "prev_hash": prev,
                "hash": hash_,
                "mac": link_mac(key, hash_),
            }
        )
        prev = hash_
        if len(batch) >= _BATCH:
            conn.execute(sa.insert(links), batch)
            batch = []
    if batch:
        conn.execute(sa.insert(links), batch)
    return seq, prev


def _seal_incidents(conn: sa.Connection, seals: sa.Table, key: bytes) -> None:
    rows = conn.execute(sa.select(_incidents)).mappings().all()
    values = [{"incident_id": row["id"], "mac": incident_seal(key, dict(row))} for row in rows]
    for start in range(0, len(values), _BATCH):
        conn.execute(sa.insert(seals), values[start : start + _BATCH])


def downgrade() -> None:
    for table in ("incident_seals", "chain_head", "chain_links"):
        op.drop_table(table)
