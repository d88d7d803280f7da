"""The relational schema: every table driftplan keeps, as SQLAlchemy Core definitions.

This module owns the *shape* of stored state (DESIGN.md §2: the database owns state and time).
The Alembic migrations under `migrations/versions/` must create exactly this schema; a test
compares the two. Types are portable between SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

# Deterministic constraint names, so that later migrations can drop or alter them by name on
# every backend (SQLite batch mode needs names too).
metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python, on every backend.

    SQLite keeps timestamps as text without an offset and hands back naive values; PostgreSQL
    hands back values in the session's time zone. Normalising here, at the column type, means
    no repository can forget it, and comparisons in WHERE clauses bind UTC too (which keeps
    SQLite's text comparison in chronological order).
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} given; driftplan stores UTC")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _json() -> sa.JSON:
    return sa.JSON()


def _nullable_json() -> sa.JSON:
    # Python None becomes SQL NULL rather than the JSON text 'null'.
    return sa.JSON(none_as_null=True)


def _text(name: str, **kw: Any) -> sa.Column[str]:
    return sa.Column(name, sa.String(), nullable=kw.pop("nullable", False), **kw)


definitions = sa.Table(
    "definitions",
    metadata,
    sa.Column("sha256", sa.String(), primary_key=True),
    _text("name"),
    _text("version"),
    sa.Column("snapshot", _json(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)

incidents = sa.Table(
    "incidents",
    metadata,
    sa.Column("id", sa.String(), primary_key=True),
    _text("workflow"),
    _text("workflow_version"),
    sa.Column(
        "definition_sha256", sa.String(), sa.ForeignKey("definitions.sha256"), nullable=False
    ),
    _text("state"),
    sa.Column("state_epoch", sa.Integer(), nullable=False),
    sa.Column("row_version", sa.Integer(), nullable=False),
    sa.Column("data", _json(), nullable=False),
    sa.Column("flags", _json(), nullable=False),
    sa.Column("fired_rules", _json(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    _text("created_by"),
    sa.Column("exercise", sa.Boolean(), nullable=False),
    sa.Column("closed", sa.Boolean(), nullable=False),
    # The head of the event chain, kept on the incident so that deleting the newest events
    # (which leaves a chain that verifies on its own) is still detectable.
    sa.Column("last_event_seq", sa.Integer(), nullable=False),
    _text("last_event_hash"),
    # The incident list's order, read backwards (engine.store.incident_pages): a page is a
    # range of this index however many incidents are stored.
    sa.Index(None, "closed", "updated_at", "id"),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("incident_id", sa.String(), sa.ForeignKey("incidents.id"), primary_key=True),
    sa.Column("seq", sa.Integer(), primary_key=True),
    sa.Column("at", UTCDateTime(), nullable=False),
    _text("actor"),
    _text("kind"),
    _text("trigger", nullable=True),
    _text("from_state", nullable=True),
    _text("to_state", nullable=True),
    sa.Column("data", _json(), nullable=False),
    _text("prev_hash"),
    _text("hash"),
)

# The installation's chain (engine.store.audit): every event, in commit order, is also one link
# here. No foreign key to events or incidents: a link must outlive an event or incident deleted
# behind driftplan's back, because that is how the deletion shows.
chain_links = sa.Table(
    "chain_links",
    metadata,
    sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
    _text("incident_id"),
    sa.Column("event_seq", sa.Integer(), nullable=False),
    _text("event_hash"),
    _text("prev_hash"),
    _text("hash"),  # SHA-256, keyless: what an anchor pins (engine.store.hashing.link_hash)
    _text("mac"),  # HMAC of `hash` with the audit key
    sa.UniqueConstraint("incident_id", "event_seq"),
)

# The chain's newest link, in one row (id 1): the row every append locks, so that two
# transactions never claim the same seq, and whose MAC shows cutting off the newest links.
chain_head = sa.Table(
    "chain_head",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("seq", sa.Integer(), nullable=False),
    _text("hash"),
    _text("mac"),
)

# One HMAC per incident row over its state, data, flags, closed and chain head
# (engine.store.hashing.incident_seal), written with every change of the row.
incident_seals = sa.Table(
    "incident_seals",
    metadata,
    sa.Column("incident_id", sa.String(), sa.ForeignKey("incidents.id"), primary_key=True),
    _text("mac"),
)

approvals = sa.Table(
    "approvals",
    metadata,
    sa.Column("id", sa.String(), primary_key=True),
    sa.Column("incident_id", sa.String(), sa.ForeignKey("incidents.id"), nullable=False),
    _text("trigger"),
    _text("requested_by"),
    sa.Column("requested_at", UTCDateTime(), nullable=False),
    sa.Column("payload", _json(), nullable=False),
    sa.Column("slots", _json(), nullable=False),
    _text("status"),
    sa.Column("expires_at", UTCDateTime(), nullable=True),
    sa.Column("state_epoch", sa.Integer(), nullable=False),
    sa.Column("decided_at", UTCDateTime(), nullable=True),
    sa.Column("decisions", _json(), nullable=False),
    sa.Index(None, "incident_id", "status"),
)

messages = sa.Table(
    "messages",
    metadata,
    sa.Column("id", sa.String(), primary_key=True),
    sa.Column("incident_id", sa.String(), sa.ForeignKey("incidents.id"), nullable=False),
    _text("channel"),
    _text("kind"),
    _text("audience"),
    _text("language"),
    _text("subject"),
    sa.Column("body_text", sa.Text(), nullable=False),
    sa.Column("body_html", sa.Text(), nullable=False),
    sa.Column("recipients", _json(), nullable=False),
    _text("status"),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("next_attempt_at", UTCDateTime(), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    _text("cause"),
    sa.Column("clear", sa.Boolean(), nullable=False),
    sa.Column("exercise", sa.Boolean(), nullable=False),
    sa.Column("meeting", _nullable_json(), nullable=True),
    sa.Column("extra", _json(), nullable=False, server_default="{}"),
    sa.Column("results", _json(), nullable=False),
    sa.Column("last_error", sa.Text(), nullable=False),
    # The dispatcher's claim: whoever holds an unexpired lease is delivering the message.
    _text("lease_owner", nullable=True),
    sa.Column("lease_until", UTCDateTime(), nullable=True),
    sa.Index(None, "status", "next_attempt_at"),
    sa.Index(None, "incident_id"),
)

# Partial indexes of the timers: only armed (not cancelled) and open rows matter. The condition
# is spelled per dialect; SQLite's is given below and PostgreSQL's is added when a PostgreSQL
# database is opened (`with_postgresql_conditions`), because SQLAlchemy imports a dialect to
# check its options, and a command on SQLite should not load the PostgreSQL dialect (#13).
_ARMED = "cancelled_at IS NULL"
_OPEN = "fired_at IS NULL AND cancelled_at IS NULL"
PARTIAL_INDEXES = {"uq_timers_armed": _ARMED, "ix_timers_open_due_at": _OPEN}

timers = sa.Table(
    "timers",
    metadata,
    sa.Column("id", sa.String(), primary_key=True),
    sa.Column("incident_id", sa.String(), sa.ForeignKey("incidents.id"), nullable=False),
    _text("key"),
    sa.Column("due_at", UTCDateTime(), nullable=False),
    sa.Column("state_epoch", sa.Integer(), nullable=False),
    sa.Column("payload", _json(), nullable=False),
    sa.Column("fired_at", UTCDateTime(), nullable=True),
    sa.Column("cancelled_at", UTCDateTime(), nullable=True),
    sa.Column("late_by_seconds", sa.Float(), nullable=True),
    # Arming the same timer twice would remind twice. Cancelled rows are exempt, so that a
    # deadline moved away and back again (an ETA edited twice) can be armed anew.
    sa.Index(
        "uq_timers_armed",
        "incident_id",
        "key",
        "state_epoch",
        "due_at",
        unique=True,
        sqlite_where=sa.text(_ARMED),
    ),
    # The sweep asks "what is open and due?" constantly; only open rows matter.
    sa.Index(
        "ix_timers_open_due_at",
        "due_at",
        sqlite_where=sa.text(_OPEN),
    ),
)

people = sa.Table(
    "people",
    metadata,
    sa.Column("id", sa.String(), primary_key=True),
    _text("name"),
    _text("email"),
    _text("phone"),
    sa.Column("roles", _json(), nullable=False),
    _text("subregion", nullable=True),
)

contact_lists = sa.Table(
    "contact_lists",
    metadata,
    sa.Column("name", sa.String(), primary_key=True),
    sa.Column("members", _json(), nullable=False),  # [{address, name, person_id}]
)

subscribers = sa.Table(
    "subscribers",
    metadata,
    sa.Column("id", sa.String(), primary_key=True),
    _text("audience"),
    _text("email"),
    _text("name"),
    _text("status"),  # pending | confirmed | unsubscribed
    _text("token"),  # the confirmation token: confirms, never unsubscribes
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("confirmed_at", UTCDateTime(), nullable=True),
    # In every newsletter copy's unsubscribe link; unique, so looked up through its index.
    _text("unsubscribe_token"),
    sa.UniqueConstraint("audience", "email"),
    sa.UniqueConstraint("token"),
    sa.UniqueConstraint("unsubscribe_token"),
)

# A message's delivery journal: the per-recipient results of its running attempt, one small
# row each (engine.service.delivery), folded onto the message row when the attempt ends. A
# dispatcher that dies mid-list leaves here who was served; its successor reads them back.
delivery_journal = sa.Table(
    "delivery_journal",
    metadata,
    sa.Column("message_id", sa.String(), primary_key=True),
    sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("entry", sa.Text(), nullable=False),
    # SQLite: the rows live in the primary key's own b-tree, so a record writes one page, not
    # a table page and an index page (half the WAL traffic of a recipient).
    sqlite_with_rowid=False,
)

meta = sa.Table(
    "meta",
    metadata,
    sa.Column("key", sa.String(), primary_key=True),
    sa.Column("value", sa.Text(), nullable=False),
)

# What the web service keeps about people who sign in (engine.ports.accounts). Secrets are
# stored only as hashes. `person_id` names a directory person but has no foreign key: the
# directory is replaced whole on every import (people rows are deleted and inserted again).
passwords = sa.Table(
    "passwords",
    metadata,
    sa.Column("person_id", sa.String(), primary_key=True),
    _text("password_hash"),  # argon2id, self-describing
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.String(), primary_key=True),
    _text("person_id"),
    _text("name"),
    _text("secret_hash"),  # every request looks its token up by this
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("revoked_at", UTCDateTime(), nullable=True),  # kept, so that the list shows it
    sa.UniqueConstraint("secret_hash"),
    sa.Index(None, "person_id"),
)

web_sessions = sa.Table(
    "web_sessions",
    metadata,
    sa.Column("secret_hash", sa.String(), primary_key=True),
    _text("person_id"),
    _text("csrf"),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
    # Signing in deletes the expired sessions of everyone.
    sa.Index(None, "expires_at"),
)

# One row per e-mailed decision link; `used_at` is set once, by compare-and-set.
decision_links = sa.Table(
    "decision_links",
    metadata,
    sa.Column("nonce", sa.String(), primary_key=True),
    _text("approval_id"),
    _text("person_id"),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
    sa.Column("used_at", UTCDateTime(), nullable=True),
)

# The first response to a POST with an Idempotency-Key, per person (status 0 while it runs).
idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("person_id", sa.String(), primary_key=True),
    sa.Column("key", sa.String(), primary_key=True),
    _text("request_hash"),
    sa.Column("status", sa.Integer(), nullable=False),
    sa.Column("body", sa.Text(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)


def with_postgresql_conditions() -> None:
    """Give the partial indexes their PostgreSQL condition (idempotent; see PARTIAL_INDEXES)."""
    for index in timers.indexes:
        condition = PARTIAL_INDEXES.get(index.name or "")
        if condition is not None and "postgresql_where" not in index.dialect_kwargs:
            index.dialect_kwargs["postgresql_where"] = sa.text(condition)
