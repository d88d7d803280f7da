"""Signing in and out: `GET/POST /logga-in` and `POST /logga-ut`.

Before sign-in there is no session to hold a CSRF token, so the form uses a double-submit
cookie: a random value in an HttpOnly, SameSite=Strict cookie that the form must repeat (a
forged cross-site post carries neither). Failed attempts are rate limited per account and per
client address; a limited attempt is not checked at all, so the limit tells nothing about the
password. The session cookie is HttpOnly, SameSite=Lax (so a link from an e-mail arrives
signed in) and Secure on https.
"""

from __future__ import annotations

import math
import secrets
import threading
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from engine.errors import NotAuthenticated
from engine.web.auth import SESSION_COOKIE, OptionalCallerDep, ServiceDep, check_csrf, session_of
from engine.web.pages import render
from engine.web.ratelimit import RateLimit
from engine.web.ui.forms import client_address, has_control, is_https, safe_next, same

router = APIRouter(include_in_schema=False)

LOGIN_CSRF_COOKIE = "driftplan_login_csrf"
PER_ACCOUNT = (5, 15 * 60)  # failures per window (s): slows guessing one person's password
PER_ADDRESS = (20, 60)  # failures per window (s): slows one client trying many accounts
_limits_lock = threading.Lock()


def _limits(request: Request) -> tuple[RateLimit, RateLimit]:
    """The limiters of this web app, made on first use (one pair per app, so tests that
    serve several apps do not share counts)."""
    state = request.app.state
    with _limits_lock:
        if not hasattr(state, "login_limits"):
            state.login_limits = (RateLimit(*PER_ACCOUNT), RateLimit(*PER_ADDRESS))
        limits: tuple[RateLimit, RateLimit] = state.login_limits
    return limits


def _form(
    request: Request,
    *,
    next_path: str,
    person: str = "",
    error: str = "",
    notice: str = "",
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """The sign-in form with a (new or kept) double-submit CSRF cookie."""
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = render(
        request,
        "login.html",
        {
            "login_csrf": token,
            "next": next_path,
            "person": person,
            "error": error,
            "notice": notice,
        },
        status,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=is_https(request),
        path="/logga-in",
    )
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


@router.get("/logga-in", response_class=HTMLResponse)
def sign_in_form(
    request: Request, caller: OptionalCallerDep, next: str = "", utloggad: str = ""
) -> Response:
    """The sign-in form; someone already signed in goes straight on."""
    next_path = safe_next(next)
    if caller is not None:
        return RedirectResponse(next_path, status_code=303)
    notice = "Du är utloggad." if utloggad else ""
    return _form(request, next_path=next_path, notice=notice)


@router.post("/logga-in", response_class=HTMLResponse)
def sign_in(
    request: Request,
    service: ServiceDep,
    anvandare: Annotated[str, Form()] = "",
    losenord: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    """Check the password, open a session and go on to `next` (or /beslut)."""
    next_path = safe_next(next)
    person = anvandare.strip()
    if not same(csrf, request.cookies.get(LOGIN_CSRF_COOKIE, "")):
        return _form(
            request,
            next_path=next_path,
            person=person,
            error="Formuläret hade gått ut. Fyll i det igen.",
            status=403,
        )
    per_account, per_address = _limits(request)
    account_key, address_key = person.casefold(), client_address(request)
    wait = max(per_account.blocked(account_key), per_address.blocked(address_key))
    if wait > 0:
        minutes = max(1, math.ceil(wait / 60))
        return _form(
            request,
            next_path=next_path,
            person=person,
            error=f"För många misslyckade inloggningar. Vänta {minutes} "
            f"{'minut' if minutes == 1 else 'minuter'} och försök igen, eller ring operatören.",
            status=429,
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
    try:
        if has_control(person):  # no id holds one, and PostgreSQL refuses NUL in a query
            raise NotAuthenticated("Wrong user or password.")
        signed = service.accounts.sign_in(person, losenord)
    except NotAuthenticated:
        per_account.hit(account_key)
        per_address.hit(address_key)
        return _form(
            request,
            next_path=next_path,
            person=person,
            error="Fel användare eller lösenord.",
            status=401,
        )
    per_account.reset(account_key)
    session = signed.session
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        signed.secret,
        max_age=int((session.expires_at - session.created_at).total_seconds()),
        httponly=True,
        samesite="lax",
        secure=is_https(request),
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/logga-in")
    return response


@router.post("/logga-ut")
def sign_out(
    request: Request, service: ServiceDep, csrf: Annotated[str, Form()] = ""
) -> RedirectResponse:
    """End the session (its CSRF token is required) and forget the cookie."""
    found = session_of(request)
    if found is not None:
        secret, session = found
        check_csrf(request, session, csrf)  # NotAuthorized -> the error page, nothing ended
        service.accounts.sign_out(secret)
    response = RedirectResponse("/logga-in?utloggad=1", status_code=303)
    response.delete_cookie(
        SESSION_COOKIE, path="/", secure=is_https(request), httponly=True, samesite="lax"
    )
    return response
