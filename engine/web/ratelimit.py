"""A sliding-window limit on sign-in attempts, per account and per client address.

Kept in memory: it slows down guessing against one process, which is what a single-process
service needs; the argon2id hash makes each guess slow anyway. A refused attempt is not even
checked against the password, so the limit cannot be used to learn whether a guess was right.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class RateLimit:
    """At most `limit` events per `window` seconds for each key."""

    def __init__(
        self, limit: int, window: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        events = self._events.setdefault(key, deque())
        while events and events[0] <= now - self.window:
            events.popleft()
        return events

    def blocked(self, key: str) -> float:
        """Seconds until `key` may try again (0.0: it may now)."""
        with self._lock:
            now = self._clock()
            events = self._recent(key, now)
            if len(events) < self.limit:
                return 0.0
            return max(0.0, events[0] + self.window - now)

    def hit(self, key: str) -> None:
        """Count one event (a failed sign-in) for `key`."""
        with self._lock:
            now = self._clock()
            self._recent(key, now).append(now)
            if len(self._events) > 10_000:  # forget idle keys rather than grow without bound
                for stale in [k for k, v in self._events.items() if not v]:
                    del self._events[stale]

    def reset(self, key: str) -> None:
        with self._lock:
            self._events.pop(key, None)
