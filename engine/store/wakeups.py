"""Wake the worker when a commit leaves work for it (implements `engine.ports.Wakeups`).

In this process the unit of work rings the bell right after a commit that wrote outbox rows
or armed timers (`UnitOfWork(on_commit=...)`). Across processes:

- **PostgreSQL**: the committing transaction sends `NOTIFY driftplan_commits` with its schema
  and what it wrote (`notify_statement`); PostgreSQL delivers it only if and when the
  transaction commits. The worker LISTENs on a dedicated psycopg connection in a thread.
- **SQLite**: a process whose commit left work pokes the listening workers' sockets beside the
  database file (`engine.store.doorbell`), and the watcher thread, blocked on its own socket,
  rings at once. As a safety net for commits of programs that do not poke (an older
  driftplan, the sqlite3 shell) and for a socket that cannot be made (a database path too
  long for one, a read-only folder), it also asks `PRAGMA data_version` on a dedicated
  connection every second (every 100 ms without a socket). That number changes whenever
  another connection committed, so one cheap read of the WAL index tells "something changed"
  without touching a table. The poll alone was the first design (no socket whose life must be
  managed), but noticing a declaration within a blink needed 10 ticks a second, and each tick
  costs an idle worker about 0.1 % of a core; the socket costs nothing until poked. Neither
  says *what* changed, so both ring for the outbox and the timers; `data_version` also rings
  for this process's own commits (other connections of the pool): that costs one empty
  outbox claim and one incremental timer sweep, coalesced, after each burst of activity.

Both watchers ring at most once per wake-up; the poll intervals stay as a safety net for a
lost notification (a dropped PostgreSQL connection is re-opened after a pause).
"""

from __future__ import annotations

import logging
import socket
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from engine.store.doorbell import Doorbell

log = logging.getLogger(__name__)

CHANNEL = "driftplan_commits"
SQLITE_TICK_SECONDS = 0.1  # how often the SQLite watcher looks when it has no socket: the
# added latency at worst (100 ms keeps a declaration's banner well inside 250 ms)
SQLITE_SAFETY_SECONDS = 1.0  # how often it looks anyway while poked through its socket
LISTEN_TICK_SECONDS = 0.5  # how long a LISTEN waits before checking whether to stop
RECONNECT_SECONDS = 2.0

# Sent inside the committing transaction; the schema keeps installations that share a
# PostgreSQL database (one schema each) from waking each other.
notify_statement = sa.text("SELECT pg_notify(:channel, current_schema() || ':' || :what)")


