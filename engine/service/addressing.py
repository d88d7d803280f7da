"""Who is told: the directory as of one generation, and the one place that decides who is in
an audience, who holds a role (deputies included) and who may fill an approval slot.

Every recipient list the engine builds comes from `Addressing`; each address is told once
(`dedupe`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from engine.definition.schema import Workflow
from engine.domain.model import Person, StoredRecipient, SubscriberStatus
from engine.domain.outcome import Slot
from engine.ports import UnitOfWork


@dataclass(frozen=True)
class PersonView:
    """The parts of a directory person that addressing needs."""

    id: str
    name: str
    email: str
    roles: tuple[str, ...]
    subregion: str | None


@dataclass(frozen=True)
class DirectorySnapshot:
    """People, contact lists and confirmed subscribers as of one directory generation."""

    generation: str | None
    people: Mapping[str, Person]  # by id
    views: Sequence[PersonView]
    lists: Mapping[str, Sequence[StoredRecipient]]  # list name -> members
    subscribers: Mapping[str, Sequence[StoredRecipient]]  # audience -> confirmed subscribers

    @classmethod
    def load(cls, uow: UnitOfWork, generation: str | None) -> DirectorySnapshot:
        people = {p.id: p for p in uow.directory.people()}
        lists = {
            name: [StoredRecipient(m.address, m.name, m.person_id) for m in members]
            for name, members in uow.directory.lists().items()
        }
        subscribers: dict[str, list[StoredRecipient]] = {}
        for s in uow.subscribers.list(None, SubscriberStatus.CONFIRMED):
            subscribers.setdefault(s.audience, []).append(
                StoredRecipient(s.email, s.name, subscriber_id=s.id, unsubscribe_token=s.token)
            )
        views = [
            PersonView(p.id, p.name, p.email, tuple(p.roles), p.subregion) for p in people.values()
        ]
        return cls(generation, people, views, lists, subscribers)


class Addressing:
    """Resolves a notify's recipients from the directory and the subscriber list."""

    def __init__(
        self,
        people: Sequence[PersonView],
        lists: Mapping[str, Sequence[StoredRecipient]],
        subscribers: Mapping[str, Sequence[StoredRecipient]],
        with_deputies: Callable[[frozenset[str]], frozenset[str]],
    ) -> None:
        self.people = people
        self.lists = lists
        self.subscribers = subscribers
        # The plan's deputy rule (Evaluator.with_deputies): a vice chair is told as the chair.
        self._with_deputies = with_deputies

    def _roles(self, person: PersonView) -> frozenset[str]:
        return self._with_deputies(frozenset(person.roles))

    def with_roles(
        self, roles: Iterable[str], subregions: Iterable[str] | None = None
    ) -> list[StoredRecipient]:
        wanted = set(roles)
        regions = set(subregions) if subregions is not None else None
        return [
            StoredRecipient(p.email, p.name, p.id)
            for p in self.people
            if self._roles(p) & wanted and (regions is None or p.subregion in regions)
        ]

    def for_slots(self, slots: Iterable[Slot]) -> list[StoredRecipient]:
        out: list[StoredRecipient] = []
        for slot in slots:
            out += self.with_roles(slot.roles, slot.subregions)
        return out

    def for_audience(self, workflow: Workflow, audience: str) -> list[StoredRecipient]:
        """An audience's people (by role, deputies included), list members and subscribers."""
        spec = workflow.audiences[audience]
        out = self.with_roles(spec.roles) if spec.roles else []
        for name in spec.lists:
            out += self.lists.get(name, ())
        if spec.subscribers:
            out += self.subscribers.get(audience, ())
        return out


def dedupe(recipients: Iterable[StoredRecipient]) -> list[StoredRecipient]:
    """One entry per address (case-insensitive), first one wins."""
    seen: set[str] = set()
    out: list[StoredRecipient] = []
    for r in recipients:
        key = r.address.strip().lower()
        if key and key not in seen:
            seen.add(key)
            out.append(r)
    return out
