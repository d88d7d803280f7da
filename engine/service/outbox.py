"""Operator actions on the outbox (`driftplan outbox retry`): authorised, then logged.

Sending a dead letter again is an operator's decision like any other: the person must be in the
directory and hold a role the plan lets act on incidents (one that may fire some trigger, or a
deputy of one) or a role granted `may: [retry_deliveries]` (an administrator), and the
incident's log names them. A refusal is logged like any other.
"""

from __future__ import annotations

from typing import Any

from engine.domain.machine import evaluator_for
from engine.domain.model import Message
from engine.errors import NotAuthorized
from engine.service.delivery import requeue


def retry_dead_letter(service: Any, message_id: str, actor_id: str) -> Message:
    """Requeue the dead letter `message_id` on behalf of `actor_id`, if they may act."""
    with service.db.unit_of_work(read_only=True) as uow:
        message: Message = uow.messages.get(message_id)
        incident = uow.incidents.get(message.incident_id)
        actor = service.actor(uow, actor_id)
        evaluator = evaluator_for(service.definition_of(uow, incident))
    workflow = evaluator.workflow
    operators = {role for t in workflow.transitions for role in t.allowed}
    operators |= {name for name, role in workflow.roles.items() if "retry_deliveries" in role.may}
    if evaluator.effective_roles(actor).isdisjoint(operators):
        err = NotAuthorized(
            actor.name or actor.id,
            f"send message {message_id} again",
            operators,
            action_sv=f"skicka meddelande {message_id} igen",
        )
        service.log_refusal(incident.id, actor.id, "outbox_retry", err)
        raise err
    return requeue(service.db, message_id, service.clock.now(), actor=actor.id)
