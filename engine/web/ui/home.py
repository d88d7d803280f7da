"""The start page `/`: the open incidents with their state, age and what is due next, and a
"Ny driftstörning" button for those who may declare.

Reading incidents needs one of the plan's roles (`approvals.authorize_reading`, as for the
API); a person without one gets a refusal page that points to their decisions instead.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from engine.domain.model import MessageStatus
from engine.errors import DriftplanError, NotAuthorized
from engine.service.facade import Service
from engine.web.auth import OptionalCallerDep, ServiceDep, wired
from engine.web.pages import language_of, operator_page
from engine.web.ui.command_flow import refusal_page
from engine.web.ui.incident_view import age_text, timer_rows
from engine.web.ui.words import Words

router = APIRouter(include_in_schema=False)

# How often an open page reloads itself (seconds); refresh.js skips a reload while someone types.
REFRESH_SECONDS = 10


def _rows(request: Request, service: Service, words: Words) -> list[dict[str, Any]]:
    now = wired(request).clock.now()
    rows = []
    for view, labels in service.incidents_labelled(language=words.language):
        incident_id = view["id"]
        timers = timer_rows(labels.workflow, service.open_timers(incident_id), words)
        dead = sum(1 for m in service.messages(incident_id) if m.status == MessageStatus.DEAD)
        rows.append(
            {
                "id": incident_id,
                "state": labels.state_title(view["state"]),
                "exercise": view["exercise"],
                "age": age_text(now, view["created_at"], words),
                "started": labels.time(view["created_at"]),
                "next": timers[0] if timers else None,
                # The list leaves approvals out; one incident's view holds its open ones.
                "pending": len(service.show(incident_id)["pending_approvals"]),
                "dead": dead,
                "scope": str(view["data"].get("scope", "")),
            }
        )
    return rows


@router.get("/")
def home(request: Request, caller: OptionalCallerDep, service: ServiceDep) -> Response:
    """The open incidents (sign-in first)."""
    if caller is None:
        return RedirectResponse("/logga-in?next=/", status_code=303)
    words = Words(language_of(request))
    try:
        service.approvals.authorize_reading(caller.person_id)
    except NotAuthorized as err:
        return refusal_page(request, caller, err, "/beslut")
    try:
        may_declare = bool(service.declaring(caller.person_id).transitions)
    except DriftplanError:
        may_declare = False  # no plan to declare with: the list still shows
    rows = _rows(request, service, words)
    return operator_page(
        request,
        "home.html",
        {
            "rows": rows,
            "may_declare": may_declare,
            "refresh": REFRESH_SECONDS,
            "caller": caller,
            "csrf": caller.csrf,
        },
    )
