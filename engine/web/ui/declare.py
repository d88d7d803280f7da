"""Declaring from the web: `GET /incidenter/ny` shows the plan's declare form, `POST` previews
and then declares (see `command_flow` for the steps).

The form is the plan's declaring transition that the person may fire (`service.declaring`);
someone who may not declare gets a refusal page, not a form that would fail on sending.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from engine.errors import NotAuthorized
from engine.service.facade import Service
from engine.web.auth import Caller, OptionalCallerDep, ServiceDep, wired
from engine.web.pages import language_of
from engine.web.ui.command_flow import Command, form_page, handle, refusal_page
from engine.web.ui.field_form import prefilled
from engine.web.ui.words import Words

router = APIRouter(include_in_schema=False)

PATH = "/incidenter/ny"


def _command(request: Request, service: Service, caller: Caller) -> Command:
    """The declare form of the current plan; NotAuthorized when the person may not declare."""
    declaring = service.declaring(caller.person_id)
    if not declaring.transitions:
        roles = sorted({r for t in declaring.workflow.transitions if t.initial for r in t.allowed})
        raise NotAuthorized(
            caller.person_id,
            "declare an incident",
            roles,
            action_sv="anmäla en driftstörning",
        )
    words = Words(language_of(request))
    return Command(
        workflow=declaring.workflow,
        transition=declaring.transitions[0],
        action_url=PATH,
        heading=words.declare_heading,
        back_url="/",
    )


@router.get(PATH)
def declare_form(request: Request, caller: OptionalCallerDep, service: ServiceDep) -> Response:
    """The declare form (sign-in first)."""
    if caller is None:
        return RedirectResponse(f"/logga-in?next={PATH}", status_code=303)
    try:
        command = _command(request, service, caller)
    except NotAuthorized as err:
        return refusal_page(request, caller, err, "/")
    now = wired(request).clock.now()
    raw = prefilled(command.workflow, command.transition, now, command.current)
    return form_page(request, caller, command, raw=raw)


@router.post(PATH)
async def declare(request: Request, caller: OptionalCallerDep, service: ServiceDep) -> Response:
    """Preview, or declare and go to the new incident's page."""
    if caller is None or caller.session is None:
        return RedirectResponse(f"/logga-in?next={PATH}", status_code=303)
    try:
        command = _command(request, service, caller)
    except NotAuthorized as err:
        return refusal_page(request, caller, err, "/")

    def run(values: Mapping[str, Any]) -> str:
        result = service.declare(
            actor_id=caller.person_id,
            values=values,
            workflow=command.workflow.document.name,
            trigger=command.transition.trigger,
        )
        return f"/incidenter/{result.incident_id}?klart=anmald"

    return await handle(request, caller, service, command, run, wired(request).clock.now())
