"""The accounts repository: passwords, API tokens, browser sessions, decision links and
idempotent responses of the web service (engine.ports.accounts), on SQL.

Secrets arrive hashed; nothing here hashes or checks them. The writes that two requests may
race on are single statements whose outcome the database decides: `use_link` and
`revoke_token` are compare-and-sets in the UPDATE's WHERE (on PostgreSQL the second writer
waits for the first and then matches no row; SQLite's BEGIN IMMEDIATE serializes writers), and
`set_password` and `claim_key` use the dialect's INSERT ... ON CONFLICT, so that a lost race
is an answer, not an IntegrityError.
"""

from __future__ import annotations

import builtins
import importlib
from collections.abc import Callable
from dataclasses import fields
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING

import sqlalchemy as sa

from engine.domain.accounts import ApiToken, DecisionLink, StoredResponse, WebSession
from engine.errors import Conflict, NotFound
from engine.store import tables as t
from engine.store.repositories import Repository, aware, row_fields, values_of

_TOKEN_FIELDS = tuple(f.name for f in fields(ApiToken))
_SESSION_FIELDS = tuple(f.name for f in fields(WebSession))
_LINK_FIELDS = tuple(f.name for f in fields(DecisionLink))
_RESPONSE_FIELDS = tuple(f.name for f in fields(StoredResponse))

_pw, _tok, _ses, _lnk, _idem = (
    t.passwords,
    t.api_tokens,
    t.web_sessions,
    t.decision_links,
    t.idempotency_keys,
)

if TYPE_CHECKING:
    from sqlalchemy.dialects import postgresql, sqlite

# postgresql.insert or sqlite.insert: the two spell ON CONFLICT alike.
_DialectInsert = Callable[[sa.Table], "postgresql.Insert | sqlite.Insert"]


def _upsert_password(insert: _DialectInsert) -> sa.Executable:
    statement = insert(_pw)
    return statement.on_conflict_do_update(
        index_elements=[_pw.c.person_id],
        set_={
            "password_hash": statement.excluded.password_hash,
            "updated_at": statement.excluded.updated_at,
        },
    )


def _claim(insert: _DialectInsert) -> sa.Executable:
    statement = insert(_idem).on_conflict_do_nothing(
        index_elements=[_idem.c.person_id, _idem.c.key]
    )
    # Whether the row went in is the rowcount, which SQLAlchemy keeps for an INSERT only when
    # asked to (without it an INSERT on psycopg reports -1, inserted or not).
    return statement.execution_options(preserve_rowcount=True)


@cache
def _on_conflict(dialect: str) -> tuple[sa.Executable, sa.Executable]:
    """The password upsert and the idempotency-key claim in `dialect`'s spelling of ON CONFLICT,
    built once per process; imported on first use, so SQLite never loads the PostgreSQL
    dialect (issue #13: start-up)."""
    insert: _DialectInsert = importlib.import_module(f"sqlalchemy.dialects.{dialect}").insert
    return _upsert_password(insert), _claim(insert)


_PASSWORD_HASH = sa.select(_pw.c.password_hash).where(_pw.c.person_id == sa.bindparam("b_person"))
_INSERT_TOKEN = sa.insert(_tok)
_TOKEN_BY_HASH = sa.select(_tok).where(_tok.c.secret_hash == sa.bindparam("b_hash"))
_TOKENS_OF = (
    sa.select(_tok)
    .where(_tok.c.person_id == sa.bindparam("b_person"))
    .order_by(_tok.c.created_at, _tok.c.id)
)
_REVOKE_TOKEN = sa.update(_tok).where(
    _tok.c.id == sa.bindparam("b_id"), _tok.c.revoked_at.is_(None)
)
_INSERT_SESSION = sa.insert(_ses)
_GET_SESSION = sa.select(_ses).where(_ses.c.secret_hash == sa.bindparam("b_hash"))
_DELETE_SESSION = sa.delete(_ses).where(_ses.c.secret_hash == sa.bindparam("b_hash"))
_DELETE_EXPIRED_SESSIONS = sa.delete(_ses).where(_ses.c.expires_at <= sa.bindparam("b_now"))
_INSERT_LINK = sa.insert(_lnk)
_GET_LINK = sa.select(_lnk).where(_lnk.c.nonce == sa.bindparam("b_nonce"))
# The compare-and-set that makes a decision link single-use.
_USE_LINK = sa.update(_lnk).where(_lnk.c.nonce == sa.bindparam("b_nonce"), _lnk.c.used_at.is_(None))
_THE_KEY = (
    _idem.c.person_id == sa.bindparam("b_person"),
    _idem.c.key == sa.bindparam("b_key"),
)
_GET_KEY = sa.select(_idem).where(*_THE_KEY)
_FINISH_KEY = sa.update(_idem).where(*_THE_KEY)
# Only a request still running (status 0) is forgotten; a finished response stays the answer.
_RELEASE_KEY = sa.delete(_idem).where(*_THE_KEY, _idem.c.status == 0)

# How often claim_key tries again when the row it lost to was released before it could read
# it. Each round needs another request to claim and release the same key in between.
_CLAIM_ROUNDS = 3


