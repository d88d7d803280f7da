"""Concurrent commands on one database: optimistic updates, timer firing and outbox claims.

Races run in real OS processes or threads, each with its own connections, on a SQLite file and
on PostgreSQL. The processes are forked from multiprocessing's fork server, which has imported
the engine once (`tests.conftest.forkserver`), instead of twenty interpreters each starting and
importing it (spawn).
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from engine.domain.model import Incident, Message, MessageStatus, Timer
from engine.errors import Conflict
from engine.store import Database
from tests.conftest import forkserver

KEY = bytes(range(32))
T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
SHA = "c" * 64
RACERS = 20


def add_incident(db: Database) -> Incident:
    incident = Incident(
        "INC-1", "samsa_outage", "1", SHA, "outage", 1, 1, {}, [], [], T0, T0, "anna"
    )
    with db.unit_of_work() as uow:
        uow.definitions.save("samsa_outage", 1, SHA, {})
        uow.incidents.add(incident)
        uow.commit()
    return incident


def count_events(db: Database) -> int:
    with db.unit_of_work(read_only=True) as uow:
        return len(uow.events.list("INC-1"))


def run_threads(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run work(i) in `count` threads started together; return the results in order."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def main(i: int) -> None:
        barrier.wait(timeout=30)
        try:
            results[i] = work(i)
        except Exception as error:  # reported to the test, which fails on it
            results[i] = error

    threads = [threading.Thread(target=main, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_second_of_two_stale_updates_conflicts(db: Database) -> None:
    """Two units of work load version 1; the first update wins, the second raises Conflict."""
    add_incident(db)
    with db.unit_of_work(read_only=True) as uow:
        mine = uow.incidents.get("INC-1")
    with db.unit_of_work(read_only=True) as uow:
        theirs = uow.incidents.get("INC-1")
    with db.unit_of_work() as uow:
        mine.state = "partial_reserve"
        uow.incidents.update(mine)
        uow.events.append(mine, actor="anna", kind="transition", at=T0)
        uow.commit()
    with db.unit_of_work() as uow:
        theirs.state = "total_reserve"
        with pytest.raises(Conflict) as caught:
            uow.incidents.update(theirs)
            uow.events.append(theirs, actor="bo", kind="transition", at=T0)
    assert str(caught.value) == (
        "Incident INC-1 was changed by someone else (version 2); reload and try again."
    )
    with db.unit_of_work() as uow:
        assert uow.incidents.get("INC-1").state == "partial_reserve"
    assert count_events(db) == 1


def _race(url: str, barrier: Any, results: Any) -> None:
    """One racer: load the incident, wait for everyone, then update it and append an event."""
    db = Database(url, audit_key=KEY)
    try:
        with db.unit_of_work(read_only=True) as uow:
            incident = uow.incidents.get("INC-1")
        barrier.wait(timeout=60)
        with db.unit_of_work() as uow:
            incident.data = {"winner": multiprocessing.current_process().name}
            uow.incidents.update(incident)
            uow.events.append(incident, actor="racer", kind="update", at=datetime.now(UTC))
            uow.commit()
        results.put("won")
    except Conflict:
        results.put("conflict")
    except Exception as error:
        results.put(f"error: {error!r}")
    finally:
        db.dispose()


@pytest.mark.slow
def test_twenty_processes_racing_on_one_version_exactly_one_wins(
    db: Database, database_url: str
) -> None:
    """Of 20 processes updating the same incident version, one wins and 19 get Conflict."""
    add_incident(db)
    context = forkserver()
    barrier = context.Barrier(RACERS)
    results = context.Queue()
    processes = [
        context.Process(target=_race, args=(database_url, barrier, results)) for _ in range(RACERS)
    ]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=90) for _ in processes]
    for process in processes:
        process.join(timeout=30)
    assert sorted(outcomes) == ["conflict"] * (RACERS - 1) + ["won"], outcomes
    assert count_events(db) == 1
    with db.unit_of_work() as uow:
        assert uow.incidents.get("INC-1").row_version == 2


def test_a_timer_fires_for_exactly_one_caller(db: Database) -> None:
    """Eight concurrent fire() calls on one timer: exactly one returns True."""
    add_incident(db)
    with db.unit_of_work() as uow:
        uow.timers.add(Timer("T1", "INC-1", "state:outage:update_due", T0, 1, {}))
        uow.commit()

    def fire(_: int) -> bool:
        with db.unit_of_work() as uow:
            won = uow.timers.fire("T1", T0 + timedelta(seconds=2))
            uow.commit()
            return won

    assert sorted(run_threads(8, fire)) == [False] * 7 + [True]


def _messages(db: Database, count: int) -> None:
    with db.unit_of_work() as uow:
        for i in range(count):
            uow.messages.add(
                Message(
                    f"M-{i:02d}", "INC-1", "support_email", "email", "support_it", "sv",
                    "Ämne", "Text", "", [], MessageStatus.PENDING, 0, T0, T0, "event:1",
                )
            )  # fmt: skip
        uow.commit()


def test_concurrent_claimers_never_share_a_message(db: Database) -> None:
    """Four dispatchers claiming in a loop together get every due message exactly once."""
    add_incident(db)
    _messages(db, 24)

    def claim_all(worker: int) -> list[str]:
        claimed: list[str] = []
        while True:
            with db.unit_of_work() as uow:
                batch = uow.messages.claim_due(T0, f"worker-{worker}", 60, limit=3)
                uow.commit()
            if not batch:
                return claimed
            claimed += [m.id for m in batch]

    results = run_threads(4, claim_all)
    everything = [message_id for claimed in results for message_id in claimed]
    assert sorted(everything) == [f"M-{i:02d}" for i in range(24)]


def test_a_lease_hides_a_message_until_it_expires(db: Database) -> None:
    """A leased message is not claimable until the lease ends; the old owner then cannot save."""
    add_incident(db)
    _messages(db, 1)
    with db.unit_of_work() as uow:
        [message] = uow.messages.claim_due(T0, "a", 60, limit=5)
        assert uow.messages.claim_due(T0 + timedelta(seconds=59), "b", 60) == []
        assert [m.id for m in uow.messages.claim_due(T0 + timedelta(seconds=61), "b", 60)] == [
            "M-00"
        ]
        message.status = MessageStatus.SENT
        with pytest.raises(Conflict, match="no longer leased to a"):
            uow.messages.update(message, owner="a")
        uow.messages.update(message, owner="b")
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.messages.get("M-00").status == MessageStatus.SENT
        assert uow.messages.claim_due(T0 + timedelta(hours=1), "c", 60) == []


def test_future_messages_are_not_claimed(db: Database) -> None:
    """A message whose next attempt lies in the future stays in the outbox."""
    add_incident(db)
    _messages(db, 1)
    with db.unit_of_work() as uow:
        assert uow.messages.claim_due(T0 - timedelta(seconds=1), "a", 60) == []


def test_sqlite_writers_queue_instead_of_failing(tmp_path: Any) -> None:
    """Concurrent read-modify-write units of work on SQLite serialize: no lost update, no error."""
    db = Database(f"sqlite:///{tmp_path / 'd.db'}", audit_key=KEY)
    db.migrate()

    def increment(_: int) -> None:
        for _round in range(5):
            with db.unit_of_work() as uow:
                uow.meta.set("n", str(int(uow.meta.get("n") or "0") + 1))
                uow.commit()

    try:
        assert run_threads(8, increment) == [None] * 8
        with db.unit_of_work() as uow:
            assert uow.meta.get("n") == "40"
    finally:
        db.dispose()


def test_thread_results_surface_errors() -> None:
    """The thread helper hands exceptions back, so a failing racer fails its test."""
    results = run_threads(2, lambda i: 1 / i)
    assert isinstance(results[0], ZeroDivisionError) and results[1] == 1.0
