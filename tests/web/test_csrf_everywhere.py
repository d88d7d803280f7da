"""Every HTML form's POST route refuses a request without its CSRF value (403) and changes
nothing. The routes are enumerated from the app itself, so a new form is covered (or this test
fails, asking for a value of its new path parameter). Left out: the JSON API (`/api/...`,
bearer tokens, covered by tests/web/test_api_authz.py) and the RFC 8058 one-click unsubscribe,
which a mailbox provider posts without any form or cookie: that one must work, and does."""

from __future__ import annotations

from typing import Any

from fastapi.routing import iter_route_contexts

from engine.domain.model import SubscriberStatus
from engine.web.app import create_app
from tests.web.conftest import PASSWORD, Live
from tests.web.page_helpers import ask, csrf_of, link_for, sign_in

ADMIN = "erik.johansson"  # operator and admin in the example directory


def post_routes(live: Live) -> list[str]:
    """The app's POST paths, as FastAPI serves them, without the JSON API's."""
    routes = iter_route_contexts(create_app(live.app).routes)
    return sorted(
        {
            str(r.path)
            for r in routes
            if "POST" in (r.methods or set()) and not str(r.path).startswith("/api/")
        }
    )


def snapshot(live: Live, incident_id: str) -> Any:
    """What any of the forms could change: the log, subscribers, tokens, sessions' owner."""
    service = live.app.service
    return (
        len(service.log(incident_id)),
        [(s.id, s.status) for s in service.subscriptions.list()],
        [(t.id, t.active) for t in service.accounts.tokens(ADMIN)],
        service.directory.snapshot(),
    )


def test_every_form_post_without_its_csrf_value_is_refused(live: Live) -> None:
    """A signed-in administrator's browser (with every CSRF cookie the pages set) posting a
    plausible form with no `csrf` field is refused with 403 on every form route, and nothing
    changes; the one-click unsubscribe alone works without it."""
    service = live.app.service
    incident_id, approval_id = ask(live)
    audience = service.subscriptions.audiences()[0]
    subscriber = service.subscriptions.subscribe(
        audience=audience, email="eva@example.se", name="Eva"
    )
    token = service.accounts.create_token(ADMIN, "larm").token
    client = sign_in(live, ADMIN)
    client.get("/prenumerera")  # the public forms' CSRF cookie
    client.get("/logga-in")  # the sign-in form's
    values = {
        "incident_id": incident_id,
        "trigger": "post_update",
        "message_id": service.messages(incident_id)[0].id,
        "approval_id": approval_id,
        "person_id": ADMIN,
        "token_id": token.id,
        "subscriber_id": subscriber.id,
    }
    decision_link = link_for(live, incident_id, "johan.berg")
    tokens = {
        "/beslut/l/{token}": decision_link.rsplit("/", 1)[1],
        "/subscribe/confirm/{token}": subscriber.token,
        "/unsubscribe/{token}": subscriber.unsubscribe_token,
    }
    form = {  # every form's fields but `csrf`, so only it is missing
        "steg": "skicka",
        "f_details": "Ny information",
        "text": "En anteckning",
        "organisation": "Kommun",
        "beslut": "godkann",
        "kommentar": "Ja",
        "anvandare": ADMIN,
        "losenord": PASSWORD,
        "email": "ny@example.se",
        "epost": "ny@example.se",
        "name": "Ny",
        "namn": "Ny",
        "audience": audience,
        "mottagare": audience,
        "incident": incident_id,
    }
    before = snapshot(live, incident_id)
    paths = post_routes(live)
    assert "/incidenter/ny" in paths and "/admin/importera" in paths  # the enumeration works
    refused = {}
    for template in paths:
        path = template.replace("{token}", tokens.get(template, "{token}"))
        for name, value in values.items():
            path = path.replace("{" + name + "}", value)
        assert "{" not in path, f"give {template}'s path parameter a value in this test"
        # The import form is multipart: send it a file, as the browser would.
        upload = {"fil": ("lista.csv", b"email,name\nny@example.se,Ny\n")}
        answer = client.post(path, data=form, files=upload if "importera" in path else None)
        refused[template] = answer.status_code
    assert len(paths) >= 19  # as of writing; more forms only add to it
    assert refused == dict.fromkeys(paths, 403)
    assert snapshot(live, incident_id) == before
    assert client.get("/beslut").status_code == 200  # still signed in: logging out was refused
    # The same form with the page's value is taken: the refusals above were for want of it.
    page = client.get(f"/incidenter/{incident_id}")
    noted = client.post(
        f"/incidenter/{incident_id}/anteckning", data={**form, "csrf": csrf_of(page.text)}
    )
    assert noted.status_code == 303

    provider = live.client()  # a mailbox provider: no cookie, no form, no CSRF value
    one_click = provider.post(
        f"/unsubscribe/{subscriber.unsubscribe_token}", data={"List-Unsubscribe": "One-Click"}
    )
    assert one_click.status_code == 200
    (ended,) = service.subscriptions.list()
    assert ended.status == SubscriberStatus.UNSUBSCRIBED
