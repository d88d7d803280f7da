"""The timer port: what the alarm clock (engine.scheduler) needs from the timers use case."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import Protocol

from engine.domain.model import Timer


@dataclass(frozen=True)
class FireResult:
    """What firing one timer did."""

    fired: bool
    reason: str = ""
    late_seconds: float = 0.0
    messages: int = 0
    armed: tuple[Timer, ...] = ()  # timers the firing armed (committed with it)


class TimerFiring(Protocol):
    """What the alarm clock (engine.scheduler) needs: fire timers and read the open ones.

    Implemented by `engine.service.timers.TimerRunner`; the scheduler never imports the
    service layer.
    """

    def fire(self, timer_id: str) -> FireResult: ...

    def fire_due(self, limit: int = 500) -> builtins.list[FireResult]: ...

    def timer(self, timer_id: str) -> Timer: ...

    def open_timers(self) -> builtins.list[Timer]: ...
