"""Use cases: declare, fire, decide, and the questions operators ask about incidents.

Each command is one transaction: the incident's new state, its event, approval, outbox and timer
rows commit together under an optimistic version check, or nothing does. Authorisation lives
here — every trigger's `allowed` roles, every gate's approvers and scope — and every refusal is
written to the incident's log before the error reaches the caller.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from engine.definition.loader import Definition
from engine.domain.fields import parse_payload
from engine.domain.machine import Evaluator, evaluator_for
from engine.domain.model import DIRECTORY_GENERATION, Incident
from engine.domain.outcome import SYSTEM_ACTOR, Actor, Outcome
from engine.errors import CommandError, NotAuthorized, NotFound
from engine.ports import Clock
from engine.service.effects import Addressing, DirectorySnapshot, build_messages, state_timers
from engine.service.gates import GateKeeper
from engine.service.plans import PlanLibrary
from engine.service.queries import IncidentQueries

T = TypeVar("T")
log = logging.getLogger(__name__)
MAX_RULE_DEPTH = 10


@dataclass(frozen=True)
class CommandResult:
    """What a command did: `done` or `pending_approval`, the state after, an approval id."""

    result: str
    state: str
    incident_id: str
    approval_id: str | None = None
    messages: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "result": self.result,
            "state": self.state,
            "approval_id": self.approval_id,
            "incident_id": self.incident_id,
        }


class Service(IncidentQueries):
    """The application's use cases; adapters are passed in (see engine.bootstrap)."""

    def __init__(
        self,
        *,
        database: Any,
        plans: PlanLibrary,
        clock: Clock,
        public_url: str = "",
    ) -> None:
        self.db = database
        self.plans = plans
        self.clock = clock
        self.public_url = public_url
        self.gates = GateKeeper(self)
        self._directory_cache: DirectorySnapshot | None = None

    # ------------------------------------------------------------------ helpers
    def directory(self, uow: Any) -> DirectorySnapshot:
        """The directory as of this transaction, from memory unless it changed since.

        Every command needs who acts and who is told; reading people, lists and subscribers
        each time cost more than the command's own writes. The store changes a generation
        marker with every directory or subscriber change, so one cheap read tells whether the
        copy in memory is still the truth (also when another process made the change).
        """
        snapshot: DirectorySnapshot | None = getattr(uow, "_driftplan_directory", None)
        if snapshot is not None:
            return snapshot
        generation = uow.meta.get(DIRECTORY_GENERATION)
        cached = self._directory_cache
        if cached is None or generation is None or cached.generation != generation:
            cached = DirectorySnapshot.load(uow, generation)
            self._directory_cache = cached
        uow._driftplan_directory = cached
        return cached

    def actor(self, uow: Any, person_id: str) -> Actor:
        """The directory person acting, or NotFound with the fix."""
        person = self.directory(uow).people.get(person_id)
        if person is None:
            raise NotFound(
                f"No person '{person_id}' in the directory. Import the directory with "
                "`driftplan directory import FILE` or check the id with "
                "`driftplan directory show`.",
                sv=f"Personen '{person_id}' finns inte i katalogen. Importera katalogen med "
                "`driftplan directory import FIL` eller kontrollera id:t med "
                "`driftplan directory show`.",
            )
        return Actor(person.id, frozenset(person.roles), person.subregion, person.name)

    def definition_of(self, uow: Any, incident: Incident) -> Definition:
        """The plan version the incident runs on; read from the database only once."""
        cached = self.plans.cached(incident.definition_sha256)
        if cached is not None:
            return cached
        return self.plans.pinned(
            incident.definition_sha256, uow.definitions.get(incident.definition_sha256)
        )

    def addressing(self, uow: Any, evaluator: Evaluator) -> Addressing:
        """Who is who, read once per transaction (a command may send many notifications)."""
        cached = getattr(uow, "_driftplan_addressing", None)
        if cached is not None and cached[0] is evaluator:
            return cached[1]  # type: ignore[no-any-return]
        addressing = self._load_addressing(uow, evaluator)
        uow._driftplan_addressing = (evaluator, addressing)
        return addressing

    def _load_addressing(self, uow: Any, evaluator: Evaluator) -> Addressing:
        snapshot = self.directory(uow)
        audiences = [n for n, a in evaluator.workflow.audiences.items() if a.subscribers]
        subscribers = {a: snapshot.subscribers.get(a, []) for a in audiences}
        return Addressing(snapshot.views, snapshot.lists, subscribers, evaluator.with_deputies)

    def log_refusal(self, incident_id: str, actor_id: str, trigger: str, err: CommandError) -> None:
        """Write a refusal to the incident's log in its own transaction, then let it raise."""
        with self.db.unit_of_work() as uow:
            try:
                incident = uow.incidents.get(incident_id)
            except NotFound:
                return
            uow.events.append(
                incident,
                actor=actor_id,
                kind="refused",
                trigger=trigger,
                from_state=incident.state,
                to_state=incident.state,
                data={"error": type(err).__name__, "message": str(err)},
                at=self.clock.now(),
            )
            uow.commit()

    def _with_refusal_log(
        self, incident_id: str, actor_id: str, trigger: str, body: Callable[[], T]
    ) -> T:
        try:
            return body()
        except NotAuthorized as err:
            self.log_refusal(incident_id, actor_id, trigger, err)
            raise

    # ----------------------------------------------------------------- commands
    def declare(
        self,
        *,
        actor_id: str,
        values: Mapping[str, Any],
        workflow: str | None = None,
        exercise: bool = False,
        trigger: str | None = None,
    ) -> CommandResult:
        """Create an incident through the plan's initial transition."""
        try:
            with self.db.unit_of_work() as uow:
                result = self._declare_in(uow, actor_id, values, workflow, exercise, trigger)
                uow.commit()
        except NotAuthorized as err:
            # No incident exists to hold this refusal in its chain; the application log does.
            log.warning("refused declaration by %s: %s", actor_id, err)
            raise
        return result

    def _declare_in(
        self,
        uow: Any,
        actor_id: str,
        values: Mapping[str, Any],
        workflow: str | None,
        exercise: bool,
        trigger: str | None,
    ) -> CommandResult:
        definition = self.plans.current(workflow)
        evaluator = evaluator_for(definition)
        initial = [t.trigger for t in definition.workflow.transitions if t.initial]
        name = trigger or initial[0]
        now = self.clock.now()
        actor = self.actor(uow, actor_id)
        changes = parse_payload(definition.workflow, values, now=now)
        outcome = evaluator.evaluate(
            state=None, data={}, flags=(), trigger=name, actor=actor, changes=changes, now=now
        )
        uow.definitions.save(
            definition.name, definition.version, definition.sha256, dict(definition.snapshot)
        )
        incident = Incident(
            id=self._new_id(now),
            workflow=definition.name,
            workflow_version=definition.version,
            definition_sha256=definition.sha256,
            state=outcome.dest,
            state_epoch=1,
            row_version=1,
            data=dict(outcome.data),
            flags=sorted(outcome.flags),
            fired_rules=[],
            created_at=now,
            updated_at=now,
            created_by=actor.id,
            exercise=exercise,
        )
        uow.incidents.add(incident)
        count = self._record(
            uow, definition, evaluator, incident, outcome, actor, now, kind="declare"
        )
        count += self._run_rules(uow, definition, evaluator, incident, now)
        uow.incidents.update(incident)
        return CommandResult("done", incident.state, incident.id, messages=count)

    def fire(
        self,
        *,
        incident_id: str,
        trigger: str,
        actor_id: str,
        values: Mapping[str, Any] | None = None,
    ) -> CommandResult:
        """Fire a trigger on an incident; a gated trigger may come back pending."""

        def body() -> CommandResult:
            return self._fire(incident_id, trigger, actor_id, values or {})

        return self._with_refusal_log(incident_id, actor_id, trigger, body)

    def _fire(
        self, incident_id: str, trigger: str, actor_id: str, values: Mapping[str, Any]
    ) -> CommandResult:
        with self.db.unit_of_work() as uow:
            result = self._fire_in(uow, incident_id, trigger, actor_id, values)
            uow.commit()
        return result

    def _fire_in(
        self, uow: Any, incident_id: str, trigger: str, actor_id: str, values: Mapping[str, Any]
    ) -> CommandResult:
        now = self.clock.now()
        incident = uow.incidents.get(incident_id, for_update=True)
        actor = self.actor(uow, actor_id)
        definition = self.definition_of(uow, incident)
        evaluator = evaluator_for(definition)
        changes = parse_payload(definition.workflow, values, now=now)
        outcome = evaluator.evaluate(
            state=incident.state,
            data=incident.data,
            flags=incident.flags,
            trigger=trigger,
            actor=actor,
            changes=changes,
            now=now,
        )
        if outcome.pending is not None:
            approval_id = self.gates.request(
                uow, definition, evaluator, incident, outcome, actor, now
            )
            uow.incidents.update(incident)
            return CommandResult(
                "pending_approval", incident.state, incident.id, approval_id=approval_id
            )
        count = self.apply(uow, definition, evaluator, incident, outcome, actor, now)
        uow.incidents.update(incident)
        return CommandResult("done", incident.state, incident.id, messages=count)

    def preview(
        self,
        *,
        actor_id: str,
        values: Mapping[str, Any],
        incident_id: str | None = None,
        trigger: str | None = None,
        workflow: str | None = None,
    ) -> dict[str, Any]:
        """Every message a command would send, and its result; nothing is committed or sent.

        The command runs for real inside a transaction that is rolled back, so the preview
        cannot drift from what firing does.
        """
        with self.db.unit_of_work() as uow:
            before = {m.id for m in uow.messages.list(incident_id)} if incident_id else set()
            if incident_id is None:
                result = self._declare_in(uow, actor_id, values, workflow, False, trigger)
            else:
                result = self._fire_in(uow, incident_id, trigger or "", actor_id, values)
            messages = [m for m in uow.messages.list(result.incident_id) if m.id not in before]
            uow.rollback()
        return {
            "result": result.result,
            "state": result.state,
            "messages": [
                {
                    "channel": m.channel,
                    "kind": m.kind,
                    "audience": m.audience,
                    "recipients": len(m.recipients),
                    "subject": m.subject,
                    "body": m.body_text,
                }
                for m in messages
            ],
        }

    def apply(
        self,
        uow: Any,
        definition: Definition,
        evaluator: Evaluator,
        incident: Incident,
        outcome: Outcome,
        actor: Actor,
        now: datetime,
        *,
        extra: Mapping[str, Any] | None = None,
    ) -> int:
        """Apply a completed outcome (and the rules it sets off) to the incident in `uow`."""
        kind = "update" if outcome.internal else "transition"
        count = self._record(
            uow, definition, evaluator, incident, outcome, actor, now, kind=kind, extra=extra
        )
        return count + self._run_rules(uow, definition, evaluator, incident, now)

    def _record(
        self,
        uow: Any,
        definition: Definition,
        evaluator: Evaluator,
        incident: Incident,
        outcome: Outcome,
        actor: Actor,
        now: datetime,
        *,
        kind: str,
        extra: Mapping[str, Any] | None = None,
    ) -> int:
        from_state = outcome.source
        incident.data = dict(outcome.data)
        incident.flags = sorted(outcome.flags)
        incident.updated_at = now
        if outcome.leaves_state:
            uow.timers.cancel(incident.id, state_epoch=incident.state_epoch, now=now)
            self.gates.withdraw_all(uow, incident, now, reason=f"left state {from_state}")
            incident.state = outcome.dest
            incident.state_epoch += 1
        if outcome.reset_timers:
            uow.timers.cancel(
                incident.id,
                state_epoch=incident.state_epoch,
                keys=[f"state:{incident.state}:{timer.id}" for timer in outcome.reset_timers],
                now=now,
            )
        uow.events.append(
            incident,
            actor=actor.id,
            kind=kind,
            trigger=outcome.trigger,
            from_state=from_state,
            to_state=incident.state,
            at=now,
            # Every caller of _record saves `incident` (loaded under lock) in this transaction.
            saved_with_incident=True,
            data={"changes": dict(outcome.changes), **(dict(extra) if extra else {})},
        )
        messages = build_messages(
            definition,
            incident,
            outcome.notifications,
            addressing=self.addressing(uow, evaluator),
            now=now,
            cause=f"{kind}:{outcome.trigger}",
            public_url=self.public_url,
        )
        uow.messages.add_many(messages)
        timers = state_timers(incident, outcome.arm_timers + outcome.reset_timers, now)
        # A reset must not re-arm a deadline that has already passed and fired (an `at` timer
        # whose field did not change): the operators were told once, and the row exists.
        uow.timers.add_many([t for t in timers if t.due_at > now or not uow.timers.has_fired(t)])
        if incident.state in evaluator.final_states:
            incident.closed = True
            uow.timers.cancel(incident.id, now=now)
        return len(messages)

    def _run_rules(
        self,
        uow: Any,
        definition: Definition,
        evaluator: Evaluator,
        incident: Incident,
        now: datetime,
    ) -> int:
        """Fire the plan's automatic rules that now hold, as the system, in this transaction."""
        count = 0
        for _ in range(MAX_RULE_DEPTH):
            due = evaluator.rules_due(
                incident.state, incident.data, incident.flags, incident.fired_rules, now
            )
            if not due:
                return count
            rule_id = due[0]
            rule = next(r for r in definition.workflow.rules if r.id == rule_id)
            incident.fired_rules = [*incident.fired_rules, rule_id]
            outcome = evaluator.evaluate(
                state=incident.state,
                data=incident.data,
                flags=incident.flags,
                trigger=rule.fire,
                actor=SYSTEM_ACTOR,
                changes={},
                now=now,
            )
            if outcome.pending is not None:
                self.gates.request(uow, definition, evaluator, incident, outcome, SYSTEM_ACTOR, now)
                continue
            count += self._record(
                uow,
                definition,
                evaluator,
                incident,
                outcome,
                SYSTEM_ACTOR,
                now,
                kind="rule",
                extra={"rule": rule_id},
            )
        return count

    def decide(
        self,
        *,
        approval_id: str,
        actor_id: str,
        approve: bool,
        comment: str = "",
        on_behalf_of: str | None = None,
        reference: str | None = None,
    ) -> CommandResult:
        """An approver decides a pending request (or an operator records a phone decision)."""
        return self.gates.decide(
            approval_id=approval_id,
            actor_id=actor_id,
            approve=approve,
            comment=comment,
            on_behalf_of=on_behalf_of,
            reference=reference,
        )

    @staticmethod
    def _new_id(now: datetime) -> str:
        # Readable on the phone and in mail subjects, unique without coordination.
        return f"{now:%Y%m%d}-{uuid.uuid4().hex[:6]}"
