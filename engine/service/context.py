"""The per-transaction context every step of a use case works in.

A command loads the incident under lock, the plan version it runs on and that plan's evaluator
once, takes "now" once, and then records the outcome, its events, messages, timers, approval
requests and rules through several collaborators. They all take this one value instead of long
argument lists, and what one transaction reads once (the directory, who is addressed how) is
cached here, not pinned onto the unit of work.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.definition.definition import Definition
from engine.domain.machine import Evaluator
from engine.domain.model import Incident
from engine.domain.outcome import SYSTEM_ACTOR
from engine.ports import UnitOfWork
from engine.service.addressing import Addressing, DirectorySnapshot


@dataclass
class TxContext:
    """One transaction's working set: the unit of work, the incident and its plan, and now."""

    uow: UnitOfWork
    definition: Definition
    evaluator: Evaluator
    incident: Incident
    now: datetime
    # Reads the directory as of this transaction; called at most once (see `directory`).
    load_directory: Callable[[UnitOfWork], DirectorySnapshot]
    # Who ran the process beside the `--as` person (e.g. the OS user and host of a CLI call).
    origin: Mapping[str, str] = field(default_factory=dict)
    _directory: DirectorySnapshot | None = field(default=None, repr=False)
    _addressing: Addressing | None = field(default=None, repr=False)

    def attributed(self, actor: str, data: Mapping[str, Any]) -> dict[str, Any]:
        """Event data with the process's origin added when a person (not the system) acts."""
        if not self.origin or actor == SYSTEM_ACTOR.id:
            return dict(data)
        return {**data, "origin": dict(self.origin)}

    @property
    def directory(self) -> DirectorySnapshot:
        """People, lists and subscribers, read once per transaction."""
        if self._directory is None:
            self._directory = self.load_directory(self.uow)
        return self._directory

    @property
    def addressing(self) -> Addressing:
        """Who is who for this plan (a command may send many notifications)."""
        if self._addressing is None:
            snapshot = self.directory
            audiences = [n for n, a in self.evaluator.workflow.audiences.items() if a.subscribers]
            subscribers = {a: snapshot.subscribers.get(a, []) for a in audiences}
            self._addressing = Addressing(
                snapshot.views, snapshot.lists, subscribers, self.evaluator.with_deputies
            )
        return self._addressing
