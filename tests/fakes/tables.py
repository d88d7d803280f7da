"""The state of the in-memory store and what its repositories share (see memory_store)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from engine.domain.accounts import ApiToken, DecisionLink, StoredResponse, WebSession
from engine.domain.model import (
    Approval,
    ApprovalDecision,
    ApprovalSlot,
    DeliveryResult,
    Event,
    Incident,
    Message,
    Person,
    StoredRecipient,
    Subscriber,
    Timer,
)
from engine.errors import Conflict
from engine.ports import Recipient

if TYPE_CHECKING:
    from .memory_store import MemoryUnitOfWork

Row = TypeVar(
    "Row",
    Incident,
    Event,
    Approval,
    Message,
    Timer,
    Person,
    Subscriber,
    ApiToken,
    WebSession,
    DecisionLink,
    StoredResponse,
)
_JSON_COLUMNS: dict[type, tuple[str, ...]] = {
    Incident: ("data", "flags", "fired_rules"),
    Event: ("data",),
    Approval: ("payload",),
    Message: ("meeting", "extra"),
    Timer: ("payload",),
    Person: ("roles",),
}
# JSON columns holding a list of records: stored as the records' dicts, as the SQL store does.
_RECORD_COLUMNS: dict[type, dict[str, Any]] = {
    Approval: {"slots": ApprovalSlot, "decisions": ApprovalDecision},
    Message: {"recipients": StoredRecipient, "results": DeliveryResult},
}


def json_copy(value: Any) -> Any:
    """What a JSON column gives back: a JSON-native deep copy (TypeError if not JSON)."""
    return json.loads(json.dumps(value))


def aware(value: datetime, what: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got {value.isoformat()}")
    return value.astimezone(UTC)


def fresh(obj: Row) -> Row:
    """A fresh copy of a row, as stored or as a new SELECT returns it."""
    changes = {name: json_copy(getattr(obj, name)) for name in _JSON_COLUMNS.get(type(obj), ())}
    for name, record in _RECORD_COLUMNS.get(type(obj), {}).items():
        stored = json_copy([r.to_dict() for r in getattr(obj, name)])
        changes[name] = [record.from_dict(raw) for raw in stored]
    for f in fields(obj):
        value = getattr(obj, f.name)
        if isinstance(value, datetime):
            changes[f.name] = aware(value, f.name)
    return replace(obj, **changes)


@dataclass
class Tables:
    """One state of the database. Rows are replaced, never changed in place, so copying a
    state copies the dicts only."""

    definitions: dict[str, dict[str, Any]] = field(default_factory=dict)  # sha256 -> snapshot
    incidents: dict[str, Incident] = field(default_factory=dict)
    events: dict[str, tuple[Event, ...]] = field(default_factory=dict)  # by incident, in seq
    approvals: dict[str, Approval] = field(default_factory=dict)
    messages: dict[str, Message] = field(default_factory=dict)
    leases: dict[str, tuple[str, datetime]] = field(default_factory=dict)  # id -> owner, until
    timers: dict[str, Timer] = field(default_factory=dict)
    people: dict[str, Person] = field(default_factory=dict)
    lists: dict[str, tuple[Recipient, ...]] = field(default_factory=dict)
    subscribers: dict[str, Subscriber] = field(default_factory=dict)
    meta: dict[str, str] = field(default_factory=dict)
    # Delivery journals: by message id, its entries in order (a tuple: rows are replaced).
    journals: dict[str, tuple[DeliveryResult, ...]] = field(default_factory=dict)
    # The accounts (engine.ports.accounts); secrets by their hashes, as the SQL store keeps them.
    passwords: dict[str, tuple[str, datetime]] = field(default_factory=dict)  # hash, updated_at
    api_tokens: dict[str, tuple[ApiToken, str]] = field(default_factory=dict)  # token, secret
    web_sessions: dict[str, WebSession] = field(default_factory=dict)  # by secret hash
    decision_links: dict[str, DecisionLink] = field(default_factory=dict)  # by nonce
    idempotency_keys: dict[tuple[str, str], StoredResponse] = field(default_factory=dict)

    def copy(self) -> Tables:
        return Tables(**{f.name: dict(getattr(self, f.name)) for f in fields(self)})


def insert(table: dict[str, Any], key: str, row: Any, duplicate: str) -> None:
    if key in table:
        raise Conflict(duplicate)
    table[key] = row


class Repository:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    @property
    def _t(self) -> Tables:
        return self._uow.tables
