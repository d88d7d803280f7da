"""Recording an outcome: the one place that writes what the evaluator decided.

Commands, decisions and timers all end here: the state change, the event, the outbox rows and
timers, approval requests for gated outcomes, and the plan's automatic rules that now hold —
all in the caller's transaction (`TxContext`). None of those use cases imports another's class;
they share this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from engine.domain.model import Approval
from engine.domain.outcome import SYSTEM_ACTOR, Actor, NotifyIntent, Outcome
from engine.errors import NotFound
from engine.service.approval_requests import ApprovalRequests, new_approval_id
from engine.service.approval_view import decision_context
from engine.service.context import TxContext
from engine.service.effects import build_messages, state_timers
from engine.service.event_log import log_event, note_event
from engine.service.link_signer import LinkSigner

# Use cases import these from here: the recorder is where events are written.
__all__ = ["MAX_RULE_DEPTH", "Recorder", "log_event", "new_approval_id", "note_event"]

MAX_RULE_DEPTH = 10


class Recorder(ApprovalRequests):
    """Writes outcomes, approval requests and rules into the caller's transaction."""

    def __init__(self, *, public_url: str = "", links: LinkSigner | None = None) -> None:
        self.public_url = public_url
        # Personal decision links need a public address to point at.
        self.links = links if public_url else None

    def settle(
        self,
        ctx: TxContext,
        outcome: Outcome,
        actor: Actor,
        *,
        extra: Mapping[str, Any] | None = None,
    ) -> tuple[int, str | None]:
        """Apply `outcome`, or open an approval request when a gate holds it back.

        Returns (messages written, the approval id when the outcome is pending).
        """
        pending = outcome.pending
        if pending is None:
            return self.apply(ctx, outcome, actor, extra=extra), None
        if pending.gate.apply != "per_slot" or not pending.filled:
            return 0, self.request_approval(ctx, outcome, actor)
        # A per-slot gate: what the requester could decide themselves takes effect now, and
        # the request (opened in the state that leaves) waits for the rest.
        approval_id = new_approval_id()
        values = [v for i in pending.filled for v in sorted(pending.slots[i].subregions or ())]
        count = self.apply_part(ctx, outcome.trigger, outcome.changes, values, actor, approval_id)
        return count, self.request_approval(ctx, outcome, actor, approval_id=approval_id)

    def apply(
        self,
        ctx: TxContext,
        outcome: Outcome,
        actor: Actor,
        *,
        extra: Mapping[str, Any] | None = None,
        keep: Approval | None = None,
    ) -> int:
        """Apply a completed outcome (and the rules it sets off) to the incident.

        `keep` is an approval request that survives the state change (a per-slot request
        whose own part moved the incident: the rest of it is still to decide).
        """
        kind = "update" if outcome.internal else "transition"
        count = self.record(ctx, outcome, actor, kind=kind, extra=extra, keep=keep)
        return count + self.run_rules(ctx)

    def apply_part(
        self,
        ctx: TxContext,
        trigger: str,
        payload: Mapping[str, Any],
        values: list[str],
        actor: Actor,
        approval_id: str,
        keep: Approval | None = None,
    ) -> int:
        """A per-slot gate's decided part: the trigger applied for `values` of the scope field.

        The first part applies the gated trigger itself (e.g. Fyrbodal enters the partial
        reserve routine); once that has moved the incident, later parts apply the gate's
        `join` trigger (Skaraborg is added to it). Returns the messages written.
        """
        incident, evaluator = ctx.incident, ctx.evaluator
        t = next(t for t in ctx.definition.workflow.transitions if t.trigger == trigger)
        assert t.gate is not None and t.gate.scope is not None
        if not evaluator.candidates(trigger, incident.state) and t.gate.join is not None:
            trigger = t.gate.join
        outcome = evaluator.evaluate(
            state=incident.state,
            data=incident.data,
            flags=incident.flags,
            trigger=trigger,
            actor=SYSTEM_ACTOR,
            changes={**payload, t.gate.scope.field: values},
            now=ctx.now,
            approved=True,
        )
        extra = {
            "approval_id": approval_id,
            "requested_by": keep.requested_by if keep is not None else actor.id,
            "part": {t.gate.scope.field: values},
        }
        return self.apply(ctx, outcome, actor, extra=extra, keep=keep)

    def record(
        self,
        ctx: TxContext,
        outcome: Outcome,
        actor: Actor,
        *,
        kind: str,
        extra: Mapping[str, Any] | None = None,
        keep: Approval | None = None,
    ) -> int:
        """Write one outcome: state, event, messages and timers; returns the messages written."""
        uow, incident, now = ctx.uow, ctx.incident, ctx.now
        from_state = outcome.source
        incident.data = dict(outcome.data)
        incident.flags = sorted(outcome.flags)
        incident.updated_at = now
        if outcome.leaves_state:
            uow.timers.cancel(incident.id, state_epoch=incident.state_epoch, now=now)
            self.withdraw_approvals(
                ctx, reason=f"left state {from_state}", keep=keep.id if keep else None
            )
            incident.state = outcome.dest
            incident.state_epoch += 1
            if keep is not None:
                self.carry_approval(ctx, keep)
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
            # Every use case saves `ctx.incident` (loaded under lock) in this transaction.
            saved_with_incident=True,
            data=ctx.attributed(
                actor.id, {"changes": dict(outcome.changes), **(dict(extra) if extra else {})}
            ),
        )
        messages = build_messages(
            ctx.definition,
            incident,
            carried_only(ctx, outcome.notifications),
            addressing=ctx.addressing,
            now=now,
            cause=f"{kind}:{outcome.trigger}",
            public_url=self.public_url,
            decision=self._decision(ctx, outcome, actor, keep, extra),
        )
        uow.messages.add_many(messages)
        timers = state_timers(incident, outcome.arm_timers + outcome.reset_timers, now)
        # A reset must not re-arm a deadline that has already passed and fired (an `at` timer
        # whose field did not change): the operators were told once, and the row exists.
        uow.timers.add_many([t for t in timers if t.due_at > now or not uow.timers.has_fired(t)])
        if incident.state in ctx.evaluator.final_states:
            incident.closed = True
            uow.timers.cancel(incident.id, now=now)
        return len(messages)

    @staticmethod
    def _decision(
        ctx: TxContext,
        outcome: Outcome,
        actor: Actor,
        keep: Approval | None,
        extra: Mapping[str, Any] | None,
    ) -> dict[str, Any] | None:
        """Who decided a gated outcome, for the messages that announce it (None: ungated)."""
        if outcome.transition.gate is None:
            return None
        approval = keep
        approval_id = (extra or {}).get("approval_id")
        if approval is None and approval_id:
            try:
                approval = ctx.uow.approvals.get(str(approval_id))
            except NotFound:  # a requester's own part: the request opens right after it
                approval = None
        return decision_context(
            ctx.definition,
            ctx.directory.people,
            trigger=outcome.trigger,
            decider_id=actor.id,
            at=ctx.now,
            approval=approval,
        )

    def run_rules(self, ctx: TxContext) -> int:
        """Fire the plan's automatic rules that now hold, as the system, in this transaction."""
        incident, evaluator = ctx.incident, ctx.evaluator
        count = 0
        for _ in range(MAX_RULE_DEPTH):
            due = evaluator.rules_due(
                incident.state, incident.data, incident.flags, incident.fired_rules, ctx.now
            )
            if not due:
                return count
            rule_id = due[0]
            rule = next(r for r in ctx.definition.workflow.rules if r.id == rule_id)
            incident.fired_rules = [*incident.fired_rules, rule_id]
            outcome = evaluator.evaluate(
                state=incident.state,
                data=incident.data,
                flags=incident.flags,
                trigger=rule.fire,
                actor=SYSTEM_ACTOR,
                changes={},
                now=ctx.now,
            )
            if outcome.pending is not None:
                self.request_approval(ctx, outcome, SYSTEM_ACTOR)
                continue
            count += self.record(ctx, outcome, SYSTEM_ACTOR, kind="rule", extra={"rule": rule_id})
        return count


def carried_only(ctx: TxContext, intents: tuple[NotifyIntent, ...]) -> list[NotifyIntent]:
    """Notifications with `carried: true` keep only the channels that already carried a message
    of this incident (a correction goes where the mistaken message went, and nowhere else)."""
    if not any(i.notify.carried for i in intents):
        return list(intents)
    used = {m.channel for m in ctx.uow.messages.list(ctx.incident.id)}
    out = []
    for intent in intents:
        if not intent.notify.carried:
            out.append(intent)
            continue
        channels = [c for c in intent.notify.channels if c in used]
        if channels:
            notify = intent.notify.model_copy(update={"channels": channels})
            out.append(replace(intent, notify=notify))
    return out
