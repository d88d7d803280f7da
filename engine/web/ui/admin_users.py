"""The admin pages' sign-in part, `/admin/anvandare`: the directory's people, and per person
(`/admin/anvandare/{id}`) setting a password, issuing an API token and listing or revoking
tokens.

The service refuses anyone whose role lacks `may: [manage_users]`. A new token's secret is
shown once, on the page that answers the POST that made it (not after a redirect: the secret
is stored nowhere, so there is nothing to fetch again; the page is `no-store`).
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from engine.errors import CommandError, DriftplanError, NotAuthorized, NotFound
from engine.service.accounts import MIN_PASSWORD_LENGTH
from engine.web.auth import Caller, OptionalCallerDep, ServiceDep, posted_form, service_of, wired
from engine.web.pages import language_of
from engine.web.ui.admin import admin_page, refused, sign_in
from engine.web.ui.admin_words import admin_words
from engine.web.ui.forms import has_control

router = APIRouter(include_in_schema=False)
PATH = "/admin/anvandare"


def _zone(request: Request) -> ZoneInfo:
    try:
        return ZoneInfo(wired(request).plans.current().workflow.document.timezone)
    except (DriftplanError, ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@router.get(PATH)
def people(request: Request, caller: OptionalCallerDep, service: ServiceDep) -> Response:
    """The people who may get a password or API tokens."""
    if caller is None:
        return sign_in(PATH)
    try:
        service.accounts.authorize(caller.person_id, "manage_users")
    except NotAuthorized as err:
        return refused(request, caller, err)
    listed = service.directory.snapshot()["people"]
    return admin_page(
        request, caller, "admin_users.html", {"people": listed, "admin_tab": "anvandare"}
    )


def _person_page(
    request: Request,
    caller: Caller,
    person_id: str,
    *,
    error: str = "",
    made: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    service = service_of(request)
    words = admin_words(language_of(request))
    if has_control(person_id):
        raise NotFound(f"No person {person_id!r} in the directory.")
    try:
        tokens = service.accounts.tokens_as(caller.person_id, person_id)
    except NotAuthorized as err:
        return refused(request, caller, err)
    person = next(p for p in service.directory.snapshot()["people"] if p["id"] == person_id)
    zone = _zone(request)
    rows: list[dict[str, Any]] = [
        {
            "id": t.id,
            "name": t.name,
            "created": f"{t.created_at.astimezone(zone):%Y-%m-%d %H:%M}",
            "active": t.active,
            "status": words.active
            if t.active or t.revoked_at is None
            else words.f("revoked_at", at=f"{t.revoked_at.astimezone(zone):%Y-%m-%d %H:%M}"),
        }
        for t in tokens
    ]
    return admin_page(
        request,
        caller,
        "admin_user.html",
        {
            "person": person,
            "tokens": rows,
            "error": error,
            "made": made,
            "min_length": MIN_PASSWORD_LENGTH,
            "admin_tab": "anvandare",
        },
        status,
    )


@router.get(PATH + "/{person_id}")
def person(request: Request, person_id: str, caller: OptionalCallerDep) -> Response:
    """One person's password and API tokens."""
    if caller is None:
        return sign_in(PATH)
    return _person_page(request, caller, person_id)


@router.post(PATH + "/{person_id}/losenord")
async def set_password(
    request: Request, person_id: str, caller: OptionalCallerDep, service: ServiceDep
) -> Response:
    """Set the person's password (the service's rules: at least 12 characters)."""
    if caller is None or caller.session is None:
        return sign_in(PATH)
    form = await posted_form(request, caller)
    try:
        service.accounts.set_password_as(caller.person_id, person_id, str(form.get("losenord", "")))
    except NotAuthorized as err:
        return refused(request, caller, err)
    except NotFound:
        raise
    except CommandError as err:
        text = err.text(language_of(request))
        return _person_page(request, caller, person_id, error=text, status=422)
    return RedirectResponse(f"{PATH}/{person_id}?klart=losenord", status_code=303)


@router.post(PATH + "/{person_id}/nycklar")
async def issue_token(
    request: Request, person_id: str, caller: OptionalCallerDep, service: ServiceDep
) -> Response:
    """Make an API token and show its secret this once."""
    if caller is None or caller.session is None:
        return sign_in(PATH)
    form = await posted_form(request, caller)
    name = str(form.get("namn", ""))[:100]
    if has_control(name):
        name = ""
    try:
        made = service.accounts.create_token_as(caller.person_id, person_id, name)
    except NotAuthorized as err:
        return refused(request, caller, err)
    shown = {"id": made.token.id, "secret": made.secret}
    return _person_page(request, caller, person_id, made=shown)


@router.post(PATH + "/{person_id}/nycklar/{token_id}/aterkalla")
async def revoke(
    request: Request, person_id: str, token_id: str, caller: OptionalCallerDep, service: ServiceDep
) -> Response:
    """Revoke one of the person's tokens."""
    if caller is None or caller.session is None:
        return sign_in(PATH)
    await posted_form(request, caller)
    if has_control(token_id):
        raise NotFound(f"No token {token_id!r}.")
    try:
        service.accounts.revoke_token_as(caller.person_id, person_id, token_id)
    except NotAuthorized as err:
        return refused(request, caller, err)
    return RedirectResponse(f"{PATH}/{person_id}?klart=aterkallad", status_code=303)
