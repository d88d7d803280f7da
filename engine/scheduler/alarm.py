"""APScheduler as the alarm clock, in exactly one process, behind a leader lock.

The timers table is the memory; APScheduler only wakes us at the right moment. Jobs carry just
the timer id and reference a module-level function by text (no pickled bound methods that could
resurrect stale objects), run with `misfire_grace_time=None` (a late job still runs),
`coalesce=True` and `max_instances=1`. Jobs are rebuilt from the table at start and by a periodic
sweep, which also fires anything due that a job missed (e.g. a timer another process armed).
The job store is in memory and never shared: two schedulers on one store run jobs twice.

Sweeps are incremental when a `TimerFeed` is given: a full read of the open timers at start
(and on taking leadership) and every `rebuild_seconds` (5 minutes), and in between only the
timers that changed after the last sweep's watermark. A sweep also runs as soon as `poke` is
called — the worker subscribes it to the commit wake-ups (`engine.ports.Wakeups`), so a timer
another process armed is scheduled within moments, not at the next periodic sweep. Pokes are
answered by one thread of the clock's own and coalesce while a sweep runs.

Leadership: a PostgreSQL advisory lock (held by one connection for the process's life), or a
lock file beside the SQLite database. A process that is not the leader waits and retries, so
killing the leader hands over within one retry interval.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler
from filelock import FileLock, Timeout

from engine.domain.model import Timer
from engine.ports import TimerFiring
from engine.ports.wakeup import TimerFeed

log = logging.getLogger(__name__)

# The text reference APScheduler stores instead of a callable object.
JOB_FUNC = "engine.scheduler.alarm:fire_timer_job"
_runners: dict[str, TimerFiring] = {}
LOCK_KEY = 0x64726966  # "drif": the advisory lock id of driftplan's scheduler
REBUILD_SECONDS = 300.0  # a full read of the open timers, besides the incremental sweeps


def fire_timer_job(runner_key: str, timer_id: str) -> None:
    """The APScheduler job: fire one timer by id through the runner registered under a key."""
    runner = _runners.get(runner_key)
    if runner is None:
        return
    result = runner.fire(timer_id)
    clock = _clocks.get(runner_key)
    if result.reason == "not due yet" and clock is not None:
        # Woken early (a scaled clock, or wall clock skew): wake again at the due time
        # rather than waiting for the next sweep.
        clock.rearm(timer_id)
    if result.armed and clock is not None:
        # A repeating timer's next round, or timers of a state a timer-fired transition
        # entered: wake up for them on time, not a sweep later.
        clock.arm(result.armed)
    if result.fired and result.late_seconds > 1:
        log.info("timer %s fired %.1f s late", timer_id, result.late_seconds)


class LeaderLock:
    """One scheduler per installation: advisory lock on PostgreSQL, lock file on SQLite."""

    def __init__(self, database: Any, data_dir: Path) -> None:
        self.database = database
        self.data_dir = data_dir
        self._file: FileLock | None = None
        self._conn: sa.Connection | None = None

    def acquire(self) -> bool:
        if self.database.dialect == "postgresql":
            if self._conn is None:
                self._conn = self.database.engine.connect()
            # Keyed by schema as well: installations in separate schemas of one database
            # each have their own scheduler.
            got = self._conn.execute(
                sa.text("SELECT pg_try_advisory_lock(:k, hashtext(current_schema()))"),
                {"k": LOCK_KEY},
            ).scalar()
            self._conn.commit()
            return bool(got)
        if self._file is None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            # Not thread-local: sweeps run in APScheduler's thread and in the poke responder.
            self._file = FileLock(str(self.data_dir / "scheduler.lock"), thread_local=False)
        try:
            self._file.acquire(timeout=0)
        except Timeout:
            return False
        return True

    def still_held(self) -> bool:
        """Whether leadership is still ours: a dropped PostgreSQL session loses its lock.

        A leader that kept firing after its session died would run beside the new leader; so
        each sweep checks, and a broken connection is dropped to be re-acquired cleanly.
        """
        if self._conn is None:
            return self._file is not None and self._file.is_locked
        try:
            self._conn.execute(sa.text("SELECT 1"))
            self._conn.commit()
        except sa.exc.DBAPIError:
            log.warning("lost the database session that held the scheduler lock")
            try:
                self._conn.close()
            finally:
                self._conn = None
            return False
        return True

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute(
                    sa.text("SELECT pg_advisory_unlock(:k, hashtext(current_schema()))"),
                    {"k": LOCK_KEY},
                )
                self._conn.commit()
            finally:
                self._conn.close()
                self._conn = None
        if self._file is not None and self._file.is_locked:
            self._file.release()


class AlarmClock:
    """Keeps APScheduler jobs in step with the timers table while this process leads."""

    def __init__(
        self,
        runner: TimerFiring,
        *,
        lock: LeaderLock,
        sweep_seconds: float = 2.0,
        to_real: Callable[[datetime], datetime] | None = None,
        feed: TimerFeed | None = None,
        rebuild_seconds: float = REBUILD_SECONDS,
    ) -> None:
        self.runner = runner
        self.lock = lock
        self.sweep_seconds = sweep_seconds
        self.feed = feed
        self.rebuild_seconds = rebuild_seconds
        # The feed's watermark after the last sweep; None: the next sweep reads everything.
        self._mark: int | None = None
        self._rebuilt_at = 0.0
        self.full_sweeps = 0  # how many sweeps read every open timer (for tests and logs)
        self._poked = threading.Event()
        self._responder: threading.Thread | None = None
        # Maps a timer's (virtual) due time to the wall-clock instant to wake up at; an
        # exercise runs on a scaled clock, a real incident on the identity.
        self.to_real = to_real or (lambda due: due)
        self.key = f"runner-{id(self)}"
        self.leader = False
        self._scheduler = BackgroundScheduler(
            timezone=UTC,
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )
        self._known: set[str] = set()
        # Reentrant: a sweep's firing commits, and the commit's wake-up pokes this clock.
        self._lock = threading.RLock()
        # Set by `stop` under `_lock`: from then on nothing touches APScheduler's job store.
        self._stopping = False

    def start(self) -> None:
        _runners[self.key] = self.runner
        self._scheduler.start()
        self._scheduler.add_job(
            "engine.scheduler.alarm:sweep_job",
            "interval",
            seconds=self.sweep_seconds,
            args=[self.key],
            id="sweep",
            next_run_time=datetime.now(UTC),
        )
        _clocks[self.key] = self
        self._responder = threading.Thread(
            target=self._respond, name="driftplan-alarm-poke", daemon=True
        )
        self._responder.start()

    def poke(self) -> None:
        """Sweep soon (timers may have been armed elsewhere); cheap, callable from any thread."""
        self._poked.set()

    def _respond(self) -> None:
        while True:
            self._poked.wait()
            self._poked.clear()
            if self._stopping:
                return
            try:
                self.sweep()
            except Exception:
                log.exception("timer sweep after a wake-up failed")

    def stop(self) -> None:
        """Stop after any sweep in flight; waits for running timer jobs to finish.

        APScheduler's `shutdown(wait=True)` holds its job-store lock while it waits for running
        jobs, and a sweep or a firing in flight adds and looks up jobs, which needs that lock:
        stopping under our own lock first, and refusing job-store work once stopping, is what
        keeps the two from waiting for each other forever.
        """
        with self._lock:
            self._stopping = True
        self._poked.set()  # lets the responder thread see `_stopping` and end
        if self._responder is not None:
            self._responder.join(30)
            self._responder = None
        self._scheduler.shutdown(wait=True)
        _runners.pop(self.key, None)
        _clocks.pop(self.key, None)
        self.lock.release()
        self.leader = False

    def rearm(self, timer_id: str) -> None:
        """Schedule one timer's job again (it woke before its due time)."""
        timer = self.runner.timer(timer_id)
        run_at = max(self.to_real(timer.due_at), datetime.now(UTC) + timedelta(milliseconds=10))
        with self._lock:
            if not self._stopping:
                self._add_job(timer.id, run_at)

    def _add_job(self, timer_id: str, run_at: datetime) -> None:
        """The APScheduler job that fires `timer_id` at `run_at` (replacing an older one)."""
        self._scheduler.add_job(
            JOB_FUNC,
            "date",
            run_date=run_at,
            id=timer_id,
            args=[self.key, timer_id],
            replace_existing=True,
        )

    def sweep(self) -> None:
        """Take or keep leadership; fire what is due; (re)schedule jobs for open timers."""
        with self._lock:
            if self._stopping:
                return
            if self.leader and not self.lock.still_held():
                self.leader = False
            if not self.leader:
                self.leader = self.lock.acquire()
                if not self.leader:
                    return
                log.info("this process now runs the timers (leader)")
                self._mark = None  # a new leader knows nothing yet
            self.runner.fire_due()
            rebuild = time.monotonic() - self._rebuilt_at >= self.rebuild_seconds
            if self.feed is not None and self._mark is not None and not rebuild:
                changes = self.feed.changes(self._mark)
                if not changes.rebuild:
                    self._mark = changes.mark
                    self._forget(changes.closed)
                    self._schedule(changes.opened)
                    return
            self._rebuild()

    def _rebuild(self) -> None:
        """Read every open timer; the caller holds `self._lock`."""
        # The mark is taken before the read, so a timer armed meanwhile is read again next time.
        mark = self.feed.mark() if self.feed is not None else None
        open_timers = self.runner.open_timers()
        wanted = {t.id for t in open_timers}
        self._forget(self._known - wanted)
        self._schedule(open_timers)
        self._known &= wanted
        self._mark = mark
        self._rebuilt_at = time.monotonic()
        self.full_sweeps += 1

    def _forget(self, timer_ids: Iterable[str]) -> None:
        """Drop the jobs of timers fired or cancelled; the caller holds `self._lock`."""
        for stale in timer_ids:
            if stale in self._known:
                job = self._scheduler.get_job(stale)
                if job is not None:
                    job.remove()
                self._known.discard(stale)

    def arm(self, armed: Iterable[Timer]) -> None:
        """Schedule timers just armed in this process (while it leads)."""
        with self._lock:
            if self.leader and not self._stopping:
                self._schedule(armed)

    def _schedule(self, candidates: Iterable[Timer]) -> None:
        """Add a job for each timer not yet known; the caller holds `self._lock`."""
        horizon = datetime.now(UTC) + timedelta(hours=1)
        for timer in candidates:
            run_at = self.to_real(timer.due_at)
            if timer.id in self._known or run_at > horizon:
                continue  # far-away timers are scheduled by a later sweep
            self._add_job(timer.id, run_at)
            self._known.add(timer.id)


_clocks: dict[str, AlarmClock] = {}


def sweep_job(key: str) -> None:
    """The periodic APScheduler job: one sweep of the alarm clock registered under `key`."""
    clock = _clocks.get(key)
    if clock is not None:
        try:
            clock.sweep()
        except Exception:
            log.exception("timer sweep failed")
