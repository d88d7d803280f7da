"""The questions people ask about incidents: show, describe, list (a page at a time), actions,
log.

Read-only transactions (on SQLite they do not wait behind writers). `Service` inherits these,
so `service.show(...)` reads like `service.fire(...)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from engine.definition.schema import TransitionDef, Workflow, localized
from engine.domain.fields import display_value
from engine.domain.labels import Labels
from engine.domain.machine import evaluator_for
from engine.domain.model import Approval, ApprovalStatus, Incident, Message, Timer
from engine.domain.paging import (
    DEFAULT_LIMIT,
    IncidentQuery,
    check_limit,
    decode_cursor,
    encode_cursor,
    parse_since,
)
from engine.errors import DriftplanError
from engine.service.workspace import Workspace


@dataclass(frozen=True)
class Listing:
    """One page of the incident list as the CLI and API show it.

    `remaining` counts the rows after this page (`next_cursor` fetches them);
    `closed_left_out` the closed incidents the listing's cap on closed ones left out.
    """

    items: list[dict[str, Any]]
    labels: list[Labels]  # each item's plan titles, when a language was asked for
    next_cursor: str | None
    remaining: int
    closed_left_out: int


@dataclass(frozen=True)
class Declaring:
    """What a person may declare: the plan, and its declaring transitions open to them."""

    workflow: Workflow
    transitions: list[TransitionDef]


class IncidentQueries:
    """Read-side use cases; the JSON shapes here are CLI and API contracts."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    def show(self, incident_id: str) -> dict[str, Any]:
        with self.workspace.store.unit_of_work(read_only=True) as uow:
            incident = uow.incidents.get(incident_id)
            approvals = uow.approvals.list(incident_id, status=ApprovalStatus.PENDING)
            return incident_view(incident, approvals)

    def describe(self, incident_id: str, language: str) -> dict[str, Any]:
        """The incident for people: state and field titles, values formatted for readers."""
        with self.workspace.store.unit_of_work(read_only=True) as uow:
            incident = uow.incidents.get(incident_id)
            workflow = self.workspace.definition_of(uow, incident).workflow
        rows = described_rows(workflow, incident.data, language)
        state = workflow.states[incident.state]
        return {"state_title": localized(state.title, language), "rows": rows}

    def incidents(self, *, include_closed: bool = False) -> list[dict[str, Any]]:
        with self.workspace.store.unit_of_work(read_only=True) as uow:
            return [incident_view(i, []) for i in uow.incidents.list(include_closed)]

    def incident_page(
        self,
        *,
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
        since: str | None = None,
        closed: int | None = 0,
        state: str | None = None,
        language: str | None = None,
    ) -> Listing:
        """One page of the incident list (`engine.domain.paging`): open incidents first, the
        most recently updated first; `closed` caps the closed ones (0 none, None all).

        `cursor` is a previous page's `next_cursor`; `since` a time as people type it (`-2h`,
        `14:00`, `2026-11-01`). With `language`, each row comes with its plan's titles.
        """
        query = IncidentQuery(
            limit=check_limit(limit),
            closed=closed,
            since=None if since is None else self._since(since),
            state=state,
            after=None if cursor is None else decode_cursor(cursor),
        )
        with self.workspace.store.unit_of_work(read_only=True) as uow:
            page = uow.incidents.page(query)
            labels = (
                [
                    Labels(self.workspace.definition_of(uow, i).workflow, language)
                    for i in page.items
                ]
                if language is not None
                else []
            )
        return Listing(
            items=[incident_view(i, []) for i in page.items],
            labels=labels,
            next_cursor=None if page.next is None else encode_cursor(page.next),
            remaining=page.remaining,
            closed_left_out=page.closed_left_out,
        )

    def _since(self, typed: str) -> datetime:
        # A clock time means the plan's timezone; without a loadable plan, UTC (the ISO and
        # relative forms do not need one).
        try:
            zone = ZoneInfo(self.workspace.plans.current().workflow.document.timezone)
        except DriftplanError:
            zone = ZoneInfo("UTC")
        return parse_since(typed, now=self.workspace.clock.now(), zone=zone)

    def labels(self, incident_id: str, language: str) -> Labels:
        """The titles of the plan this incident runs on (its pinned version)."""
        with self.workspace.store.unit_of_work(read_only=True) as uow:
            incident = uow.incidents.get(incident_id)
            return Labels(self.workspace.definition_of(uow, incident).workflow, language)

    def incidents_labelled(
        self, *, include_closed: bool = False, language: str
    ) -> list[tuple[dict[str, Any], Labels]]:
        """Each incident's view with the titles of its own plan, for people's lists."""
        with self.workspace.store.unit_of_work(read_only=True) as uow:
            return [
                (
                    incident_view(i, []),
                    Labels(self.workspace.definition_of(uow, i).workflow, language),
                )
                for i in uow.incidents.list(include_closed)
            ]

    def actions(self, *, incident_id: str, actor_id: str) -> list[dict[str, Any]]:
        """The triggers this person may fire now, with their destination and gate."""
        with self.workspace.store.unit_of_work(read_only=True) as uow:
            incident = uow.incidents.get(incident_id)
            actor = self.workspace.actor(uow, actor_id)
            evaluator = evaluator_for(self.workspace.definition_of(uow, incident))
            out = []
            for t in evaluator.available(incident.state):
                if not evaluator.may_fire(actor, t):
                    continue
                approvers = sorted(set(t.gate.any_of) | set(t.gate.all_of)) if t.gate else []
                out.append(
                    {
                        "trigger": t.trigger,
                        "dest": incident.state if t.internal else t.dest,
                        "gated": t.gate is not None,
                        "approvers": approvers,
                    }
                )
            return out

    def messages(self, incident_id: str) -> list[Message]:
        """The incident's outbox rows, oldest first (NotFound for an unknown incident)."""
        with self.workspace.store.unit_of_work(read_only=True) as uow:
            uow.incidents.get(incident_id)
            return uow.messages.list(incident_id)

    def open_timers(self, incident_id: str) -> list[Timer]:
        """The incident's timers still to fire, soonest first (NotFound for an unknown one)."""
        with self.workspace.store.unit_of_work(read_only=True) as uow:
            uow.incidents.get(incident_id)
            return uow.timers.list_open(incident_id)

    def people_names(self) -> dict[str, str]:
        """Directory ids to names, so pages can say who did what."""
        with self.workspace.store.unit_of_work(read_only=True) as uow:
            return {p.id: p.name for p in self.workspace.directory(uow).people.values()}

    def declaring(self, actor_id: str, workflow: str | None = None) -> Declaring:
        """The current plan and the declaring triggers `actor_id` may fire (none: they may
        not declare). Unknown people get NotFound, as for every command."""
        definition = self.workspace.plans.current(workflow)
        evaluator = evaluator_for(definition)
        with self.workspace.store.unit_of_work(read_only=True) as uow:
            actor = self.workspace.actor(uow, actor_id)
        allowed = [t for t in evaluator.available(None) if evaluator.may_fire(actor, t)]
        return Declaring(definition.workflow, allowed)

    def log(self, incident_id: str) -> list[dict[str, Any]]:
        with self.workspace.store.unit_of_work(read_only=True) as uow:
            uow.incidents.get(incident_id)
            return [
                {
                    "seq": e.seq,
                    "at": e.at.isoformat(),
                    "actor": e.actor,
                    "kind": e.kind,
                    "trigger": e.trigger,
                    "from_state": e.from_state,
                    "to_state": e.to_state,
                    "data": e.data,
                    "hash": e.hash,
                }
                for e in uow.events.list(incident_id)
            ]