class CommitBell:
    """The in-process bell, and the watcher of other processes' commits while listening."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        self._outbox = threading.Event()
        self._timer_callbacks: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        path = engine.url.database if engine.dialect.name == "sqlite" else None
        self._doorbell = Doorbell(path) if path and path != ":memory:" else None

    def ring(self, *, outbox: bool, timers: bool) -> None:
        """Work was committed here: wake this process's outbox waiter and/or timer subscribers,
        and on SQLite poke the workers listening in other processes (on PostgreSQL the
        transaction's NOTIFY does)."""
        self._ring_here(outbox=outbox, timers=timers)
        if self._doorbell is not None:
            self._doorbell.ring()

    def close(self) -> None:
        """Close the socket pokes are sent from (made again if this bell rings later)."""
        if self._doorbell is not None:
            self._doorbell.close()

    def _ring_here(self, *, outbox: bool, timers: bool) -> None:
        # A watcher that heard another process rings only here: poking the others back
        # would bounce between two workers.
        if outbox:
            self._outbox.set()
        if timers:
            with self._lock:
                callbacks = list(self._timer_callbacks)
            for callback in callbacks:
                try:
                    callback()
                except Exception:  # a subscriber's bug must not fail the command that rang
                    log.exception("a timer wake-up subscriber failed")

    def wait_outbox(self, timeout: float) -> bool:
        woken = self._outbox.wait(timeout)
        # Cleared before the caller delivers: a commit that rings from now on is seen by the
        # next wait, and one that rang before has committed, so the delivery that follows
        # finds its rows.
        self._outbox.clear()
        return woken

    def on_timers(self, callback: Callable[[], None]) -> Callable[[], None]:
        with self._lock:
            self._timer_callbacks.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._timer_callbacks:
                    self._timer_callbacks.remove(callback)

        return unsubscribe

    @contextmanager
    def listening(self) -> Iterator[None]:
        stop = threading.Event()
        watch = self._listen if self._engine.dialect.name == "postgresql" else self._data_version
        thread = threading.Thread(
            target=watch, args=(stop,), name="driftplan-commit-watcher", daemon=True
        )
        thread.start()
        try:
            yield
        finally:
            stop.set()
            if self._doorbell is not None:
                self._doorbell.wake_own()
            thread.join(5)

    # -------------------------------------------------------------------- SQLite
    def _data_version(self, stop: threading.Event) -> None:
        path = self._engine.url.database
        if not path or path == ":memory:":
            return  # an in-memory database has no other process to watch
        while not stop.is_set():
            try:
                connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            except sqlite3.Error:
                log.exception("cannot watch %s for commits; polling only", path)
                stop.wait(RECONNECT_SECONDS)
                continue
            try:
                self._watch_version(connection, stop)
            except sqlite3.Error:
                log.warning("watching the database for commits failed; retrying", exc_info=True)
                stop.wait(RECONNECT_SECONDS)
            finally:
                connection.close()

    def _watch_version(self, connection: sqlite3.Connection, stop: threading.Event) -> None:
        connection.execute(f"PRAGMA busy_timeout = {int(RECONNECT_SECONDS * 1000)}")
        seen = connection.execute("PRAGMA data_version").fetchone()[0]
        assert self._doorbell is not None  # a file database has one
        with self._doorbell.listening() as listener:
            while not stop.is_set():
                poked = _wait_for_poke(listener, stop)
                if stop.is_set():
                    return
                version = connection.execute("PRAGMA data_version").fetchone()[0]
                if poked or version != seen:
                    seen = version
                    self._ring_here(outbox=True, timers=True)

    # ---------------------------------------------------------------- PostgreSQL
    def _listen(self, stop: threading.Event) -> None:
        import psycopg  # noqa: PLC0415  (only a PostgreSQL worker needs the driver here)

        conninfo = self._engine.url.set(drivername="postgresql").render_as_string(
            hide_password=False
        )
        while not stop.is_set():
            try:
                with psycopg.connect(conninfo, autocommit=True) as connection:
                    self._receive(connection, stop)
            except psycopg.Error:
                log.warning("listening for commits failed; polling until it reconnects")
                stop.wait(RECONNECT_SECONDS)

    def _receive(self, connection: Any, stop: threading.Event) -> None:
        row = connection.execute("SELECT current_schema()").fetchone()
        prefix = f"{row[0]}:"
        connection.execute(f"LISTEN {CHANNEL}")
        # A commit made before LISTEN took effect was not announced: look once.
        self._ring_here(outbox=True, timers=True)
        while not stop.is_set():
            # Rung per notification, not per batch: the generator runs until its timeout.
            for note in connection.notifies(timeout=LISTEN_TICK_SECONDS):
                if note.payload.startswith(prefix):
                    what = note.payload[len(prefix) :]
                    self._ring_here(outbox="outbox" in what, timers="timers" in what)
                if stop.is_set():
                    break


def _wait_for_poke(listener: socket.socket | None, stop: threading.Event) -> bool:
    """Block until poked (True) or the tick passed (False); without a socket, just the tick.
    Pokes that queued up meanwhile are taken together: one look serves them all."""
    if listener is None:
        stop.wait(SQLITE_TICK_SECONDS)
        return False
    listener.settimeout(SQLITE_SAFETY_SECONDS)
    try:
        listener.recv(16)
    except TimeoutError:
        return False
    # Non-blocking to drain: a socket with a timeout would wait that long for one more.
    listener.setblocking(False)
    try:
        while True:
            listener.recv(16)
    except BlockingIOError:
        return True
