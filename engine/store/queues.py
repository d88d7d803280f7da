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
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from engine.domain.model import DEAD, PENDING, RETRYING, Message, Timer
from engine.errors import Conflict, NotFound
from engine.store import tables as t
from engine.store.prepared import Prepared
from engine.store.repositories import Repository, aware, row_fields, values_of

if TYPE_CHECKING:
    from engine.store.unit_of_work import UnitOfWork

_MESSAGE_FIELDS = tuple(f.name for f in fields(Message))
_TIMER_FIELDS = tuple(f.name for f in fields(Timer))

_m = t.messages
_t = t.timers
# Statements every command runs, prepared once (see `Prepared`).
_INSERT_MESSAGE = Prepared(sa.insert(_m), column_keys=[c.key for c in _m.c])
_INSERT_TIMER = Prepared(sa.insert(_t), column_keys=[c.key for c in _t.c])
_GET_TIMER = Prepared(
    sa.select(_t).where(_t.c.id == sa.bindparam("b_id")), result_columns=list(_t.c)
)
_TIMER_DUE_AT = Prepared(
    sa.select(_t.c.due_at).where(_t.c.id == sa.bindparam("b_id")), result_columns=[_t.c.due_at]
)
# The compare-and-set of firing: only an open timer is marked, so one caller wins.
_FIRE_TIMER = Prepared(
    sa.update(_t).where(
        _t.c.id == sa.bindparam("b_id"), _t.c.fired_at.is_(None), _t.c.cancelled_at.is_(None)
    ),
    column_keys=["fired_at", "late_by_seconds"],
)
# One statement per number of keys (a plan's state has a handful of timers): an expanding IN
# would render its SQL anew on every call.
_CANCEL_KEYS_OF_EPOCH: dict[int, Prepared] = {}


def _cancel_keys_of_epoch(count: int) -> Prepared:
    prepared = _CANCEL_KEYS_OF_EPOCH.get(count)
    if prepared is None:
        statement = sa.update(_t).where(
            _t.c.incident_id == sa.bindparam("b_incident"),
            _t.c.fired_at.is_(None),
            _t.c.cancelled_at.is_(None),
            _t.c.state_epoch == sa.bindparam("b_epoch"),
            _t.c.key.in_([sa.bindparam(f"b_key_{i}") for i in range(count)]),
        )
        prepared = Prepared(statement, column_keys=["cancelled_at"])
        _CANCEL_KEYS_OF_EPOCH[count] = prepared
    return prepared


def _message(row: sa.RowMapping) -> Message:
    return Message(**row_fields(row, _MESSAGE_FIELDS))


def _timer(row: sa.RowMapping) -> Timer:
    return Timer(**row_fields(row, _TIMER_FIELDS))


