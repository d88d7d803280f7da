"""Decision gates: approval requests, decisions, phone decisions, reminders and expiry.

A gated trigger does not happen when fired: it becomes a request that names who may decide.
Each request has slots (one per decision needed, e.g. one per sub-region); an approver fills
the slots their role and sub-region cover; when every slot is approved the trigger is applied
with the data it was fired with. A rejection ends the request. Leaving the state the request
was made in withdraws it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from engine.definition.loader import Definition
from engine.definition.schema import localized
from engine.domain.fields import format_time
from engine.domain.machine import Evaluator, evaluator_for
from engine.domain.model import (
    APPROVED,
    EXPIRED,
    REJECTED,
    REQUESTED,
    WITHDRAWN,
    Approval,
    Incident,
)
from engine.domain.outcome import SYSTEM_ACTOR, Actor, NotifyIntent, Outcome, Slot
from engine.errors import ApprovalError, NotAuthorized
from engine.service.effects import approval_timers, build_messages

if TYPE_CHECKING:
    from engine.service.commands import CommandResult, Service


def _slot(raw: dict[str, Any]) -> Slot:
    subregions = raw.get("subregions")
    return Slot(frozenset(raw["roles"]), frozenset(subregions) if subregions is not None else None)


def _describe_slots(definition: Definition, slots: list[dict[str, Any]], language: str) -> str:
    parts = []
    for raw in slots:
        if raw.get("decision"):
            continue
        roles = " / ".join(
            localized(definition.workflow.roles[r].title, language)
            for r in raw["roles"]
            if r in definition.workflow.roles
        )
        if raw.get("subregions"):
            regions = ", ".join(
                localized(definition.workflow.subregions[s].title, language)
                for s in raw["subregions"]
                if s in definition.workflow.subregions
            )
            roles += f" ({regions})"
        parts.append(roles)
    return "; ".join(parts)


class GateKeeper:
    """Owns the life of approval requests; called by the service inside its transactions."""

    def __init__(self, service: Service) -> None:
        self.service = service

    def approval_context(
        self, definition: Definition, approval: Approval, incident: Incident
    ) -> dict[str, Any]:
        lang = definition.language
        t = next(t for t in definition.workflow.transitions if t.trigger == approval.trigger)
        title = localized(t.gate.title if t.gate and t.gate.title else t.title, lang) or t.trigger
        regions = [s for raw in approval.slots for s in (raw.get("subregions") or [])]
        url = ""
        if self.service.public_url:
            url = f"{self.service.public_url.rstrip('/')}/approvals/{approval.id}"
        return {
            "id": approval.id,
            "title": title,
            "trigger": approval.trigger,
            "approvers": _describe_slots(definition, approval.slots, lang),
            "requested_by": approval.requested_by,
            "requested_at": format_time(
                approval.requested_at.isoformat(), definition.workflow, lang
            ),
            "expires_at": format_time(approval.expires_at.isoformat(), definition.workflow, lang)
            if approval.expires_at
            else ("–" if lang == "sv" else "-"),
            "subregions": ", ".join(
                localized(definition.workflow.subregions[s].title, lang)
                for s in dict.fromkeys(regions)
                if s in definition.workflow.subregions
            ),
            "url": url,
        }

    def notify(
        self,
        uow: Any,
        definition: Definition,
        evaluator: Evaluator,
        incident: Incident,
        approval: Approval,
        intents: list[NotifyIntent],
        now: datetime,
        cause: str,
    ) -> int:
        open_slots = [_slot(raw) for raw in approval.slots if not raw.get("decision")]
        messages = build_messages(
            definition,
            incident,
            intents,
            addressing=self.service.addressing(uow, evaluator),
            now=now,
            cause=cause,
            approval=self.approval_context(definition, approval, incident),
            approver_slots=open_slots,
            public_url=self.service.public_url,
        )
        uow.messages.add_many(messages)
        return len(messages)

    def request(
        self,
        uow: Any,
        definition: Definition,
        evaluator: Evaluator,
        incident: Incident,
        outcome: Outcome,
        actor: Actor,
        now: datetime,
    ) -> str:
        """Create the approval request for a pending outcome; returns its id."""
        pending = outcome.pending
        assert pending is not None
        gate = pending.gate
        slots = []
        for index, slot in enumerate(pending.slots):
            raw: dict[str, Any] = slot.as_dict()
            if index in pending.filled:
                raw.update(decision=APPROVED, decided_by=actor.id, at=now.isoformat())
            slots.append(raw)
        approval = Approval(
            id=f"A-{uuid.uuid4().hex[:8]}",
            incident_id=incident.id,
            trigger=outcome.trigger,
            requested_by=actor.id,
            requested_at=now,
            payload=dict(outcome.changes),
            slots=slots,
            status=REQUESTED,
            expires_at=now + gate.expires if gate.expires else None,
            state_epoch=incident.state_epoch,
        )
        uow.approvals.add(approval)
        uow.events.append(
            incident,
            actor=actor.id,
            kind="approval_requested",
            trigger=outcome.trigger,
            from_state=incident.state,
            to_state=incident.state,
            at=now,
            data={"approval_id": approval.id, "slots": slots, "changes": dict(outcome.changes)},
        )
        for timer in approval_timers(
            incident, approval.id, [r.after for r in gate.remind], gate.expires, now
        ):
            uow.timers.add(timer)
        if gate.notify is not None:
            self.notify(
                uow,
                definition,
                evaluator,
                incident,
                approval,
                [NotifyIntent(gate.notify, f"{outcome.trigger}.gate.notify")],
                now,
                f"approval_requested:{approval.id}",
            )
        incident.updated_at = now
        return approval.id

    def withdraw_all(self, uow: Any, incident: Incident, now: datetime, *, reason: str) -> None:
        """Requests made in a state the incident leaves can no longer be decided."""
        for approval in uow.approvals.list(incident.id, status=REQUESTED):
            approval.status = WITHDRAWN
            approval.decided_at = now
            approval.decisions.append({"withdrawn": reason, "at": now.isoformat()})
            uow.approvals.update(approval)
            uow.timers.cancel(incident.id, key_prefix=f"approval:{approval.id}:", now=now)

    def decide(
        self,
        *,
        approval_id: str,
        actor_id: str,
        approve: bool,
        comment: str,
        on_behalf_of: str | None,
        reference: str | None,
    ) -> CommandResult:
        from engine.service.commands import CommandResult  # noqa: PLC0415  (service imports us)

        service = self.service
        now = service.clock.now()
        incident_id = ""
        try:
            with service.db.unit_of_work() as uow:
                approval = uow.approvals.get(approval_id)
                incident_id = approval.incident_id
                incident = uow.incidents.get(approval.incident_id, for_update=True)
                definition = service.definition_of(uow, incident)
                evaluator = evaluator_for(definition)
                recorder = service.actor(uow, actor_id)
                decider = self._decider(
                    uow, definition, recorder, on_behalf_of, reference, approval
                )
                self._check_open(uow, approval, incident, now)
                slots = [_slot(raw) for raw in approval.slots]
                mine = [
                    i
                    for i, raw in enumerate(approval.slots)
                    if not raw.get("decision") and evaluator.can_fill(decider, slots[i])
                ]
                if not mine:
                    raise NotAuthorized(
                        decider.name or decider.id,
                        f"decide {approval.id} ({approval.trigger})",
                        sorted(
                            {
                                r
                                for raw in approval.slots
                                if not raw.get("decision")
                                for r in raw["roles"]
                            }
                        ),
                        "Still to decide: "
                        + _describe_slots(definition, approval.slots, "en")
                        + ".",
                        action_sv=f"besluta om {approval.id} ({approval.trigger})",
                        detail_sv="Återstår att besluta: "
                        + _describe_slots(definition, approval.slots, "sv")
                        + ".",
                    )
                decision = APPROVED if approve else REJECTED
                record = {
                    "decision": decision,
                    "decided_by": decider.id,
                    "at": now.isoformat(),
                    "comment": comment,
                }
                if on_behalf_of:
                    record.update(recorded_by=recorder.id, reference=reference or "")
                for i in mine:
                    approval.slots[i] = {**approval.slots[i], **record}
                approval.decisions.append({**record, "slots": mine})
                uow.events.append(
                    incident,
                    actor=recorder.id,
                    kind="decision",
                    trigger=approval.trigger,
                    from_state=incident.state,
                    to_state=incident.state,
                    at=now,
                    data={"approval_id": approval.id, **record},
                )
                state = incident.state
                if not approve:
                    approval.status = REJECTED
                    approval.decided_at = now
                    uow.timers.cancel(incident.id, key_prefix=f"approval:{approval.id}:", now=now)
                elif all(raw.get("decision") == APPROVED for raw in approval.slots):
                    approval.status = APPROVED
                    approval.decided_at = now
                    uow.timers.cancel(incident.id, key_prefix=f"approval:{approval.id}:", now=now)
                    outcome = evaluator.evaluate(
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
                    service.apply(
                        uow,
                        definition,
                        evaluator,
                        incident,
                        outcome,
                        decider,
                        now,
                        extra={"approval_id": approval.id, "requested_by": approval.requested_by},
                    )
                    state = incident.state
                uow.approvals.update(approval)
                incident.updated_at = now
                uow.incidents.update(incident)
                uow.commit()
                result = (
                    "rejected"
                    if not approve
                    else ("approved" if approval.status == APPROVED else "recorded")
                )
                return CommandResult(result, state, incident.id, approval_id=approval.id)
        except NotAuthorized as err:
            if incident_id:
                service.log_refusal(incident_id, actor_id, f"decide:{approval_id}", err)
            raise

    def _decider(
        self,
        uow: Any,
        definition: Definition,
        recorder: Actor,
        on_behalf_of: str | None,
        reference: str | None,
        approval: Approval,
    ) -> Actor:
        if not on_behalf_of:
            return recorder
        t = next(t for t in definition.workflow.transitions if t.trigger == approval.trigger)
        allowed = t.gate.recordable_by if t.gate else []
        evaluator = evaluator_for(definition)
        if not evaluator.effective_roles(recorder) & set(allowed):
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
        return self.service.actor(uow, on_behalf_of)

    def _check_open(self, uow: Any, approval: Approval, incident: Incident, now: datetime) -> None:
        if approval.status != REQUESTED:
            raise ApprovalError(
                f"Approval {approval.id} is already {approval.status}; "
                f"fire '{approval.trigger}' again for a new request."
            )
        if approval.state_epoch != incident.state_epoch:
            raise ApprovalError(
                f"Approval {approval.id} no longer applies: the incident has "
                f"moved to '{incident.state}'."
            )
        if approval.expires_at is not None and approval.expires_at <= now:
            raise ApprovalError(
                f"Approval {approval.id} expired at {approval.expires_at.isoformat()}; "
                f"fire '{approval.trigger}' again for a new request."
            )

    def expire(self, uow: Any, incident: Incident, approval_id: str, now: datetime) -> None:
        """The expiry timer fell due: a still-pending request ends as expired.

        Takes the incident the caller loaded (and will save), never a second copy: two copies
        in one transaction would disagree about the head of the event chain.
        """
        approval = uow.approvals.get(approval_id)
        if approval.status != REQUESTED:
            return
        approval.status = EXPIRED
        approval.decided_at = now
        uow.approvals.update(approval)
        uow.timers.cancel(incident.id, key_prefix=f"approval:{approval.id}:", now=now)
        uow.events.append(
            incident,
            actor=SYSTEM_ACTOR.id,
            kind="approval_expired",
            trigger=approval.trigger,
            from_state=incident.state,
            to_state=incident.state,
            at=now,
            data={"approval_id": approval.id},
        )
