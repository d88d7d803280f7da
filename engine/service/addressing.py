"""Who is told: the directory as of one generation, and the one place that decides who is in
an audience, who holds a role (deputies included) and who may fill an approval slot.

Every recipient list the engine builds comes from `Addressing`; each address is told once
(`dedupe`). A message also records whom it was meant for (`audience_label`): the plan's
audiences, or — for messages addressed to people rather than to an audience — "approvers",
"requester" or "role:<name>", so that the log, `incident messages` and the exercise scores never
credit an audience with a message only a few of its people got.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from engine.definition.people_labels import APPROVERS_LABEL, REQUESTER_LABEL
from engine.definition.schema import Notify, Workflow, localized
from engine.definition.wording import and_list
from engine.domain.model import Person, StoredRecipient, SubscriberStatus
from engine.domain.outcome import Slot
from engine.ports import UnitOfWork
from engine.texts import t

# Labels of messages addressed to people, not to one of the plan's audiences. The checker
# reserves the first two as audience names, and "role:" can never start a plan name, so a label
# always reads one way.
APPROVERS = APPROVERS_LABEL
REQUESTER = REQUESTER_LABEL
ROLE_PREFIX = "role:"


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
                StoredRecipient(
                    s.email, s.name, subscriber_id=s.id, unsubscribe_token=s.unsubscribe_token
                )
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


def audiences_of(notify: Notify, default: str | None) -> list[str]:
    """The audiences a notify names, else its channel's `default` (none: nobody by audience)."""
    if notify.audience:
        return list(notify.audience)
    return [default] if default else []


def audience_label(notify: Notify, audiences: Sequence[str], *, requester: bool) -> str:
    """Whom a message is for, as stored in the outbox: comma-separated parts.

    `to_approvers` and `roles` address people instead of the audiences (see `_recipients` in
    engine.service.effects); `requester` says the person who asked for a decision is added.
    """
    if notify.to_approvers:
        parts = [APPROVERS]
    elif notify.roles:
        parts = [f"{ROLE_PREFIX}{role}" for role in notify.roles]
    else:
        parts = list(audiences)
    if requester:
        parts.append(REQUESTER)
    return ",".join(parts)


def label_parts(label: str) -> list[str]:
    """The parts of a stored audience label ("working_groups,suppliers" -> two)."""
    return [part for part in label.split(",") if part]


def describe_audience(label: str, workflow: Workflow, language: str) -> str:
    """A stored audience label in people's words: the plan's titles, "Beslutsfattare", ..."""
    words = []
    for part in label_parts(label):
        if part == APPROVERS:
            words.append(t("audience_approvers", language))
        elif part == REQUESTER:
            words.append(t("audience_requester", language))
        elif part.startswith(ROLE_PREFIX):
            role = workflow.roles.get(part.removeprefix(ROLE_PREFIX))
            title = localized(role.title, language) if role else part.removeprefix(ROLE_PREFIX)
            words.append(t("audience_role", language, role=title))
        else:
            audience = workflow.audiences.get(part)
            words.append((localized(audience.title, language) if audience else "") or part)
    return and_list(words, language)


def address_key(recipient: StoredRecipient) -> str:
    """What makes two recipients the same mailbox: the whole address, case-insensitively."""
    return recipient.address.strip().lower()


def dedupe(recipients: Iterable[StoredRecipient]) -> list[StoredRecipient]:
    """One entry per address (case-insensitive), first one wins."""
    seen: set[str] = set()
    out: list[StoredRecipient] = []
    for r in recipients:
        key = address_key(r)
        if key and key not in seen:
            seen.add(key)
            out.append(r)
    return out
