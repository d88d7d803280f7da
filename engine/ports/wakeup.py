"""The wake-up ports: how the worker learns that a commit left work for it.

A command that writes outbox rows or arms timers commits, and the worker should act at once,
not at its next poll (DESIGN.md §2, "side effects after commit"). The store implements both
ports (`engine.store.wakeups`, `engine.store.timer_feed`): `Wakeups` rings in this process
right after such a commit and, while `listening`, when another process commits;
`TimerFeed` tells the alarm clock which timers changed since a watermark, so that a sweep
reads only those. The polls stay, as a safety net, for anything a wake-up missed.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from engine.domain.model import Timer


class Wakeups(Protocol):
    """Rings when committed work waits: outbox rows to deliver, timers to schedule."""

    def listening(self) -> AbstractContextManager[None]:
        """While inside, also ring for commits of other processes (a watcher thread)."""
        ...

    def wait_outbox(self, timeout: float) -> bool:
        """Block until outbox rows were committed since the last call, or `timeout` seconds
        passed; True when woken by a commit."""
        ...

    def on_timers(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call `callback` (quickly, from the committing thread) whenever timers may have
        been armed; returns the function that unsubscribes it."""
        ...


@dataclass(frozen=True)
class TimerChanges:
    """What changed in the timers table after a watermark, and the watermark to ask next.

    `opened`: timers armed since (still open); `closed`: ids fired or cancelled since, where
    the database can tell (PostgreSQL; on SQLite a closed timer's job wakes once for nothing);
    `rebuild`: the watermark cannot be trusted (the table was rewritten), read everything.
    """

    opened: tuple[Timer, ...]
    closed: tuple[str, ...]
    mark: int
    rebuild: bool = False


class TimerFeed(Protocol):
    """The alarm clock's incremental view of the timers table."""

    def mark(self) -> int:
        """A watermark taken before a full read: changes after it are reported next time."""
        ...

    def changes(self, mark: int) -> TimerChanges:
        """What changed after `mark`."""
        ...
