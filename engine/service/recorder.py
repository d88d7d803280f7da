"""Recording an outcome: the one place that writes what the evaluator decided.

Commands, decisions and timers all end here: the state change, the event, the outbox rows and
timers, approval requests for gated outcomes, and the plan's automatic rules that now hold —
all in the caller's transaction (`TxContext`). None of those use cases imports another's class;
they share this module.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from engine.domain.model import (
    Approval,
    ApprovalDecision,
    ApprovalStatus,
    Incident,
    Message,
    StoredRecipient,
)
from engine.domain.outcome import SYSTEM_ACTOR, Actor, NotifyIntent, Outcome
from engine.ports import UnitOfWork
from engine.service.addressing import dedupe
from engine.service.approval_view import approval_context, open_slot, slot_of
from engine.service.context import TxContext
from engine.service.effects import approval_timers, build_messages, state_timers
from engine.service.link_signer import LinkSigner

MAX_RULE_DEPTH = 10


def note_event(
    uow: UnitOfWork,
    incident: Incident,
    *,
    actor: str,
    kind: str,
    at: datetime,
    data: Mapping[str, Any],
    trigger: str | None = None,
) -> None:
    """Append an event that does not move the incident's state, outside a `TxContext`
    (the dispatcher, the outbox, a refusal written in its own transaction)."""
    uow.events.append(
        incident,
        actor=actor,
        kind=kind,
        trigger=trigger,
        from_state=incident.state,
        to_state=incident.state,
        at=at,
        data=data,
    )


def log_event(
    ctx: TxContext,
    kind: str,
    trigger: str | None,
    data: Mapping[str, Any],
    *,
    actor: str = SYSTEM_ACTOR.id,
) -> None:
    """Append an event that does not move the incident's state (a reminder, a decision, ...)."""
    note_event(
        ctx.uow,
        ctx.incident,
        actor=actor,
        kind=kind,
        at=ctx.now,
        data=ctx.attributed(actor, data),
        trigger=trigger,
    )


