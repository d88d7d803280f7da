"""The ports: what the service layer needs from the outside world, as Protocols.

Adapters implement these: the SQL store (`engine.store`: `Store`, `UnitOfWork` and its
repositories), the channels under `channels/` (`Channel`, `ChannelFactory`, `ChannelKinds`), the
clocks (`Clock`). The service layer is typed against these Protocols only, never against an
adapter's class, and mypy checks structurally that each adapter fits. Tests use hand-written
fakes. Nothing here does I/O.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Protocol, runtime_checkable

from engine.definition.channel_settings import ChannelSettings
from engine.domain.model import (
    Approval,
    ApprovalStatus,
    Event,
    Incident,
    Message,
    Person,
    RecipientStatus,
    Subscriber,
    SubscriberStatus,
    Timer,
)


class Clock(Protocol):
    """Where "now" comes from: the wall clock, a fake in tests, a scaled clock in exercises."""

    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True)
class Recipient:
    """One addressee of a message: a person, a list member or a subscriber."""

    address: str  # e-mail address (or other channel-specific address)
    name: str = ""
    person_id: str | None = None
    # For newsletter subscribers: the signed one-click unsubscribe URL of this recipient.
    unsubscribe_url: str | None = None


@dataclass(frozen=True)
class Meeting:
    """A meeting invitation carried by a message (crisis meeting, evaluation meeting)."""

    title: str
    starts_at: datetime
    duration: timedelta
    location: str = ""  # meeting link or telephone-conference details
    organizer: str = ""


@dataclass(frozen=True)
class OutgoingMessage:
    """A rendered message, ready for one channel. Built by the service, sent by the dispatcher.

    `message_id` is stable across retries so that receivers can drop duplicates; `key` is the
    idempotency key for non-mail channels (webhooks, published files).
    """

    message_id: str  # RFC 5322 Message-ID without angle brackets, e.g. "abc@driftplan"
    incident_id: str
    channel: str  # the plan's channel name, e.g. "support_email"
    kind: str  # the channel kind, e.g. "email"
    audience: str
    subject: str
    body_text: str
    body_html: str
    language: str
    created_at: datetime
    settings: Mapping[str, str] = field(default_factory=dict)  # resolved channel settings
    recipients: Sequence[Recipient] = ()
    reply_to: str = ""  # the plan's inbound mailbox: communication is two-way
    clear: bool = False  # for banner/news: this message withdraws the current notice
    exercise: bool = False
    meeting: Meeting | None = None
    incident_state: str = ""
    incident_title: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RecipientResult:
    """What happened to one recipient in one delivery attempt."""

    address: str
    status: RecipientStatus
    detail: str = ""


@dataclass(frozen=True)
class DeliveryReport:
    """The result of delivering one message: per recipient, plus where it went."""

    results: Sequence[RecipientResult] = ()
    target: str = ""  # e.g. "smtp://host:25", "file:/path", "https://..."
    live: bool = True  # False when delivered to the file outbox instead of the real channel


@runtime_checkable
class Channel(Protocol):
    """A delivery mechanism of one kind (email, banner, news, webhook, ...).

    `deliver` sends to every recipient it can and reports per recipient. It raises
    `TemporaryDeliveryError` or `PermanentDeliveryError` only when the message as a whole failed
    (e.g. the server is unreachable); recipients that failed individually go in the report.
    Delivering the same `message_id` twice must be harmless where the medium allows it.
    """

    kind: str

    def deliver(self, message: OutgoingMessage) -> DeliveryReport: ...

    def close(self) -> None:
        """Release connections; called when the dispatcher stops."""
        ...


@dataclass(frozen=True)
class ChannelStatus:
    """Whether a configured channel is live or falls back to the file outbox, and why."""

    live: bool
    target: str
    missing: Sequence[str] = ()
    refused: str = ""  # why the channel can never work (then every message fails for good)


class ChannelFactory(Protocol):
    """Builds a channel for one plan channel from its resolved settings. Declares what settings
    it reads as `settings_spec: ChannelSettings` (a plugin without one: all public text)."""

    kind: str

    def __call__(self, settings: Mapping[str, str], *, data_dir: str) -> Channel: ...

    def status(self, settings: Mapping[str, str], *, data_dir: str) -> ChannelStatus: ...


class ChannelKinds(Protocol):
    """The channel kinds an installation knows (built-ins and plugins), and how a plan channel's
    settings resolve against the environment. Implemented by `channels.registry.ChannelRegistry`
    and injected by `engine.bootstrap`, so the service layer never imports a channel."""

    def factories(self) -> Mapping[str, ChannelFactory]:
        """Every kind by name; loading a broken plugin raises `ConfigurationError`."""
        ...

    def names(self) -> list[str]:
        """Every kind a plan may name, without importing any channel."""
        ...

    def declarations(self) -> Mapping[str, ChannelSettings]:
        """Each kind's settings by class, for the plan checker (a plugin that declares none:
        every setting public); built-ins without importing a channel."""
        ...

    def resolve(
        self, kind: str, plan_settings: Mapping[str, str], environ: Mapping[str, str]
    ) -> dict[str, str]:
        """The effective settings of one plan channel of `kind` (`${NAME}` substituted)."""
        ...

    def unset(self, plan_settings: Mapping[str, str], environ: Mapping[str, str]) -> list[str]:
        """The `${NAME}` variables the settings refer to that the environment does not set."""
        ...


# ------------------------------------------------------------------------------- the store
class DefinitionRepository(Protocol):
    """Plan versions as pinned by incidents (by sha256)."""

    def save(
        self, name: str, version: str | int, sha256: str, snapshot: Mapping[str, Any]
    ) -> None: ...

    def get(self, sha256: str) -> dict[str, Any] | None: ...


class IncidentRepository(Protocol):
    """Incidents; `update` is an optimistic compare-and-set on the row version (Conflict)."""

    def add(self, incident: Incident) -> None: ...

    def get(self, incident_id: str, *, for_update: bool = False) -> Incident: ...

    def list(self, include_closed: bool = False) -> builtins.list[Incident]: ...

    def update(self, incident: Incident) -> None: ...


class EventRepository(Protocol):
    """The append-only, hash-chained event log."""

    def append(
        self,
        incident: Incident,
        *,
        actor: str,
        kind: str,
        at: datetime,
        trigger: str | None = None,
        from_state: str | None = None,
        to_state: str | None = None,
        data: Mapping[str, Any] | None = None,
        saved_with_incident: bool = False,
    ) -> Event: ...

    def list(self, incident_id: str) -> builtins.list[Event]: ...


class ApprovalRepository(Protocol):
    """Approval requests of decision gates."""

    def add(self, approval: Approval) -> None: ...

    def get(self, approval_id: str) -> Approval: ...

    def update(self, approval: Approval) -> None: ...

    def list(
        self, incident_id: str, status: ApprovalStatus | None = None
    ) -> builtins.list[Approval]: ...


class MessageRepository(Protocol):
    """The outbox: one row per channel delivery, claimed under a lease."""

    def add(self, message: Message) -> None: ...

    def add_many(self, messages: builtins.list[Message]) -> None: ...

    def get(self, message_id: str) -> Message: ...

    def list(self, incident_id: str) -> builtins.list[Message]: ...

    def list_dead(self) -> builtins.list[Message]: ...

    def claim_due(
        self, now: datetime, owner: str, lease_seconds: float, limit: int = 10
    ) -> builtins.list[Message]: ...

    def renew_lease(self, message_id: str, owner: str, until: datetime) -> bool: ...

    def update(
        self, message: Message, *, owner: str | None = None, lease_until: datetime | None = None
    ) -> None: ...  # releases the lease; with `owner` and `lease_until` keeps and extends it


class TimerRepository(Protocol):
    """Durable timers; `fire` is a compare-and-set on `fired_at`."""

    @property
    def armed(self) -> builtins.list[Timer]:
        """The timers this unit of work armed, for the alarm clock to wake up for."""
        ...

    def add(self, timer: Timer) -> None: ...

    def add_many(self, timers: builtins.list[Timer]) -> None: ...

    def has_fired(self, timer: Timer) -> bool: ...

    def get(self, timer_id: str) -> Timer: ...

    def list_open(self, incident_id: str | None = None) -> builtins.list[Timer]: ...

    def due(self, now: datetime) -> builtins.list[Timer]: ...

    def fire(self, timer_id: str, now: datetime) -> bool: ...

    def cancel(
        self,
        incident_id: str,
        *,
        now: datetime,
        state_epoch: int | None = None,
        key_prefix: str | None = None,
        keys: builtins.list[str] | None = None,
    ) -> int: ...


class DirectoryRepository(Protocol):
    """People, their roles and sub-regions, and contact lists."""

    def replace(
        self, people: Iterable[Person], lists: Mapping[str, Iterable[Recipient]]
    ) -> None: ...

    def people(self) -> builtins.list[Person]: ...

    def person(self, person_id: str) -> Person: ...

    def lists(self) -> dict[str, builtins.list[Recipient]]: ...

    def list_members(self, name: str) -> builtins.list[Recipient]: ...


class SubscriberRepository(Protocol):
    """Newsletter subscribers (double opt-in)."""

    def add(self, subscriber: Subscriber) -> Subscriber: ...

    def get(self, subscriber_id: str) -> Subscriber: ...

    def confirm(self, token: str, now: datetime) -> Subscriber: ...

    def unsubscribe(self, token: str) -> Subscriber: ...

    def list(
        self, audience: str | None = None, status: SubscriberStatus | None = None
    ) -> builtins.list[Subscriber]: ...


class MetaRepository(Protocol):
    """Small installation-wide values (e.g. the directory generation)."""

    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str) -> None: ...

    def setdefault(self, key: str, value: str) -> str: ...


class UnitOfWork(Protocol):
    """One transaction and the repositories that work inside it.

    Leaving the `with` block without `commit()` rolls everything back.
    """

    @property
    def definitions(self) -> DefinitionRepository: ...

    @property
    def incidents(self) -> IncidentRepository: ...

    @property
    def events(self) -> EventRepository: ...

    @property
    def approvals(self) -> ApprovalRepository: ...

    @property
    def messages(self) -> MessageRepository: ...

    @property
    def timers(self) -> TimerRepository: ...

    @property
    def directory(self) -> DirectoryRepository: ...

    @property
    def subscribers(self) -> SubscriberRepository: ...

    @property
    def meta(self) -> MetaRepository: ...

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


class Store(Protocol):
    """Where state lives: opens units of work."""

    def unit_of_work(self, *, read_only: bool = False) -> UnitOfWork: ...


# ------------------------------------------------------------------------------ the timers
@dataclass(frozen=True)
class FireResult:
    """What firing one timer did."""

    fired: bool
    reason: str = ""
    late_seconds: float = 0.0
    messages: int = 0
    armed: tuple[Timer, ...] = ()  # timers the firing armed (committed with it)


class TimerFiring(Protocol):
    """What the alarm clock (engine.scheduler) needs: fire timers and read the open ones.

    Implemented by `engine.service.timers.TimerRunner`; the scheduler never imports the
    service layer.
    """

    def fire(self, timer_id: str) -> FireResult: ...

    def fire_due(self, limit: int = 500) -> builtins.list[FireResult]: ...

    def timer(self, timer_id: str) -> Timer: ...

    def open_timers(self) -> builtins.list[Timer]: ...
