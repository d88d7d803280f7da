"""The signed-in person's open decisions: `GET /beslut` lists them, `POST /beslut/{id}` decides.

The list is `service.approvals.pending(person, mine=True)`: exactly the requests the person
can decide now, as the service authorises them. A decision posts the session's CSRF token and
goes through `service.decide` like the CLI's and the API's; the page then redirects back
(post/redirect/get, so a reload does not post again) with a fixed confirmation.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from engine.domain.fields import format_time
from engine.errors import DriftplanError
from engine.service.facade import Service
from engine.web.auth import Caller, OptionalCallerDep, ServiceDep, check_csrf
from engine.web.pages import render
from engine.web.problems import status_of
from engine.web.ui.forms import (
    DECISIONS,
    MAX_COMMENT,
    RESULT_KEYS,
    comment_of,
    has_control,
    phones,
    transition_title,
)

router = APIRouter(include_in_schema=False)

SIGN_IN = "/logga-in?next=/beslut"
# The confirmation after a decision, by the key in the redirect (never text from the URL).
NOTICES = {
    RESULT_KEYS["approved"]: "Du har godkänt begäran. Beslutet är fattat.",
    RESULT_KEYS["rejected"]: "Du har avslagit begäran.",
    RESULT_KEYS["recorded"]: "Ditt godkännande är registrerat. Begäran väntar på fler beslut.",
}


def _items(service: Service, person_id: str) -> list[dict[str, Any]]:
    """The person's open requests with what a page shows about each one's incident."""
    incidents: dict[str, dict[str, Any]] = {}
    items = []
    for request in service.approvals.pending(person_id, mine=True):
        incident_id = request["incident_id"]
        if incident_id not in incidents:
            labels = service.labels(incident_id, "sv")
            incidents[incident_id] = {
                "labels": labels,
                "described": service.describe(incident_id, "sv"),
                "exercise": bool(service.show(incident_id)["exercise"]),
            }
        about = incidents[incident_id]
        labels = about["labels"]
        expires = request["expires_at"]
        items.append(
            {
                **request,
                "action": transition_title(labels, request["trigger"]),
                "expires": format_time(expires, labels.workflow, "sv") if expires else "–",
                "requested": format_time(request["requested_at"], labels.workflow, "sv"),
                "state_title": about["described"]["state_title"],
                "rows": about["described"]["rows"],
                "exercise": about["exercise"],
            }
        )
    return items


def _page(
    request: Request,
    service: Service,
    caller: Caller,
    *,
    notice: str = "",
    error: str = "",
    status: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "pending.html",
        {
            "items": _items(service, caller.person_id),
            "notice": notice,
            "error": error,
            "max_comment": MAX_COMMENT,
            "contacts": phones(service.links.help_contacts()),
            "caller": caller,
            "csrf": caller.csrf,
        },
        status,
    )


@router.get("/beslut", response_class=HTMLResponse)
def pending(
    request: Request, caller: OptionalCallerDep, service: ServiceDep, klart: str = ""
) -> Response:
    """The decisions waiting for the signed-in person (sign-in first otherwise)."""
    if caller is None:
        return RedirectResponse(SIGN_IN, status_code=303)
    return _page(request, service, caller, notice=NOTICES.get(klart, ""))


@router.post("/beslut/{approval_id}", response_class=HTMLResponse)
def decide(
    request: Request,
    approval_id: str,
    caller: OptionalCallerDep,
    service: ServiceDep,
    csrf: Annotated[str, Form()] = "",
    beslut: Annotated[str, Form()] = "",
    kommentar: Annotated[str, Form()] = "",
) -> Response:
    """Decide one request as the signed-in person, then back to the list."""
    if caller is None or caller.session is None:
        return RedirectResponse(SIGN_IN, status_code=303)
    check_csrf(request, caller.session, csrf)  # NotAuthorized -> the error page
    if has_control(approval_id):  # no id holds one, and PostgreSQL refuses NUL in a query
        return _page(request, service, caller, error="Begäran finns inte.", status=404)
    approve = DECISIONS.get(beslut)
    if approve is None:
        return _page(request, service, caller, error="Välj Godkänn eller Avslå.", status=422)
    try:
        comment = comment_of(kommentar)
    except ValueError as err:
        return _page(request, service, caller, error=str(err), status=422)
    try:
        result = service.decide(
            approval_id=approval_id, actor_id=caller.person_id, approve=approve, comment=comment
        )
    except DriftplanError as err:
        return _page(request, service, caller, error=err.text("sv"), status=status_of(err)[0])
    return RedirectResponse(f"/beslut?klart={RESULT_KEYS[result.result]}", status_code=303)
