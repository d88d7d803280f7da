"""`/api/v1/approvals`: the open requests (the caller's own with mine=true) and decisions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import Response

from engine.web.api.models import DecisionBody
from engine.web.auth import CallerDep, ServiceDep
from engine.web.idempotent import run_once
from engine.web.problems import documented

router = APIRouter(
    prefix="/approvals", tags=["approvals"], responses=documented(401, 403, 404, 409, 422)
)


@router.get("", summary="Open approval requests (the caller's own with mine=true)")
def pending(caller: CallerDep, service: ServiceDep, mine: bool = True) -> list[dict[str, Any]]:
    return service.approvals.pending(caller.person_id, mine=mine)


@router.post("/{approval_id}", summary="Approve or reject a request")
def decide(
    approval_id: str,
    body: DecisionBody,
    request: Request,
    caller: CallerDep,
    service: ServiceDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Response:
    def work() -> tuple[int, Any]:
        result = service.decide(
            approval_id=approval_id,
            actor_id=caller.person_id,
            approve=body.decision == "approve",
            comment=body.comment,
            on_behalf_of=body.on_behalf_of,
            reference=body.reference,
        )
        return 200, {
            "result": result.result,
            "state": result.state,
            "incident_id": result.incident_id,
            "approval_id": result.approval_id,
        }

    return run_once(request, caller, body, work)
