"""Where "now" comes from: the `Clock` port and the wall clock (fakes and scaled clocks for
exercises live in engine.scheduler.clocks)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """Where "now" comes from: the wall clock, a fake in tests, a scaled clock in exercises."""

    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)