class Recorder:
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
        if outcome.pending is not None:
            return 0, self.request_approval(ctx, outcome, actor)
        return self.apply(ctx, outcome, actor, extra=extra), None

    def apply(
        self,
        ctx: TxContext,
        outcome: Outcome,
        actor: Actor,
        *,
        extra: Mapping[str, Any] | None = None,
    ) -> int:
        """Apply a completed outcome (and the rules it sets off) to the incident."""
        kind = "update" if outcome.internal else "transition"
        count = self.record(ctx, outcome, actor, kind=kind, extra=extra)
        return count + self.run_rules(ctx)

    def record(
        self,
        ctx: TxContext,
        outcome: Outcome,
        actor: Actor,
        *,
        kind: str,
        extra: Mapping[str, Any] | None = None,
    ) -> int:
        """Write one outcome: state, event, messages and timers; returns the messages written."""
        uow, incident, now = ctx.uow, ctx.incident, ctx.now
        from_state = outcome.source
        incident.data = dict(outcome.data)
        incident.flags = sorted(outcome.flags)
        incident.updated_at = now
        if outcome.leaves_state:
            uow.timers.cancel(incident.id, state_epoch=incident.state_epoch, now=now)
            self.withdraw_approvals(ctx, reason=f"left state {from_state}")
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
            # Every use case saves `ctx.incident` (loaded under lock) in this transaction.
            saved_with_incident=True,
            data=ctx.attributed(
                actor.id, {"changes": dict(outcome.changes), **(dict(extra) if extra else {})}
            ),
        )
        messages = build_messages(
            ctx.definition,
            incident,
            outcome.notifications,
            addressing=ctx.addressing,
            now=now,
            cause=f"{kind}:{outcome.trigger}",
            public_url=self.public_url,
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

    # ------------------------------------------------------------------ approvals
    def request_approval(self, ctx: TxContext, outcome: Outcome, actor: Actor) -> str:
        """Create the approval request for a pending outcome; returns its id.

        A gated trigger does not happen when fired: it becomes a request with one slot per
        decision needed (e.g. one per sub-region), which approvers fill (engine.service.gates).
        """
        pending = outcome.pending
        assert pending is not None
        gate, incident, now = pending.gate, ctx.incident, ctx.now
        slots = [open_slot(slot) for slot in pending.slots]
        for index in pending.filled:  # the requester may fill some by firing the trigger
            slots[index] = replace(
                slots[index],
                decision=ApprovalStatus.APPROVED,
                decided_by=actor.id,
                at=now.isoformat(),
            )
        approval = Approval(
            id=f"A-{uuid.uuid4().hex[:8]}",
            incident_id=incident.id,
            trigger=outcome.trigger,
            requested_by=actor.id,
            requested_at=now,
            payload=dict(outcome.changes),
            slots=slots,
            status=ApprovalStatus.PENDING,
            expires_at=now + gate.expires if gate.expires else None,
            state_epoch=incident.state_epoch,
        )
        ctx.uow.approvals.add(approval)
        log_event(
            ctx,
            "approval_requested",
            outcome.trigger,
            {
                "approval_id": approval.id,
                "slots": [slot.to_dict() for slot in slots],
                "changes": dict(outcome.changes),
            },
            actor=actor.id,
        )
        for timer in approval_timers(
            incident, approval.id, [r.after for r in gate.remind], gate.expires, now
        ):
            ctx.uow.timers.add(timer)
        if gate.notify is not None:
            self.notify_approvers(
                ctx,
                approval,
                [NotifyIntent(gate.notify, f"{outcome.trigger}.gate.notify")],
                f"approval_requested:{approval.id}",
            )
        incident.updated_at = now
        return approval.id

    def notify_approvers(
        self, ctx: TxContext, approval: Approval, intents: list[NotifyIntent], cause: str
    ) -> int:
        """Write the messages about a request; `to_approvers` reaches who may still decide.

        With decision links (a public URL is set), each approver gets their own message whose
        link is theirs alone; the other notifications (the operators' overdue notice) name the
        approvers with their phone numbers.
        """
        open_slots = [slot_of(slot) for slot in approval.slots if slot.is_open]
        people = ctx.directory.people
        names = {pid: p.name for pid, p in people.items()}
        deciders = dedupe(ctx.addressing.for_slots(open_slots))
        who = [people[r.person_id] for r in deciders if r.person_id and r.person_id in people]
        contacts = "; ".join(f"{p.name} ({p.phone})" if p.phone else p.name for p in who)
        personal = [i for i in intents if i.notify.to_approvers] if self.links else []
        shared = [i for i in intents if i not in personal]

        def build(
            group: list[NotifyIntent], url: str | None, only: StoredRecipient | None
        ) -> list[Message]:
            return build_messages(
                ctx.definition,
                ctx.incident,
                group,
                addressing=ctx.addressing,
                now=ctx.now,
                cause=cause,
                approval=approval_context(
                    ctx.definition,
                    approval,
                    self.public_url,
                    url=url,
                    names=names,
                    contacts=contacts,
                ),
                approver_slots=open_slots,
                public_url=self.public_url,
                only_recipient=only,
            )

        messages = build(shared, None, None) if shared else []
        if personal and self.links is not None:
            for recipient in deciders:
                if recipient.person_id is None:
                    continue
                url = self.links.issue(ctx.uow, approval, recipient.person_id, ctx.now)
                messages += build(personal, url, recipient)
        ctx.uow.messages.add_many(messages)
        return len(messages)

    @staticmethod
    def withdraw_approvals(ctx: TxContext, *, reason: str) -> None:
        """Requests made in a state the incident leaves can no longer be decided."""
        uow, incident, now = ctx.uow, ctx.incident, ctx.now
        for approval in uow.approvals.list(incident.id, status=ApprovalStatus.PENDING):
            approval.status = ApprovalStatus.WITHDRAWN
            approval.decided_at = now
            approval.decisions.append(ApprovalDecision(at=now.isoformat(), withdrawn=reason))
            uow.approvals.update(approval)
            uow.timers.cancel(incident.id, key_prefix=f"approval:{approval.id}:", now=now)
