"""Subscribing, confirming and unsubscribing: `/prenumerera`, `/subscribe/confirm/{token}` and
`/unsubscribe/{token}`.

Double opt-in: the form only starts a pending subscription, and the confirmation link goes to
the address by e-mail (`engine.service.confirmation_mail`), never onto the page — whoever typed
an address learns nothing about it, not even whether it already subscribes. The links open a
page with a button, and only its POST acts: mail scanners open links. The unsubscribe link also
takes RFC 8058 one-click (`List-Unsubscribe=One-Click` posted by the mailbox provider, which has
no form and no cookie); its unguessable token is what authorises it.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import HTMLResponse

from engine.definition.definition import Definition
from engine.domain.model import RecipientStatus, Subscriber, SubscriberStatus
from engine.errors import CommandError, DriftplanError, NotFound
from engine.web.auth import ServiceDep, wired
from engine.web.pages import language_of
from engine.web.public.common import csrf_ok, limit, plan_facts, public_page, text_of, wait_minutes
from engine.web.public.words import PublicWords
from engine.web.ui.forms import client_address, has_control

router = APIRouter(include_in_schema=False)
log = logging.getLogger(__name__)

MAX_NAME = 200
ONE_CLICK = "One-Click"


def _audiences(request: Request, service: Any, lang: str) -> list[tuple[str, str]]:
    """The plan's subscriber audiences with their titles."""
    workflow = plan_facts(request).definition.workflow
    valid = set(service.subscriptions.audiences())
    return [
        (name, text_of(spec.title, lang) or name)
        for name, spec in workflow.audiences.items()
        if spec.subscribers and name in valid
    ]


def _form(
    request: Request,
    service: Any,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    error: str = "",
    status: int = 200,
) -> HTMLResponse:
    lang = language_of(request)
    return public_page(
        request,
        "public_subscribe.html",
        {
            "audiences": _audiences(request, service, lang),
            "values": values or {"email": "", "name": "", "audience": ""},
            "errors": errors or {},
            "error": error,
        },
        status,
    )


@router.get("/prenumerera", response_class=HTMLResponse)
def subscribe_form(request: Request, service: ServiceDep) -> HTMLResponse:
    """The subscription form."""
    return _form(request, service)


def _send_confirmation(request: Request, definition: Definition, subscriber: Subscriber) -> Any:
    """A task that mails the confirmation link (after the response: SMTP may be slow)."""
    app = wired(request)
    mail = app.confirmation_mail()

    def send() -> None:
        try:
            report = mail.send(definition, subscriber, app.clock.now())
        except DriftplanError:
            log.exception("the confirmation mail to subscriber %s failed", subscriber.id)
            return
        failed = [r for r in report.results if r.status != RecipientStatus.SENT]
        if failed:
            log.warning("the confirmation mail to subscriber %s: %s", subscriber.id, failed)

    return send