def described_rows(
    workflow: Workflow, data: Mapping[str, Any], language: str
) -> list[tuple[str, str]]:
    """The incident's filled-in fields as (title, value for readers), in the plan's order."""
    return [
        (
            localized(f.title, language) or name,
            display_value(workflow, name, data[name], language),
        )
        for name, f in workflow.fields.items()
        if data.get(name) not in (None, "", [])
    ]


def incident_view(incident: Incident, approvals: list[Approval]) -> dict[str, Any]:
    """The JSON shape of `incident show` (a CLI and API contract)."""
    return {
        "id": incident.id,
        "workflow": incident.workflow,
        "workflow_version": incident.workflow_version,
        "state": incident.state,
        "data": incident.data,
        "reserve_subregions": incident.data.get("reserve_subregions") or [],
        "crisis": "crisis" in incident.flags,
        "flags": incident.flags,
        "exercise": incident.exercise,
        "pending_approvals": [
            {
                "id": a.id,
                "trigger": a.trigger,
                "approvers": [slot.to_dict() for slot in a.slots],
                "requested_by": a.requested_by,
                "expires_at": a.expires_at.isoformat() if a.expires_at else None,
            }
            for a in approvals
        ],
        "created_at": incident.created_at.isoformat(),
        "updated_at": incident.updated_at.isoformat(),
    }
