"""Shared fixtures: the same database tests run on a SQLite file and on PostgreSQL.

`database_url` gives each test its own empty database: a fresh SQLite file, or a fresh
PostgreSQL schema (selected through `search_path` in the URL, so that child processes opening
the URL land in it too) that is dropped afterwards. PostgreSQL comes from
DRIFTPLAN_TEST_POSTGRES_URL; without it those tests skip, except in CI, where they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.store import Database

POSTGRES_ENV = "DRIFTPLAN_TEST_POSTGRES_URL"
TEST_AUDIT_KEY = bytes(range(32))


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
    base = _postgres_url()
    schema = f"t_{uuid.uuid4().hex}"
    admin = sa.create_engine(base, poolclass=sa.pool.NullPool)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = sa.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """A migrated `Database` at `database_url`, signing events with a fixed test key."""
    database = Database(database_url, audit_key=TEST_AUDIT_KEY)
    database.migrate()
    try:
        yield database
    finally:
        database.dispose()
