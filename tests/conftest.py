"""Shared fixtures: the same database tests run on a SQLite file and on PostgreSQL.

`database_url` gives each test its own empty database: a fresh SQLite file, or a fresh
PostgreSQL schema (selected through `search_path` in the URL, so that child processes opening
the URL land in it too) that is dropped afterwards. PostgreSQL comes from
DRIFTPLAN_TEST_POSTGRES_URL; without it those tests skip, except in CI, where they fail.

`migrated_database_url` is that database with the schema at head, and `db` a `Database` on it.
Migrating costs a tenth of a second on SQLite and half a second on PostgreSQL, so the suite
migrates once per session and per kind, and gives each test a copy: the migrated SQLite file,
or, on PostgreSQL, the statements the migration ran, replayed in the test's schema (checked
once per session to give the catalog the migration gave). Tests of migrating itself use
`database_url` and `Database.migrate()`.

Hypothesis runs fewer examples per property in `make test` (profile "ci": a quarter of each
test's written count, at least 10) than in `make test-all` (DRIFTPLAN_HYPOTHESIS_PROFILE=full:
the written counts); property tests write `max_examples=examples(N)`.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from multiprocessing.context import ForkServerContext
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import settings

from engine.store import Database

POSTGRES_ENV = "DRIFTPLAN_TEST_POSTGRES_URL"
TEST_AUDIT_KEY = bytes(range(32))

# Hypothesis profiles: "full" (make test-all) runs every property test's written example count,
# "ci" (make test, the default) a quarter of it; a test without a count gets the profile's.
HYPOTHESIS_PROFILE_ENV = "DRIFTPLAN_HYPOTHESIS_PROFILE"
HYPOTHESIS_SHARE = {"ci": 0.25, "full": 1.0}
for _name, _share in HYPOTHESIS_SHARE.items():
    settings.register_profile(_name, max_examples=round(100 * _share))
HYPOTHESIS_PROFILE = os.environ.get(HYPOTHESIS_PROFILE_ENV, "ci")
settings.load_profile(HYPOTHESIS_PROFILE)


def examples(written: int) -> int:
    """The examples a property test runs: its `written` count in "full", a share of it in "ci"."""
    return max(10, round(written * HYPOTHESIS_SHARE[HYPOTHESIS_PROFILE]))


# What multiprocessing's fork server imports once, before it forks test processes: what a test
# module holding a process's target imports (pytest, hypothesis through this file, the store)
# and the PostgreSQL driver.
FORKSERVER_PRELOAD = ["pytest", "tests.conftest", "sqlalchemy.dialects.postgresql.psycopg"]


def forkserver() -> ForkServerContext:
    """A multiprocessing context whose processes fork from a server that imported the engine.

    Each process is a real OS process with its own connections, like a spawned one, without
    the second of interpreter start and imports each. One server serves the whole session.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(FORKSERVER_PRELOAD)
    return context


def _postgres_url() -> str:
    url = os.environ.get(POSTGRES_ENV)
    if url:
        return url
    reason = f"{POSTGRES_ENV} is not set, so the PostgreSQL variant of this test cannot run"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; CI=true requires it.")
    print(f"SKIP: {reason}.")
    pytest.skip(reason)


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database of each kind, private to this test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'driftplan.db'}"
        return
    with _schema(_postgres_url(), f"t_{uuid.uuid4().hex}") as url:
        yield url


