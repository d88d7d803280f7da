"""Runtime domain objects: incidents, events, approvals, messages and timers.

Plain dataclasses with no I/O: the store maps them to tables, the service creates and changes
them, the CLI and web layer present them. Times are timezone-aware UTC. Incident data is kept
JSON-native (datetimes as ISO 8601 strings) so that what is stored, hashed and shown agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class MessageStatus(StrEnum):
    """Where an outbox message is: waiting, delivered, to be retried, or a dead letter."""

    PENDING = "pending"
    SENT = "sent"
    RETRYING = "retrying"
    DEAD = "dead"


class ApprovalStatus(StrEnum):
    """Where an approval request is; only a pending one can be decided."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"


class SubscriberStatus(StrEnum):
    """Double opt-in: pending until the link is opened, then confirmed, until unsubscribed."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    UNSUBSCRIBED = "unsubscribed"


class RecipientStatus(StrEnum):
    """What one delivery attempt did for one recipient: 4xx-like failures are temporary."""

    SENT = "sent"
    TEMPORARY = "temporary"
    PERMANENT = "permanent"


@dataclass
class Incident:
    """One outage being run through a plan."""

    id: str
    workflow: str
    workflow_version: str
    definition_sha256: str
    state: str
    state_epoch: int
    row_version: int
    data: dict[str, Any]
    flags: list[str]
    fired_rules: list[str]
    created_at: datetime
    updated_at: datetime
    created_by: str
    exercise: bool = False
    closed: bool = False
    # The head of the incident's event chain, kept on the row so that cutting off the newest
    # events shows; the store keeps these in step with every append.
    last_event_seq: int = 0
    last_event_hash: str = ""


@dataclass
class Event:
    """One entry of the append-only, hash-chained log of an incident."""

    incident_id: str
    seq: int
    at: datetime
    actor: str
    kind: str  # declare, transition, update, approval_requested, decision, refused, ...
    trigger: str | None
    from_state: str | None
    to_state: str | None
    data: dict[str, Any]
    prev_hash: str = ""
    hash: str = ""


@dataclass
class Approval:
    """A pending or decided request to let a gated trigger through."""

    id: str
    incident_id: str
    trigger: str
    requested_by: str
    requested_at: datetime
    payload: dict[str, Any]  # the trigger's data, applied when the request is granted
    slots: list[dict[str, Any]]  # [{roles: [...], subregions: [...]|None, filled_by, decision}]
    status: ApprovalStatus
    expires_at: datetime | None
    state_epoch: int  # the request dies when the incident leaves the state it was made in
    decided_at: datetime | None = None
    decisions: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        # Stores and fakes hand back plain strings; the status is always the enum here.
        self.status = ApprovalStatus(self.status)


@dataclass
class Message:
    """One delivery of a rendered message on one channel (an outbox row)."""

    id: str
    incident_id: str
    channel: str
    kind: str
    audience: str
    language: str
    subject: str
    body_text: str
    body_html: str
    recipients: list[dict[str, Any]]
    status: MessageStatus
    attempts: int
    next_attempt_at: datetime | None
    created_at: datetime
    cause: str  # the event or timer that caused it, for the log
    clear: bool = False
    exercise: bool = False
    meeting: dict[str, Any] | None = None
    results: list[dict[str, Any]] = field(default_factory=list)
    last_error: str = ""

    def __post_init__(self) -> None:
        # Stores and fakes hand back plain strings; the status is always the enum here.
        self.status = MessageStatus(self.status)


@dataclass
class Timer:
    """A durable reminder or deadline; APScheduler only wakes us up for it."""

    id: str
    incident_id: str
    key: str  # e.g. "state:outage:update_due" or "approval:<id>:remind:0"
    due_at: datetime
    state_epoch: int
    payload: dict[str, Any]
    fired_at: datetime | None = None
    cancelled_at: datetime | None = None
    late_by_seconds: float | None = None


# The `meta` key that changes whenever people, lists or subscribers change, so that a process
# may keep the directory in memory and re-read it only after a change (by any process).
DIRECTORY_GENERATION = "directory_generation"


@dataclass
class Person:
    """Someone in the directory who can hold roles in a plan."""

    id: str
    name: str
    email: str = ""
    phone: str = ""
    roles: list[str] = field(default_factory=list)
    subregion: str | None = None


@dataclass
class Subscriber:
    """A member of the public (or staff) subscribed to an audience's newsletter (double opt-in)."""

    id: str
    audience: str
    email: str
    name: str
    status: SubscriberStatus
    token: str  # the confirm / unsubscribe token; unique
    created_at: datetime
    confirmed_at: datetime | None = None

    def __post_init__(self) -> None:
        # Stores and fakes hand back plain strings; the status is always the enum here.
        self.status = SubscriberStatus(self.status)
