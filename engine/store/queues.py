"""Repositories for work that happens later: the message outbox and the timers table.

The outbox is claimed by dispatchers with a lease (so a crashed dispatcher's messages are
picked up again once the lease runs out), and timers fire by compare-and-set on `fired_at`
(so that two wake-ups of the same timer act once). Both are the truth that APScheduler and the
dispatcher loop only poll (DESIGN.md §2).
"""

from __future__ import annotations

import builtins
from dataclasses import fields
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from engine.domain.model import DeliveryResult, Message, MessageStatus, Timer
from engine.errors import Conflict, NotFound
from engine.store import delivery_journal as journal_sql
from engine.store import tables as t
from engine.store.delivery_journal import read_entries
from engine.store.record_columns import message_columns, message_records
from engine.store.repositories import Repository, Transaction, aware, row_fields, values_of

_MESSAGE_FIELDS = tuple(f.name for f in fields(Message))
_TIMER_FIELDS = tuple(f.name for f in fields(Timer))

_m = t.messages
_t = t.timers
# Statements built once with bind parameters (see engine/store/repositories.py): each
# execution is a hit in SQLAlchemy's compiled cache.
_INSERT_MESSAGE = sa.insert(_m)
_GET_MESSAGE = sa.select(_m).where(_m.c.id == sa.bindparam("b_id"))
_MESSAGES_OF = (
    sa.select(_m)
    .where(_m.c.incident_id == sa.bindparam("b_incident"))
    .order_by(_m.c.created_at, _m.c.id)
)
_INSERT_TIMER = sa.insert(_t)
_GET_TIMER = sa.select(_t).where(_t.c.id == sa.bindparam("b_id"))
_TIMER_DUE_AT = sa.select(_t.c.due_at).where(_t.c.id == sa.bindparam("b_id"))
# The compare-and-set of firing: only an open timer is marked, so one caller wins.
_FIRE_TIMER = sa.update(_t).where(
    _t.c.id == sa.bindparam("b_id"), _t.c.fired_at.is_(None), _t.c.cancelled_at.is_(None)
)
# What every status update cancels: the open timers of one state epoch, by key. The keys are
# an expanding IN: one cached statement for any number of keys, rendered per execution.
_CANCEL_KEYS_OF_EPOCH = sa.update(_t).where(
    _t.c.incident_id == sa.bindparam("b_incident"),
    _t.c.fired_at.is_(None),
    _t.c.cancelled_at.is_(None),
    _t.c.state_epoch == sa.bindparam("b_epoch"),
    _t.c.key.in_(sa.bindparam("b_keys", expanding=True)),
)


def _message(row: sa.RowMapping) -> Message:
    values = row_fields(row, _MESSAGE_FIELDS)
    return Message(**(values | message_records(values)))


def _message_values(message: Message) -> dict[str, Any]:
    """A message's columns (no lease)."""
    return values_of(message, _MESSAGE_FIELDS) | message_columns(message)


def timer_from_row(row: sa.RowMapping) -> Timer:
    """A timer from a row of the timers table (extra columns are ignored)."""
    return Timer(**row_fields(row, _TIMER_FIELDS))


_timer = timer_from_row