@router.post("/prenumerera", response_class=HTMLResponse)
def subscribe(
    request: Request,
    service: ServiceDep,
    tasks: BackgroundTasks,
    email: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    audience: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """Start a pending subscription and mail its confirmation link to the address."""
    w = PublicWords(language_of(request))
    values = {"email": email.strip(), "name": name.strip(), "audience": audience}
    if not csrf_ok(request, csrf):
        return _form(request, service, values=values, error=w.expired, status=403)
    mailbox = plan_facts(request).mailbox or "-"
    minutes = wait_minutes(request, "subscribe")
    if minutes:
        text = w.f("too_many", minutes=minutes, mailbox=mailbox)
        return _form(request, service, values=values, error=text, status=429)
    errors = {}
    if len(values["name"]) > MAX_NAME:
        errors["name"] = w.f("too_long", n=MAX_NAME)
    elif has_control(values["name"]):
        errors["name"] = w.control
    if audience not in {key for key, _ in _audiences(request, service, w.language)}:
        errors["audience"] = w.bad_audience
    if has_control(values["email"]) or not values["email"]:
        errors["email"] = w.bad_email
    if errors:
        return _form(request, service, values=values, errors=errors, error=w.fix, status=422)
    limit(request, "subscribe").hit(client_address(request))
    if wait_minutes(request, "subscribe_address", values["email"].casefold()):
        # The same page as a success: the visitor learns nothing about the address.
        return public_page(
            request, "public_message.html", {"heading": w.check_mail_heading, "text": w.check_mail}
        )
    try:
        subscriber = service.subscriptions.subscribe(
            audience=audience, email=values["email"], name=values["name"]
        )
    except CommandError:
        errors["email"] = w.bad_email
        return _form(request, service, values=values, errors=errors, error=w.fix, status=422)
    if subscriber.status == SubscriberStatus.PENDING:
        limit(request, "subscribe_address").hit(values["email"].casefold())
        tasks.add_task(_send_confirmation(request, plan_facts(request).definition, subscriber))
    return public_page(
        request, "public_message.html", {"heading": w.check_mail_heading, "text": w.check_mail}
    )


def _token_page(
    request: Request, *, action: str, confirm: bool, error: str = "", status: int = 200
) -> HTMLResponse:
    w = PublicWords(language_of(request))
    return public_page(
        request,
        "public_token.html",
        {
            "heading": w.confirm_heading if confirm else w.unsubscribe_heading,
            "lead": w.confirm_lead if confirm else w.unsubscribe_lead,
            "button": w.confirm_button if confirm else w.unsubscribe_button,
            "action": action,
            "error": error,
        },
        status,
    )


def _link_problem(request: Request, text: str, status: int) -> HTMLResponse:
    w = PublicWords(language_of(request))
    return public_page(
        request,
        "public_message.html",
        {"heading": w.link_problem, "text": text, "alert": True, "back": "/prenumerera"},
        status,
    )


@router.get("/subscribe/confirm/{token}", response_class=HTMLResponse)
def confirm_page(request: Request, token: str) -> HTMLResponse:
    """The confirmation page: a button, nothing decided yet."""
    return _token_page(request, action=request.url.path, confirm=True)


@router.post("/subscribe/confirm/{token}", response_class=HTMLResponse)
def confirm(
    request: Request, service: ServiceDep, token: str, csrf: Annotated[str, Form()] = ""
) -> HTMLResponse:
    """Confirm the subscription of the link's token."""
    w = PublicWords(language_of(request))
    if not csrf_ok(request, csrf):
        return _token_page(
            request, action=request.url.path, confirm=True, error=w.expired, status=403
        )
    try:
        subscriber = service.subscriptions.confirm(token)
    except NotFound:
        return _link_problem(request, w.unknown_link, 404)
    except CommandError:
        return _link_problem(request, w.ended_link, 409)
    text = w.f("confirmed", email=subscriber.email)
    return public_page(
        request, "public_message.html", {"heading": w.confirmed_heading, "text": text}
    )


@router.get("/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe_page(request: Request, token: str) -> HTMLResponse:
    """The unsubscribe page: a button, nothing ended yet."""
    return _token_page(request, action=request.url.path, confirm=False)


@router.post("/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe(
    request: Request,
    service: ServiceDep,
    token: str,
    csrf: Annotated[str, Form()] = "",
    list_unsubscribe: Annotated[str, Form(alias="List-Unsubscribe")] = "",
) -> HTMLResponse:
    """End the subscription: from the page's form, or an RFC 8058 one-click POST."""
    w = PublicWords(language_of(request))
    if list_unsubscribe != ONE_CLICK and not csrf_ok(request, csrf):
        return _token_page(
            request, action=request.url.path, confirm=False, error=w.expired, status=403
        )
    try:
        service.subscriptions.unsubscribe(token)
    except NotFound:
        return _link_problem(request, w.unknown_link, 404)
    return public_page(
        request, "public_message.html", {"heading": w.unsubscribed_heading, "text": w.unsubscribed}
    )
