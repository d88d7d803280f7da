"""The three steps of a command from a page: a form, a preview of every message, then send.

Declaring (`declare.py`) and an incident's actions (`incident_page.py`) share them. Each step is
a POST carrying the session's CSRF token and a `steg`: "granska" checks the values (every field's
problem at once, then the service's own checks through `service.preview`) and shows the
messages; "skicka" posts the same values again from hidden fields, so they are checked again
and the command runs through the service like the CLI's and the API's; "andra" goes back to the
form with the values kept. The service authorises: a trigger the person may not fire, posted by
hand, is refused there and shown as a refusal page. After sending, the browser is redirected
(post/redirect/get), so a reload cannot send twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from engine.definition.schema import TransitionDef, Workflow, localized
from engine.errors import (
    ConditionFailed,
    DriftplanError,
    InvalidField,
    MessageError,
    MissingField,
    UnknownTrigger,
)
from engine.service.facade import Service
from engine.web.auth import Caller, posted_form
from engine.web.pages import language_of, operator_page
from engine.web.problems import status_of
from engine.web.ui.field_form import (
    check,
    errors_of,
    hidden_pairs,
    inputs,
    needed_fields,
    read_form,
    shown_fields,
    shown_values,
)
from engine.web.ui.words import Words

# Refusals that belong on the form (the person can fix them there); the rest get a page.
FORM_ERRORS = (InvalidField, MissingField, ConditionFailed, MessageError, UnknownTrigger)


@dataclass
class Command:
    """One command a form runs: the plan's transition and where the form posts."""

    workflow: Workflow
    transition: TransitionDef
    action_url: str
    heading: str
    back_url: str
    incident_id: str | None = None
    exercise: bool = False
    current: dict[str, Any] = field(default_factory=dict)

    def title(self, language: str) -> str:
        t = self.transition
        return (localized(t.title, language) if t.title else "") or t.trigger


def form_page(
    request: Request,
    caller: Caller,
    command: Command,
    *,
    raw: Mapping[str, Any] | None = None,
    errors: Mapping[str, str] | None = None,
    general: str = "",
    status: int = 200,
) -> HTMLResponse:
    """The command's form, holding what was posted and a message beside each wrong field."""
    language = language_of(request)
    names = shown_fields(command.workflow, command.transition)
    return operator_page(
        request,
        "command_form.html",
        {
            "command": command,
            "inputs": inputs(
                command.workflow,
                names,
                language,
                raw,
                errors,
                command.current,
                needed_fields(command.workflow, command.transition),
            ),
            "general": general,
            "description": localized(command.transition.description, language)
            if command.transition.description
            else "",
            "caller": caller,
            "csrf": caller.csrf,
        },
        status,
    )


def refusal_page(
    request: Request, caller: Caller, err: DriftplanError, back_url: str
) -> HTMLResponse:
    """A refusal of the service that no field can fix (not allowed, wrong state, a lost race),
    in the person's language, with a way back."""
    language = language_of(request)
    return operator_page(
        request,
        "refused.html",
        {"text": err.text(language), "back_url": back_url, "caller": caller, "csrf": caller.csrf},
        status_of(err)[0],
    )


def _preview_page(
    request: Request,
    caller: Caller,
    command: Command,
    raw: Mapping[str, Any],
    parsed: Mapping[str, Any],
    preview: dict[str, Any],
) -> HTMLResponse:
    language = language_of(request)
    workflow = command.workflow
    messages = []
    for m in preview["messages"]:
        channel = workflow.channels.get(m["channel"])
        audience = workflow.audiences.get(m["audience"])
        messages.append(
            {
                **m,
                "channel_title": (
                    localized(channel.title, language) if channel and channel.title else ""
                )
                or m["channel"],
                "audience_title": (localized(audience.title, language) if audience else "")
                or m["audience"],
            }
        )
    return operator_page(
        request,
        "command_preview.html",
        {
            "command": command,
            "messages": messages,
            "pending": preview["result"] == "pending_approval",
            "values": shown_values(workflow, parsed, language),
            "hidden": hidden_pairs(raw, workflow),
            "caller": caller,
            "csrf": caller.csrf,
        },
    )


async def handle(
    request: Request,
    caller: Caller,
    service: Service,
    command: Command,
    run: Callable[[Mapping[str, Any]], str],
    now: datetime,
) -> Response:
    """One POST of the flow; `run(values)` sends the command and names the page to go to."""
    form = await posted_form(request, caller)  # a wrong CSRF value: the error page
    words = Words(language_of(request))
    step = str(form.get("steg", ""))
    names = shown_fields(command.workflow, command.transition)
    raw = read_form(command.workflow, names, form, now, command.current)
    if step not in ("granska", "skicka"):
        return form_page(request, caller, command, raw=raw)
    parsed, errors = check(command.workflow, command.transition, raw, now, words, command.current)
    if errors:
        return form_page(
            request, caller, command, raw=raw, errors=errors, general=words.fix_errors, status=422
        )
    try:
        if step == "granska":
            preview = service.preview(
                actor_id=caller.person_id,
                values=raw,
                incident_id=command.incident_id,
                trigger=command.transition.trigger,
                workflow=command.workflow.document.name if command.incident_id is None else None,
            )
            return _preview_page(request, caller, command, raw, parsed, preview)
        target = run(raw)
    except FORM_ERRORS as err:
        fields = errors_of(err, words)
        general = words.fix_errors if fields else err.text(words.language)
        return form_page(
            request, caller, command, raw=raw, errors=fields, general=general, status=422
        )
    except DriftplanError as err:
        return refusal_page(request, caller, err, command.back_url)
    return RedirectResponse(target, status_code=303)