class MigratedTemplates:
    """What a migration to head leaves behind, made once per session and per database kind."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._sqlite: Path | None = None
        self._postgres: list[tuple[str, Any, bool]] | None = None
        self._postgres_fingerprint: list[Any] = []
        self._postgres_checked = False

    def sqlite_file(self) -> Path:
        """A SQLite file migrated to head (closed, its WAL checkpointed into the file)."""
        if self._sqlite is None:
            path = self.folder / "migrated.db"
            database = Database(f"sqlite:///{path}", audit_key=TEST_AUDIT_KEY)
            database.migrate()
            database.dispose()
            assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0
            self._sqlite = path
        return self._sqlite

    def postgres_statements(self, base: str) -> list[tuple[str, Any, bool]]:
        """The statements (with parameters) a migration to head runs in an empty schema."""
        if self._postgres is None:
            schema = f"t_{uuid.uuid4().hex}"
            with _schema(base, schema) as url:
                database = Database(url, audit_key=TEST_AUDIT_KEY)
                ran: list[tuple[str, Any, bool]] = []

                def record(*args: Any) -> None:
                    _conn, _cursor, statement, parameters, _context, many = args
                    ran.append((statement, parameters, many))

                sa.event.listen(database.engine, "before_cursor_execute", record)
                try:
                    assert database.migrate()
                finally:
                    database.dispose()
                self._postgres = [
                    item for item in ran if not re.match(r"\s*SELECT\b", item[0], re.IGNORECASE)
                ]
                assert not any(schema in statement for statement, _, _ in self._postgres)
                self._postgres_fingerprint = _catalog(url, schema)
        return self._postgres

    def fill_postgres(self, base: str, url: str, schema: str) -> None:
        """Give the empty `schema` at `url` what the migration gives it."""
        statements = self.postgres_statements(base)
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        try:
            with engine.begin() as conn:
                for statement, parameters, _many in statements:
                    conn.exec_driver_sql(statement, parameters)
        finally:
            engine.dispose()
        if not self._postgres_checked:
            # Once per session: the replay made the tables, columns, constraints, indexes and
            # rows that the migration made, or every test on PostgreSQL would stand on sand.
            assert _catalog(url, schema) == self._postgres_fingerprint
            self._postgres_checked = True


def _catalog(url: str, schema: str) -> list[Any]:
    """Everything a migration puts into `schema`: its catalog and its rows, schema name elided."""
    queries = [
        "SELECT table_name, column_name, ordinal_position, data_type, udt_name, is_nullable,"
        " column_default, character_maximum_length, numeric_precision, numeric_scale,"
        " datetime_precision, collation_name, is_identity, identity_generation, is_generated"
        " FROM information_schema.columns WHERE table_schema = :s ORDER BY 1, 3",
        "SELECT c.conrelid::regclass::text, c.conname, c.contype, pg_get_constraintdef(c.oid)"
        " FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace"
        " WHERE n.nspname = :s ORDER BY 1, 2",
        "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = :s ORDER BY 1, 2",
        "SELECT sequence_name, data_type, start_value FROM information_schema.sequences"
        " WHERE sequence_schema = :s ORDER BY 1",
    ]
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            found: list[Any] = [
                [tuple(row) for row in conn.execute(sa.text(query), {"s": schema})]
                for query in queries
            ]
            for table in sorted(sa.inspect(conn).get_table_names(schema=schema)):
                rows = conn.execute(sa.text(f'SELECT * FROM "{schema}"."{table}"')).all()
                found.append((table, sorted(map(repr, rows))))
    finally:
        engine.dispose()
    return [repr(item).replace(schema, "<schema>") for item in found]


class _schema:  # noqa: N801  (used as a context manager, like a function)
    """A fresh PostgreSQL schema for the duration of a `with`; yields a URL that selects it."""

    def __init__(self, base: str, schema: str) -> None:
        self.base, self.schema = base, schema
        self.admin = sa.create_engine(base, poolclass=sa.pool.NullPool)

    def __enter__(self) -> str:
        with self.admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{self.schema}"')
        url = sa.make_url(self.base).update_query_dict({"options": f"-csearch_path={self.schema}"})
        return url.render_as_string(hide_password=False)

    def __exit__(self, *_: object) -> None:
        try:
            with self.admin.begin() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA "{self.schema}" CASCADE')
        finally:
            self.admin.dispose()


@pytest.fixture(scope="session")
def migrated_templates(tmp_path_factory: pytest.TempPathFactory) -> MigratedTemplates:
    return MigratedTemplates(tmp_path_factory.mktemp("migrated"))


@pytest.fixture
def migrated_database_url(database_url: str, migrated_templates: MigratedTemplates) -> str:
    """`database_url` with the schema at head, as `Database.migrate()` leaves a fresh one."""
    url = sa.make_url(database_url)
    if url.get_backend_name() == "sqlite":
        assert url.database is not None
        shutil.copyfile(migrated_templates.sqlite_file(), url.database)
    else:
        schema = url.query["options"]
        assert isinstance(schema, str)
        schema = schema.removeprefix("-csearch_path=")
        migrated_templates.fill_postgres(_postgres_url(), database_url, schema)
    return database_url


@pytest.fixture
def db(migrated_database_url: str) -> Iterator[Database]:
    """A migrated `Database` at `database_url`, signing events with a fixed test key."""
    database = Database(migrated_database_url, audit_key=TEST_AUDIT_KEY)
    assert not database.migrate()  # the copy is at head already
    try:
        yield database
    finally:
        database.dispose()
