"""Repositories for who is told: the people directory, contact lists, subscribers; plus `meta`.

The directory is imported whole (`replace`), so the table always mirrors one directory file.
Subscribers opt in twice (pending -> confirmed) with their confirmation token and leave with
their unsubscribe token, a different one: both are unique columns, so a link is looked up
through an index, never by reading every subscriber. `meta` keeps small named values such as
secrets generated on first start.
"""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import fields
from datetime import datetime

import sqlalchemy as sa

from engine.domain.model import DIRECTORY_GENERATION, Person, Subscriber, SubscriberStatus
from engine.domain.tokens import new_link_token
from engine.errors import NotFound
from engine.ports import Recipient
from engine.store import tables as t
from engine.store.repositories import Repository, Transaction, aware, row_fields, values_of

_PERSON_FIELDS = tuple(f.name for f in fields(Person))
# Statements built once with bind parameters (see engine/store/repositories.py); the people,
# the subscribers of an audience and the directory's generation marker are read by every
# command (who acts, who is told).
_ALL_PEOPLE = sa.select(t.people).order_by(t.people.c.id)
_PERSON_BY_ID = sa.select(t.people).where(t.people.c.id == sa.bindparam("b_id"))
_META_VALUE = sa.select(t.meta.c.value).where(t.meta.c.key == sa.bindparam("b_key"))
_SET_META = sa.update(t.meta).where(t.meta.c.key == sa.bindparam("b_key"))
_INSERT_META = sa.insert(t.meta)
_INSERT_SUBSCRIBER = sa.insert(t.subscribers)
_ALL_LISTS = sa.select(t.contact_lists).order_by(t.contact_lists.c.name)
_SUBSCRIBERS_OF = (
    sa.select(t.subscribers)
    .where(
        t.subscribers.c.audience == sa.bindparam("b_audience"),
        t.subscribers.c.status == sa.bindparam("b_status"),
    )
    .order_by(t.subscribers.c.email)
)
_SUBSCRIBER_FIELDS = tuple(f.name for f in fields(Subscriber))
_BAD_LINK = "This subscription link is not valid (unknown token)."


def _member(recipient: Recipient) -> dict[str, str | None]:
    return {"address": recipient.address, "name": recipient.name, "person_id": recipient.person_id}


def _recipient(member: Mapping[str, str | None]) -> Recipient:
    return Recipient(
        address=member["address"] or "",
        name=member.get("name") or "",
        person_id=member.get("person_id"),
    )


class DirectoryRepository(Repository):
    """People with roles and sub-regions, and named contact lists."""

    def replace(self, people: Iterable[Person], lists: Mapping[str, Iterable[Recipient]]) -> None:
        """Make the directory exactly `people` and `lists` (a whole-directory import)."""
        _bump_generation(self._uow)
        self._uow.execute(sa.delete(t.contact_lists))
        self._uow.execute(sa.delete(t.people))
        rows = [values_of(person, _PERSON_FIELDS) for person in people]
        if rows:
            self._uow.execute(sa.insert(t.people), rows)
        list_rows = [
            {"name": name, "members": [_member(m) for m in members]}
            for name, members in lists.items()
        ]
        if list_rows:
            self._uow.execute(sa.insert(t.contact_lists), list_rows)

    def people(self) -> builtins.list[Person]:
        """Everyone, by id."""
        return [
            Person(**row_fields(r, _PERSON_FIELDS))
            for r in self._uow.execute(_ALL_PEOPLE).mappings()
        ]

    def person(self, person_id: str) -> Person:
        """One person, or NotFound."""
        row = self._uow.execute(_PERSON_BY_ID, {"b_id": person_id}).mappings().one_or_none()
        if row is None:
            raise NotFound(f"Person '{person_id}' does not exist in the directory.")
        return Person(**row_fields(row, _PERSON_FIELDS))

    def lists(self) -> dict[str, builtins.list[Recipient]]:
        """Every contact list with its members, by list name."""
        rows = self._uow.execute(_ALL_LISTS)
        return {row.name: [_recipient(m) for m in row.members] for row in rows}

    def list_members(self, name: str) -> builtins.list[Recipient]:
        """The members of one contact list, or NotFound naming the lists that exist."""
        query = sa.select(t.contact_lists.c.members).where(t.contact_lists.c.name == name)
        members = self._uow.execute(query).scalar_one_or_none()
        if members is None:
            known = ", ".join(self.lists()) or "(none)"
            raise NotFound(f"Contact list '{name}' does not exist. Known lists: {known}.")
        return [_recipient(m) for m in members]