class MessageRepository(Repository):
    """The outbox: one row per channel delivery, claimed by dispatchers under a lease."""

    def __init__(self, uow: Transaction) -> None:
        super().__init__(uow)
        # How many messages this transaction queued for delivery: the unit of work wakes the
        # dispatcher after committing them (engine.store.wakeups).
        self.queued = 0

    def add(self, message: Message) -> None:
        """Queue a message (committed with the command that caused it)."""
        values = _message_values(message) | {"lease_owner": None, "lease_until": None}
        self._insert_unique(_INSERT_MESSAGE, values, f"Message '{message.id}' already exists.")
        self.queued += 1

    def add_many(self, messages: builtins.list[Message]) -> None:
        """Queue a command's messages in one round trip.

        Their ids are fresh random values, so no duplicate is expected: no savepoint per row
        (which cost a third of a command's time), one executemany instead.
        """
        if not messages:
            return
        lease = {"lease_owner": None, "lease_until": None}
        rows = [_message_values(m) | lease for m in messages]
        self._uow.execute(_INSERT_MESSAGE, rows)
        self.queued += len(rows)

    def get(self, message_id: str) -> Message:
        """The message, or NotFound."""
        row = (
            None  # no stored id holds a NUL, and PostgreSQL refuses one in a parameter
            if "\x00" in message_id
            else self._uow.execute(_GET_MESSAGE, {"b_id": message_id}).mappings().one_or_none()
        )
        if row is None:
            raise NotFound(f"Message '{message_id}' does not exist.")
        return _message(row)

    def list(self, incident_id: str) -> builtins.list[Message]:
        """The incident's messages, oldest first."""
        rows = self._uow.execute(_MESSAGES_OF, {"b_incident": incident_id}).mappings()
        return [_message(row) for row in rows]

    def list_dead(self) -> builtins.list[Message]:
        """Dead letters: messages that will never be delivered, for operators to see."""
        query = (
            sa.select(_m)
            .where(_m.c.status == MessageStatus.DEAD)
            .order_by(_m.c.created_at, _m.c.id)
        )
        return [_message(row) for row in self._uow.execute(query).mappings()]

    def counts(self, now: datetime) -> dict[str, int]:
        """How many messages wait (due now), are scheduled later, and are dead letters."""
        now = aware(now, "now")
        open_ = _m.c.status.in_((MessageStatus.PENDING, MessageStatus.RETRYING))
        due = sa.or_(_m.c.next_attempt_at.is_(None), _m.c.next_attempt_at <= now)
        query = sa.select(
            sa.func.count().filter(sa.and_(open_, due)),
            sa.func.count().filter(sa.and_(open_, sa.not_(due))),
            sa.func.count().filter(_m.c.status == MessageStatus.DEAD),
        )
        # (a tuple: the stubs type a select of FILTERed counts as one column)
        due_now, later, dead = tuple[Any, ...](self._uow.execute(query).one())
        return {"due": int(due_now), "later": int(later), "dead": int(dead)}

    def claim_due(
        self, now: datetime, owner: str, lease_seconds: float, limit: int = 10
    ) -> builtins.list[Message]:
        """Lease up to `limit` due messages to `owner` until now + lease_seconds.

        Commit right after claiming and deliver outside the transaction; `update(message,
        owner=...)` then records the outcome and releases the lease. Two claimers never get
        the same message: PostgreSQL skips rows another claimer has locked, SQLite's
        BEGIN IMMEDIATE lets only one claimer in at a time.
        """
        now = aware(now, "now")
        claimable = sa.and_(
            _m.c.status.in_((MessageStatus.PENDING, MessageStatus.RETRYING)),
            sa.or_(_m.c.next_attempt_at.is_(None), _m.c.next_attempt_at <= now),
            sa.or_(_m.c.lease_until.is_(None), _m.c.lease_until <= now),
        )
        query = sa.select(_m.c.id).where(claimable).order_by(_m.c.created_at, _m.c.id).limit(limit)
        if self._uow.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        ids = builtins.list(self._uow.execute(query).scalars())
        if not ids:
            return []
        until = now + timedelta(seconds=lease_seconds)
        self._uow.execute(
            sa.update(_m)
            .where(_m.c.id.in_(ids), claimable)
            .values(lease_owner=owner, lease_until=until)
        )
        query = (
            sa.select(_m)
            .where(_m.c.id.in_(ids), _m.c.lease_owner == owner, _m.c.lease_until == until)
            .order_by(_m.c.created_at, _m.c.id)
        )
        return [_message(row) for row in self._uow.execute(query).mappings()]

    def renew_lease(self, message_id: str, owner: str, until: datetime) -> bool:
        """Extend `owner`'s lease on the message; False when another dispatcher holds it now."""
        statement = (
            sa.update(_m)
            .where(_m.c.id == message_id, _m.c.lease_owner == owner)
            .values(lease_until=aware(until, "until"))
        )
        return bool(self._uow.execute(statement).rowcount)

    def journal(self, message_id: str) -> builtins.list[DeliveryResult]:
        texts = self._uow.execute(journal_sql.READ, {"b_id": message_id}).scalars().all()
        return read_entries(texts)

    def journal_clear(self, message_id: str) -> None:
        self._uow.execute(journal_sql.CLEAR, {"b_id": message_id})

    def update(
        self, message: Message, *, owner: str | None = None, lease_until: datetime | None = None
    ) -> None:
        """Save the message's delivery state and release its lease.

        With `owner`, only while that dispatcher still holds the lease: a dispatcher that
        stalled past its lease gets Conflict instead of overwriting its successor's result.
        With `lease_until` too, the lease is kept and extended instead of released: the
        dispatcher records progress (an attempt begun, a recipient served) and sends on.
        """
        if lease_until is not None and owner is None:
            raise ValueError("keeping a lease needs its owner")
        lease: dict[str, Any] = {"lease_owner": None, "lease_until": None}
        if lease_until is not None:
            lease = {"lease_owner": owner, "lease_until": aware(lease_until, "lease_until")}
        values = _message_values(message) | lease
        del values["id"]
        condition = _m.c.id == message.id
        if owner is not None:
            condition = sa.and_(condition, _m.c.lease_owner == owner)
        if self._uow.execute(sa.update(_m).where(condition).values(values)).rowcount:
            if owner is None and message.status == MessageStatus.PENDING:
                self.queued += 1  # requeued by an operator (`outbox retry`)
            return
        self.get(message.id)  # raises NotFound when the message is gone
        raise Conflict(
            f"Message {message.id} is no longer leased to {owner}; another dispatcher took it over."
        )


