"""Schema migrations: fresh to head, idempotent, safe when processes race; SQLite settings."""

from __future__ import annotations

import multiprocessing
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from engine.errors import ConfigurationError
from engine.store import Database
from engine.store.database import HEAD_REVISION, MIGRATIONS
from engine.store.tables import metadata

ROOT = Path(__file__).resolve().parents[2]
TABLES = {
    "alembic_version",
    "api_tokens",
    "approvals",
    "chain_head",
    "chain_links",
    "contact_lists",
    "decision_links",
    "delivery_journal",
    "definitions",
    "events",
    "idempotency_keys",
    "incident_seals",
    "incidents",
    "messages",
    "meta",
    "passwords",
    "people",
    "subscribers",
    "timers",
    "web_sessions",
}


def test_the_head_revision_the_code_names_is_the_newest_migration() -> None:
    """HEAD_REVISION (which spares every command importing Alembic) is the migrations' head."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD_REVISION


def test_an_up_to_date_database_is_checked_without_importing_alembic(tmp_path: Path) -> None:
    """A command on a migrated database pays no Alembic import (a tenth of a second each)."""
    url = f"sqlite:///{tmp_path / 'a.db'}"
    db = Database(url)
    db.migrate()
    db.dispose()
    probe = (
        "import sys\n"
        "from engine.store import Database\n"
        f"db = Database({url!r})\n"
        "assert db.migrate() is False\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert done.stdout.strip() == "[]", done.stdout + done.stderr


def test_fresh_database_migrates_to_head_once(database_url: str) -> None:
    """A fresh database is at no revision, migrate() brings it to head, a second call is a no-op."""
    db = Database(database_url)
    try:
        before = db.schema_status()
        assert before.current is None and not before.up_to_date
        assert db.migrate() is True
        after = db.schema_status()
        assert after.up_to_date and after.current == before.head
        assert db.migrate() is False
        assert set(sa.inspect(db.engine).get_table_names()) == TABLES
    finally:
        db.dispose()


def test_a_schema_newer_than_the_code_is_refused_clearly(db: Database) -> None:
    """A database migrated by a newer driftplan makes migrate() explain instead of crash."""
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(ConfigurationError, match=r"revision 9999.*newer driftplan"):
        db.migrate()


def test_migrations_create_exactly_the_declared_tables(db: Database) -> None:
    """Autogenerate finds no difference between the migrated schema and tables.py."""
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def _migrate(url: str, barrier: Any, results: Any) -> None:
    db = Database(url)
    try:
        barrier.wait(timeout=60)
        db.migrate()
        results.put(db.schema_status().current)
    except Exception as error:
        results.put(f"error: {error!r}")
    finally:
        db.dispose()


def test_processes_migrating_a_fresh_database_together_all_succeed(database_url: str) -> None:
    """Three processes calling migrate() on one fresh database at once all end at head."""
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(3), context.Queue()
    processes = [
        context.Process(target=_migrate, args=(database_url, barrier, results)) for _ in range(3)
    ]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=90) for _ in processes]
    for process in processes:
        process.join(timeout=30)
    db = Database(database_url)
    try:
        head = db.schema_status().head
        assert outcomes == [head] * 3
    finally:
        db.dispose()


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    """Every SQLite connection runs in WAL mode, enforces foreign keys and waits when busy."""
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with db.engine.connect() as conn:
            pragma = conn.exec_driver_sql
            assert pragma("PRAGMA journal_mode").scalar() == "wal"
            assert pragma("PRAGMA foreign_keys").scalar() == 1
            assert pragma("PRAGMA busy_timeout").scalar() == 10_000
    finally:
        db.dispose()


def test_foreign_keys_are_enforced(db: Database) -> None:
    """An event for an incident that does not exist is refused by the database."""
    with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO events (incident_id, seq, at, actor, kind, data, prev_hash, hash) "
                "VALUES ('nope', 1, '2025-01-01 00:00:00', 'a', 'k', '{}', '', '')"
            )
        )


def test_for_data_dir_makes_the_directory_database_and_key(tmp_path: Path) -> None:
    """for_data_dir creates the data directory, driftplan.db in it and a private audit key."""
    data_dir = tmp_path / "nested" / "data"
    db = Database.for_data_dir(data_dir, environ={})
    try:
        db.migrate()
        assert db.dialect == "sqlite"
        assert (data_dir / "driftplan.db").is_file()
        assert stat.S_IMODE((data_dir / "audit.key").stat().st_mode) == 0o600
        assert db.audit_key is not None and len(db.audit_key) == 32
    finally:
        db.dispose()
