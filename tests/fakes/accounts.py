"""In-memory accounts of the web service: passwords, API tokens, sessions, decision links and
idempotent responses (engine.ports.accounts), as engine/store/accounts.py keeps them.

The compare-and-sets (`use_link`, `revoke_token`) and `claim_key` see rows that another unit
committed after this one began, as the SQL statement would (PostgreSQL's UPDATE or INSERT
waits for the other writer, then sees its row); a race the other unit wins only after this
call is a Conflict at commit, the fake's stand-in for waiting (see memory_store).
"""

from __future__ import annotations

import builtins
from dataclasses import replace
from datetime import datetime

from engine.domain.accounts import ApiToken, DecisionLink, StoredResponse, WebSession
from engine.errors import Conflict, NotFound

from .tables import Repository, Tables, aware, fresh, insert


class MemoryAccounts(Repository):
    # Passwords

    def password_hash(self, person_id: str) -> str | None:
        found = self._t.passwords.get(person_id)
        return None if found is None else found[0]

    def set_password(self, person_id: str, password_hash: str, at: datetime) -> None:
        stored = (password_hash, aware(at, "updated_at"))
        self._uow.write(lambda t: t.passwords.update({person_id: stored}))

    # API tokens

    def add_token(self, token: ApiToken, secret_hash: str) -> None:
        row = fresh(token)
        duplicate = f"API token '{row.id}' already exists."

        def change(t: Tables) -> None:
            # The secret is UNIQUE in the SQL table, as the id is its primary key.
            if any(secret == secret_hash for _, secret in t.api_tokens.values()):
                raise Conflict(duplicate)
            insert(t.api_tokens, row.id, (row, secret_hash), duplicate)

        self._uow.write(change)

    def token_by_hash(self, secret_hash: str) -> ApiToken | None:
        for token, secret in self._t.api_tokens.values():
            if secret == secret_hash:
                return fresh(token)
        return None

    def tokens(self, person_id: str) -> builtins.list[ApiToken]:
        rows = [token for token, _ in self._t.api_tokens.values() if token.person_id == person_id]
        return [fresh(token) for token in sorted(rows, key=lambda t: (t.created_at, t.id))]

    def revoke_token(self, token_id: str, at: datetime) -> bool:
        at = aware(at, "Revocation time")
        latest = self._uow.store.latest.api_tokens.get(token_id)
        if latest is not None and not latest[0].active:
            return False  # revoked by a unit committed after this one began

        def change(t: Tables) -> bool:
            found = t.api_tokens.get(token_id)
            if found is None or not found[0].active:
                return False
            t.api_tokens[token_id] = (replace(found[0], revoked_at=at), found[1])
            return True

        return self._uow.write(change, same_at_commit=True)

    # Browser sessions

    def add_session(self, secret_hash: str, session: WebSession) -> None:
        row = fresh(session)
        duplicate = "This session already exists."
        self._uow.write(lambda t: insert(t.web_sessions, secret_hash, row, duplicate))

    def session(self, secret_hash: str) -> WebSession | None:
        found = self._t.web_sessions.get(secret_hash)
        return None if found is None else fresh(found)

    def delete_session(self, secret_hash: str) -> None:
        self._uow.write(lambda t: t.web_sessions.pop(secret_hash, None))

    def delete_expired_sessions(self, now: datetime) -> int:
        now = aware(now, "now")

        def change(t: Tables) -> int:
            expired = [key for key, s in t.web_sessions.items() if s.expires_at <= now]
            for key in expired:
                del t.web_sessions[key]
            return len(expired)

        return self._uow.write(change)

    # Decision links

    def add_link(self, link: DecisionLink) -> None:
        row = fresh(link)
        duplicate = f"Decision link '{row.nonce}' already exists."
        self._uow.write(lambda t: insert(t.decision_links, row.nonce, row, duplicate))

    def link(self, nonce: str) -> DecisionLink | None:
        found = self._t.decision_links.get(nonce)
        return None if found is None else fresh(found)

    def use_link(self, nonce: str, at: datetime) -> bool:
        at = aware(at, "Use time")
        latest = self._uow.store.latest.decision_links.get(nonce)
        if latest is not None and latest.used_at is not None:
            return False  # used by a unit committed after this one began

        def change(t: Tables) -> bool:
            found = t.decision_links.get(nonce)
            if found is None or found.used_at is not None:
                return False
            t.decision_links[nonce] = replace(found, used_at=at)
            return True

        return self._uow.write(change, same_at_commit=True)

    # Idempotency keys

    def claim_key(self, response: StoredResponse) -> StoredResponse | None:
        row = fresh(response)
        key = (row.person_id, row.key)
        taken = self._t.idempotency_keys.get(key)
        if taken is None and key not in self._uow.base.idempotency_keys:
            # Claimed by a unit committed after this one began (unless this unit released it).
            taken = self._uow.store.latest.idempotency_keys.get(key)
        if taken is not None:
            return fresh(taken)

        def change(t: Tables) -> bool:
            if key in t.idempotency_keys:
                return False
            t.idempotency_keys[key] = row
            return True

        self._uow.write(change, same_at_commit=True)
        return None

    def finish_key(self, person_id: str, key: str, status: int, body: str) -> None:
        def change(t: Tables) -> None:
            found = t.idempotency_keys.get((person_id, key))
            if found is None:
                raise NotFound(f"Idempotency key '{key}' of {person_id} was not claimed.")
            t.idempotency_keys[(person_id, key)] = replace(found, status=status, body=body)

        self._uow.write(change)

    def release_key(self, person_id: str, key: str) -> None:
        def change(t: Tables) -> None:
            found = t.idempotency_keys.get((person_id, key))
            if found is not None and found.status == 0:
                del t.idempotency_keys[(person_id, key)]

        self._uow.write(change)
