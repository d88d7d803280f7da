"""In-memory repositories of later work: the outbox (with leases) and the timers."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from engine.domain.model import DeliveryResult, Message, MessageStatus, Timer
from engine.errors import Conflict, NotFound

from .tables import Repository, Tables, aware, fresh, insert

if TYPE_CHECKING:
    from .memory_store import MemoryUnitOfWork


def _claimable(t: Tables, m: Message, now: datetime) -> bool:
    lease = t.leases.get(m.id)
    return (
        m.status in (MessageStatus.PENDING, MessageStatus.RETRYING)
        and (m.next_attempt_at is None or m.next_attempt_at <= now)
        and (lease is None or lease[1] <= now)
    )


class MemoryMessages(Repository):
    def add(self, message: Message) -> None:
        self.add_many([message])

    def add_many(self, messages: builtins.list[Message]) -> None:
        rows = [fresh(m) for m in messages]

        def change(t: Tables) -> None:
            for m in rows:
                insert(t.messages, m.id, m, f"Message '{m.id}' already exists.")

        if rows:
            self._uow.write(change)

    def get(self, message_id: str) -> Message:
        found = self._t.messages.get(message_id)
        if found is None:
            raise NotFound(f"Message '{message_id}' does not exist.")
        return fresh(found)

    def _sorted(self, rows: Iterable[Message]) -> builtins.list[Message]:
        return [fresh(m) for m in sorted(rows, key=lambda m: (m.created_at, m.id))]

    def list(self, incident_id: str) -> builtins.list[Message]:
        return self._sorted(m for m in self._t.messages.values() if m.incident_id == incident_id)

    def list_dead(self) -> builtins.list[Message]:
        return self._sorted(m for m in self._t.messages.values() if m.status == MessageStatus.DEAD)

    def counts(self, now: datetime) -> dict[str, int]:
        now = aware(now, "now")
        open_ = [
            m
            for m in self._t.messages.values()
            if m.status in (MessageStatus.PENDING, MessageStatus.RETRYING)
        ]
        due = [m for m in open_ if m.next_attempt_at is None or m.next_attempt_at <= now]
        dead = [m for m in self._t.messages.values() if m.status == MessageStatus.DEAD]
        return {"due": len(due), "later": len(open_) - len(due), "dead": len(dead)}

    def claim_due(
        self, now: datetime, owner: str, lease_seconds: float, limit: int = 10
    ) -> builtins.list[Message]:
        now = aware(now, "now")
        due = self._sorted(m for m in self._t.messages.values() if _claimable(self._t, m, now))
        ids = [m.id for m in due[:limit]]
        until = now + timedelta(seconds=lease_seconds)

        def change(t: Tables) -> builtins.list[str]:
            claimed = [i for i in ids if _claimable(t, t.messages[i], now)]
            t.leases.update(dict.fromkeys(claimed, (owner, until)))
            return claimed

        if ids:
            self._uow.write(change, same_at_commit=True)
        return due[:limit]

    def renew_lease(self, message_id: str, owner: str, until: datetime) -> bool:
        until = aware(until, "until")

        def change(t: Tables) -> bool:
            lease = t.leases.get(message_id)
            if lease is None or lease[0] != owner:
                return False
            t.leases[message_id] = (owner, until)
            return True

        return self._uow.write(change, same_at_commit=True)

    def journal_add(self, message_id: str, owner: str, entries: Sequence[DeliveryResult]) -> bool:
        """Append to the message's journal while `owner` holds the lease (for the fake's
        `MemoryJournalWriter`; the SQL store's writer does this in one statement)."""

        def change(t: Tables) -> bool:
            if t.leases.get(message_id, ("",))[0] != owner:
                return False
            t.journals[message_id] = (*t.journals.get(message_id, ()), *entries)
            return True

        return self._uow.write(change, same_at_commit=True)

    def journal(self, message_id: str) -> builtins.list[DeliveryResult]:
        return list(self._t.journals.get(message_id, ()))

    def journal_clear(self, message_id: str) -> None:
        def change(t: Tables) -> None:
            t.journals.pop(message_id, None)

        self._uow.write(change)

    def update(
        self, message: Message, *, owner: str | None = None, lease_until: datetime | None = None
    ) -> None:
        row = fresh(message)
        kept = None if lease_until is None or owner is None else (owner, aware(lease_until, "x"))

        def change(t: Tables) -> None:
            if row.id not in t.messages:
                raise NotFound(f"Message '{row.id}' does not exist.")
            if owner is not None and t.leases.get(row.id, ("",))[0] != owner:
                raise Conflict(f"Message {row.id} is no longer leased to {owner}.")
            t.messages[row.id] = row
            if kept is None:
                t.leases.pop(row.id, None)
            else:
                t.leases[row.id] = kept

        self._uow.write(change)


