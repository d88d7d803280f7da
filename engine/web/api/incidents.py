"""`/api/v1/incidents`: declare, list, show, the caller's actions, preview, fire, the log and
the messages, and the timeline's notes and reports. Reading needs one of the plan's roles; what
may be fired, and who may write into the timeline, is the plan's rule, checked by the service."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import Response

from engine.domain.paging import DEFAULT_LIMIT, MAX_LIMIT
from engine.service.outbox import message_view
from engine.web.api.models import (
    LINK_HEADER,
    DeclareBody,
    FireBody,
    NoteBody,
    PreviewBody,
    ReportBody,
    TimelineEvent,
)
from engine.web.auth import CallerDep, ServiceDep
from engine.web.idempotent import run_once
from engine.web.problems import documented

router = APIRouter(
    prefix="/incidents", tags=["incidents"], responses=documented(401, 403, 404, 409, 422)
)

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Repeat a POST safely: the same key and body return the first response.",
    ),
]


@router.post("", status_code=201, summary="Declare an incident")
def declare(
    body: DeclareBody,
    request: Request,
    caller: CallerDep,
    service: ServiceDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    def work() -> tuple[int, Any]:
        result = service.declare(
            actor_id=caller.person_id, values=body.data, workflow=body.workflow
        )
        return 201, {**service.show(result.incident_id), "result": result.result}

    return run_once(
        request,
        caller,
        body,
        work,
        headers=lambda view: {"Location": f"/api/v1/incidents/{view['id']}"},
    )


@router.get(
    "",
    summary="List incidents a page at a time (open ones unless all=true)",
    description="Open incidents first, then (with all=true) closed ones; the most recently "
    "updated first. The body is one page, a list as before paging came; when more follow, the "
    'response has a `Link: <...>; rel="next"` header whose URL fetches the next page (its '
    "`cursor` is opaque: pass it back unchanged).",
    responses={200: {"headers": {"Link": LINK_HEADER}}},
)
def list_incidents(
    request: Request,
    response: Response,
    caller: CallerDep,
    service: ServiceDep,
    state: Annotated[str | None, Query(max_length=200)] = None,
    all: bool = False,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Incidents per page.")] = (
        DEFAULT_LIMIT
    ),
    cursor: Annotated[
        str | None,
        Query(max_length=2000, description="From the previous page's `Link` header."),
    ] = None,
    since: Annotated[
        str | None,
        Query(max_length=100, description="Only those updated since: -2h, 14:00, 2026-11-01."),
    ] = None,
) -> list[dict[str, Any]]:
    service.approvals.authorize_reading(caller.person_id)
    listing = service.incident_page(
        limit=limit, cursor=cursor, since=since, closed=None if all else 0, state=state
    )
    if listing.next_cursor is not None:
        # A relative reference (RFC 8288 resolves it against the request), so that it holds
        # behind a proxy that rewrites the host.
        kept = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
        query = urlencode([*kept, ("cursor", listing.next_cursor)])
        response.headers["Link"] = f'<{request.url.path}?{query}>; rel="next"'
    return listing.items


@router.get("/{incident_id}", summary="One incident")
def show(incident_id: str, caller: CallerDep, service: ServiceDep) -> dict[str, Any]:
    service.approvals.authorize_reading(caller.person_id, incident_id=incident_id)
    return service.show(incident_id)


@router.get("/{incident_id}/actions", summary="What the caller may do now")
def actions(incident_id: str, caller: CallerDep, service: ServiceDep) -> list[dict[str, Any]]:
    service.approvals.authorize_reading(caller.person_id, incident_id=incident_id)
    return service.actions(incident_id=incident_id, actor_id=caller.person_id)


@router.post("/{incident_id}/preview", summary="The messages a trigger would send; nothing sent")
def preview(
    incident_id: str,
    body: PreviewBody,
    request: Request,
    caller: CallerDep,
    service: ServiceDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    def work() -> tuple[int, Any]:
        service.approvals.authorize_reading(caller.person_id, incident_id=incident_id)
        return 200, service.preview(
            actor_id=caller.person_id,
            values=body.data,
            incident_id=incident_id,
            trigger=body.trigger,
        )

    return run_once(request, caller, body, work)


@router.post("/{incident_id}/fire", summary="Fire a trigger (a gated one asks for a decision)")
def fire(
    incident_id: str,
    body: FireBody,
    request: Request,
    caller: CallerDep,
    service: ServiceDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    def work() -> tuple[int, Any]:
        result = service.fire(
            incident_id=incident_id,
            trigger=body.trigger,
            actor_id=caller.person_id,
            values=body.data,
        )
        return 200, {
            "result": result.result,
            "state": result.state,
            "approval_id": result.approval_id,
        }

    return run_once(request, caller, body, work)


@router.get(
    "/{incident_id}/events",
    summary="The incident's log, oldest first",
    response_model=list[TimelineEvent],
)
def events(incident_id: str, caller: CallerDep, service: ServiceDep) -> list[dict[str, Any]]:
    service.approvals.authorize_reading(caller.person_id, incident_id=incident_id)
    return service.log(incident_id)


# A note or report answers with the event as the log now shows it (the same object that
# GET .../events lists).
_CREATED: dict[int | str, dict[str, Any]] = {
    201: {"model": TimelineEvent, "description": "The event as logged."}
}


@router.post(
    "/{incident_id}/notes",
    status_code=201,
    summary="Write a note into the incident's log (nothing is sent)",
    responses=_CREATED,
)
def note(
    incident_id: str,
    body: NoteBody,
    request: Request,
    caller: CallerDep,
    service: ServiceDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    def work() -> tuple[int, Any]:
        service.approvals.authorize_reading(caller.person_id, incident_id=incident_id)
        return 201, service.note(incident_id=incident_id, actor_id=caller.person_id, text=body.text)

    return run_once(request, caller, body, work)


@router.post(
    "/{incident_id}/reports",
    status_code=201,
    summary="Record an organisation's report received by mail or phone (nothing is sent)",
    responses=_CREATED,
)
def report(
    incident_id: str,
    body: ReportBody,
    request: Request,
    caller: CallerDep,
    service: ServiceDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    def work() -> tuple[int, Any]:
        service.approvals.authorize_reading(caller.person_id, incident_id=incident_id)
        return 201, service.report(
            incident_id=incident_id,
            actor_id=caller.person_id,
            text=body.text,
            organisation=body.organisation,
            contact=body.contact,
            subregion=body.subregion,
            via=body.via,
        )

    return run_once(request, caller, body, work)


@router.get("/{incident_id}/messages", summary="The incident's outgoing messages")
def messages(incident_id: str, caller: CallerDep, service: ServiceDep) -> list[dict[str, Any]]:
    service.approvals.authorize_reading(caller.person_id, incident_id=incident_id)
    return [message_view(m) for m in service.messages(incident_id)]
