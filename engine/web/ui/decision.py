"""The decision link pages: `GET /beslut/l/{token}` shows the question, `POST` decides.

The link is the credential; the service (`service.links`) checks it and logs every refusal.
Mail scanners and link previews open links with GET, so a GET only ever shows the question;
the decision takes a POST from the page's form, whose CSRF value is bound to the token (see
`forms.link_form_csrf`). A signed-in browser passes its person along, so a link opened in
someone else's session is refused. Every page that cannot help says whom to call instead.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from engine.errors import Conflict, DriftplanError, LinkRefused
from engine.service.facade import Service
from engine.web.auth import Caller, OptionalCallerDep, ServiceDep
from engine.web.pages import STATUS_TITLES, render
from engine.web.problems import status_of
from engine.web.ui.forms import (
    DECISIONS,
    MAX_COMMENT,
    client_address,
    comment_of,
    link_form_csrf,
    phones,
    same,
    still_to_decide,
    trigger_title,
)

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

# reason -> (status, heading, what to do instead). A changed or someone else's link is
# forbidden (403); one that was good but is over is gone for good (410).
REFUSALS: dict[str, tuple[int, str, str]] = {
    "altered": (
        403,
        "Länken fungerar inte",
        "Länken kan ha blivit avklippt eller ändrad när den kopierades. Öppna den direkt "
        "från ditt e-postmeddelande. Fungerar den ändå inte: ring operatören och lämna "
        "ditt beslut per telefon.",
    ),
    "someone_else": (
        403,
        "Länken är inte din",
        "Du är inloggad som en annan person än den som länken skickades till. Använd länken "
        "i ditt eget e-postmeddelande, eller logga ut och öppna länken igen.",
    ),
    "expired": (
        410,
        "Tiden för beslutet har gått ut",
        "Länken gällde bara till begärans sista svarstid. Behövs beslutet fortfarande: ring "
        "operatören, som kan registrera ett beslut du fattar per telefon.",
    ),
    "used": (
        410,
        "Länken har redan använts",
        "Varje länk kan bara användas en gång, och den här har redan använts för ett beslut. "
        "Vill du ändra beslutet eller veta mer: ring operatören.",
    ),
    "closed": (
        410,
        "Begäran är redan avgjord",
        "Begäran har redan avgjorts, dragits tillbaka eller gått ut, så det finns inget att "
        "besluta här längre. Vill du veta hur det gick: ring operatören.",
    ),
}


def _signed_in(caller: Caller | None) -> str | None:
    return caller.person_id if caller else None


def _refused(
    request: Request, service: Service, err: LinkRefused, caller: Caller | None
) -> HTMLResponse:
    status, heading, advice = REFUSALS[err.reason]
    return render(
        request,
        "link_refused.html",
        {
            "heading": heading,
            "text": err.text("sv"),
            "advice": advice,
            "contacts": phones(service.links.help_contacts()),
            "offer_sign_out": err.reason == "someone_else" and caller is not None,
            "caller": caller,
            "csrf": caller.csrf if caller else "",
        },
        status,
    )


def _failed(
    request: Request,
    service: Service,
    err: DriftplanError,
    caller: Caller | None,
    approval_id: str | None = None,
) -> HTMLResponse:
    """Any other refusal (not allowed to decide, request closed meanwhile, a lost race)."""
    status, _ = status_of(err)
    advice = (
        "Inget beslut registrerades. Öppna länken igen och försök på nytt."
        if isinstance(err, Conflict)
        else "Ring operatören om beslutet fortfarande behövs."
    )
    return render(
        request,
        "link_refused.html",
        {
            "heading": STATUS_TITLES.get(status, "Något gick fel"),
            "text": err.text("sv"),
            "advice": advice,
            "contacts": phones(service.links.help_contacts(approval_id)),
            "caller": caller,
            "csrf": caller.csrf if caller else "",
        },
        status,
    )


def _question(
    request: Request,
    token: str,
    service: Service,
    caller: Caller | None,
    *,
    error: str = "",
    comment: str = "",
    status: int = 200,
) -> HTMLResponse:
    try:
        q = service.links.open(token, signed_in=_signed_in(caller))
    except LinkRefused as err:
        return _refused(request, service, err, caller)
    except DriftplanError as err:
        return _failed(request, service, err, caller)
    return render(
        request,
        "decision.html",
        {
            "q": q,
            "action": trigger_title(service, q.incident_id, q.approval_id),
            "contacts": phones(q.contacts),
            "link_csrf": link_form_csrf(request, token),
            "max_comment": MAX_COMMENT,
            "error": error,
            "comment": comment,
            "caller": caller,
            "csrf": caller.csrf if caller else "",
        },
        status,
    )


@router.get("/beslut/l/{token}", response_class=HTMLResponse)
def question(
    request: Request, token: str, caller: OptionalCallerDep, service: ServiceDep
) -> HTMLResponse:
    """The question the link asks; never decides anything."""
    return _question(request, token, service, caller)


@router.post("/beslut/l/{token}", response_class=HTMLResponse)
def decide(
    request: Request,
    token: str,
    caller: OptionalCallerDep,
    service: ServiceDep,
    csrf: Annotated[str, Form()] = "",
    beslut: Annotated[str, Form()] = "",
    kommentar: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """Decide by the link (using it up) and show the outcome."""
    if not same(csrf, link_form_csrf(request, token)):
        log.warning(
            "refused decision link post from %s: missing or wrong CSRF value",
            client_address(request),
        )
        return render(
            request,
            "link_refused.html",
            {
                "heading": "Formuläret kunde inte skickas",
                "text": "Formulärets säkerhetsnyckel saknas eller är fel, så inget beslut "
                "har registrerats.",
                "advice": "Öppna länken i ditt e-postmeddelande igen och fatta beslutet där.",
                "contacts": phones(service.links.help_contacts()),
                "caller": caller,
                "csrf": caller.csrf if caller else "",
            },
            403,
        )
    approve = DECISIONS.get(beslut)
    try:
        comment = comment_of(kommentar)
    except ValueError as err:
        return _question(
            request, token, service, caller, error=str(err), comment=kommentar, status=422
        )
    if approve is None:
        return _question(
            request,
            token,
            service,
            caller,
            error="Välj Godkänn eller Avslå.",
            comment=kommentar,
            status=422,
        )
    signed_in = _signed_in(caller)
    approval_id: str | None = None
    try:
        # Read first: the outcome page names what was decided, and a link that cannot be used
        # is refused (and logged) before anything is written.
        q = service.links.open(token, signed_in=signed_in)
        approval_id = q.approval_id
        action = trigger_title(service, q.incident_id, q.approval_id)
        result = service.links.decide(token, approve=approve, comment=comment, signed_in=signed_in)
    except LinkRefused as err:
        return _refused(request, service, err, caller)
    except DriftplanError as err:
        return _failed(request, service, err, caller, approval_id)
    remaining = (
        still_to_decide(service, q.person_id, q.approval_id) if result.result == "recorded" else ""
    )
    return render(
        request,
        "decision_done.html",
        {
            "q": q,
            "action": action,
            "result": result.result,
            "comment": comment,
            "state_title": service.describe(result.incident_id, "sv")["state_title"],
            "remaining": remaining,
            "contacts": phones(q.contacts),
            "caller": caller,
            "csrf": caller.csrf if caller else "",
        },
    )
