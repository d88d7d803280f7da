"""Operator actions on the outbox (`driftplan outbox retry`): authorised, then logged.

Sending a dead letter again is an operator's decision like any other: the person must be in the
directory and hold a role the plan lets act on incidents (one that may fire some trigger, or a
deputy of one) or a role granted `may: [retry_deliveries]` (an administrator), and the
incident's log names them. A refusal is logged like any other. Only the failed recipients of
the message are tried again.
"""

from __future__ import annotations

from typing import Any

from engine.domain.model import Message, MessageStatus, RecipientStatus
from engine.errors import Conflict, NotAuthorized
from engine.service.recorder import note_event
from engine.service.workspace import Workspace


class Outbox:
    """What operators do with the outbox, each in one transaction."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    def dead_letters(self) -> list[Message]:
        """Messages that failed for good, for operators to look at or retry."""
        with self.workspace.store.unit_of_work(read_only=True) as uow:
            return uow.messages.list_dead()

    def health(self) -> dict[str, int]:
        """The outbox backlog: messages due now, retries scheduled later, dead letters."""
        with self.workspace.store.unit_of_work(read_only=True) as uow:
            counts = uow.messages.counts(self.workspace.clock.now())
        return {
            "outbox_due": counts["due"],
            "outbox_later": counts["later"],
            "dead_letters": counts["dead"],
        }

    def retry(self, message_id: str, actor_id: str) -> Message:
        """Requeue the dead letter `message_id` on behalf of `actor_id`, if they may act."""
        workspace = self.workspace
        with workspace.store.unit_of_work() as uow:
            message = uow.messages.get(message_id)
            incident = uow.incidents.get(message.incident_id)
            ctx = workspace.context(uow, incident, workspace.clock.now())
            actor = workspace.actor_in(ctx.directory, actor_id)
            workflow = ctx.evaluator.workflow
            operators = {role for t in workflow.transitions for role in t.allowed}
            operators |= {n for n, role in workflow.roles.items() if "retry_deliveries" in role.may}
            if ctx.evaluator.effective_roles(actor).isdisjoint(operators):
                err = NotAuthorized(
                    actor.name or actor.id,
                    f"send message {message_id} again",
                    operators,
                    action_sv=f"skicka meddelande {message_id} igen",
                )
                uow.rollback()
                workspace.log_refusal(incident.id, actor.id, "outbox_retry", err)
                raise err
            if message.status != MessageStatus.DEAD:
                raise Conflict(
                    f"Message {message_id} is {message.status}, not a dead letter; "
                    "only dead letters can be retried."
                )
            message.results = [r for r in message.results if r.status == RecipientStatus.SENT]
            message.status = MessageStatus.PENDING
            message.attempts = 0
            message.next_attempt_at = ctx.now
            message.last_error = ""
            uow.messages.update(message)
            note_event(
                uow,
                incident,
                actor=actor.id,
                kind="delivery_requeued",
                at=ctx.now,
                data=workspace.attributed(actor.id, {"message_id": message.id}),
            )
            uow.commit()
            return message


def message_view(m: Message) -> dict[str, Any]:
    """The JSON shape of `incident messages`, `outbox dead` and the API's messages."""
    return {
        "id": m.id,
        "channel": m.channel,
        "kind": m.kind,
        "audience": m.audience,
        "subject": m.subject,
        "status": m.status,
        "attempts": m.attempts,
        "recipients": len(m.recipients),
        "results": [r.to_dict() for r in m.results],
        "last_error": m.last_error,
        "created_at": m.created_at.isoformat(),
    }
