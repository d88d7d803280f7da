"""What the public pages share: the plan's public facts, the page frame, CSRF and rate limits.

Nobody is signed in here, so there is no session to hold a CSRF token. The forms use a signed
double submit: a random value in an HttpOnly, SameSite=Strict cookie, and in the form that
value signed (with a time stamp) under the installation's link key and a purpose of its own. A
forged cross-site post carries neither the cookie nor a signature that matches it, and nothing
is stored on the server. Limits per client address (in memory, per app) slow down anyone who
would flood the operators with reports or strangers' mailboxes with confirmation mails.
"""

from __future__ import annotations

import math
import secrets
import threading
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from itsdangerous import BadSignature, URLSafeTimedSerializer

from engine.bootstrap import App, link_key
from engine.definition.definition import Definition
from engine.definition.schema import localized
from engine.web.auth import wired
from engine.web.pages import language_of, remember_language, render
from engine.web.public.words import PublicWords
from engine.web.ratelimit import RateLimit
from engine.web.ui.forms import client_address, is_https

CSRF_COOKIE = "driftplan_public_csrf"
CSRF_PURPOSE = "driftplan.public-form.v1"
CSRF_MAX_AGE = 4 * 3600  # a form left open over lunch still posts; a copied one expires
# events per window (s) per client address
LIMITS = {
    "report": (5, 10 * 60),
    "subscribe": (10, 60 * 60),
    "subscribe_address": (3, 60 * 60),  # confirmation mails to one address
}
_limits_lock = threading.Lock()


@dataclass(frozen=True)
class PlanFacts:
    """What every public page names: the service and the shared mailbox."""

    service: str
    mailbox: str
    definition: Definition


def plan_facts(request: Request) -> PlanFacts:
    """The installed plan's public facts (NotFound when no single plan is installed)."""
    definition = wired(request).plans.current()
    service = definition.workflow.service
    return PlanFacts(service.name, service.inbound_mailbox or "", definition)


def limit(request: Request, name: str) -> RateLimit:
    """The limiter `name` of this web app, made on first use."""
    state = request.app.state
    with _limits_lock:
        if not hasattr(state, "public_limits"):
            state.public_limits = {k: RateLimit(*v) for k, v in LIMITS.items()}
        found: RateLimit = state.public_limits[name]
    return found


def wait_minutes(request: Request, name: str, key: str | None = None) -> int:
    """Minutes the client must wait before `name` again (0: it may now)."""
    wait = limit(request, name).blocked(key or client_address(request))
    return max(1, math.ceil(wait / 60)) if wait > 0 else 0


def _serializer(app: App) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(link_key(app.audit_key), salt=CSRF_PURPOSE)


def csrf_pair(request: Request) -> tuple[str, str]:
    """(cookie value, form value): the request's cookie (or a new one) and its signature."""
    cookie = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
    return cookie, str(_serializer(wired(request)).dumps(cookie))


def csrf_ok(request: Request, supplied: str) -> bool:
    """Whether the form's value is a fresh signature of the request's own cookie."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not supplied:
        return False
    try:
        signed = _serializer(wired(request)).loads(supplied, max_age=CSRF_MAX_AGE)
    except BadSignature:
        return False
    return isinstance(signed, str) and secrets.compare_digest(signed.encode(), cookie.encode())


def public_page(
    request: Request, name: str, context: dict[str, Any], status: int = 200
) -> HTMLResponse:
    """A public page in the visitor's language, with the plan's facts, a fresh CSRF value
    and its cookie."""
    lang = language_of(request)
    facts = plan_facts(request)
    cookie, token = csrf_pair(request)
    other = "en" if lang == "sv" else "sv"
    values = {
        "lang": lang,
        "w": PublicWords(lang),
        "lang_href": f"{request.url.path}?lang={other}",
        "other_lang": other,
        "service": facts.service,
        "mailbox": facts.mailbox,
        "csrf": token,
        **context,
    }
    response = render(request, name, values, status)
    response.set_cookie(
        CSRF_COOKIE, cookie, httponly=True, samesite="strict", secure=is_https(request), path="/"
    )
    remember_language(request, response)
    return response


def text_of(value: Any, language: str) -> str:
    """A plan text (a string or a per-language mapping) in `language`."""
    return localized(value, language) if value else ""