class AccountRepository(Repository):
    """Credentials, sessions, decision links and idempotent responses of the web service."""

    # Passwords

    def password_hash(self, person_id: str) -> str | None:
        """The person's password hash, or None when they have no password."""
        found = self._uow.execute(_PASSWORD_HASH, {"b_person": person_id})
        stored: str | None = found.scalar_one_or_none()
        return stored

    def set_password(self, person_id: str, password_hash: str, at: datetime) -> None:
        """Set or replace the person's password hash."""
        values = {"person_id": person_id, "password_hash": password_hash, "updated_at": at}
        self._uow.execute(_on_conflict(self._uow.dialect)[0], values)

    # API tokens

    def add_token(self, token: ApiToken, secret_hash: str) -> None:
        """Store a new token; Conflict when its id or secret is taken."""
        values = values_of(token, _TOKEN_FIELDS) | {"secret_hash": secret_hash}
        self._insert_unique(_INSERT_TOKEN, values, f"API token '{token.id}' already exists.")

    def token_by_hash(self, secret_hash: str) -> ApiToken | None:
        """The token with this secret, revoked or not (callers check `.active`), or None."""
        row = self._uow.execute(_TOKEN_BY_HASH, {"b_hash": secret_hash}).mappings().one_or_none()
        return None if row is None else ApiToken(**row_fields(row, _TOKEN_FIELDS))

    def tokens(self, person_id: str) -> builtins.list[ApiToken]:
        """The person's tokens, revoked ones too, oldest first."""
        rows = self._uow.execute(_TOKENS_OF, {"b_person": person_id}).mappings()
        return [ApiToken(**row_fields(row, _TOKEN_FIELDS)) for row in rows]

    def revoke_token(self, token_id: str, at: datetime) -> bool:
        """Revoke an active token; False when there is no such active token."""
        values = {"b_id": token_id, "revoked_at": aware(at, "Revocation time")}
        return self._uow.execute(_REVOKE_TOKEN, values).rowcount == 1

    # Browser sessions

    def add_session(self, secret_hash: str, session: WebSession) -> None:
        """Store a new session; Conflict when its secret is taken."""
        values = values_of(session, _SESSION_FIELDS) | {"secret_hash": secret_hash}
        self._insert_unique(_INSERT_SESSION, values, "This session already exists.")

    def session(self, secret_hash: str) -> WebSession | None:
        """The session with this secret, expired or not (callers check), or None."""
        row = self._uow.execute(_GET_SESSION, {"b_hash": secret_hash}).mappings().one_or_none()
        return None if row is None else WebSession(**row_fields(row, _SESSION_FIELDS))

    def delete_session(self, secret_hash: str) -> None:
        """Forget the session (signing out); no such session is no error."""
        self._uow.execute(_DELETE_SESSION, {"b_hash": secret_hash})

    def delete_expired_sessions(self, now: datetime) -> int:
        """Forget every session that expired at or before `now`; returns how many."""
        found = self._uow.execute(_DELETE_EXPIRED_SESSIONS, {"b_now": aware(now, "now")})
        return found.rowcount

    # Decision links

    def add_link(self, link: DecisionLink) -> None:
        """Store a new decision link; Conflict when its nonce is taken."""
        values = values_of(link, _LINK_FIELDS)
        self._insert_unique(_INSERT_LINK, values, f"Decision link '{link.nonce}' already exists.")

    def link(self, nonce: str) -> DecisionLink | None:
        """The decision link, used or not, or None."""
        row = self._uow.execute(_GET_LINK, {"b_nonce": nonce}).mappings().one_or_none()
        return None if row is None else DecisionLink(**row_fields(row, _LINK_FIELDS))

    def use_link(self, nonce: str, at: datetime) -> bool:
        """Mark a link used; True only for the one caller that did so (False when it was used
        or does not exist)."""
        values = {"b_nonce": nonce, "used_at": aware(at, "Use time")}
        return self._uow.execute(_USE_LINK, values).rowcount == 1

    # Idempotency keys

    def claim_key(self, response: StoredResponse) -> StoredResponse | None:
        """Insert the in-progress row; None when this call inserted it, else the row that holds
        the key. Never raises for a taken key, also when two requests race for it."""
        values = values_of(response, _RESPONSE_FIELDS)
        key = {"b_person": response.person_id, "b_key": response.key}
        for _ in range(_CLAIM_ROUNDS):
            if self._uow.execute(_on_conflict(self._uow.dialect)[1], values).rowcount == 1:
                return None
            # On PostgreSQL the INSERT waited for the holder's transaction, so this SELECT
            # (a new snapshot under READ COMMITTED) sees its row, unless it was released since.
            row = self._uow.execute(_GET_KEY, key).mappings().one_or_none()
            if row is not None:
                return StoredResponse(**row_fields(row, _RESPONSE_FIELDS))
        raise Conflict(
            f"Idempotency key '{response.key}' is being claimed and released by other requests; "
            "try again."
        )

    def finish_key(self, person_id: str, key: str, status: int, body: str) -> None:
        """Record the response of the request that claimed the key; NotFound if no one did."""
        values = {"b_person": person_id, "b_key": key, "status": status, "body": body}
        if self._uow.execute(_FINISH_KEY, values).rowcount == 0:
            raise NotFound(f"Idempotency key '{key}' of {person_id} was not claimed.")

    def release_key(self, person_id: str, key: str) -> None:
        """Forget an in-progress key (the request failed before it had a response)."""
        self._uow.execute(_RELEASE_KEY, {"b_person": person_id, "b_key": key})
