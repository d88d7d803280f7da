"""The admin pages' subscribers, `/admin/prenumeranter`: every subscriber per audience with
status, adding one (`POST /admin/prenumeranter`: double opt-in, the confirmation mail goes to
the subscriber) and ending one (`POST /admin/prenumeranter/{id}/ta-bort`).

The service refuses anyone whose role lacks `may: [manage_directory]`. Adding someone never
confirms them: they are pending until they open the link in their own mailbox.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from engine.definition.schema import localized
from engine.domain.model import SubscriberStatus
from engine.errors import CommandError, DriftplanError, NotAuthorized, NotFound
from engine.web.auth import Caller, OptionalCallerDep, ServiceDep, posted_form, service_of, wired
from engine.web.pages import language_of
from engine.web.ui.admin import admin_page, refused, sign_in
from engine.web.ui.admin_mail import send_confirmation
from engine.web.ui.admin_words import admin_words
from engine.web.ui.forms import has_control

router = APIRouter(include_in_schema=False)
PATH = "/admin/prenumeranter"


def _titles(request: Request, language: str) -> tuple[dict[str, str], ZoneInfo]:
    """The plan's audience titles and its timezone (names and UTC when there is no plan)."""
    try:
        workflow = wired(request).plans.current().workflow
    except DriftplanError:
        return {}, ZoneInfo("UTC")
    try:
        zone = ZoneInfo(workflow.document.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    titles = {name: localized(a.title, language) or name for name, a in workflow.audiences.items()}
    return titles, zone


def _page(
    request: Request,
    caller: Caller,
    error: str = "",
    typed: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    language = language_of(request)
    words = admin_words(language)
    try:
        audiences, subscribers = service_of(request).directory.subscribers_as(caller.person_id)
    except NotAuthorized as err:
        return refused(request, caller, err)
    titles, zone = _titles(request, language)
    groups: list[dict[str, Any]] = []
    for audience in sorted({*audiences, *(s.audience for s in subscribers)}):
        rows = [
            {
                "id": s.id,
                "email": s.email,
                "name": s.name,
                "status": getattr(words, f"status_{s.status}", str(s.status)),
                "status_class": str(s.status),
                "active": s.status != SubscriberStatus.UNSUBSCRIBED,
                "created": f"{s.created_at.astimezone(zone):%Y-%m-%d %H:%M}",
            }
            for s in subscribers
            if s.audience == audience
        ]
        groups.append({"id": audience, "title": titles.get(audience, audience), "rows": rows})
    choices = [{"id": a, "title": titles.get(a, a)} for a in audiences]
    return admin_page(
        request,
        caller,
        "admin_subscribers.html",
        {
            "groups": groups,
            "choices": choices,
            "error": error,
            "typed": typed or {},
            "admin_tab": "prenumeranter",
        },
        status,
    )


@router.get(PATH)
def subscribers(request: Request, caller: OptionalCallerDep) -> Response:
    """Subscribers per audience with their status, and a form to add one."""
    if caller is None:
        return sign_in(PATH)
    return _page(request, caller)


@router.post(PATH)
async def add(request: Request, caller: OptionalCallerDep, service: ServiceDep) -> Response:
    """Add a pending subscriber and mail them the confirmation link."""
    if caller is None or caller.session is None:
        return sign_in(PATH)
    form = await posted_form(request, caller)
    language = language_of(request)
    typed = {k: str(form.get(k, "")) for k in ("mottagare", "epost", "namn")}
    if any(has_control(v) for v in typed.values()):
        return _page(request, caller, admin_words(language).fill_in, typed, 422)
    try:
        stored = service.directory.subscribe_as(
            caller.person_id, audience=typed["mottagare"], email=typed["epost"], name=typed["namn"]
        )
    except NotAuthorized as err:
        return refused(request, caller, err)
    except CommandError as err:
        return _page(request, caller, err.text(language), typed, 422)
    if stored.status == SubscriberStatus.CONFIRMED:
        return RedirectResponse(f"{PATH}?klart=redan", status_code=303)
    problem = send_confirmation(wired(request), stored, language)
    if problem:
        # Added, but the mail did not go: say so now (no redirect hides the reason).
        text = admin_words(language).f("subscriber_added_no_mail", why=problem)
        return _page(request, caller, text, status=502)
    return RedirectResponse(f"{PATH}?klart=tillagd", status_code=303)


@router.post(PATH + "/{subscriber_id}/ta-bort")
async def remove(
    request: Request, subscriber_id: str, caller: OptionalCallerDep, service: ServiceDep
) -> Response:
    """End a subscription."""
    if caller is None or caller.session is None:
        return sign_in(PATH)
    await posted_form(request, caller)
    if has_control(subscriber_id):
        raise NotFound(f"No subscriber {subscriber_id!r}.")
    try:
        service.directory.unsubscribe_as(caller.person_id, subscriber_id)
    except NotAuthorized as err:
        return refused(request, caller, err)
    return RedirectResponse(f"{PATH}?klart=borttagen", status_code=303)
