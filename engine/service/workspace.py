"""What every use case shares: the store, the plans, the clock and the directory in memory.

It opens the per-transaction context (`TxContext`), resolves who acts, finds the plan version
an incident is pinned to, and writes refusals to an incident's log. The collaborators of the
service (commands, gates, timers, queries, the outbox, subscriptions, the directory) all take a
workspace; none of them knows another's class except through `engine.service.recorder`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from engine.definition.definition import Definition
from engine.domain.machine import evaluator_for
from engine.domain.model import DIRECTORY_GENERATION, Incident
from engine.domain.outcome import Actor
from engine.errors import CommandError, NotAuthorized, NotFound
from engine.ports import Clock, Store, UnitOfWork
from engine.service.addressing import DirectorySnapshot
from engine.service.context import TxContext
from engine.service.plans import PlanLibrary
from engine.service.recorder import note_event

T = TypeVar("T")
log = logging.getLogger(__name__)


class Workspace:
    """The shared, long-lived half of every use case (the per-transaction half is TxContext)."""

    def __init__(
        self,
        *,
        store: Store,
        plans: PlanLibrary,
        clock: Clock,
        public_url: str = "",
        origin: Mapping[str, str] | None = None,
    ) -> None:
        self.store = store
        # Recorded beside the acting person in their events (the CLI: OS user and host).
        self.origin = dict(origin or {})
        self.plans = plans
        self.clock = clock
        self.public_url = public_url
        self._directory_cache: DirectorySnapshot | None = None

    def directory(self, uow: UnitOfWork) -> DirectorySnapshot:
        """The directory as of this transaction, from memory unless it changed since.

        Every command needs who acts and who is told; reading people, lists and subscribers
        each time cost more than the command's own writes. The store changes a generation
        marker with every directory or subscriber change, so one cheap read tells whether the
        copy in memory is still the truth (also when another process made the change).
        """
        generation = uow.meta.get(DIRECTORY_GENERATION)
        cached = self._directory_cache
        if cached is None or generation is None or cached.generation != generation:
            cached = DirectorySnapshot.load(uow, generation)
            self._directory_cache = cached
        return cached

    def context(
        self,
        uow: UnitOfWork,
        incident: Incident,
        now: datetime,
        *,
        definition: Definition | None = None,
        directory: DirectorySnapshot | None = None,
    ) -> TxContext:
        """The context of one command on `incident` (its pinned plan unless given)."""
        definition = definition or self.definition_of(uow, incident)
        return TxContext(
            uow=uow,
            definition=definition,
            evaluator=evaluator_for(definition),
            incident=incident,
            now=now,
            load_directory=self.directory,
            origin=self.origin,
            _directory=directory,
        )

    @staticmethod
    def actor_in(directory: DirectorySnapshot, person_id: str) -> Actor:
        """The directory person acting, or NotFound with the fix."""
        person = directory.people.get(person_id)
        if person is None:
            raise NotFound(
                f"No person '{person_id}' in the directory. Import the directory with "
                "`driftplan directory import FILE` or check the id with "
                "`driftplan directory show`.",
                sv=f"Personen '{person_id}' finns inte i katalogen. Importera katalogen med "
                "`driftplan directory import FIL` eller kontrollera id:t med "
                "`driftplan directory show`.",
            )
        return Actor(person.id, frozenset(person.roles), person.subregion, person.name)

    def actor(self, uow: UnitOfWork, person_id: str) -> Actor:
        """The directory person acting, read in this transaction."""
        return self.actor_in(self.directory(uow), person_id)

    def definition_of(self, uow: UnitOfWork, incident: Incident) -> Definition:
        """The plan version the incident runs on; read from the database only once."""
        cached = self.plans.cached(incident.definition_sha256)
        if cached is not None:
            return cached
        return self.plans.pinned(
            incident.definition_sha256, uow.definitions.get(incident.definition_sha256)
        )

    def log_refusal(self, incident_id: str, actor_id: str, trigger: str, err: CommandError) -> None:
        """Write a refusal to the incident's log in its own transaction."""
        with self.store.unit_of_work() as uow:
            try:
                incident = uow.incidents.get(incident_id)
            except NotFound:
                return
            note_event(
                uow,
                incident,
                actor=actor_id,
                kind="refused",
                trigger=trigger,
                at=self.clock.now(),
                data=self.attributed(
                    actor_id,
                    # Both languages, so the log reads in the operator's (the table view).
                    {"error": type(err).__name__, "message": str(err), "message_sv": err.sv},
                ),
            )
            uow.commit()

    def attributed(self, actor: str, data: Mapping[str, Any]) -> dict[str, Any]:
        """Event data with this process's origin added (see `TxContext.attributed`)."""
        return {**data, "origin": dict(self.origin)} if self.origin else dict(data)

    def refusals_logged(
        self, incident_id: Callable[[], str], actor_id: str, trigger: str, body: Callable[[], T]
    ) -> T:
        """Run `body`; a NotAuthorized it raises is logged on the incident, then re-raised.

        `incident_id` is asked only on refusal: some use cases learn it inside the body.
        """
        try:
            return body()
        except NotAuthorized as err:
            found = incident_id()
            if found:
                self.log_refusal(found, actor_id, trigger, err)
            raise
