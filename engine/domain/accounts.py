"""What the web service keeps about people who sign in: API tokens, sessions, decision links
and idempotent responses. Plain values; hashing and checking are the service layer's job
(`engine.service.accounts`, `engine.service.decision_links`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ApiToken:
    """A named API token of a person; only a hash of its secret is stored."""

    id: str
    person_id: str
    name: str
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class WebSession:
    """A signed-in browser: who, the CSRF token of their forms, and until when."""

    person_id: str
    csrf: str
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class DecisionLink:
    """One e-mailed decision link: for one person, one approval request, used at most once."""

    nonce: str
    approval_id: str
    person_id: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None


@dataclass(frozen=True)
class StoredResponse:
    """The first response to a POST with an `Idempotency-Key` (status 0 while it runs)."""

    person_id: str
    key: str
    request_hash: str
    status: int
    body: str
    created_at: datetime
