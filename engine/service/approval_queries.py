"""Who may read what over the web, and the open approval requests a person can decide.

The CLI is an administrator's tool on the server; the web service serves people signed in from
anywhere, so reading is authorised too: a person reads incidents when they hold at least one of
the plan's roles (staff), and everyone signed in sees the requests they can decide themselves.
"""

from __future__ import annotations

from typing import Any

from engine.definition.definition import Definition
from engine.domain.machine import evaluator_for
from engine.domain.model import Approval, ApprovalStatus
from engine.domain.outcome import Actor
from engine.errors import NotAuthorized, NotFound
from engine.service.approval_view import (
    approval_context,
    describe_slots,
    request_status,
    slot_of,
    status_title,
)
from engine.service.workspace import Workspace


class ApprovalQueries:
    """Read-only use cases about approval requests, and the reading rule."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    def authorize_reading(
        self, person_id: str, what: str = "incidents", *, incident_id: str | None = None
    ) -> Actor:
        """The person, when they may read incidents; NotAuthorized (naming the roles) if not.

        With `incident_id` the roles are those of the plan version the incident runs on
        (cached by hash: no file is looked at), else those of the current plan.
        """
        missing: NotFound | None = None
        with self.workspace.store.unit_of_work(read_only=True) as uow:
            actor = self.workspace.actor(uow, person_id)
            definition = None
            if incident_id is not None:
                try:
                    definition = self.workspace.definition_of(uow, uow.incidents.get(incident_id))
                except NotFound as err:  # told only to those who may read (no probing)
                    missing = err
        definition = definition or self.workspace.plans.current(None)
        roles = set(definition.workflow.roles)
        if not (set(actor.roles) & roles):
            raise NotAuthorized(
                actor.name or actor.id,
                f"read {what}",
                roles,
                "Reading needs one of the plan's roles in the directory.",
                action_sv=f"läsa {'incidenter' if what == 'incidents' else what}",
                detail_sv="För att läsa krävs en av planens roller i katalogen.",
            )
        if missing is not None:
            raise missing
        return actor

    def pending(
        self, person_id: str, *, mine: bool = True, incident_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Open requests, oldest first: those `person_id` can decide now (`mine`), or all of
        them (staff only); only `incident_id`'s when given (an incident's page asks for its
        own, without reading every open request of the installation)."""
        if not mine:
            self.authorize_reading(person_id, "approvals", incident_id=incident_id)
        now = self.workspace.clock.now()
        out: list[dict[str, Any]] = []
        with self.workspace.store.unit_of_work(read_only=True) as uow:
            actor = self.workspace.actor(uow, person_id)
            names = {p.id: p.name for p in self.workspace.directory(uow).people.values()}
            candidates = (
                uow.approvals.pending()
                if incident_id is None
                else uow.approvals.list(incident_id, status=ApprovalStatus.PENDING)
            )
            for approval in candidates:
                incident = uow.incidents.get(approval.incident_id)
                if approval.state_epoch != incident.state_epoch or (
                    approval.expires_at is not None and approval.expires_at <= now
                ):
                    continue  # withdrawn or expired, only not yet marked so
                definition = self.workspace.definition_of(uow, incident)
                can_decide = self._can_decide(definition, actor, approval)
                if mine and not can_decide:
                    continue
                out.append(approval_json(definition, approval, names, can_decide))
        return out

    @staticmethod
    def _can_decide(definition: Definition, actor: Actor, approval: Approval) -> bool:
        evaluator = evaluator_for(definition)
        return any(
            slot.is_open and evaluator.can_fill(actor, slot_of(slot)) for slot in approval.slots
        )


def approval_json(
    definition: Definition, approval: Approval, names: dict[str, str], can_decide: bool
) -> dict[str, Any]:
    """The JSON shape of an approval request in the API (`GET /api/v1/approvals`).

    `status` is the status people read (`request_status`: "partly_approved" for a per-sub-region
    request some sub-regions approved), `status_title` its words; `pending` says whether the
    request can still be decided.
    """
    facts = approval_context(definition, approval, "", url="", names=names)
    return {
        "id": approval.id,
        "incident_id": approval.incident_id,
        "trigger": approval.trigger,
        "title": facts["title"],
        "status": request_status(definition, approval),
        "status_title": status_title(definition, approval, definition.language),
        "pending": approval.status == ApprovalStatus.PENDING,
        "requested_by": approval.requested_by,
        "requested_by_name": facts["requested_by"],
        "requested_at": approval.requested_at.isoformat(),
        "expires_at": approval.expires_at.isoformat() if approval.expires_at else None,
        "subregions": facts["subregions"],
        "still_to_decide": describe_slots(definition, approval.slots, definition.language),
        "slots": [slot.to_dict() for slot in approval.slots],
        "can_decide": can_decide,
    }
