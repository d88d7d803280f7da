"""Approval requests as the recorder writes them: opening one, telling approvers (and those
`on_expire` names) about it, carrying a per-slot request into the state its own part led to,
and withdrawing requests when the incident leaves their state.

`Recorder` (engine.service.recorder) inherits these; gates and timers reach them through it.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import replace

from engine.definition.deputies import gate_deputies
from engine.definition.schema import Gate
from engine.domain.model import (
    Approval,
    ApprovalDecision,
    ApprovalStatus,
    Message,
    StoredRecipient,
)
from engine.domain.outcome import Actor, NotifyIntent, Outcome
from engine.service.addressing import dedupe
from engine.service.approval_view import approval_context, open_slot, slot_of
from engine.service.context import TxContext
from engine.service.effects import approval_timers, build_messages
from engine.service.event_log import log_event
from engine.service.link_signer import LinkSigner


def new_approval_id() -> str:
    """Short enough to read out on the phone; unique enough per installation."""
    return f"A-{uuid.uuid4().hex[:8]}"


class ApprovalRequests:
    """The approval half of the recorder; `public_url` and `links` are the recorder's."""

    public_url: str
    links: LinkSigner | None

    def request_approval(
        self, ctx: TxContext, outcome: Outcome, actor: Actor, *, approval_id: str | None = None
    ) -> str:
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
            id=approval_id or new_approval_id(),
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
            incident,
            approval.id,
            [r.after for r in gate.remind],
            gate.expires,
            now,
            gate.escalate_to_deputy_after,
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
        self,
        ctx: TxContext,
        approval: Approval,
        intents: list[NotifyIntent],
        cause: str,
        *,
        skip: Collection[str] = (),
    ) -> int:
        """Write the messages about a request; `to_approvers` reaches those the gate asks now.

        Those asked are who may still decide, but a gate that escalates to deputies asks only
        its principals until `escalate_to_deputy_after` has passed (see `asked_now`); `skip`
        names people not to ask again (the deputies' escalation skips those asked first).
        With decision links (a public URL is set), or when only some of those who may decide
        are asked, each approver gets their own message (with their own link); the other
        notifications (the operators' overdue notice) name everyone who may decide with their
        phone numbers.
        """
        open_slots = [slot_of(slot) for slot in approval.slots if slot.is_open]
        people = ctx.directory.people
        names = {pid: p.name for pid, p in people.items()}
        deciders = dedupe(ctx.addressing.for_slots(open_slots))
        who = [people[r.person_id] for r in deciders if r.person_id and r.person_id in people]
        contacts = "; ".join(f"{p.name} ({p.phone})" if p.phone else p.name for p in who)
        asked = [r for r in asked_now(ctx, approval, deciders) if r.person_id not in skip]
        one_by_one = self.links is not None or len(asked) < len(deciders)
        personal = [i for i in intents if i.notify.to_approvers] if one_by_one else []
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
        requester = people.get(approval.requested_by)
        if requester is not None and requester.email and any(i.notify.to_requester for i in shared):
            # `to_requester`: the person who asked is told too (once, if also in the audience),
            # on the channels that address people.
            me = StoredRecipient(requester.email, requester.name, requester.id)
            wanted = {f"{cause} ({i.origin})" for i in shared if i.notify.to_requester}
            for message in messages:
                if message.cause in wanted and (message.recipients or message.kind == "email"):
                    message.recipients = dedupe([*message.recipients, me])
        if personal:
            for recipient in asked:
                if recipient.person_id is None:
                    continue
                url = (
                    self.links.issue(ctx.uow, approval, recipient.person_id, ctx.now)
                    if self.links is not None
                    else None
                )
                messages += build(personal, url, recipient)
        ctx.uow.messages.add_many(messages)
        return len(messages)

    def carry_approval(self, ctx: TxContext, approval: Approval) -> None:
        """A per-slot request whose own part moved the incident lives on in the new state: its
        reminders and expiry are armed again in the new epoch, and, since decision links name
        the state they were made in, those still to decide get a new link."""
        t = next(t for t in ctx.definition.workflow.transitions if t.trigger == approval.trigger)
        assert t.gate is not None
        approval.state_epoch = ctx.incident.state_epoch
        ctx.uow.approvals.update(approval)
        timers = approval_timers(
            ctx.incident,
            approval.id,
            [r.after for r in t.gate.remind],
            t.gate.expires,
            approval.requested_at,
            t.gate.escalate_to_deputy_after,
        )
        ctx.uow.timers.add_many([timer for timer in timers if timer.due_at > ctx.now])
        if self.links is not None and t.gate.notify is not None and t.gate.notify.to_approvers:
            intent = NotifyIntent(t.gate.notify, f"{approval.trigger}.gate.notify")
            self.notify_approvers(ctx, approval, [intent], f"approval_carried:{approval.id}")

    @staticmethod
    def withdraw_approvals(ctx: TxContext, *, reason: str, keep: str | None = None) -> None:
        """Requests made in a state the incident leaves can no longer be decided (but `keep`)."""
        uow, incident, now = ctx.uow, ctx.incident, ctx.now
        for approval in uow.approvals.list(incident.id, status=ApprovalStatus.PENDING):
            if approval.id == keep:
                continue
            approval.status = ApprovalStatus.WITHDRAWN
            approval.decided_at = now
            approval.decisions.append(ApprovalDecision(at=now.isoformat(), withdrawn=reason))
            uow.approvals.update(approval)
            uow.timers.cancel(incident.id, key_prefix=f"approval:{approval.id}:", now=now)


def gate_of(ctx: TxContext, trigger: str) -> Gate:
    """The gate of a gated trigger (a request exists only for one)."""
    gate = next(t.gate for t in ctx.definition.workflow.transitions if t.trigger == trigger)
    assert gate is not None
    return gate


def asked_first(
    ctx: TxContext, gate: Gate, deciders: list[StoredRecipient]
) -> list[StoredRecipient]:
    """Of those who may decide, the ones a deputy-escalating gate asks first: people holding
    one of its principal roles themselves (a vice chair counts as a chair only as a deputy)."""
    principals = (set(gate.any_of) - gate_deputies(ctx.definition.workflow, gate)) | set(
        gate.all_of
    )
    people = ctx.directory.people
    return [
        r
        for r in deciders
        if r.person_id is not None
        and r.person_id in people
        and principals & set(people[r.person_id].roles)
    ]


def asked_now(
    ctx: TxContext, approval: Approval, deciders: list[StoredRecipient]
) -> list[StoredRecipient]:
    """Whom the request asks at `ctx.now`: everyone who may decide, except that a gate with
    `escalate_to_deputy_after` asks only its principals until that time has passed. When no
    principal can be reached at all, the deputies are asked at once rather than nobody."""
    gate = gate_of(ctx, approval.trigger)
    after = gate.escalate_to_deputy_after
    if after is None or ctx.now >= approval.requested_at + after:
        return deciders
    return asked_first(ctx, gate, deciders) or deciders
