"""Who is calling: one dependency resolves a bearer token or a session cookie to a directory
person. What that person may do is decided by the service layer, as for the CLI.

Unsafe requests made with a session cookie must carry the session's CSRF token (a form field
`csrf` for pages, the `X-CSRF-Token` header for the API); bearer tokens are not sent by
browsers on their own, so they need none. Every refusal is logged with who, what and why.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.datastructures import FormData

from engine.bootstrap import App
from engine.domain.accounts import WebSession
from engine.errors import NotAuthenticated, NotAuthorized
from engine.service.facade import Service

log = logging.getLogger(__name__)

SESSION_COOKIE = "driftplan_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Caller:
    """The signed-in person and how they signed in ("token" or "session")."""

    person_id: str
    via: str
    session: WebSession | None = None

    @property
    def csrf(self) -> str:
        return self.session.csrf if self.session else ""


def wired(request: Request) -> App:
    """The wired application this web app serves."""
    app: App = request.app.state.driftplan
    return app


def service_of(request: Request) -> Service:
    return wired(request).service


def session_of(request: Request) -> tuple[str, WebSession] | None:
    """The live session of the request's cookie, with the cookie's secret."""
    secret = request.cookies.get(SESSION_COOKIE)
    if not secret:
        return None
    session = service_of(request).accounts.session(secret)
    return (secret, session) if session else None


def _refuse(request: Request, why: str) -> NotAuthenticated:
    client = request.client.host if request.client else "?"
    log.warning("refused %s %s from %s: %s", request.method, request.url.path, client, why)
    return NotAuthenticated(
        "Sign in first: send 'Authorization: Bearer TOKEN' (make one with `driftplan users "
        "token PERSON`) or sign in at /logga-in.",
        sv="Logga in först: skicka 'Authorization: Bearer NYCKEL' (skapa en med `driftplan "
        "users token PERSON`) eller logga in på /logga-in.",
    )


def check_csrf(request: Request, session: WebSession, supplied: str | None) -> None:
    """An unsafe request on a session needs the session's CSRF token."""
    if request.method in SAFE_METHODS:
        return
    if not supplied or not hmac.compare_digest(supplied, session.csrf):
        log.warning(
            "refused %s %s for %s: missing or wrong CSRF token",
            request.method,
            request.url.path,
            session.person_id,
        )
        raise NotAuthorized(
            session.person_id,
            "send this form",
            [],
            "The form's security token is missing or old: reload the page and try again.",
            action_sv="skicka formuläret",
            detail_sv="Formulärets säkerhetsnyckel saknas eller är gammal: ladda om sidan "
            "och försök igen.",
        )


# Declares the bearer scheme in the OpenAPI document; the header itself is read below, so
# that a missing or malformed one is our 401 problem, not FastAPI's 403.
_bearer = HTTPBearer(auto_error=False, description="An API token (`driftplan users token`).")


def current_person(
    request: Request,
    _scheme: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)] = None,
) -> Caller:
    """The caller of an API route: a bearer token, else a session (with CSRF on unsafe
    methods); NotAuthenticated (401) without either."""
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise _refuse(request, "malformed Authorization header")
        try:
            person = service_of(request).accounts.token_person(value.strip())
        except NotAuthenticated:
            _refuse(request, "unknown or revoked token")
            raise
        return Caller(person, "token")
    found = session_of(request)
    if found is None:
        raise _refuse(request, "no credentials")
    _, session = found
    check_csrf(request, session, request.headers.get("x-csrf-token"))
    return Caller(session.person_id, "session", session)


def optional_person(request: Request) -> Caller | None:
    """The signed-in person of a page, or None (pages check CSRF on their own forms)."""
    found = session_of(request)
    if found is None:
        return None
    return Caller(found[1].person_id, "session", found[1])


CallerDep = Annotated[Caller, Depends(current_person)]
OptionalCallerDep = Annotated[Caller | None, Depends(optional_person)]
ServiceDep = Annotated[Service, Depends(service_of)]


async def posted_form(request: Request, caller: Caller) -> FormData:
    """The posted form of a signed-in page, after its CSRF value has been checked against the
    session's (`check_csrf`: NotAuthorized, shown as the error page, when it does not match)."""
    form = await request.form()
    if caller.session is None:  # a page's caller always has one; a token never posts forms
        raise NotAuthorized(caller.person_id, "send this form", [], action_sv="skicka formuläret")
    check_csrf(request, caller.session, str(form.get("csrf", "")))
    return form
