"""The alarm clock's own life cycle, with APScheduler's real background scheduler."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from engine.domain.model import Timer
from engine.ports import FireResult
from engine.scheduler.alarm import AlarmClock


class AlwaysLeader:
    """A leader lock that is always ours (the lock itself is tested in test_timer_leader)."""

    def acquire(self) -> bool:
        return True

    def still_held(self) -> bool:
        return True

    def release(self) -> None:
        return None


class SlowSweepRunner:
    """Timers whose sweep blocks until released, with one open timer to schedule after it."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def fire_due(self, limit: int = 500) -> list[FireResult]:
        self.entered.set()
        self.release.wait(10)
        return []

    def open_timers(self) -> list[Timer]:
        due = datetime.now(UTC) + timedelta(minutes=1)
        return [Timer("t-1", "i-1", "state:outage:update_due", due, 1, {})]

    def timer(self, timer_id: str) -> Timer:
        return self.open_timers()[0]

    def fire(self, timer_id: str) -> FireResult:
        return FireResult(False, "not due yet")


def test_stopping_during_a_sweep_returns_once_the_sweep_is_done() -> None:
    """stop() while a sweep is in flight waits for it and returns (it used to deadlock)."""
    runner = SlowSweepRunner()
    alarm = AlarmClock(runner, lock=AlwaysLeader(), sweep_seconds=3600)  # type: ignore[arg-type]
    alarm.start()
    assert runner.entered.wait(10), "the first sweep never ran"
    stopper = threading.Thread(target=alarm.stop, daemon=True)
    stopper.start()
    time.sleep(0.2)  # let stop() begin while the sweep is still inside fire_due
    runner.release.set()  # the sweep goes on to schedule the open timer's job
    stopper.join(15)
    assert not stopper.is_alive(), "AlarmClock.stop() deadlocked with a sweep in flight"
