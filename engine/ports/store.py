"""The store port: the unit of work and one Protocol per repository (implemented by
engine.store on SQL, and by tests/fakes in memory)."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol

from engine.domain.model import (
    Approval,
    ApprovalStatus,
    DeliveryResult,
    Event,
    Incident,
    Message,
    Person,
    Subscriber,
    SubscriberStatus,
    Timer,
)
from engine.domain.paging import IncidentPage, IncidentQuery
from engine.ports.accounts import AccountRepository
from engine.ports.channels import Recipient


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

    def page(self, query: IncidentQuery) -> IncidentPage:
        """One page of the listing, reading about `query.limit` rows (engine.domain.paging)."""
        ...

    def newest_by_version(self) -> builtins.list[Incident]:
        """The newest incident (by `created_at`, then id) of each workflow and plan version
        incidents were pinned to, newest first: one row per plan version, not per incident."""
        ...

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

    def pending(self) -> builtins.list[Approval]:
        """Every pending request of every open incident, oldest first."""
        ...


class MessageRepository(Protocol):
    """The outbox: one row per channel delivery, claimed under a lease."""

    def add(self, message: Message) -> None: ...

    def add_many(self, messages: builtins.list[Message]) -> None: ...

    def get(self, message_id: str) -> Message: ...

    def list(self, incident_id: str) -> builtins.list[Message]: ...

    def list_dead(self) -> builtins.list[Message]: ...

    def counts(self, now: datetime) -> dict[str, int]:
        """{"due": waiting now, "later": scheduled retries, "dead": dead letters}."""
        ...

    def claim_due(
        self, now: datetime, owner: str, lease_seconds: float, limit: int = 10
    ) -> builtins.list[Message]: ...

    def renew_lease(self, message_id: str, owner: str, until: datetime) -> bool: ...

    # A message's delivery journal (engine.service.delivery_journal): the per-recipient results
    # of its running attempt that are not on the message row yet, in order. Written through
    # `Store.journal_writer`; read and emptied here, with the message.
    def journal(self, message_id: str) -> builtins.list[DeliveryResult]: ...

    def journal_clear(self, message_id: str) -> None: ...

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

    def by_confirmation_token(self, token: str) -> Subscriber: ...

    def by_unsubscribe_token(self, token: str) -> Subscriber: ...

    def confirm(self, token: str, now: datetime) -> Subscriber: ...

    def unsubscribe(self, unsubscribe_token: str) -> Subscriber: ...

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

    @property
    def accounts(self) -> AccountRepository: ...

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


class JournalWriter(Protocol):
    """Writes one message's delivery journal for the length of one attempt; `close` ends it."""

    def add(self, seq: int, entries: Sequence[DeliveryResult], *, durable: bool) -> bool:
        """Commit `entries`, numbered seq, seq+1, ..., while `owner` holds the message's lease;
        False, and nothing written, when another dispatcher holds it now. Unless `durable`,
        the commit need not wait for the disk: it must survive the process being killed, not
        the machine losing power."""
        ...

    def close(self) -> None: ...


class Store(Protocol):
    """Where state lives: opens units of work, and journal writers for the dispatcher (the SQL
    store holds one connection per attempt: engine.store.delivery_journal)."""

    def unit_of_work(self, *, read_only: bool = False) -> UnitOfWork: ...

    def journal_writer(self, message_id: str, owner: str) -> JournalWriter: ...
