"""Commits that leave work ring the worker's bell, and the timer sweep reads only changes.

Real SQLite files and PostgreSQL schemas (the `database_url` fixture); a second `build` on the
same database stands in for another process (its own engine, pool and bell).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engine.bootstrap import App, build
from engine.scheduler.alarm import AlarmClock
from engine.settings import Settings
from tests.app_helpers import DECLARE, EXAMPLE_DIRECTORY, OPERATOR, WORKFLOWS
from tests.integration.test_alarm_clock import AlwaysLeader


@pytest.fixture
def apps(database_url: str, tmp_path: Path) -> Iterator[tuple[App, App]]:
    """Two applications on one database (as two processes), the directory imported."""
    settings = Settings(data=tmp_path / "data", workflows=WORKFLOWS, database_url=database_url)
    first = build(settings)
    first.service.directory.import_file(EXAMPLE_DIRECTORY)
    second = build(settings, migrate=False)
    try:
        yield first, second
    finally:
        first.close()
        second.close()


def declare(app: App, **values: str) -> str:
    return app.service.declare(actor_id=OPERATOR, values={**DECLARE, **values}).incident_id


def test_a_command_that_queues_messages_rings_in_its_own_process(apps: tuple[App, App]) -> None:
    """A declaration (messages and timers) wakes this process's outbox waiter and timer
    subscribers as soon as it commits; a read, or another process's commit, does not."""
    app, other = apps
    rung: list[str] = []
    unsubscribe = app.wakeups.on_timers(lambda: rung.append("timers"))
    app.wakeups.wait_outbox(0)  # forget what setting up rang

    declare(other)  # no listener runs: another process's commit is not heard here
    assert not app.wakeups.wait_outbox(0)
    assert rung == []

    incident = declare(app)
    assert app.wakeups.wait_outbox(0)
    assert rung == ["timers"]
    assert not app.wakeups.wait_outbox(0), "one commit rings once"

    app.service.show(incident)
    assert not app.wakeups.wait_outbox(0)
    unsubscribe()
    declare(app)
    assert rung == ["timers"], "an unsubscribed callback is not called"


def test_a_listening_process_hears_commits_of_another(apps: tuple[App, App]) -> None:
    """While listening, a commit in another process (LISTEN/NOTIFY, SQLite's doorbell)
    wakes the outbox waiter and the timer subscribers."""
    app, other = apps
    rung: list[str] = []
    app.wakeups.on_timers(lambda: rung.append("timers"))
    with app.wakeups.listening():
        time.sleep(1)  # the watcher is connected and has seen the current state
        app.wakeups.wait_outbox(0)
        rung.clear()
        declare(other)
        assert app.wakeups.wait_outbox(20), "the other process's commit did not wake us"
        assert rung


def test_the_timer_feed_reports_only_what_changed_after_its_watermark(
    apps: tuple[App, App],
) -> None:
    """Timers armed after the mark are reported once; with nothing new, nothing is; on
    PostgreSQL cancelled timers are reported as closed."""
    app, other = apps
    feed = app.database.timer_feed
    mark = feed.mark()
    incident = declare(other)
    with app.database.unit_of_work(read_only=True) as uow:
        armed = {t.id for t in uow.timers.list_open(incident)}
    assert armed

    changes = feed.changes(mark)
    assert {t.id for t in changes.opened} == armed
    assert not changes.rebuild
    assert changes.mark > mark or app.database.dialect == "postgresql"

    quiet = feed.changes(changes.mark)
    if app.database.dialect == "sqlite":
        assert quiet.opened == () and quiet.closed == ()

    other.service.fire(
        incident_id=incident,
        trigger="post_update",
        actor_id=OPERATOR,
        values={"details": "Felsökning pågår"},
    )
    after = feed.changes(quiet.mark)
    with app.database.unit_of_work(read_only=True) as uow:
        now_open = {t.id for t in uow.timers.list_open(incident)}
    assert {t.id for t in after.opened} == now_open - armed, "only the re-armed timers"
    if app.database.dialect == "postgresql":
        assert set(after.closed) >= armed - now_open


def test_a_timer_armed_elsewhere_fires_after_a_poke_without_a_full_sweep(
    apps: tuple[App, App],
) -> None:
    """With the periodic sweep an hour away, a poke reads the new timers incrementally and
    the one due in two seconds fires on time; only the start read every open timer."""
    app, other = apps
    alarm = AlarmClock(
        app.timers,
        lock=AlwaysLeader(),  # type: ignore[arg-type]
        sweep_seconds=3600,
        feed=app.database.timer_feed,
    )
    alarm.start()
    try:
        deadline = time.monotonic() + 10
        while alarm.full_sweeps == 0:
            assert time.monotonic() < deadline, "the first sweep never ran"
            time.sleep(0.05)
        soon = (datetime.now(UTC) + timedelta(seconds=2)).isoformat(timespec="seconds")
        incident = declare(other, expected_resolution=soon, started_at="now")
        alarm.poke()

        def fired() -> bool:
            with app.database.unit_of_work(read_only=True) as uow:
                keys = {t.key for t in uow.timers.list_open(incident)}
            return not any(key.endswith("eta_passed") for key in keys)

        assert not fired(), "the declaration armed no eta_passed timer"

        deadline = time.monotonic() + 20
        while not fired():
            assert time.monotonic() < deadline, "the timer armed elsewhere did not fire"
            time.sleep(0.1)
        assert alarm.full_sweeps == 1
    finally:
        alarm.stop()
