"""The accounts port: credentials, sessions, decision links and idempotent responses of the web
service, kept by the store inside the same unit of work as everything else."""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Protocol

from engine.domain.accounts import ApiToken, DecisionLink, StoredResponse, WebSession


class AccountRepository(Protocol):
    """Secrets are stored only as hashes made by the caller (argon2id for passwords, SHA-256 of
    a random 256-bit secret for tokens and sessions)."""

    # Passwords (one per directory person)
    def password_hash(self, person_id: str) -> str | None: ...

    def set_password(self, person_id: str, password_hash: str, at: datetime) -> None: ...

    # API tokens
    def add_token(self, token: ApiToken, secret_hash: str) -> None: ...

    def token_by_hash(self, secret_hash: str) -> ApiToken | None: ...

    def tokens(self, person_id: str) -> builtins.list[ApiToken]: ...

    def revoke_token(self, token_id: str, at: datetime) -> bool:
        """Revoke an active token; False when there is no such active token."""
        ...

    # Browser sessions
    def add_session(self, secret_hash: str, session: WebSession) -> None: ...

    def session(self, secret_hash: str) -> WebSession | None: ...

    def delete_session(self, secret_hash: str) -> None: ...

    def delete_expired_sessions(self, now: datetime) -> int: ...

    # Decision links
    def add_link(self, link: DecisionLink) -> None: ...

    def link(self, nonce: str) -> DecisionLink | None: ...

    def use_link(self, nonce: str, at: datetime) -> bool:
        """Mark a link used (compare-and-set on `used_at IS NULL`); False when it was used."""
        ...

    # Idempotency keys
    def claim_key(self, response: StoredResponse) -> StoredResponse | None:
        """Insert the in-progress row (status 0); the existing row when the key was taken."""
        ...

    def finish_key(self, person_id: str, key: str, status: int, body: str) -> None: ...

    def release_key(self, person_id: str, key: str) -> None:
        """Forget an in-progress key (the request failed before it had a response)."""
        ...
