"""What the evaluator decides, as plain values: actors, notifications, gate slots, outcomes.

No I/O and no behaviour beyond small views: the service turns these into rows, the evaluator
(`engine.domain.machine`) produces them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.definition.schema import Gate, Notify, TimerDef, TransitionDef

SYSTEM = "system"


@dataclass(frozen=True)
class Actor:
    """Who fires a trigger: a person from the directory, or the system (rules, timers)."""

    id: str
    roles: frozenset[str] = frozenset()
    subregion: str | None = None
    name: str = ""

    @property
    def is_system(self) -> bool:
        return self.id == SYSTEM


SYSTEM_ACTOR = Actor(SYSTEM, name="driftplan")


@dataclass(frozen=True)
class NotifyIntent:
    """A message the plan asks for; the service renders and records it in the outbox."""

    notify: Notify
    origin: str  # where in the plan it comes from, e.g. "states.outage.on_enter[1]"


@dataclass(frozen=True)
class Slot:
    """One decision a gate needs: an approver holding one of `roles` (in `subregions`)."""

    roles: frozenset[str]
    subregions: frozenset[str] | None = None


@dataclass(frozen=True)
class GateRequest:
    """A gated trigger waits for these decisions; `filled` are met by the actor already."""

    trigger: str
    gate: Gate
    slots: tuple[Slot, ...]
    filled: tuple[int, ...]

    @property
    def open_slots(self) -> tuple[int, ...]:
        return tuple(i for i in range(len(self.slots)) if i not in self.filled)


@dataclass(frozen=True)
class Outcome:
    """The full effect of a trigger, to be committed in one transaction."""

    trigger: str
    transition: TransitionDef
    source: str | None
    dest: str
    internal: bool
    data: Mapping[str, Any]  # the incident's data after the trigger's data is applied
    changes: Mapping[str, Any]  # the trigger's data as applied
    flags: frozenset[str]
    notifications: tuple[NotifyIntent, ...] = ()
    arm_timers: tuple[TimerDef, ...] = ()  # timers of the entered state
    reset_timers: tuple[TimerDef, ...] = ()  # timers restarted by this (internal) trigger
    leaves_state: bool = False  # timers and approvals of the old state epoch end
    pending: GateRequest | None = None  # set when the trigger waits for a decision

    @property
    def is_pending(self) -> bool:
        return self.pending is not None


@dataclass(frozen=True)
class CommandResult:
    """What a command did: `done` or `pending_approval`, the state after, an approval id."""

    result: str
    state: str
    incident_id: str
    approval_id: str | None = None
    messages: int = 0
