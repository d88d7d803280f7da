"""Alembic's environment: runs migrations on the connection that `Database.migrate()` hands in.

The caller has already begun a transaction and taken the migration lock (BEGIN IMMEDIATE on
SQLite, an advisory lock on PostgreSQL), so this file only configures the context and runs.
"""

from __future__ import annotations

from alembic import context

from engine.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reachable by running the alembic CLI by hand
    raise RuntimeError("driftplan migrations run through engine.store.Database.migrate()")

context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite cannot ALTER most things; batch mode lets future migrations copy-and-move tables.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
