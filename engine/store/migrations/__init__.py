"""Alembic migrations of the driftplan schema, run in code by `engine.store.database`.

No alembic.ini: `Database.migrate()` builds the Alembic configuration itself and points
`script_location` at this folder. Each file in `versions/` moves the schema one step.
"""