def _open(timer: Timer) -> bool:
    return timer.fired_at is None and timer.cancelled_at is None


class MemoryTimers(Repository):
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        super().__init__(uow)
        self.armed: builtins.list[Timer] = []  # what this unit of work armed

    def add(self, timer: Timer) -> None:
        self.add_many([timer])

    def add_many(self, timers: builtins.list[Timer]) -> None:
        rows = [fresh(timer) for timer in timers]

        def change(t: Tables) -> None:
            for row in rows:
                same = (row.incident_id, row.key, row.state_epoch, row.due_at)
                if any(
                    (o.incident_id, o.key, o.state_epoch, o.due_at) == same
                    for o in t.timers.values()
                    if o.cancelled_at is None
                ):
                    raise Conflict(
                        f"Timer '{row.key}' of incident {row.incident_id} is already armed for "
                        f"{row.due_at.isoformat()} (state epoch {row.state_epoch})."
                    )
                insert(t.timers, row.id, row, f"Timer '{row.id}' already exists.")

        if rows:
            self._uow.write(change)
            self.armed.extend(fresh(row) for row in rows)

    def has_fired(self, timer: Timer) -> bool:
        same = (timer.incident_id, timer.key, timer.state_epoch, aware(timer.due_at, "due_at"))
        return any(
            (o.incident_id, o.key, o.state_epoch, o.due_at) == same
            and o.fired_at is not None
            and o.cancelled_at is None
            for o in self._t.timers.values()
        )

    def get(self, timer_id: str) -> Timer:
        found = self._t.timers.get(timer_id)
        if found is None:
            raise NotFound(f"Timer '{timer_id}' does not exist.")
        return fresh(found)

    def list_open(self, incident_id: str | None = None) -> builtins.list[Timer]:
        rows = [t for t in self._t.timers.values() if _open(t)]
        rows = [t for t in rows if incident_id is None or t.incident_id == incident_id]
        return [fresh(t) for t in sorted(rows, key=lambda t: (t.due_at, t.id))]

    def due(self, now: datetime) -> builtins.list[Timer]:
        now = aware(now, "now")
        return [t for t in self.list_open() if t.due_at <= now]

    def fire(self, timer_id: str, now: datetime) -> bool:
        """Mark the timer fired; True only for the one caller that did so."""
        now = aware(now, "now")
        latest = self._uow.store.latest.timers.get(timer_id)
        if latest is not None and not _open(latest):
            return False  # fired or cancelled by a transaction committed after this one began

        def change(t: Tables) -> bool:
            row = t.timers.get(timer_id)
            if row is None or not _open(row):
                return False
            late = (now - row.due_at).total_seconds()
            t.timers[timer_id] = replace(row, fired_at=now, late_by_seconds=late)
            return True

        return self._uow.write(change, same_at_commit=True)

    def cancel(
        self,
        incident_id: str,
        *,
        now: datetime,
        state_epoch: int | None = None,
        key_prefix: str | None = None,
        keys: builtins.list[str] | None = None,
    ) -> int:
        now = aware(now, "now")

        def change(t: Tables) -> int:
            hits = [
                row
                for row in t.timers.values()
                if row.incident_id == incident_id
                and _open(row)
                and (state_epoch is None or row.state_epoch == state_epoch)
                and (keys is None or row.key in keys)
                and (key_prefix is None or row.key.startswith(key_prefix))
            ]
            t.timers.update({row.id: replace(row, cancelled_at=now) for row in hits})
            return len(hits)

        return self._uow.write(change)
