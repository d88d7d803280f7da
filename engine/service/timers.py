"""What happens when a timer falls due: reminders, deadlines, repeating updates, follow-up.

The timers table is the truth (DESIGN.md §2); this module is the use case that acts on one row.
Firing is a compare-and-set on `fired_at`, so two wake-ups of the same timer (APScheduler and
the sweep, or two workers) act once. A state timer whose state epoch has passed is dropped.
A timer that fell due while nothing ran fires once, late, and the log says how late.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from engine.definition.schema import TimerDef
from engine.domain.machine import evaluator_for
from engine.domain.model import REQUESTED, Incident, Timer
from engine.domain.outcome import SYSTEM_ACTOR, NotifyIntent
from engine.errors import CommandError, Conflict, DriftplanError, NotFound
from engine.service.effects import build_messages


@dataclass(frozen=True)
class FireResult:
    """What firing one timer did."""

    fired: bool
    reason: str = ""
    late_seconds: float = 0.0
    messages: int = 0
    armed: tuple[Timer, ...] = ()  # timers the firing armed (committed with it)


def next_due(due: datetime, every: timedelta, now: datetime) -> datetime:
    """The next repetition strictly after `now`: missed repetitions coalesce into one firing."""
    steps = max(1, int((now - due) / every) + 1)
    return due + every * steps


class TimerRunner:
    """Fires timers through the service's transactions."""

    def __init__(self, service: Any) -> None:
        self.service = service

    def fire(self, timer_id: str) -> FireResult:
        """Fire one timer if it is still open and due; safe to call any number of times."""
        service = self.service
        now = service.clock.now()
        try:
            with service.db.unit_of_work() as uow:
                timer = uow.timers.get(timer_id)
                if timer.fired_at is not None or timer.cancelled_at is not None:
                    return FireResult(False, "already fired or cancelled")
                if timer.due_at > now:
                    return FireResult(False, "not due yet")
                incident = uow.incidents.get(timer.incident_id, for_update=True)
                if timer.state_epoch != incident.state_epoch:
                    uow.timers.cancel(
                        incident.id, key_prefix=timer.key, now=now, state_epoch=timer.state_epoch
                    )
                    uow.commit()
                    return FireResult(False, "the incident has left the timer's state")
                if not uow.timers.fire(timer.id, now):
                    return FireResult(False, "another process fired it")
                late = max(0.0, (now - timer.due_at).total_seconds())
                count = self._act(uow, incident, timer, now, late)
                uow.incidents.update(incident)
                uow.commit()
                armed = tuple(uow.timers.armed)
                return FireResult(True, late_seconds=late, messages=count, armed=armed)
        except (Conflict, NotFound) as exc:
            # A command changed the incident meanwhile: the timer stays open, the next
            # wake-up or sweep fires it against the new state.
            return FireResult(False, str(exc))
        except DriftplanError as exc:
            # The plan cannot act on this timer (e.g. a reminder whose template lacks content):
            # retrying every sweep would change nothing, so it is marked fired and the failure
            # goes in the incident's log where operators see it.
            return self._failed(timer_id, now, exc)

    def _failed(self, timer_id: str, now: datetime, error: DriftplanError) -> FireResult:
        with self.service.db.unit_of_work() as uow:
            timer = uow.timers.get(timer_id)
            if not uow.timers.fire(timer.id, now):
                return FireResult(False, "another process fired it")
            incident = uow.incidents.get(timer.incident_id, for_update=True)
            self._log(
                uow, incident, now, "timer_failed", None, {"timer": timer.key, "error": str(error)}
            )
            uow.commit()
        return FireResult(False, f"failed: {error}")

    def _act(self, uow: Any, incident: Incident, timer: Timer, now: datetime, late: float) -> int:
        kind = timer.payload.get("kind")
        definition = self.service.definition_of(uow, incident)
        evaluator = evaluator_for(definition)
        event = {
            "timer": timer.key,
            "due_at": timer.due_at.isoformat(),
            "late_seconds": round(late, 3),
        }
        if kind == "approval_reminder":
            approval = uow.approvals.get(timer.payload["approval"])
            if approval.status != REQUESTED:
                return 0
            t = next(t for t in definition.workflow.transitions if t.trigger == approval.trigger)
            assert t.gate is not None
            reminder = t.gate.remind[int(timer.payload["index"])]
            self._log(uow, incident, now, "reminder", approval.trigger, event)
            return int(
                self.service.gates.notify(
                    uow,
                    definition,
                    evaluator,
                    incident,
                    approval,
                    [NotifyIntent(reminder.notify, f"{approval.trigger}.gate.remind")],
                    now,
                    f"timer:{timer.key}",
                )
            )
        if kind == "approval_expire":
            self.service.gates.expire(uow, incident, timer.payload["approval"], now)
            return 0
        state = definition.workflow.states[timer.payload["state"]]
        spec: TimerDef = next(t for t in state.timers if t.id == timer.payload["timer"])
        self._log(uow, incident, now, "timer", spec.fire, event)
        count = 0
        if spec.notify is not None:
            messages = build_messages(
                definition,
                incident,
                [NotifyIntent(spec.notify, f"timer:{spec.id}")],
                addressing=self.service.addressing(uow, evaluator),
                now=now,
                cause=f"timer:{timer.key}",
                public_url=self.service.public_url,
            )
            uow.messages.add_many(messages)
            count += len(messages)
        if spec.every is not None:
            uow.timers.add(
                Timer(
                    id=uuid.uuid4().hex,
                    incident_id=incident.id,
                    key=timer.key,
                    due_at=next_due(timer.due_at, spec.every, now),
                    state_epoch=timer.state_epoch,
                    payload=dict(timer.payload),
                )
            )
        if spec.fire is not None:
            count += self._fire_trigger(uow, definition, evaluator, incident, spec.fire, now)
        return count

    def _fire_trigger(
        self,
        uow: Any,
        definition: Any,
        evaluator: Any,
        incident: Incident,
        trigger: str,
        now: datetime,
    ) -> int:
        try:
            outcome = evaluator.evaluate(
                state=incident.state,
                data=incident.data,
                flags=incident.flags,
                trigger=trigger,
                actor=SYSTEM_ACTOR,
                changes={},
                now=now,
            )
        except CommandError as exc:
            self._log(uow, incident, now, "timer_skipped", trigger, {"reason": str(exc)})
            return 0
        if outcome.pending is not None:
            self.service.gates.request(
                uow, definition, evaluator, incident, outcome, SYSTEM_ACTOR, now
            )
            return 0
        return int(
            self.service.apply(
                uow,
                definition,
                evaluator,
                incident,
                outcome,
                SYSTEM_ACTOR,
                now,
                extra={"by": "timer"},
            )
        )

    @staticmethod
    def _log(
        uow: Any,
        incident: Incident,
        now: datetime,
        kind: str,
        trigger: str | None,
        data: dict[str, Any],
    ) -> None:
        uow.events.append(
            incident,
            actor=SYSTEM_ACTOR.id,
            kind=kind,
            trigger=trigger,
            from_state=incident.state,
            to_state=incident.state,
            at=now,
            data=data,
        )

    def fire_due(self, limit: int = 500) -> list[FireResult]:
        """Fire every timer that is due now (the sweep; also what `worker --once` does)."""
        now = self.service.clock.now()
        with self.service.db.unit_of_work(read_only=True) as uow:
            due = [t.id for t in uow.timers.due(now)][:limit]
        return [self.fire(timer_id) for timer_id in due]
