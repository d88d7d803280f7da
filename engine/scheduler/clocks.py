"""Clocks other than the wall clock: a fake one for tests and a scaled one for exercises.

Both implement `engine.ports.Clock`. The service, the timers and the templates ask their clock
for "now", so a drill runs the same code as a real incident, only on virtual time.

`ScaledClock` maps real elapsed time to virtual time (virtual = start + speed × elapsed) and
back: `to_real` tells the alarm clock (`engine.scheduler.alarm.AlarmClock`) at which
wall-clock instant a timer's virtual due time arrives. Elapsed time comes from
`time.monotonic`, so a wall-clock step (NTP, daylight saving) cannot make virtual time jump
or run backwards.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

__all__ = ["FakeClock", "ScaledClock"]

WAKE_MARGIN = 0.001  # real seconds added to every wake-up instant (see ScaledClock.to_real)


def _aware(value: datetime, name: str) -> datetime:
    """The value in UTC; a naive datetime is a caller's bug, not something to guess about."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {value!r}")
    return value.astimezone(UTC)


class FakeClock:
    """A clock that moves only when told to; safe to share between threads."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = _aware(start, "start") if start else datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The time the clock was last set or advanced to."""
        with self._lock:
            return self._now

    def set(self, value: datetime) -> None:
        """Jump to `value` (backwards too: tests of clock skew need that)."""
        value = _aware(value, "value")
        with self._lock:
            self._now = value

    def advance(self, delta: timedelta | float = 0.0, /, **units: float) -> datetime:
        """Move forward by `delta` (a timedelta or seconds) plus `units` (minutes=5, ...)."""
        step = delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        step += timedelta(**units)
        if step < timedelta(0):
            raise ValueError(f"advance() goes forward only; use set() to go back ({step})")
        with self._lock:
            self._now += step
            return self._now


class ScaledClock:
    """Virtual time running `speed` times faster than real time from `start_virtual`.

    Speed can change while the clock runs (an exercise may rush through a quiet tail): the
    change re-anchors the clock at the current instant, so virtual time stays continuous. The
    clock can be paused (created paused, or by `pause()`), so that setting up an exercise and
    its own bookkeeping between steps does not eat virtual minutes.
    """

    def __init__(
        self,
        start_virtual: datetime,
        speed: float,
        *,
        paused: bool = False,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] | None = None,
    ) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self._monotonic = monotonic
        self._wall = wall or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        self._speed = float(speed)
        self._virtual0 = _aware(start_virtual, "start_virtual")
        self._mono0 = monotonic()
        self._paused_at: float | None = self._mono0 if paused else None

    @property
    def speed(self) -> float:
        """How many virtual seconds pass per real second."""
        with self._lock:
            return self._speed

    def now(self) -> datetime:
        """The current virtual time, in UTC."""
        with self._lock:
            return self._virtual_at(self._monotonic())

    def _virtual_at(self, mono: float) -> datetime:
        if self._paused_at is not None:
            mono = self._paused_at
        return self._virtual0 + timedelta(seconds=(mono - self._mono0) * self._speed)

    def pause(self) -> None:
        """Stop virtual time until `resume()`; pausing twice is harmless."""
        with self._lock:
            if self._paused_at is None:
                self._paused_at = self._monotonic()

    def resume(self) -> None:
        """Let virtual time run again from where it stood when paused."""
        with self._lock:
            if self._paused_at is not None:
                mono = self._monotonic()
                self._mono0 += mono - self._paused_at
                self._paused_at = None

    def set_speed(self, speed: float) -> None:
        """Run at `speed` from now on, without a jump in virtual time."""
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        with self._lock:
            mono = self._monotonic()
            self._virtual0 = self._virtual_at(mono)
            self._mono0 = mono
            if self._paused_at is not None:
                self._paused_at = mono
            self._speed = float(speed)

    def real_delay(self, virtual: datetime) -> float:
        """Real seconds from now until `virtual` arrives at the current speed (<= 0: passed).

        While paused, the delay is counted from the moment the clock resumes.
        """
        virtual = _aware(virtual, "virtual")
        with self._lock:
            ahead = (virtual - self._virtual_at(self._monotonic())).total_seconds()
            return ahead / self._speed

    def to_real(self, virtual: datetime) -> datetime:
        """The wall-clock (UTC) instant at which `virtual` arrives at the current speed.

        Rounded up by a millisecond: a wake-up a hair early would find the timer not yet due.
        A later speed change moves the instant; the alarm clock's periodic sweep fires anything
        due by then, so a timer is at worst one sweep late, never lost.
        """
        return self._wall() + timedelta(seconds=self.real_delay(virtual) + WAKE_MARGIN)
