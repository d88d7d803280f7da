""" "Rapportera påverkan": `GET/POST /rapportera`, where an organisation tells the operators how
an open outage affects it.

The report goes into the incident's timeline with the actor `public` and the operators are told
(`engine.service.public_reports`). With no outage open the page says so and names the shared
mailbox instead of a form. Reports are limited per client address: the form is open to anyone,
and each report mails the operators.
"""

from __future__ import annotations

from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from engine.errors import InvalidField
from engine.service.public_reports import PublicReports
from engine.web.auth import service_of
from engine.web.pages import language_of
from engine.web.public.common import csrf_ok, limit, plan_facts, public_page, text_of, wait_minutes
from engine.web.public.words import PublicWords
from engine.web.ui.forms import client_address, has_control

router = APIRouter(include_in_schema=False)

FIELDS = ("incident", "organisation", "contact", "subregion", "text")


def _reports(request: Request) -> PublicReports:
    return PublicReports(service_of(request).timeline.workspace)


def _form(
    request: Request,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    error: str = "",
    status: int = 200,
) -> HTMLResponse:
    lang = language_of(request)
    workflow = plan_facts(request).definition.workflow
    zone = ZoneInfo(workflow.document.timezone or "UTC")
    incidents = [
        {
            "id": i.id,
            "state_title": i.state_title,
            "declared": i.declared_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            "exercise": i.exercise,
        }
        for i in _reports(request).open_incidents(lang)
    ]
    subregions = [(k, text_of(s.title, lang) or k) for k, s in workflow.subregions.items()]
    return public_page(
        request,
        "public_report.html",
        {
            "incidents": incidents,
            "subregions": subregions,
            "values": values or dict.fromkeys(FIELDS, ""),
            "errors": errors or {},
            "error": error,
        },
        status,
    )


@router.get("/rapportera", response_class=HTMLResponse)
def report_form(request: Request) -> HTMLResponse:
    """The report form, or where to write when no outage is open."""
    return _form(request)


def _checked(values: dict[str, str], w: PublicWords) -> dict[str, str]:
    """Field messages for what the form itself can tell (the service checks the rest)."""
    errors = {}
    for name in FIELDS:
        if has_control(values[name]):
            errors[name] = w.control
    if not values["incident"]:
        errors.setdefault("incident", w.choose_incident)
    for name in ("organisation", "text"):
        if not values[name].strip():
            errors.setdefault(name, w.fill_in)
    return errors


@router.post("/rapportera", response_class=HTMLResponse)
def report(
    request: Request,
    incident: Annotated[str, Form()] = "",
    organisation: Annotated[str, Form()] = "",
    contact: Annotated[str, Form()] = "",
    subregion: Annotated[str, Form()] = "",
    text: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """Record the report in the incident's timeline and tell the operators."""
    w = PublicWords(language_of(request))
    values = {
        "incident": incident.strip(),
        "organisation": organisation.strip(),
        "contact": contact.strip(),
        "subregion": subregion.strip(),
        "text": text,
    }
    if not csrf_ok(request, csrf):
        return _form(request, values=values, error=w.expired, status=403)
    minutes = wait_minutes(request, "report")
    if minutes:
        mailbox = plan_facts(request).mailbox or "-"
        text = w.f("too_many", minutes=minutes, mailbox=mailbox)
        return _form(request, values=values, error=text, status=429)
    errors = _checked(values, w)
    if errors:
        return _form(request, values=values, errors=errors, error=w.fix, status=422)
    limit(request, "report").hit(client_address(request))
    try:
        _reports(request).report(
            incident_id=values["incident"],
            organisation=values["organisation"],
            text=values["text"],
            contact=values["contact"],
            subregion=values["subregion"],
        )
    except InvalidField as problem:
        field = problem.field if problem.field in FIELDS else "text"
        message: Any = problem.sv if w.language == "sv" else str(problem)
        errors = {field: w.choose_incident if field == "incident" else str(message)}
        return _form(request, values=values, errors=errors, error=w.fix, status=422)
    return public_page(
        request,
        "public_message.html",
        {"heading": w.reported_heading, "text": w.reported, "back": "/rapportera"},
    )
