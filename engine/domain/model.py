"""Runtime domain objects: incidents, events, approvals, messages and timers.

Plain dataclasses with no I/O: the store maps them to tables, the service creates and changes
them, the CLI and web layer present them. Times are timezone-aware UTC. Incident data is kept
JSON-native (datetimes as ISO 8601 strings) so that what is stored, hashed and shown agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
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


# The records an approval and an outbox message hold in lists. Each is stored as a JSON object,
# and the same objects appear in event data (which is hash-chained) and in `--json` output: so
# `to_dict` spells exactly what has always been stored (key order, and optional keys left out
# when they are None), and `from_dict` reads every row ever written. Only the store and the
# producers of JSON shapes call them. Times stay ISO 8601 text, as stored and hashed.


def _given(**values: Any) -> dict[str, Any]:
    """The keyword arguments that are not None, in order: a record's optional keys."""
    return {key: value for key, value in values.items() if value is not None}


@dataclass(frozen=True)
class ApprovalDecision:
    """One entry of an approval's history: a decision on some of its slots, or its withdrawal.

    A decision names the slots it fills (`slots`, indexes into `Approval.slots`); one that an
    operator recorded for a decider on the phone also names the operator (`recorded_by`) and
    the call (`reference`). A withdrawal has only its reason (`withdrawn`) and time.
    """

    at: str
    decision: ApprovalStatus | None = None  # approved or rejected
    decided_by: str | None = None
    comment: str | None = None
    recorded_by: str | None = None
    reference: str | None = None
    slots: tuple[int, ...] | None = None
    withdrawn: str | None = None

    def record(self) -> dict[str, Any]:
        """The entry without its slot indexes: what the `decision` event logs."""
        return _given(
            withdrawn=self.withdrawn,
            decision=self.decision,
            decided_by=self.decided_by,
            at=self.at,
            comment=self.comment,
            recorded_by=self.recorded_by,
            reference=self.reference,
        )

    def to_dict(self) -> dict[str, Any]:
        out = self.record()
        if self.slots is not None:
            out["slots"] = list(self.slots)
        return out

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ApprovalDecision:
        decision, slots = raw.get("decision"), raw.get("slots")
        return cls(
            at=raw["at"],
            decision=ApprovalStatus(decision) if decision is not None else None,
            decided_by=raw.get("decided_by"),
            comment=raw.get("comment"),
            recorded_by=raw.get("recorded_by"),
            reference=raw.get("reference"),
            slots=tuple(slots) if slots is not None else None,
            withdrawn=raw.get("withdrawn"),
        )


@dataclass(frozen=True)
class ApprovalSlot:
    """One decision an approval request needs: an approver holding one of `roles` (for one of
    `subregions`, when set). Open until `decision` is set; the decision's details come with it
    (`comment` is absent when the requester filled the slot by firing the trigger)."""

    roles: tuple[str, ...]
    subregions: tuple[str, ...] | None = None
    decision: ApprovalStatus | None = None
    decided_by: str | None = None
    at: str | None = None
    comment: str | None = None
    recorded_by: str | None = None
    reference: str | None = None

    @property
    def is_open(self) -> bool:
        return self.decision is None

    def filled(self, entry: ApprovalDecision) -> ApprovalSlot:
        """This slot decided by `entry`."""
        return replace(
            self,
            decision=entry.decision,
            decided_by=entry.decided_by,
            at=entry.at,
            comment=entry.comment,
            recorded_by=entry.recorded_by,
            reference=entry.reference,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "roles": list(self.roles),
            "subregions": list(self.subregions) if self.subregions is not None else None,
            **_given(
                decision=self.decision,
                decided_by=self.decided_by,
                at=self.at,
                comment=self.comment,
                recorded_by=self.recorded_by,
                reference=self.reference,
            ),
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ApprovalSlot:
        subregions, decision = raw.get("subregions"), raw.get("decision")
        return cls(
            roles=tuple(raw["roles"]),
            subregions=tuple(subregions) if subregions is not None else None,
            decision=ApprovalStatus(decision) if decision else None,
            decided_by=raw.get("decided_by"),
            at=raw.get("at"),
            comment=raw.get("comment"),
            recorded_by=raw.get("recorded_by"),
            reference=raw.get("reference"),
        )


@dataclass(frozen=True)
class StoredRecipient:
    """One addressee of an outbox message, as the message keeps it: a directory person or a
    contact-list member (`person_id`, None for a list member who is nobody in `people`), or a
    newsletter subscriber (`subscriber_id` and the token of their unsubscribe link)."""

    address: str
    name: str = ""
    person_id: str | None = None
    subscriber_id: str | None = None
    unsubscribe_token: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"address": self.address, "name": self.name}
        if self.subscriber_id is None or self.person_id is not None:
            out["person_id"] = self.person_id  # people and list members, None included
        if self.subscriber_id is not None:
            out["subscriber_id"] = self.subscriber_id
        if self.unsubscribe_token is not None:
            out["unsubscribe_token"] = self.unsubscribe_token
        return out

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> StoredRecipient:
        return cls(
            address=raw["address"],
            name=raw.get("name", ""),
            person_id=raw.get("person_id"),
            subscriber_id=raw.get("subscriber_id"),
            unsubscribe_token=raw.get("unsubscribe_token"),
        )


@dataclass(frozen=True)
class DeliveryResult:
    """What the latest delivery attempt (`attempt`, counted from 1) did for one address."""

    address: str
    status: RecipientStatus
    detail: str
    at: str
    attempt: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "status": self.status,
            "detail": self.detail,
            "at": self.at,
            "attempt": self.attempt,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> DeliveryResult:
        return cls(
            raw["address"], RecipientStatus(raw["status"]), raw["detail"], raw["at"], raw["attempt"]
        )


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
    slots: list[ApprovalSlot]  # one per decision needed, in the gate's order
    status: ApprovalStatus
    expires_at: datetime | None
    state_epoch: int  # the request dies when the incident leaves the state it was made in
    decided_at: datetime | None = None
    decisions: list[ApprovalDecision] = field(default_factory=list)  # oldest first

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
    recipients: list[StoredRecipient]
    status: MessageStatus
    attempts: int
    next_attempt_at: datetime | None
    created_at: datetime
    cause: str  # the event or timer that caused it, for the log
    clear: bool = False
    exercise: bool = False
    meeting: dict[str, Any] | None = None
    extra: dict[str, str] = field(default_factory=dict)  # hints for the channel: the severity
    results: list[DeliveryResult] = field(default_factory=list)  # the latest per address
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
    token: str  # the confirmation token (double opt-in); unique; never unsubscribes
    created_at: datetime
    confirmed_at: datetime | None = None
    unsubscribe_token: str = ""  # in every newsletter copy's unsubscribe link; unique

    def __post_init__(self) -> None:
        # Stores and fakes hand back plain strings; the status is always the enum here.
        self.status = SubscriberStatus(self.status)
