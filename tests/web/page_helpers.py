"""Helpers of the page tests (HTTP and browser): ask for a decision, find a person's link in
their message, read a form's CSRF value, sign in through the form, read the log."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.app_helpers import DECLARE, OPERATOR
from tests.web.conftest import Live

LINK = re.compile(r"/beslut/l/[A-Za-z0-9_.\-]+")
CSRF_FIELD = re.compile(r'name="csrf" value="([^"]*)"')


def ask(
    live: Live,
    trigger: str = "enter_partial_reserve",
    values: dict[str, Any] | None = None,
    *,
    exercise: bool = False,
) -> tuple[str, str]:
    """Declare an incident and fire a gated trigger on it: (incident id, approval id)."""
    service = live.app.service
    incident_id = service.declare(actor_id=OPERATOR, values=DECLARE, exercise=exercise).incident_id
    if values is None:
        values = {"reserve_subregions": "fyrbodal"} if trigger == "enter_partial_reserve" else {}
    asked = service.fire(incident_id=incident_id, trigger=trigger, actor_id=OPERATOR, values=values)
    assert asked.result == "pending_approval" and asked.approval_id
    return incident_id, asked.approval_id


def link_for(live: Live, incident_id: str, person: str) -> str:
    """The path of `person`'s decision link, from the message the outbox holds for them."""
    for message in live.app.service.messages(incident_id):
        if any(r.person_id == person for r in message.recipients):
            found = LINK.search(message.body_text or "")
            if found:
                return found.group(0)
    raise AssertionError(f"no decision link for {person} in the messages of {incident_id}")


def csrf_of(html: str) -> str:
    found = CSRF_FIELD.search(html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def sign_in(live: Live, person: str) -> httpx.Client:
    """A cookie-keeping client signed in as `person` through the sign-in form."""
    password = live.password(person)
    client = httpx.Client(base_url=live.url, timeout=30)
    live.clients.append(client)
    form = client.get("/logga-in")
    answer = client.post(
        "/logga-in",
        data={"anvandare": person, "losenord": password, "csrf": csrf_of(form.text)},
    )
    assert answer.status_code == 303, answer.text
    return client


def events(live: Live, incident_id: str, kind: str) -> list[dict[str, Any]]:
    return [e for e in live.app.service.log(incident_id) if e["kind"] == kind]


def is_pending(live: Live, incident_id: str, approval_id: str) -> bool:
    shown = live.app.service.show(incident_id)
    return any(a["id"] == approval_id for a in shown["pending_approvals"])


def altered(path: str) -> str:
    """The link with one character of its signed payload changed."""
    prefix, _, token = path.rpartition("/")
    i = len(token) // 4  # inside the payload, before the signature's "."
    swapped = "B" if token[i] != "B" else "C"
    return f"{prefix}/{token[:i]}{swapped}{token[i + 1 :]}"