class TimerRepository(Repository):
    """Durable reminders and deadlines; firing is a compare-and-set on `fired_at`."""

    def __init__(self, uow: Transaction) -> None:
        super().__init__(uow)
        # The timers this unit of work armed, so that a process that leads the scheduler can
        # wake up for them at once after commit instead of at its next sweep (a repeating
        # timer's next round, a reminder armed by a timer-fired transition).
        self.armed: builtins.list[Timer] = []

    def add(self, timer: Timer) -> None:
        """Arm a timer; arming the same key, epoch and due time twice is a Conflict."""
        self._insert_unique(
            _INSERT_TIMER,
            values_of(timer, _TIMER_FIELDS),
            f"Timer '{timer.key}' of incident {timer.incident_id} is already armed for "
            f"{timer.due_at.isoformat()} (state epoch {timer.state_epoch}).",
        )
        self.armed.append(timer)

    def add_many(self, timers: builtins.list[Timer]) -> None:
        """Arm a command's timers in one round trip (fresh ids and due times: no savepoint)."""
        if timers:
            self._uow.execute(_INSERT_TIMER, [values_of(timer, _TIMER_FIELDS) for timer in timers])
            self.armed.extend(timers)

    def has_fired(self, timer: Timer) -> bool:
        """Whether this very timer (incident, key, epoch, due time) has already fired."""
        query = sa.select(_t.c.id).where(
            _t.c.incident_id == timer.incident_id,
            _t.c.key == timer.key,
            _t.c.state_epoch == timer.state_epoch,
            _t.c.due_at == aware(timer.due_at, "due_at"),
            _t.c.fired_at.is_not(None),
            _t.c.cancelled_at.is_(None),
        )
        return self._uow.execute(query.limit(1)).first() is not None

    def get(self, timer_id: str) -> Timer:
        """The timer, or NotFound."""
        row = self._uow.execute(_GET_TIMER, {"b_id": timer_id}).mappings().one_or_none()
        if row is None:
            raise NotFound(f"Timer '{timer_id}' does not exist.")
        return _timer(row)

    @staticmethod
    def _open() -> sa.ColumnElement[bool]:
        return sa.and_(_t.c.fired_at.is_(None), _t.c.cancelled_at.is_(None))

    def list_open(self, incident_id: str | None = None) -> builtins.list[Timer]:
        """Timers neither fired nor cancelled, soonest first."""
        query = sa.select(_t).where(self._open()).order_by(_t.c.due_at, _t.c.id)
        if incident_id is not None:
            query = query.where(_t.c.incident_id == incident_id)
        return [_timer(row) for row in self._uow.execute(query).mappings()]

    def due(self, now: datetime) -> builtins.list[Timer]:
        """Open timers whose due time has come, soonest first."""
        query = (
            sa.select(_t)
            .where(self._open(), _t.c.due_at <= aware(now, "now"))
            .order_by(_t.c.due_at, _t.c.id)
        )
        return [_timer(row) for row in self._uow.execute(query).mappings()]

    def fire(self, timer_id: str, now: datetime) -> bool:
        """Mark the timer fired; True only for the one caller that did so.

        False when it was already fired or cancelled, or no longer exists; the caller then
        does nothing. `late_by_seconds` records how late the wake-up came.
        """
        now = aware(now, "now")
        due_at = self._uow.execute(_TIMER_DUE_AT, {"b_id": timer_id}).scalar_one_or_none()
        if due_at is None:
            return False
        late = (now - due_at).total_seconds()
        values = {"b_id": timer_id, "fired_at": now, "late_by_seconds": late}
        return self._uow.execute(_FIRE_TIMER, values).rowcount == 1

    def cancel(
        self,
        incident_id: str,
        *,
        now: datetime,
        state_epoch: int | None = None,
        key_prefix: str | None = None,
        keys: builtins.list[str] | None = None,
    ) -> int:
        """Cancel the incident's open timers (only of `state_epoch` / with keys starting with
        `key_prefix`, when given); returns how many were cancelled."""
        params: dict[str, Any] = {"b_incident": incident_id, "cancelled_at": aware(now, "now")}
        if keys and state_epoch is not None and key_prefix is None:
            # The hot path of every status update: a statement built once.
            params |= {"b_epoch": state_epoch, "b_keys": keys}
            return self._uow.execute(_CANCEL_KEYS_OF_EPOCH, params).rowcount
        condition = sa.and_(_t.c.incident_id == sa.bindparam("b_incident"), self._open())
        if state_epoch is not None:
            condition = sa.and_(condition, _t.c.state_epoch == state_epoch)
        if keys is not None:
            condition = sa.and_(condition, _t.c.key.in_(keys))
        if key_prefix is not None:
            # autoescape: a key containing % or _ must match literally, not as a pattern.
            condition = sa.and_(condition, _t.c.key.startswith(key_prefix, autoescape=True))
        return self._uow.execute(sa.update(_t).where(condition), params).rowcount
