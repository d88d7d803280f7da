"""One incident's page, `GET /incidenter/{id}`, its actions' forms
(`/incidenter/{id}/atgard/{trigger}`, previewed and sent through `command_flow`), sending a
dead letter again (`POST /incidenter/{id}/meddelanden/{message}/skicka-igen`), and writing into
the timeline: a note (`POST /incidenter/{id}/anteckning`) or an organisation's report received
by mail or phone (`POST /incidenter/{id}/rapport`). The service decides who may write there.

Reading needs one of the plan's roles, as for the API. The page lists only the actions the
service says this person may take now (`service.actions`); a trigger posted by hand that is not
among them goes to the service anyway, which refuses it and writes the refusal to the log.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from engine.definition.schema import TransitionDef, localized
from engine.errors import DriftplanError, NotAuthorized, NotFound
from engine.service.facade import Service
from engine.web.auth import (
    Caller,
    OptionalCallerDep,
    ServiceDep,
    check_csrf,
    posted_form,
    wired,
)
from engine.web.pages import language_of, operator_page
from engine.web.ui.command_flow import Command, form_page, handle, refusal_page
from engine.web.ui.field_form import prefilled
from engine.web.ui.forms import has_control
from engine.web.ui.home import REFRESH_SECONDS
from engine.web.ui.incident_view import (
    VIA,
    age_text,
    flow,
    incident_words,
    message_rows,
    pending_rows,
    timeline,
    timer_rows,
)
from engine.web.ui.words import Words

router = APIRouter(include_in_schema=False)

# The confirmation after a redirect, by a fixed key (never text taken from the URL).
NOTICES = {
    "anmald": "declared",
    "utford": "done",
    "begard": "asked_decision",
    "omskickat": "retried",
    "antecknat": "noted",
    "rapporterat": "reported",
}


def _sign_in(path: str) -> RedirectResponse:
    return RedirectResponse(f"/logga-in?next={path}", status_code=303)


def _notice(words: Words, key: str, action: str) -> str:
    name = NOTICES.get(key)
    if name is None:
        return ""
    return (
        words.f(name, title=action) if name in ("done", "asked_decision") else getattr(words, name)
    )


def _transition(service: Service, incident_id: str, trigger: str) -> TransitionDef | None:
    """The plan's transition for `trigger` from the incident's state (or any of that name)."""
    workflow = service.labels(incident_id, "sv").workflow
    state = service.show(incident_id)["state"]
    named = [t for t in workflow.transitions if t.trigger == trigger and not t.initial]
    here = [t for t in named if state in (t.source or []) or t.source == ["*"]]
    found = here or named
    return found[0] if found else None


@router.get("/incidenter/{incident_id}")
def incident(
    request: Request,
    incident_id: str,
    caller: OptionalCallerDep,
    service: ServiceDep,
    klart: str = "",
    atgard: str = "",
) -> Response:
    """The incident: state, plan flow, data, actions, decisions, timers, messages, timeline."""
    if caller is None:
        return _sign_in(f"/incidenter/{incident_id}")
    if has_control(incident_id):
        raise NotFound(f"Incident {incident_id!r} does not exist.")
    try:
        service.approvals.authorize_reading(caller.person_id, incident_id=incident_id)
    except NotAuthorized as err:
        return refusal_page(request, caller, err, "/beslut")
    words = incident_words(language_of(request))
    labels = service.labels(incident_id, words.language)
    workflow = labels.workflow
    view = service.show(incident_id)
    state = workflow.states[view["state"]]
    timers = timer_rows(workflow, service.open_timers(incident_id), words)
    pending = service.approvals.pending(caller.person_id, mine=False, incident_id=incident_id)
    actions = [
        {
            **a,
            "title": labels.trigger(a["trigger"]).rsplit(" (", 1)[0],
            "dest_title": labels.state_title(a["dest"]),
            "approver_titles": labels.roles(a["approvers"]),
        }
        for a in service.actions(incident_id=incident_id, actor_id=caller.person_id)
    ]
    now = wired(request).clock.now()
    known = {t.trigger for t in workflow.transitions}
    action_title = labels.trigger(atgard).rsplit(" (", 1)[0] if atgard in known else ""
    return operator_page(
        request,
        "incident.html",
        {
            "incident": view,
            "state_title": labels.state_title(view["state"]),
            "state_description": localized(state.description, words.language)
            if state.description
            else "",
            "age": age_text(now, view["created_at"], words),
            "started": labels.time(view["created_at"]),
            "flow": flow(workflow, view["state"], words.language),
            "rows": service.describe(incident_id, words.language)["rows"],
            "reserve": labels.subregions(view["reserve_subregions"]),
            "actions": actions,
            "pending": pending_rows(labels, pending, timers),
            "timers": timers,
            "messages": message_rows(workflow, service.messages(incident_id), words),
            "timeline": timeline(labels, service.log(incident_id), service.people_names()),
            "notice": _notice(words, klart, action_title),
            "w": words,
            "subregion_choices": [
                (name, localized(sub.title, words.language) or name)
                for name, sub in workflow.subregions.items()
            ],
            "via_choices": [(v, getattr(words, f"via_{v}")) for v in VIA],
            "refresh": 0 if state.final else REFRESH_SECONDS,
            "caller": caller,
            "csrf": caller.csrf,
        },
    )


def _command(request: Request, service: Service, incident_id: str, t: TransitionDef) -> Command:
    words = Words(language_of(request))
    view = service.show(incident_id)
    command = Command(
        workflow=service.labels(incident_id, words.language).workflow,
        transition=t,
        action_url=f"/incidenter/{incident_id}/atgard/{t.trigger}",
        heading="",
        back_url=f"/incidenter/{incident_id}",
        incident_id=incident_id,
        exercise=bool(view["exercise"]),
        current=dict(view["data"]),
    )
    command.heading = command.title(words.language)
    return command


def _allowed(service: Service, caller: Caller, incident_id: str, trigger: str) -> bool:
    actions = service.actions(incident_id=incident_id, actor_id=caller.person_id)
    return any(a["trigger"] == trigger for a in actions)


@router.get("/incidenter/{incident_id}/atgard/{trigger}")
def action_form(
    request: Request, incident_id: str, trigger: str, caller: OptionalCallerDep, service: ServiceDep
) -> Response:
    """The form of one action this person may take now."""
    if caller is None:
        return _sign_in(f"/incidenter/{incident_id}")
    if has_control(incident_id) or has_control(trigger):
        raise NotFound(f"Incident {incident_id!r} does not exist.")
    back = f"/incidenter/{incident_id}"
    try:
        service.approvals.authorize_reading(caller.person_id, incident_id=incident_id)
        t = _transition(service, incident_id, trigger)
        if t is None or not _allowed(service, caller, incident_id, trigger):
            # Ask the service, so the page says exactly why (wrong state, role, unknown).
            service.preview(
                actor_id=caller.person_id, values={}, incident_id=incident_id, trigger=trigger
            )
            return RedirectResponse(back, status_code=303)
    except DriftplanError as err:
        if isinstance(err, NotFound):
            raise
        return refusal_page(request, caller, err, back)
    command = _command(request, service, incident_id, t)
    now = wired(request).clock.now()
    raw = prefilled(command.workflow, t, now, command.current)
    return form_page(request, caller, command, raw=raw)


@router.post("/incidenter/{incident_id}/atgard/{trigger}")
async def action(
    request: Request, incident_id: str, trigger: str, caller: OptionalCallerDep, service: ServiceDep
) -> Response:
    """Preview or send one action; what the person may not do is refused by the service."""
    if caller is None or caller.session is None:
        return _sign_in(f"/incidenter/{incident_id}")
    if has_control(incident_id) or has_control(trigger):
        raise NotFound(f"Incident {incident_id!r} does not exist.")
    back = f"/incidenter/{incident_id}"
    await posted_form(request, caller)
    t = _transition(service, incident_id, trigger)
    if t is None or not _allowed(service, caller, incident_id, trigger):
        try:
            # Not offered to this person: the service decides, and logs the refusal.
            service.fire(incident_id=incident_id, trigger=trigger, actor_id=caller.person_id)
        except DriftplanError as err:
            return refusal_page(request, caller, err, back)
        return RedirectResponse(f"{back}?klart=utford&atgard={trigger}", status_code=303)
    command = _command(request, service, incident_id, t)

    def run(values: Mapping[str, Any]) -> str:
        result = service.fire(
            incident_id=incident_id, trigger=trigger, actor_id=caller.person_id, values=values
        )
        done = "begard" if result.result == "pending_approval" else "utford"
        return f"{back}?klart={done}&atgard={trigger}"

    return await handle(request, caller, service, command, run, wired(request).clock.now())


@router.post("/incidenter/{incident_id}/meddelanden/{message_id}/skicka-igen")
def retry(
    request: Request,
    incident_id: str,
    message_id: str,
    caller: OptionalCallerDep,
    service: ServiceDep,
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Send a dead letter again (the service checks the person may, and logs it)."""
    if caller is None or caller.session is None:
        return _sign_in(f"/incidenter/{incident_id}")
    check_csrf(request, caller.session, csrf)
    back = f"/incidenter/{incident_id}"
    if has_control(message_id) or has_control(incident_id):
        raise NotFound(f"Message {message_id!r} does not exist.")
    try:
        if not any(m.id == message_id for m in service.messages(incident_id)):
            raise NotFound(f"Message {message_id!r} is not one of incident {incident_id}'s.")
        service.outbox.retry(message_id, caller.person_id)
    except NotFound:
        raise
    except DriftplanError as err:
        return refusal_page(request, caller, err, back)
    return RedirectResponse(f"{back}?klart=omskickat#meddelanden", status_code=303)


