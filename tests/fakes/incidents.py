"""In-memory repositories of the incident: definitions, incidents, events, approvals."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from engine.domain.model import (
    Approval,
    ApprovalStatus,
    Event,
    Incident,
)
from engine.domain.paging import IncidentPage, IncidentQuery, PageKey
from engine.errors import Conflict, NotFound

from .tables import Repository, Tables, fresh, insert, json_copy


class MemoryDefinitions(Repository):
    def save(self, name: str, version: str | int, sha256: str, snapshot: Mapping[str, Any]) -> None:
        stored = json_copy(dict(snapshot))

        def change(t: Tables) -> None:
            t.definitions.setdefault(sha256, stored)  # saving the same plan again: no change

        self._uow.write(change)

    def get(self, sha256: str) -> dict[str, Any] | None:
        found = self._t.definitions.get(sha256)
        return None if found is None else dict(json_copy(found))


def _missing_incident(incident_id: str) -> NotFound:
    return NotFound(
        f"Incident '{incident_id}' does not exist.",
        sv=f"Incidenten '{incident_id}' finns inte (se `driftplan incident list --all`).",
    )


def _stale(incident_id: str, current: int) -> Conflict:
    return Conflict(
        f"Incident {incident_id} was changed by someone else (version {current}); "
        "reload and try again."
    )


class MemoryIncidents(Repository):
    def add(self, incident: Incident) -> None:
        incident.last_event_seq, incident.last_event_hash = 0, ""
        row = fresh(incident)
        self._uow.write(
            lambda t: insert(t.incidents, row.id, row, f"Incident '{row.id}' already exists.")
        )

    def get(self, incident_id: str, *, for_update: bool = False) -> Incident:
        found = self._t.incidents.get(incident_id)
        if found is None:
            raise _missing_incident(incident_id)
        return fresh(found)

    def list(self, include_closed: bool = False) -> builtins.list[Incident]:
        rows = sorted(self._t.incidents.values(), key=lambda i: i.id)
        rows.sort(key=lambda i: i.created_at, reverse=True)
        return [fresh(i) for i in rows if include_closed or not i.closed]

    def page(self, query: IncidentQuery) -> IncidentPage:
        """The listing sorted whole, then cut as the SQL store cuts it (a cap on closed rows,
        the cursor, the limit)."""
        rows = sorted(self._t.incidents.values(), key=lambda i: i.id, reverse=True)
        rows.sort(key=lambda i: i.updated_at, reverse=True)
        rows.sort(key=lambda i: i.closed)
        matching = [
            i
            for i in rows
            if (query.since is None or i.updated_at >= query.since)
            and (query.state is None or i.state == query.state)
        ]
        closed = [i for i in matching if i.closed]
        cap = len(closed) if query.closed is None else query.closed
        listing = [i for i in matching if not i.closed] + closed[:cap]
        after = query.after
        if after is not None:
            listing = [i for i in listing if after.before(PageKey.of(i))]
        shown = listing[: query.limit]
        return IncidentPage(
            [fresh(i) for i in shown],
            remaining=len(listing) - len(shown),
            closed_left_out=len(closed) - min(cap, len(closed)),
        )

    def newest_by_version(self) -> builtins.list[Incident]:
        """The first incident of each workflow and plan version in `list`'s order."""
        newest: dict[tuple[str, str], Incident] = {}
        for incident in self.list(include_closed=True):
            newest.setdefault((incident.workflow, incident.definition_sha256), incident)
        return [*newest.values()]

    def update(self, incident: Incident) -> None:
        expected = incident.row_version
        row = fresh(replace(incident, row_version=expected + 1))

        def change(t: Tables) -> None:
            current = t.incidents.get(row.id)
            if current is None:
                raise _missing_incident(row.id)
            if current.row_version != expected:
                raise _stale(row.id, current.row_version)
            t.incidents[row.id] = row

        # The WHERE of the real UPDATE sees a version committed after this unit began.
        began, latest = self._uow.base.incidents.get(row.id), self._uow.store.latest.incidents
        if began is not None and latest[row.id].row_version != began.row_version:
            raise _stale(row.id, latest[row.id].row_version)
        self._uow.write(change)
        incident.row_version = expected + 1


class MemoryEvents(Repository):
    def append(
        self,
        incident: Incident,
        *,
        actor: str,
        kind: str,
        at: datetime,
        trigger: str | None = None,
        from_state: str | None = None,
        to_state: str | None = None,
        data: Mapping[str, Any] | None = None,
        saved_with_incident: bool = False,
    ) -> Event:
        """The next event of the incident (seq + 1); no hash chain: `hash` stays empty."""
        if saved_with_incident:
            seq = incident.last_event_seq
        else:
            seq = self._uow.incidents.get(incident.id).last_event_seq
        event = fresh(
            Event(
                incident.id,
                seq + 1,
                at,
                actor,
                kind,
                trigger,
                from_state,
                to_state,
                dict(data or {}),
            )
        )

        def change(t: Tables) -> None:
            head = t.incidents.get(event.incident_id)
            if head is None:
                raise _missing_incident(event.incident_id)
            chain = t.events.get(event.incident_id, ())
            if any(e.seq == event.seq for e in chain):
                raise Conflict(f"Event {event.seq} of incident {event.incident_id} exists.")
            t.events[event.incident_id] = (*chain, event)
            if not saved_with_incident:
                t.incidents[head.id] = replace(head, last_event_seq=event.seq)

        self._uow.write(change)
        incident.last_event_seq, incident.last_event_hash = event.seq, ""
        return fresh(event)

    def list(self, incident_id: str) -> builtins.list[Event]:
        return [fresh(e) for e in sorted(self._t.events.get(incident_id, ()), key=lambda e: e.seq)]


class MemoryApprovals(Repository):
    def add(self, approval: Approval) -> None:
        row = fresh(approval)
        duplicate = f"Approval '{row.id}' already exists."
        self._uow.write(lambda t: insert(t.approvals, row.id, row, duplicate))

    def get(self, approval_id: str) -> Approval:
        found = self._t.approvals.get(approval_id)
        if found is None:
            raise NotFound(f"Approval '{approval_id}' does not exist.")
        return fresh(found)

    def update(self, approval: Approval) -> None:
        row = fresh(approval)

        def change(t: Tables) -> None:
            if row.id not in t.approvals:
                raise NotFound(f"Approval '{row.id}' does not exist.")
            t.approvals[row.id] = row

        self._uow.write(change)

    def list(self, incident_id: str, status: str | None = None) -> builtins.list[Approval]:
        rows = [a for a in self._t.approvals.values() if a.incident_id == incident_id]
        rows = [a for a in rows if status is None or a.status == status]
        return [fresh(a) for a in sorted(rows, key=lambda a: (a.requested_at, a.id))]

    def pending(self) -> builtins.list[Approval]:
        rows = [
            a
            for a in self._t.approvals.values()
            if a.status == ApprovalStatus.PENDING
            and a.incident_id in self._t.incidents
            and not self._t.incidents[a.incident_id].closed
        ]
        return [fresh(a) for a in sorted(rows, key=lambda a: (a.requested_at, a.id))]
