"""In-memory repositories of who is told: directory, subscribers, and `meta`."""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime

from engine.domain.model import DIRECTORY_GENERATION, Person, Subscriber, SubscriberStatus
from engine.errors import Conflict, NotFound
from engine.ports import Recipient

from .tables import Repository, Tables, aware, fresh


def _bump_generation(t: Tables, generation: str) -> None:
    t.meta[DIRECTORY_GENERATION] = generation


class MemoryDirectory(Repository):
    def replace(self, people: Iterable[Person], lists: Mapping[str, Iterable[Recipient]]) -> None:
        generation = uuid.uuid4().hex
        rows = {p.id: fresh(p) for p in people}
        stored = {
            name: tuple(Recipient(m.address, m.name or "", m.person_id) for m in members)
            for name, members in lists.items()
        }

        def change(t: Tables) -> None:
            _bump_generation(t, generation)
            t.people, t.lists = dict(rows), dict(stored)

        self._uow.write(change)

    def people(self) -> builtins.list[Person]:
        return [fresh(p) for _, p in sorted(self._t.people.items())]

    def person(self, person_id: str) -> Person:
        found = self._t.people.get(person_id)
        if found is None:
            raise NotFound(f"Person '{person_id}' does not exist in the directory.")
        return fresh(found)

    def lists(self) -> dict[str, builtins.list[Recipient]]:
        return {name: list(members) for name, members in sorted(self._t.lists.items())}

    def list_members(self, name: str) -> builtins.list[Recipient]:
        if name not in self._t.lists:
            known = ", ".join(sorted(self._t.lists)) or "(none)"
            raise NotFound(f"Contact list '{name}' does not exist. Known lists: {known}.")
        return list(self._t.lists[name])


_BAD_TOKEN = "This subscription link is not valid (unknown token)."


class MemorySubscribers(Repository):
    def _one(self, found: Iterable[Subscriber], missing: str) -> Subscriber:
        for s in found:
            return fresh(s)
        raise NotFound(missing)

    def _save(self, row: Subscriber) -> None:
        generation = uuid.uuid4().hex

        def change(t: Tables) -> None:
            _bump_generation(t, generation)
            if any(
                (s.token == row.token or s.unsubscribe_token == row.unsubscribe_token)
                and s.id != row.id
                for s in t.subscribers.values()
            ):
                raise Conflict(f"{row.email} is being subscribed to {row.audience} right now.")
            t.subscribers[row.id] = row

        self._uow.write(change)

    def add(self, subscriber: Subscriber) -> Subscriber:
        subscriber.email = subscriber.email.strip().lower()
        if not subscriber.unsubscribe_token:
            subscriber.unsubscribe_token = uuid.uuid4().hex  # unique, like the store's column
        key = (subscriber.audience, subscriber.email)
        same = [s for s in self._t.subscribers.values() if (s.audience, s.email) == key]
        if not same:
            self._save(fresh(subscriber))
            return subscriber
        existing = fresh(same[0])
        if existing.status != SubscriberStatus.UNSUBSCRIBED:
            self._save(existing)  # the store changes the generation on every subscribe
            return existing
        again = replace(
            existing,
            status=SubscriberStatus.PENDING,
            token=subscriber.token,
            unsubscribe_token=subscriber.unsubscribe_token,
            name=subscriber.name,
            created_at=subscriber.created_at,
            confirmed_at=None,
        )
        self._save(fresh(again))
        return fresh(again)

    def get(self, subscriber_id: str) -> Subscriber:
        found = self._t.subscribers.get(subscriber_id)
        return self._one([found] if found else [], f"Subscriber '{subscriber_id}' does not exist.")

    def by_confirmation_token(self, token: str) -> Subscriber:
        return self._one((s for s in self._t.subscribers.values() if s.token == token), _BAD_TOKEN)

    def by_unsubscribe_token(self, token: str) -> Subscriber:
        found = (s for s in self._t.subscribers.values() if s.unsubscribe_token == token)
        return self._one(found, _BAD_TOKEN)

    def confirm(self, token: str, now: datetime) -> Subscriber:
        current = self.by_confirmation_token(token)
        if current.status == SubscriberStatus.CONFIRMED:
            return current
        confirmed = replace(
            current, status=SubscriberStatus.CONFIRMED, confirmed_at=aware(now, "now")
        )
        self._save(confirmed)
        return fresh(confirmed)

    def unsubscribe(self, unsubscribe_token: str) -> Subscriber:
        gone = replace(
            self.by_unsubscribe_token(unsubscribe_token), status=SubscriberStatus.UNSUBSCRIBED
        )
        self._save(gone)
        return fresh(gone)

    def list(
        self, audience: str | None = None, status: str | None = None
    ) -> builtins.list[Subscriber]:
        rows = [
            s
            for s in self._t.subscribers.values()
            if (audience is None or s.audience == audience)
            and (status is None or s.status == status)
        ]
        return [fresh(s) for s in sorted(rows, key=lambda s: (s.audience, s.email))]


class MemoryMeta(Repository):
    def get(self, key: str) -> str | None:
        return self._t.meta.get(key)

    def set(self, key: str, value: str) -> None:
        self._uow.write(lambda t: t.meta.update({key: value}))

    def setdefault(self, key: str, value: str) -> str:
        return self._uow.write(lambda t: t.meta.setdefault(key, value))