def _text(form: Any, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


@router.post("/incidenter/{incident_id}/anteckning")
async def note(
    request: Request, incident_id: str, caller: OptionalCallerDep, service: ServiceDep
) -> Response:
    """An operator's note into the timeline (nothing is sent)."""

    def record(person_id: str, form: FormData) -> None:
        service.note(incident_id=incident_id, actor_id=person_id, text=_text(form, "text"))

    return await _into_timeline(request, incident_id, caller, record, done="antecknat")


@router.post("/incidenter/{incident_id}/rapport")
async def report(
    request: Request, incident_id: str, caller: OptionalCallerDep, service: ServiceDep
) -> Response:
    """An organisation's report received by mail or phone, into the timeline."""

    def record(person_id: str, form: FormData) -> None:
        service.report(
            incident_id=incident_id,
            actor_id=person_id,
            text=_text(form, "text"),
            organisation=_text(form, "organisation"),
            contact=_text(form, "contact") or None,
            subregion=_text(form, "subregion") or None,
            via=_text(form, "via") or None,
        )

    return await _into_timeline(request, incident_id, caller, record, done="rapporterat")


async def _into_timeline(
    request: Request,
    incident_id: str,
    caller: Caller | None,
    record: Callable[[str, FormData], None],
    *,
    done: str,
) -> Response:
    """What a note and a report share: a signed-in person, the form's CSRF value, a plain id;
    then `record` writes it, and the page goes back to the timeline or shows the refusal."""
    if caller is None or caller.session is None:
        return _sign_in(f"/incidenter/{incident_id}")
    form = await posted_form(request, caller)
    if has_control(incident_id):
        raise NotFound(f"Incident {incident_id!r} does not exist.")
    back = f"/incidenter/{incident_id}"
    try:
        record(caller.person_id, form)
    except NotFound:
        raise
    except DriftplanError as err:
        return refusal_page(request, caller, err, back)
    return RedirectResponse(f"{back}?klart={done}#handelser", status_code=303)
