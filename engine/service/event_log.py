"""Appending events that do not move an incident's state: reminders, decisions, refusals,
notes.

Every use case writes these; they live apart from `engine.service.recorder` so that the parts
of the recorder can share them without importing each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from engine.domain.model import Event, Incident
from engine.domain.outcome import SYSTEM_ACTOR
from engine.ports import UnitOfWork
from engine.service.context import TxContext


def note_event(
    uow: UnitOfWork,
    incident: Incident,
    *,
    actor: str,
    kind: str,
    at: datetime,
    data: Mapping[str, Any],
    trigger: str | None = None,
) -> Event:
    """Append an event that does not move the incident's state, outside a `TxContext`
    (the dispatcher, the outbox, a refusal written in its own transaction, a note).

    The incident row is not saved: its row version stays, and the append itself moves the
    chain's head on the row."""
    return uow.events.append(
        incident,
        actor=actor,
        kind=kind,
        trigger=trigger,
        from_state=incident.state,
        to_state=incident.state,
        at=at,
        data=data,
    )


def log_event(
    ctx: TxContext,
    kind: str,
    trigger: str | None,
    data: Mapping[str, Any],
    *,
    actor: str = SYSTEM_ACTOR.id,
) -> None:
    """Append an event that does not move the incident's state (a reminder, a decision, ...).

    Every use case saves `ctx.incident` (loaded under lock) in its transaction, so the chain's
    head moves on that object: an event logged after a recorded outcome in the same
    transaction (a per-slot request opened after its first part) follows it in the chain.
    """
    incident = ctx.incident
    ctx.uow.events.append(
        incident,
        actor=actor,
        kind=kind,
        trigger=trigger,
        from_state=incident.state,
        to_state=incident.state,
        at=ctx.now,
        data=ctx.attributed(actor, data),
        saved_with_incident=True,
    )
