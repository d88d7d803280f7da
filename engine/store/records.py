"""Directory records the store persists that engine/model.py does not (yet) define.

`Person` and `Subscriber` are plain dataclasses with no I/O, like the ones in `engine.model`;
they live here only until the model grows them (then this module re-exports them from there).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

# Subscriber statuses.
SUBSCRIBER_PENDING = "pending"
SUBSCRIBER_CONFIRMED = "confirmed"
SUBSCRIBER_UNSUBSCRIBED = "unsubscribed"


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
    status: str
    token: str  # the confirm / unsubscribe token; unique
    created_at: datetime
    confirmed_at: datetime | None = None
