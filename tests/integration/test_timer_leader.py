"""Two workers on one database: one leads, each timer fires once, a killed leader is replaced.

Real `driftplan worker` processes share a SQLite file (leadership: a lock file in the data
folder) or a PostgreSQL schema (leadership: an advisory lock). The first worker leads; the
second waits; SIGKILL on the leader must hand the remaining timers to the second within a sweep.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from test_timer_restart import (
    AFTER_SECONDS,
    assert_each_due_timer_fired_once,
    kill,
    make_drill,
    stop,
    wait_for,
)

from engine.scheduler.alarm import LeaderLock
from engine.store import Database

KEY = bytes(range(32))


@pytest.mark.slow
def test_two_workers_fire_each_timer_once_and_the_survivor_takes_over(
    tmp_path: Path, database_url: str
) -> None:
    """The leader fires, the other waits; after kill -9 on the leader the other fires the rest."""
    drill = make_drill(tmp_path, database_url)
    try:
        drill.declare()
        leader = drill.worker()
        wait_for(lambda: drill.fired_after_timers() >= 1, 10, "the first worker to fire")
        follower = drill.worker()
        try:
            wait_for(lambda: drill.fired_after_timers() >= 4, 10, "more timers while both run")
        finally:
            kill(leader)
        killed_at = datetime.now(UTC)
        fired_before_kill = drill.fired_after_timers()
        assert fired_before_kill < len(AFTER_SECONDS), "the scenario must leave timers for later"
        try:
            wait_for(
                lambda: drill.fired_after_timers() == len(AFTER_SECONDS),
                15,
                "the surviving worker to fire the remaining timers",
            )
        finally:
            # A round due in the last second may still be in flight as the worker stops.
            settled = datetime.now(UTC) - timedelta(seconds=1)
            err = stop(follower)
        assert "Traceback" not in err, err
        assert_each_due_timer_fired_once(drill, until=settled)
        after_kill = [e for e in drill.timer_events() if e["at"] > killed_at.isoformat()]
        assert after_kill, "nothing fired after the leader died"
    finally:
        drill.app.database.dispose()


@pytest.fixture
def two_schemas() -> Iterator[tuple[Database, Database]]:
    """Two migrated databases in two schemas of one PostgreSQL database."""
    base = os.environ.get("DRIFTPLAN_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("DRIFTPLAN_TEST_POSTGRES_URL is not set")
    admin = sa.create_engine(base, poolclass=sa.pool.NullPool)
    schemas = [f"t_{uuid.uuid4().hex}" for _ in range(2)]
    databases = []
    with admin.begin() as conn:
        for schema in schemas:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    for schema in schemas:
        url = sa.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
        databases.append(Database(url.render_as_string(hide_password=False), audit_key=KEY))
    try:
        yield databases[0], databases[1]
    finally:
        for database in databases:
            database.dispose()
        with admin.begin() as conn:
            for schema in schemas:
                conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@pytest.mark.postgres
def test_installations_in_two_schemas_each_get_a_leader(
    two_schemas: tuple[Database, Database], tmp_path: Path
) -> None:
    """Leadership is per installation: a scheduler in schema B is not blocked by schema A's."""
    first = LeaderLock(two_schemas[0], tmp_path / "a")
    second = LeaderLock(two_schemas[1], tmp_path / "b")
    try:
        assert first.acquire()
        assert second.acquire()
    finally:
        first.release()
        second.release()


def test_a_second_lock_on_the_same_installation_waits_until_the_first_is_released(
    tmp_path: Path, database_url: str
) -> None:
    """Within one installation only one LeaderLock is held at a time, then it passes on."""
    database = Database(database_url, audit_key=KEY)
    first, second = LeaderLock(database, tmp_path), LeaderLock(database, tmp_path)
    try:
        assert first.acquire()
        assert not second.acquire()
        first.release()
        deadline = time.monotonic() + 5
        while not second.acquire():
            assert time.monotonic() < deadline, "the lock was not handed on"
            time.sleep(0.05)
    finally:
        first.release()
        second.release()
        database.dispose()


@pytest.mark.postgres
def test_a_leader_whose_session_dies_notices_and_another_can_lead(
    two_schemas: tuple[Database, Database], tmp_path: Path
) -> None:
    """When the PostgreSQL session holding the lock is killed, the old leader stops counting
    itself as leader, and a second scheduler of the same installation can take over."""
    database = two_schemas[0]
    first, second = LeaderLock(database, tmp_path), LeaderLock(database, tmp_path)
    try:
        assert first.acquire() and first.still_held()
        assert not second.acquire()
        assert first._conn is not None
        pid = first._conn.execute(sa.text("SELECT pg_backend_pid()")).scalar()
        first._conn.commit()
        with database.engine.connect() as admin:
            admin.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            admin.commit()
        assert not first.still_held()
        assert second.acquire()
    finally:
        first.release()
        second.release()
