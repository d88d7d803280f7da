"""Signed, single-use decision links: what an approver's e-mail carries instead of a CLI command.

A link names one approval request, one person and the state the request was made in (its
epoch), signed with the installation's link key under a purpose of its own (a token made for
anything else does not verify here). A row per link (its nonce) makes it single-use and lets it
expire with the request's deadline. Only the link's nonce and what it names are stored, never
the token: a copy of the database does not hand out decisions.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer

from engine.domain.accounts import DecisionLink
from engine.domain.model import Approval
from engine.errors import LinkRefused
from engine.ports import UnitOfWork

PURPOSE = "driftplan.decision-link.v1"
# A request without a deadline still gets links that stop working on their own.
DEFAULT_LIFETIME = timedelta(hours=24)


@dataclass(frozen=True)
class LinkClaim:
    """What a verified token says: which request, for whom, made in which state epoch."""

    nonce: str
    approval_id: str
    person_id: str
    state_epoch: int


def altered() -> LinkRefused:
    return LinkRefused(
        "altered",
        "The decision link is not valid: it is incomplete or has been changed.",
        sv="Beslutslänken är inte giltig: den är ofullständig eller har ändrats.",
    )


class LinkSigner:
    """Makes and reads decision links (`key` comes from the composition root)."""

    def __init__(self, key: bytes, public_url: str) -> None:
        self._serializer = URLSafeSerializer(key, salt=PURPOSE)
        self.public_url = public_url.rstrip("/")

    def issue(self, uow: UnitOfWork, approval: Approval, person_id: str, now: datetime) -> str:
        """A new link for `person_id` to decide `approval`, recorded in `uow`; its URL."""
        nonce = secrets.token_urlsafe(16)
        expires = approval.expires_at or now + DEFAULT_LIFETIME
        uow.accounts.add_link(
            DecisionLink(
                nonce=nonce,
                approval_id=approval.id,
                person_id=person_id,
                created_at=now,
                expires_at=expires,
            )
        )
        token = self._serializer.dumps(
            {"n": nonce, "a": approval.id, "p": person_id, "e": approval.state_epoch}
        )
        return f"{self.public_url}/beslut/l/{token}"

    def read(self, token: str) -> LinkClaim:
        """The claim a token makes, if its signature holds (else LinkRefused "altered")."""
        try:
            raw = self._serializer.loads(token)
        except BadSignature:
            raise altered() from None
        if not isinstance(raw, dict):
            raise altered()
        try:
            return LinkClaim(str(raw["n"]), str(raw["a"]), str(raw["p"]), int(raw["e"]))
        except (KeyError, TypeError, ValueError):
            raise altered() from None
