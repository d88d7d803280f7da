"""What the pages share: form values, CSRF values and checks, safe redirects, contacts.

Pages post plain HTML forms (no JavaScript), so every unsafe request carries its CSRF value as
a form field `csrf`; this module makes and checks the values that are not a session's own.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from engine.bootstrap import link_key
from engine.definition.schema import localized
from engine.domain.labels import Labels
from engine.errors import DriftplanError
from engine.service.decision_links import Contact
from engine.service.facade import Service
from engine.web.auth import wired

# Long enough for a reasoned decision, short enough that nobody pastes a document into the log.
MAX_COMMENT = 2000
DECISIONS = {"godkann": True, "avsla": False}
RESULT_KEYS = {"approved": "godkant", "rejected": "avslaget", "recorded": "registrerat"}
_UNSAFE_NEXT = re.compile(r"[\\\x00-\x20\x7f]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Phone:
    """A contact as a page shows it: the name, the number as written, and a tel: target."""

    name: str
    phone: str
    href: str


def phones(contacts: list[Contact]) -> list[Phone]:
    """Contacts with `tel:` targets (digits and a leading + only, as RFC 3966 wants)."""
    out = []
    for c in contacts:
        digits = re.sub(r"[^\d+]", "", c.phone)
        out.append(Phone(c.name, c.phone, f"tel:{digits}"))
    return out


def same(supplied: str | None, expected: str) -> bool:
    """A constant-time comparison that treats a missing value as wrong."""
    if not supplied or not expected:
        return False
    return hmac.compare_digest(supplied.encode(), expected.encode())


def link_form_csrf(request: Request, token: str) -> str:
    """The CSRF value of a decision link's form: an HMAC of the token under the installation's
    link key, so only someone who could open the page can post it, and nothing is stored."""
    key = link_key(wired(request).audit_key)
    return hmac.new(key, b"form:" + token.encode(), hashlib.sha256).hexdigest()


def safe_next(value: str | None, default: str = "/beslut") -> str:
    """A local path to go on to after sign-in: one leading "/" (not "//", which is another
    host), no backslash (browsers read it as "/") and no control characters or spaces."""
    if (
        not value
        or len(value) > 300
        or not value.startswith("/")
        or value.startswith("//")
        or _UNSAFE_NEXT.search(value)
    ):
        return default
    return value


def has_control(text: str) -> bool:
    """Whether `text` holds a control character other than tab and line breaks (NUL among
    them, which PostgreSQL refuses in text: it would fail the write, not just look odd)."""
    return bool(_CONTROL.search(text))


def comment_of(raw: str) -> str:
    """The posted comment, trimmed; ValueError when it is too long or holds control
    characters."""
    comment = raw.strip()
    if len(comment) > MAX_COMMENT:
        raise ValueError(f"Kommentaren är för lång: högst {MAX_COMMENT} tecken.")
    if has_control(comment):
        raise ValueError("Kommentaren innehåller otillåtna tecken (styrtecken).")
    return comment


def is_https(request: Request) -> bool:
    """Whether cookies must be Secure: the request came over https, or the installation is
    published on https (behind a TLS-terminating proxy the request itself may be http)."""
    public_url: str = wired(request).settings.public_url
    return request.url.scheme == "https" or public_url.startswith("https://")


def client_address(request: Request) -> str:
    return request.client.host if request.client else "?"


def transition_title(labels: Labels, trigger: str | None) -> str:
    """The plan's title of a trigger, without its id ("" when it has none)."""
    for t in labels.workflow.transitions:
        if t.trigger == trigger and t.title:
            return localized(t.title, labels.language)
    return ""


def trigger_title(service: Service, incident_id: str, approval_id: str) -> str:
    """What approving leads to, in the plan's words (e.g. "Övergång till reservrutin i delar
    av verksamheterna"): the gate's title alone often says only who decides."""
    try:
        shown = service.show(incident_id)
        labels = service.labels(incident_id, "sv")
    except DriftplanError:
        return ""
    trigger = next(
        (a["trigger"] for a in shown["pending_approvals"] if a["id"] == approval_id), None
    )
    return transition_title(labels, trigger)


def still_to_decide(service: Service, person_id: str, approval_id: str) -> str:
    """Who still has to decide an open request, as the person may read it ("" when they
    may not read the open requests, or it is no longer open)."""
    try:
        pending: list[dict[str, Any]] = service.approvals.pending(person_id, mine=False)
    except DriftplanError:
        return ""
    return next((str(a["still_to_decide"]) for a in pending if a["id"] == approval_id), "")
