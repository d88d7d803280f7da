"""Decision gates: decisions on approval requests, phone decisions, and expiry.

A request (opened by `engine.service.recorder`) names who may decide in slots; an approver fills
the slots their role and sub-region cover; when every slot is approved the trigger is applied
with the data it was fired with. A rejection ends the request. Leaving the state the request
was made in withdraws it. Reminders come from the timers (`engine.service.timers`), and so does
the moment a deputy-escalating gate asks its deputies too (`escalate`).
"""

from __future__ import annotations

from collections.abc import Mapping

from engine.definition.definition import Definition
from engine.domain.model import Approval, ApprovalDecision, ApprovalStatus
from engine.domain.outcome import SYSTEM_ACTOR, Actor, CommandResult, NotifyIntent
from engine.errors import ApprovalError, LinkRefused, NotAuthorized
from engine.ports import UnitOfWork
from engine.service.addressing import dedupe
from engine.service.approval_requests import asked_first, gate_of
from engine.service.approval_view import describe_slots, slot_of
from engine.service.context import TxContext
from engine.service.recorder import Recorder, log_event
from engine.service.workspace import Workspace


class GateKeeper:
    """Decides approval requests, each decision in one transaction."""

    def __init__(self, workspace: Workspace, recorder: Recorder) -> None:
        self.workspace = workspace
        self.recorder = recorder

    def decide(
        self,
        *,
        approval_id: str,
        actor_id: str,
        approve: bool,
        comment: str = "",
        on_behalf_of: str | None = None,
        reference: str | None = None,
        link_nonce: str | None = None,
        origin: Mapping[str, str] | None = None,
    ) -> CommandResult:
        """An approver decides a pending request (or an operator records a phone decision).

        `link_nonce` names the decision link the decision came by: it is used up in the same
        transaction, so a refused decision leaves it usable and two clicks decide once.
        `origin` adds to the process's origin in the event (how this decision arrived).
        """
        incident_id = {"id": ""}  # learnt inside the transaction, wanted by the refusal log

        def body() -> CommandResult:
            with self.workspace.store.unit_of_work() as uow:
                approval = uow.approvals.get(approval_id)
                incident_id["id"] = approval.incident_id
                if link_nonce is not None and not uow.accounts.use_link(
                    link_nonce, self.workspace.clock.now()
                ):
                    raise LinkRefused(
                        "used",
                        "This decision link has already been used.",
                        sv="Den här beslutslänken har redan använts.",
                    )
                result = self._decide_in(
                    uow, approval, actor_id, approve, comment, on_behalf_of, reference, origin
                )
                uow.commit()
                return result

        return self.workspace.refusals_logged(
            lambda: incident_id["id"], actor_id, f"decide:{approval_id}", body
        )

    def _decide_in(
        self,
        uow: UnitOfWork,
        approval: Approval,
        actor_id: str,
        approve: bool,
        comment: str,
        on_behalf_of: str | None,
        reference: str | None,
        origin: Mapping[str, str] | None,
    ) -> CommandResult:
        now = self.workspace.clock.now()
        incident = uow.incidents.get(approval.incident_id, for_update=True)
        ctx = self.workspace.context(uow, incident, now)
        if origin:
            ctx.origin = {**ctx.origin, **origin}
        recorder = self.workspace.actor_in(ctx.directory, actor_id)
        decider = self._decider(ctx, recorder, on_behalf_of, reference, approval)
        self._check_open(ctx, approval)
        mine = self._slots_of(ctx, decider, approval)
        entry = ApprovalDecision(
            at=now.isoformat(),
            decision=ApprovalStatus.APPROVED if approve else ApprovalStatus.REJECTED,
            decided_by=decider.id,
            comment=comment,
            recorded_by=recorder.id if on_behalf_of else None,
            reference=(reference or "") if on_behalf_of else None,
            slots=tuple(mine),
        )
        for i in mine:
            approval.slots[i] = approval.slots[i].filled(entry)
        approval.decisions.append(entry)
        log_event(
            ctx,
            "decision",
            approval.trigger,
            {"approval_id": approval.id, **entry.record()},
            actor=recorder.id,
        )
        if gate_of(ctx, approval.trigger).apply == "per_slot":
            result = self._decide_part(ctx, approval, mine, approve, decider)
        elif not approve:
            self._close(ctx, approval, ApprovalStatus.REJECTED)
            result = "rejected"
        elif all(slot.decision == ApprovalStatus.APPROVED for slot in approval.slots):
            self._close(ctx, approval, ApprovalStatus.APPROVED)
            outcome = ctx.evaluator.evaluate(
                state=incident.state,
                data=incident.data,
                flags=incident.flags,
                trigger=approval.trigger,
                actor=SYSTEM_ACTOR,
                changes=approval.payload,
                now=now,
                approved=True,
            )
            uow.approvals.update(approval)
            extra = {"approval_id": approval.id, "requested_by": approval.requested_by}
            self.recorder.apply(ctx, outcome, decider, extra=extra)
            result = "approved"
        else:
            result = "recorded"
        uow.approvals.update(approval)
        incident.updated_at = now
        uow.incidents.update(incident)
        return CommandResult(result, incident.state, incident.id, approval_id=approval.id)

    def _decide_part(
        self, ctx: TxContext, approval: Approval, mine: list[int], approve: bool, decider: Actor
    ) -> str:
        """A per-slot gate: this decision's slots take effect (or close) on their own.

        An approval applies the trigger for the decided sub-regions now (the first one moves
        the incident, later ones join through the gate's `join` trigger); a rejection closes
        only its slots. The request ends when no slot is open: approved when any part was.
        """
        if approve:
            regions = [s for i in mine for s in (approval.slots[i].subregions or ())]
            self.recorder.apply_part(
                ctx, approval.trigger, approval.payload, regions, decider, approval.id, approval
            )
        if not any(slot.is_open for slot in approval.slots):
            granted = any(s.decision == ApprovalStatus.APPROVED for s in approval.slots)
            self._close(
                ctx, approval, ApprovalStatus.APPROVED if granted else ApprovalStatus.REJECTED
            )
        return "approved" if approve else "rejected"

    @staticmethod
    def _close(ctx: TxContext, approval: Approval, status: ApprovalStatus) -> None:
        approval.status = status
        approval.decided_at = ctx.now
        ctx.uow.timers.cancel(ctx.incident.id, key_prefix=f"approval:{approval.id}:", now=ctx.now)

    @staticmethod
    def _slots_of(ctx: TxContext, decider: Actor, approval: Approval) -> list[int]:
        """The open slots `decider` may fill, or NotAuthorized naming who still has to decide."""
        mine = [
            i
            for i, slot in enumerate(approval.slots)
            if slot.is_open and ctx.evaluator.can_fill(decider, slot_of(slot))
        ]
        if mine:
            return mine
        definition: Definition = ctx.definition
        still_open = sorted({r for slot in approval.slots if slot.is_open for r in slot.roles})
        raise NotAuthorized(
            decider.name or decider.id,
            f"decide {approval.id} ({approval.trigger})",
            still_open,
            "Still to decide: " + describe_slots(definition, approval.slots, "en") + ".",
            action_sv=f"besluta om {approval.id} ({approval.trigger})",
            detail_sv="Återstår att besluta: "
            + describe_slots(definition, approval.slots, "sv")
            + ".",
        )

    def _decider(
        self,
        ctx: TxContext,
        recorder: Actor,
        on_behalf_of: str | None,
        reference: str | None,
        approval: Approval,
    ) -> Actor:
        if not on_behalf_of:
            return recorder
        workflow = ctx.definition.workflow
        t = next(t for t in workflow.transitions if t.trigger == approval.trigger)
        allowed = t.gate.recordable_by if t.gate else []
        if not ctx.evaluator.effective_roles(recorder) & set(allowed):
            raise NotAuthorized(
                recorder.name or recorder.id,
                f"record a decision on behalf of {on_behalf_of}",
                allowed,
                action_sv=f"registrera ett beslut för {on_behalf_of}",
            )
        if not reference or not reference.strip():
            raise ApprovalError(
                "A decision taken by phone needs a reference (e.g. the call time and number): "
                "add --reference TEXT.",
                sv="Ett beslut som fattats per telefon behöver en referens (t.ex. tid och "
                "nummer för samtalet): lägg till --reference TEXT.",
            )
        return self.workspace.actor_in(ctx.directory, on_behalf_of)

    @staticmethod
    def _check_open(ctx: TxContext, approval: Approval) -> None:
        incident = ctx.incident
        if approval.status != ApprovalStatus.PENDING:
            raise ApprovalError(
                f"Approval {approval.id} is already {approval.status}; "
                f"fire '{approval.trigger}' again for a new request."
            )
        if approval.state_epoch != incident.state_epoch:
            raise ApprovalError(
                f"Approval {approval.id} no longer applies: the incident has "
                f"moved to '{incident.state}'."
            )
        if approval.expires_at is not None and approval.expires_at <= ctx.now:
            raise ApprovalError(
                f"Approval {approval.id} expired at {approval.expires_at.isoformat()}; "
                f"fire '{approval.trigger}' again for a new request."
            )

    def expire(self, ctx: TxContext, approval_id: str) -> int:
        """The expiry timer fell due: a still-pending request ends as expired, and those the
        gate's `on_expire` names are told (with the approvers' phone numbers).

        Works on the incident the caller loaded (and will save), never a second copy: two
        copies in one transaction would disagree about the head of the event chain.
        Returns the messages written.
        """
        approval = ctx.uow.approvals.get(approval_id)
        if approval.status != ApprovalStatus.PENDING:
            return 0
        GateKeeper._close(ctx, approval, ApprovalStatus.EXPIRED)
        ctx.uow.approvals.update(approval)
        log_event(ctx, "approval_expired", approval.trigger, {"approval_id": approval.id})
        on_expire = gate_of(ctx, approval.trigger).on_expire
        if on_expire is None:
            return 0
        intent = NotifyIntent(on_expire.notify, f"{approval.trigger}.gate.on_expire")
        return self.recorder.notify_approvers(
            ctx, approval, [intent], f"approval_expired:{approval.id}"
        )

    def escalate(self, ctx: TxContext, approval_id: str) -> int:
        """`escalate_to_deputy_after` has passed: a still-pending request now asks the deputies
        too, with the gate's own request (and their own decision links), skipping those asked
        first. Returns the messages written."""
        approval = ctx.uow.approvals.get(approval_id)
        if approval.status != ApprovalStatus.PENDING:
            return 0
        gate = gate_of(ctx, approval.trigger)
        deciders = dedupe(
            ctx.addressing.for_slots([slot_of(s) for s in approval.slots if s.is_open])
        )
        first = {r.person_id for r in asked_first(ctx, gate, deciders) if r.person_id}
        # With no principal to ask, `asked_now` asked the deputies at the start already.
        everyone = {r.person_id for r in deciders if r.person_id}
        deputies = sorted(everyone - first) if first else []
        log_event(
            ctx,
            "approval_escalated",
            approval.trigger,
            {"approval_id": approval.id, "deputies": deputies},
        )
        if not deputies or gate.notify is None or not gate.notify.to_approvers:
            return 0
        intent = NotifyIntent(gate.notify, f"{approval.trigger}.gate.notify")
        return self.recorder.notify_approvers(
            ctx, approval, [intent], f"approval_escalated:{approval.id}", skip=first
        )