class SubscriberRepository(Repository):
    """Newsletter subscribers per audience; e-mail addresses are compared case-insensitively."""

    def _one(self, condition: sa.ColumnElement[bool], missing: str) -> Subscriber:
        row = self._uow.execute(sa.select(t.subscribers).where(condition)).mappings().one_or_none()
        if row is None:
            raise NotFound(missing)
        return Subscriber(**row_fields(row, _SUBSCRIBER_FIELDS))

    def add(self, subscriber: Subscriber) -> Subscriber:
        """Subscribe; returns the stored record.

        Subscribing an address that is already pending or confirmed changes nothing (and
        returns the existing record, whose token the caller must use); an address that had
        unsubscribed starts over as pending with the new token.
        """
        _bump_generation(self._uow)
        subscriber.email = subscriber.email.strip().lower()
        if not subscriber.unsubscribe_token:
            # The column is unique: a caller that brings no token must not store "" twice.
            subscriber.unsubscribe_token = new_link_token()
        same = sa.and_(
            t.subscribers.c.audience == subscriber.audience,
            t.subscribers.c.email == subscriber.email,
        )
        query = sa.select(t.subscribers).where(same)
        row = self._uow.execute(query).mappings().one_or_none()
        if row is None:
            self._insert_unique(
                _INSERT_SUBSCRIBER,
                values_of(subscriber, _SUBSCRIBER_FIELDS),
                f"{subscriber.email} is being subscribed to {subscriber.audience} right now.",
            )
            return subscriber
        existing = Subscriber(**row_fields(row, _SUBSCRIBER_FIELDS))
        if existing.status != SubscriberStatus.UNSUBSCRIBED:
            return existing
        values = {
            "status": SubscriberStatus.PENDING,
            "token": subscriber.token,
            # A new subscription, a new unsubscribe link: old newsletters' links stay ended.
            "unsubscribe_token": subscriber.unsubscribe_token,
            "name": subscriber.name,
            "created_at": subscriber.created_at,
            "confirmed_at": None,
        }
        self._uow.execute(sa.update(t.subscribers).where(same).values(values))
        return self._one(same, f"Subscriber {subscriber.email} does not exist.")

    def get(self, subscriber_id: str) -> Subscriber:
        """One subscriber by id, or NotFound."""
        return self._one(
            t.subscribers.c.id == subscriber_id, f"Subscriber '{subscriber_id}' does not exist."
        )

    def by_confirmation_token(self, token: str) -> Subscriber:
        """The subscriber whose confirmation link carries `token` (an indexed lookup), or
        NotFound; an unsubscribe token never matches."""
        return self._one(t.subscribers.c.token == token, _BAD_LINK)

    def by_unsubscribe_token(self, token: str) -> Subscriber:
        """The subscriber whose unsubscribe link carries `token` (an indexed lookup), or
        NotFound; a confirmation token never matches."""
        return self._one(t.subscribers.c.unsubscribe_token == token, _BAD_LINK)

    def _set_status(
        self, condition: sa.ColumnElement[bool], values: dict[str, object]
    ) -> Subscriber:
        _bump_generation(self._uow)
        self._uow.execute(sa.update(t.subscribers).where(condition).values(values))
        return self._one(condition, _BAD_LINK)

    def confirm(self, token: str, now: datetime) -> Subscriber:
        """Confirm the subscription with this confirmation token (again: no change); NotFound
        if unknown."""
        current = self.by_confirmation_token(token)
        if current.status == SubscriberStatus.CONFIRMED:
            return current
        return self._set_status(
            t.subscribers.c.token == token,
            {"status": SubscriberStatus.CONFIRMED, "confirmed_at": aware(now, "now")},
        )

    def unsubscribe(self, unsubscribe_token: str) -> Subscriber:
        """End the subscription with this unsubscribe token; NotFound if unknown (a
        confirmation token is unknown here: confirming is all it can do)."""
        return self._set_status(
            t.subscribers.c.unsubscribe_token == unsubscribe_token,
            {"status": SubscriberStatus.UNSUBSCRIBED},
        )

    def list(
        self, audience: str | None = None, status: str | None = None
    ) -> builtins.list[Subscriber]:
        """Subscribers, optionally of one audience and/or with one status, by e-mail."""
        if audience is not None and status is not None:
            # What addressing asks on every command: a prebuilt statement.
            rows = self._uow.execute(
                _SUBSCRIBERS_OF, {"b_audience": audience, "b_status": status}
            ).mappings()
            return [Subscriber(**row_fields(row, _SUBSCRIBER_FIELDS)) for row in rows]
        query = sa.select(t.subscribers).order_by(t.subscribers.c.audience, t.subscribers.c.email)
        if audience is not None:
            query = query.where(t.subscribers.c.audience == audience)
        if status is not None:
            query = query.where(t.subscribers.c.status == status)
        rows = self._uow.execute(query).mappings()
        return [Subscriber(**row_fields(row, _SUBSCRIBER_FIELDS)) for row in rows]


def _bump_generation(uow: Transaction) -> None:
    MetaRepository(uow).set(DIRECTORY_GENERATION, uuid.uuid4().hex)


class MetaRepository(Repository):
    """Small named values of the installation (generated secrets, markers)."""

    def get(self, key: str) -> str | None:
        """The value, or None."""
        found = self._uow.execute(_META_VALUE, {"b_key": key})
        value: str | None = found.scalar_one_or_none()
        return value

    def set(self, key: str, value: str) -> None:
        """Store the value, replacing any earlier one."""
        if self._uow.execute(_SET_META, {"b_key": key, "value": value}).rowcount == 0:
            self._uow.execute(_INSERT_META, {"key": key, "value": value})

    def setdefault(self, key: str, value: str) -> str:
        """Store the value unless the key exists; returns the stored value either way.

        Meant for secrets generated on first start: of two processes racing, both end up
        using the value of whichever committed first.
        """
        current = self.get(key)
        if current is not None:
            return current
        try:
            with self._uow.savepoint():
                self._uow.execute(_INSERT_META, {"key": key, "value": value})
        except sa.exc.IntegrityError:
            stored = self.get(key)
            if stored is None:  # pragma: no cover - the conflicting row cannot vanish
                raise
            return stored
        return value