class MessageRepository(Repository):
    """The outbox: one row per channel delivery, claimed by dispatchers under a lease."""

    def add(self, message: Message) -> None:
        """Queue a message (committed with the command that caused it)."""
        values = values_of(message, _MESSAGE_FIELDS) | {"lease_owner": None, "lease_until": None}
        self._insert_unique(sa.insert(_m).values(values), f"Message '{message.id}' already exists.")

    def add_many(self, messages: builtins.list[Message]) -> None:
        """Queue a command's messages in one round trip.

        Their ids are fresh random values, so no duplicate is expected: no savepoint per row
        (which cost a third of a command's time), one executemany instead.
        """
        if not messages:
            return
        _INSERT_MESSAGE.run_many(
            self._uow,
            (
                values_of(m, _MESSAGE_FIELDS) | {"lease_owner": None, "lease_until": None}
                for m in messages
            ),
        )

    def get(self, message_id: str) -> Message:
        """The message, or NotFound."""
        row = self._uow.execute(sa.select(_m).where(_m.c.id == message_id)).mappings().one_or_none()
        if row is None:
            raise NotFound(f"Message '{message_id}' does not exist.")
        return _message(row)

    def list(self, incident_id: str) -> builtins.list[Message]:
        """The incident's messages, oldest first."""
        query = (
            sa.select(_m).where(_m.c.incident_id == incident_id).order_by(_m.c.created_at, _m.c.id)
        )
        return [_message(row) for row in self._uow.execute(query).mappings()]

    def list_dead(self) -> builtins.list[Message]:
        """Dead letters: messages that will never be delivered, for operators to see."""
        query = sa.select(_m).where(_m.c.status == DEAD).order_by(_m.c.created_at, _m.c.id)
        return [_message(row) for row in self._uow.execute(query).mappings()]

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
            _m.c.status.in_((PENDING, RETRYING)),
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

    def update(self, message: Message, *, owner: str | None = None) -> None:
        """Save the message's delivery state and release its lease.

        With `owner`, only while that dispatcher still holds the lease: a dispatcher that
        stalled past its lease gets Conflict instead of overwriting its successor's result.
        """
        values = values_of(message, _MESSAGE_FIELDS) | {"lease_owner": None, "lease_until": None}
        del values["id"]
        condition = _m.c.id == message.id
        if owner is not None:
            condition = sa.and_(condition, _m.c.lease_owner == owner)
        if self._uow.execute(sa.update(_m).where(condition).values(values)).rowcount:
            return
        self.get(message.id)  # raises NotFound when the message is gone
        raise Conflict(
            f"Message {message.id} is no longer leased to {owner}; another dispatcher took it over."
        )


class TimerRepository(Repository):
    """Durable reminders and deadlines; firing is a compare-and-set on `fired_at`."""

    def __init__(self, uow: UnitOfWork) -> None:
        super().__init__(uow)
        # The timers this unit of work armed, so that a process that leads the scheduler can
        # wake up for them at once after commit instead of at its next sweep (a repeating
        # timer's next round, a reminder armed by a timer-fired transition).
        self.armed: builtins.list[Timer] = []

    def add(self, timer: Timer) -> None:
        """Arm a timer; arming the same key, epoch and due time twice is a Conflict."""
        self._insert_unique(
            sa.insert(_t).values(values_of(timer, _TIMER_FIELDS)),
            f"Timer '{timer.key}' of incident {timer.incident_id} is already armed for "
            f"{timer.due_at.isoformat()} (state epoch {timer.state_epoch}).",
        )
        self.armed.append(timer)

    def add_many(self, timers: builtins.list[Timer]) -> None:
        """Arm a command's timers in one round trip (fresh ids and due times: no savepoint)."""
        if timers:
            _INSERT_TIMER.run_many(self._uow, (values_of(timer, _TIMER_FIELDS) for timer in timers))
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
        rows = _GET_TIMER.fetch(self._uow, {"b_id": timer_id})
        if not rows:
            raise NotFound(f"Timer '{timer_id}' does not exist.")
        return Timer(**rows[0])

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
        rows = _TIMER_DUE_AT.fetch(self._uow, {"b_id": timer_id})
        if not rows:
            return False
        late = (now - rows[0]["due_at"]).total_seconds()
        values = {"b_id": timer_id, "fired_at": now, "late_by_seconds": late}
        return _FIRE_TIMER.run(self._uow, values) == 1

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
            # The hot path of every status update: a prepared statement.
            params["b_epoch"] = state_epoch
            params.update((f"b_key_{i}", key) for i, key in enumerate(keys))
            return _cancel_keys_of_epoch(len(keys)).run(self._uow, params)
        condition = sa.and_(_t.c.incident_id == sa.bindparam("b_incident"), self._open())
        if state_epoch is not None:
            condition = sa.and_(condition, _t.c.state_epoch == state_epoch)
        if keys is not None:
            condition = sa.and_(condition, _t.c.key.in_(keys))
        if key_prefix is not None:
            # autoescape: a key containing % or _ must match literally, not as a pattern.
            condition = sa.and_(condition, _t.c.key.startswith(key_prefix, autoescape=True))
        return self._uow.execute(sa.update(_t).where(condition), params).rowcount
