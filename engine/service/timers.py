"""What happens when a timer falls due: reminders, deadlines, repeating updates, follow-up.

The timers table is the truth (DESIGN.md §2); this module is the use case that acts on one row.
Firing is a compare-and-set on `fired_at`, so two wake-ups of the same timer (APScheduler and
the sweep, or two workers) act once. A state timer whose state epoch has passed is dropped.
A timer that fell due while nothing ran fires once, late, and the log says how late.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from engine.definition.schema import TimerDef
from engine.domain.model import ApprovalStatus, Timer
from engine.domain.outcome import SYSTEM_ACTOR, NotifyIntent
from engine.errors import CommandError, Conflict, DriftplanError, NotFound
from engine.ports import FireResult
from engine.service.context import TxContext
from engine.service.effects import build_messages
from engine.service.gates import GateKeeper
from engine.service.recorder import Recorder, log_event
from engine.service.workspace import Workspace


def next_due(due: datetime, every: timedelta, now: datetime) -> datetime:
    """The next repetition strictly after `now`: missed repetitions coalesce into one firing."""
    steps = max(1, int((now - due) / every) + 1)
    return due + every * steps


class TimerRunner:
    """Fires timers, each in one transaction."""

    def __init__(self, workspace: Workspace, recorder: Recorder, gates: GateKeeper) -> None:
        self.workspace = workspace
        self.recorder = recorder
        self.gates = gates

    def fire(self, timer_id: str) -> FireResult:
        """Fire one timer if it is still open and due; safe to call any number of times."""
        now = self.workspace.clock.now()
        try:
            with self.workspace.store.unit_of_work() as uow:
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
                count = self._act(self.workspace.context(uow, incident, now), timer, late)
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
        with self.workspace.store.unit_of_work() as uow:
            timer = uow.timers.get(timer_id)
            if not uow.timers.fire(timer.id, now):
                return FireResult(False, "another process fired it")
            incident = uow.incidents.get(timer.incident_id, for_update=True)
            ctx = self.workspace.context(uow, incident, now)
            log_event(ctx, "timer_failed", None, {"timer": timer.key, "error": str(error)})
            uow.incidents.update(incident)  # the chain's head moved on the object
            uow.commit()
        return FireResult(False, f"failed: {error}")

    def _act(self, ctx: TxContext, timer: Timer, late: float) -> int:
        kind = timer.payload.get("kind")
        event = {
            "timer": timer.key,
            "due_at": timer.due_at.isoformat(),
            "late_seconds": round(late, 3),
        }
        if kind == "approval_reminder":
            approval = ctx.uow.approvals.get(timer.payload["approval"])
            if approval.status != ApprovalStatus.PENDING:
                return 0
            workflow = ctx.definition.workflow
            t = next(t for t in workflow.transitions if t.trigger == approval.trigger)
            assert t.gate is not None
            reminder = t.gate.remind[int(timer.payload["index"])]
            log_event(ctx, "reminder", approval.trigger, event)
            return self.recorder.notify_approvers(
                ctx,
                approval,
                [NotifyIntent(reminder.notify, f"{approval.trigger}.gate.remind")],
                f"timer:{timer.key}",
            )
        if kind == "approval_expire":
            return self.gates.expire(ctx, timer.payload["approval"])
        if kind == "approval_escalate":
            return self.gates.escalate(ctx, timer.payload["approval"])
        state = ctx.definition.workflow.states[timer.payload["state"]]
        spec: TimerDef = next(t for t in state.timers if t.id == timer.payload["timer"])
        log_event(ctx, "timer", spec.fire, event)
        count = 0
        if spec.notify is not None:
            messages = build_messages(
                ctx.definition,
                ctx.incident,
                [NotifyIntent(spec.notify, f"timer:{spec.id}")],
                addressing=ctx.addressing,
                now=ctx.now,
                cause=f"timer:{timer.key}",
                public_url=self.workspace.public_url,
            )
            ctx.uow.messages.add_many(messages)
            count += len(messages)
        if spec.every is not None:
            ctx.uow.timers.add(
                Timer(
                    id=uuid.uuid4().hex,
                    incident_id=ctx.incident.id,
                    key=timer.key,
                    due_at=next_due(timer.due_at, spec.every, ctx.now),
                    state_epoch=timer.state_epoch,
                    payload=dict(timer.payload),
                )
            )
        if spec.fire is not None:
            count += self._fire_trigger(ctx, spec.fire)
        return count

    def _fire_trigger(self, ctx: TxContext, trigger: str) -> int:
        incident = ctx.incident
        try:
            outcome = ctx.evaluator.evaluate(
                state=incident.state,
                data=incident.data,
                flags=incident.flags,
                trigger=trigger,
                actor=SYSTEM_ACTOR,
                changes={},
                now=ctx.now,
            )
        except CommandError as exc:
            log_event(ctx, "timer_skipped", trigger, {"reason": str(exc)})
            return 0
        count, _ = self.recorder.settle(ctx, outcome, SYSTEM_ACTOR, extra={"by": "timer"})
        return count

    def timer(self, timer_id: str) -> Timer:
        """One timer as stored."""
        with self.workspace.store.unit_of_work(read_only=True) as uow:
            return uow.timers.get(timer_id)

    def open_timers(self) -> list[Timer]:
        """Every timer not yet fired or cancelled (what the alarm clock schedules)."""
        with self.workspace.store.unit_of_work(read_only=True) as uow:
            return uow.timers.list_open()

    def fire_due(self, limit: int = 500) -> list[FireResult]:
        """Fire every timer that is due now (the sweep; also what `worker --once` does)."""
        now = self.workspace.clock.now()
        with self.workspace.store.unit_of_work(read_only=True) as uow:
            due = [t.id for t in uow.timers.due(now)][:limit]
        return [self.fire(timer_id) for timer_id in due]
