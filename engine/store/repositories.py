"""Repositories for the incident itself: definitions, incidents, the event log, approvals.

Each maps one table to the dataclasses of `engine.domain.model` and runs inside a `UnitOfWork`'s
transaction. Incidents are updated optimistically (a row version), and the event log is
appended as a hash chain whose head is kept on the incident row. Every statement is SQLAlchemy
Core run through the unit of work's `execute`; those every command runs are built once, here,
with bind parameters, so that each execution is a hit in SQLAlchemy's compiled cache.

A repository sees its unit of work only as a `Transaction` (below): the unit of work builds
the repositories, so the repositories must not import it back.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Mapping
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from engine.domain.model import Approval, ApprovalStatus, Event, Incident
from engine.domain.paging import IncidentPage, IncidentQuery
from engine.errors import ConfigurationError, Conflict, NotFound
from engine.store import tables as t
from engine.store.chain import link, seal
from engine.store.hashing import canonical_json, event_hash
from engine.store.incident_pages import read_page
from engine.store.record_columns import approval_columns, approval_records
from engine.store.transaction import Params, Transaction

__all__ = ["Params", "Transaction"]  # defined in engine.store.transaction


_INCIDENT_FIELDS = tuple(f.name for f in fields(Incident))
_EVENT_FIELDS = tuple(f.name for f in fields(Event))
_APPROVAL_FIELDS = tuple(f.name for f in fields(Approval))


def values_of(obj: object, names: tuple[str, ...]) -> dict[str, Any]:
    """The named attributes of a dataclass, shallow (no deep copy as `asdict` would make)."""
    return {name: getattr(obj, name) for name in names}


def row_fields(row: sa.RowMapping, names: tuple[str, ...]) -> dict[str, Any]:
    """The named columns of a row, ready to pass to a dataclass."""
    return {name: row[name] for name in names}


def aware(value: datetime, what: str) -> datetime:
    """`value` in UTC; a naive datetime is a caller bug, refused before it is hashed or stored."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got {value.isoformat()}")
    return value.astimezone(UTC)


# Statements built once, with bind parameters for every value: each execution then finds its
# compiled SQL in SQLAlchemy's compiled cache by the statement's cache key, which SQLAlchemy
# computes once per statement object. Bind names in WHERE clauses start with b_ so that they
# never collide with column names: an INSERT or UPDATE without .values() sets exactly the
# columns named in the parameters it is run with.
_INSERT_DEFINITION = sa.insert(t.definitions)
_DEFINITION_SNAPSHOT = sa.select(t.definitions.c.snapshot).where(
    t.definitions.c.sha256 == sa.bindparam("b_sha256")
)
_INSERT_INCIDENT = sa.insert(t.incidents)
_GET_INCIDENT = sa.select(t.incidents).where(t.incidents.c.id == sa.bindparam("b_id"))
_GET_INCIDENT_LOCKED = _GET_INCIDENT.with_for_update()
_UPDATE_INCIDENT = sa.update(t.incidents).where(
    t.incidents.c.id == sa.bindparam("b_id"),
    t.incidents.c.row_version == sa.bindparam("b_expected"),
)
_INCIDENT_VERSION = sa.select(t.incidents.c.row_version).where(
    t.incidents.c.id == sa.bindparam("b_id")
)
# The newest incident of each workflow and plan version: ranked over the key columns only, so
# that the window's sort holds narrow rows, and only the winners are read whole (by key).
_NEWEST_FIRST = (t.incidents.c.created_at.desc(), t.incidents.c.id)
_RANKED = sa.select(
    t.incidents.c.id,
    sa.func.row_number()
    .over(
        partition_by=(t.incidents.c.workflow, t.incidents.c.definition_sha256),
        order_by=_NEWEST_FIRST,
    )
    .label("rank"),
).subquery()
_NEWEST_BY_VERSION = (
    sa.select(t.incidents)
    .join(_RANKED, _RANKED.c.id == t.incidents.c.id)
    .where(_RANKED.c.rank == 1)
    .order_by(*_NEWEST_FIRST)
)
_CHAIN_HEAD = _GET_INCIDENT_LOCKED  # the whole row: moving the head re-seals it
_INSERT_EVENT = sa.insert(t.events)
_MOVE_CHAIN_HEAD = sa.update(t.incidents).where(t.incidents.c.id == sa.bindparam("b_id"))
_EVENTS_OF = (
    sa.select(t.events)
    .where(t.events.c.incident_id == sa.bindparam("b_incident"))
    .order_by(t.events.c.seq)
)
_INSERT_APPROVAL = sa.insert(t.approvals)
_GET_APPROVAL = sa.select(t.approvals).where(t.approvals.c.id == sa.bindparam("b_id"))
_UPDATE_APPROVAL = sa.update(t.approvals).where(t.approvals.c.id == sa.bindparam("b_id"))
# What waits for someone's decision: the pending requests of open incidents (a closed
# incident's requests are moot, whatever their rows say).
_PENDING_APPROVALS = (
    sa.select(t.approvals)
    .join(t.incidents, t.incidents.c.id == t.approvals.c.incident_id)
    .where(
        t.approvals.c.status == ApprovalStatus.PENDING.value,
        t.incidents.c.closed.is_(False),
    )
    .order_by(t.approvals.c.requested_at, t.approvals.c.id)
)


class Repository:
    """Shared plumbing: every repository runs in its unit of work's transaction."""

    def __init__(self, uow: Transaction) -> None:
        self._uow = uow

    def _insert_unique(
        self, statement: sa.Executable, values: Mapping[str, Any], conflict: str
    ) -> None:
        """Insert, turning a duplicate key into `Conflict` without dooming the transaction."""
        try:
            with self._uow.savepoint():
                self._uow.execute(statement, values)
        except sa.exc.IntegrityError as error:
            raise Conflict(conflict) from error


class DefinitionRepository(Repository):
    """Plan snapshots by content hash; immutable once saved (DESIGN.md §2)."""

    def save(self, name: str, version: str | int, sha256: str, snapshot: Mapping[str, Any]) -> None:
        """Store a plan snapshot; saving the same sha256 again changes nothing."""
        if self.get(sha256) is not None:
            return
        values = {
            "sha256": sha256,
            "name": name,
            "version": str(version),
            "snapshot": dict(snapshot),
            "created_at": datetime.now(UTC),
        }
        try:
            with self._uow.savepoint():
                self._uow.execute(_INSERT_DEFINITION, values)
        except sa.exc.IntegrityError:
            pass  # a concurrent command saved the same snapshot: same content, same key

    def get(self, sha256: str) -> dict[str, Any] | None:
        """The snapshot saved under `sha256`, or None."""
        found = self._uow.execute(_DEFINITION_SNAPSHOT, {"b_sha256": sha256})
        snapshot: dict[str, Any] | None = found.scalar_one_or_none()
        return snapshot


class IncidentRepository(Repository):
    """Incidents, with an optimistic row-version check on every update."""

    def add(self, incident: Incident) -> None:
        """Insert a new incident (its event chain starts empty)."""
        incident.last_event_seq, incident.last_event_hash = 0, ""
        values = values_of(incident, _INCIDENT_FIELDS)
        self._insert_unique(_INSERT_INCIDENT, values, f"Incident '{incident.id}' already exists.")
        seal(self._uow, values, new=True)

    def get(self, incident_id: str, *, for_update: bool = False) -> Incident:
        """The incident, or NotFound.

        `for_update` locks the row on PostgreSQL for the rest of the transaction, so that a
        command that lost a race waits and then sees the winner's state instead of doing all
        its work before failing on the version check (SQLite's BEGIN IMMEDIATE already
        serializes writers, and SQLAlchemy leaves FOR UPDATE out there).
        """
        query = _GET_INCIDENT_LOCKED if for_update else _GET_INCIDENT
        # No stored id holds a NUL, and PostgreSQL refuses one in a parameter: not found.
        row = (
            None
            if "\x00" in incident_id
            else self._uow.execute(query, {"b_id": incident_id}).mappings().one_or_none()
        )
        if row is None:
            raise NotFound(
                f"Incident '{incident_id}' does not exist.",
                sv=f"Incidenten '{incident_id}' finns inte (se `driftplan incident list --all`).",
            )
        return Incident(**row_fields(row, _INCIDENT_FIELDS))

    def list(self, include_closed: bool = False) -> builtins.list[Incident]:
        """Incidents, newest first; open ones only unless `include_closed`."""
        query = sa.select(t.incidents).order_by(t.incidents.c.created_at.desc(), t.incidents.c.id)
        if not include_closed:
            query = query.where(t.incidents.c.closed.is_(False))
        rows = self._uow.execute(query).mappings()
        return [Incident(**row_fields(row, _INCIDENT_FIELDS)) for row in rows]

    def page(self, query: IncidentQuery) -> IncidentPage:
        """One page of the listing (`engine.domain.paging`), read by keyset in SQL."""
        return read_page(
            self._uow, query, lambda row: Incident(**row_fields(row, _INCIDENT_FIELDS))
        )

    def newest_by_version(self) -> builtins.list[Incident]:
        """The newest incident of each workflow and plan version, newest first (one grouped
        query: a row per plan version reaches Python, however many incidents are stored)."""
        rows = self._uow.execute(_NEWEST_BY_VERSION).mappings()
        return [Incident(**row_fields(row, _INCIDENT_FIELDS)) for row in rows]

    def update(self, incident: Incident) -> None:
        """Save the incident if nobody changed it since it was loaded, and bump its row version.

        The check is in the UPDATE's WHERE clause, so it holds even between processes: on
        PostgreSQL the second writer waits for the first and then matches no row.
        """
        expected = incident.row_version
        row = values_of(incident, _INCIDENT_FIELDS)
        values = {name: value for name, value in row.items() if name != "id"}
        values["row_version"] = expected + 1
        values["b_id"], values["b_expected"] = incident.id, expected
        if self._uow.execute(_UPDATE_INCIDENT, values).rowcount == 0:
            found = self._uow.execute(_INCIDENT_VERSION, {"b_id": incident.id})
            current = found.scalar_one_or_none()
            if current is None:
                raise NotFound(f"Incident '{incident.id}' does not exist.")
            raise Conflict(
                f"Incident {incident.id} was changed by someone else (version {current}); "
                "reload and try again.",
                sv=f"Incidenten {incident.id} ändrades av någon annan samtidigt (version "
                f"{current}); inget ändrades. Läs in den igen och försök på nytt.",
            )
        seal(self._uow, row)
        incident.row_version = expected + 1


class EventRepository(Repository):
    """The append-only, hash-chained log of each incident."""

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
        """Append the next event of `incident`'s chain and move the chain's head to it.

        With `saved_with_incident=True` the caller promises that `incident` was read in this
        transaction under the row lock (or just added) and is saved with `incidents.update` in
        it: the head is then taken from and moved on the object, and the update writes it —
        two statements fewer on every command. Otherwise the head is read and written here,
        and the row re-sealed.

        Either way the event is also linked into the installation's chain, under that chain's
        head row lock, so that links follow commit order.
        """
        key = self._uow.audit_key
        if key is None:
            raise ConfigurationError(
                "No audit key is configured, so events cannot be signed. Open the database "
                "with Database.for_data_dir(...) or pass audit_key=... to Database."
            )
        # FOR UPDATE (a no-op on SQLite, where BEGIN IMMEDIATE already serializes writers):
        # two concurrent appends must not both read the same head and claim the same seq.
        found: sa.RowMapping | None = None
        if saved_with_incident:
            seq, prev_hash = incident.last_event_seq, incident.last_event_hash
        else:
            found = self._uow.execute(_CHAIN_HEAD, {"b_id": incident.id}).mappings().one_or_none()
            if found is None:
                raise NotFound(f"Incident '{incident.id}' does not exist.")
            seq, prev_hash = int(found["last_event_seq"]), str(found["last_event_hash"])
        row: dict[str, Any] = {
            "incident_id": incident.id,
            "seq": seq + 1,
            "at": aware(at, "Event time"),
            "actor": actor,
            "kind": kind,
            "trigger": trigger,
            "from_state": from_state,
            "to_state": to_state,
            # Hash exactly what a reader will get back from the JSON column.
            "data": json.loads(canonical_json(dict(data or {}))),
            "prev_hash": prev_hash,
        }
        row["hash"] = event_hash(key, row)
        self._uow.execute(_INSERT_EVENT, row)
        link(self._uow, key, incident.id, row["seq"], row["hash"])
        if found is not None:
            head = {"last_event_seq": row["seq"], "last_event_hash": row["hash"]}
            self._uow.execute(_MOVE_CHAIN_HEAD, {"b_id": incident.id, **head})
            seal(self._uow, {**found, **head})
        # Keep the object in step, so that a later `incidents.update` writes the new head.
        incident.last_event_seq, incident.last_event_hash = row["seq"], row["hash"]
        return Event(**row)

    def list(self, incident_id: str) -> builtins.list[Event]:
        """The incident's events in order."""
        rows = self._uow.execute(_EVENTS_OF, {"b_incident": incident_id}).mappings()
        return [Event(**row_fields(row, _EVENT_FIELDS)) for row in rows]


def _approval(row: sa.RowMapping) -> Approval:
    values = row_fields(row, _APPROVAL_FIELDS)
    return Approval(**(values | approval_records(values)))


class ApprovalRepository(Repository):
    """Requests to let a gated trigger through, and their decisions."""

    def add(self, approval: Approval) -> None:
        """Insert a new approval request."""
        self._insert_unique(
            _INSERT_APPROVAL,
            values_of(approval, _APPROVAL_FIELDS) | approval_columns(approval),
            f"Approval '{approval.id}' already exists.",
        )

    def get(self, approval_id: str) -> Approval:
        """The approval, or NotFound."""
        row = (
            None  # see IncidentRepository.get
            if "\x00" in approval_id
            else self._uow.execute(_GET_APPROVAL, {"b_id": approval_id}).mappings().one_or_none()
        )
        if row is None:
            raise NotFound(
                f"Approval '{approval_id}' does not exist.",
                sv=f"Beslutsbegäran '{approval_id}' finns inte (se `driftplan incident show ID`).",
            )
        return _approval(row)

    def update(self, approval: Approval) -> None:
        """Save the approval's status, slots and decisions."""
        values = values_of(approval, _APPROVAL_FIELDS) | approval_columns(approval)
        del values["id"]
        values["b_id"] = approval.id
        if self._uow.execute(_UPDATE_APPROVAL, values).rowcount == 0:
            raise NotFound(f"Approval '{approval.id}' does not exist.")

    def list(self, incident_id: str, status: str | None = None) -> builtins.list[Approval]:
        """The incident's approvals, oldest first, optionally only those with `status`."""
        query = (
            sa.select(t.approvals)
            .where(t.approvals.c.incident_id == incident_id)
            .order_by(t.approvals.c.requested_at, t.approvals.c.id)
        )
        if status is not None:
            query = query.where(t.approvals.c.status == status)
        rows = self._uow.execute(query).mappings()
        return [_approval(row) for row in rows]

    def pending(self) -> builtins.list[Approval]:
        """Every pending request of every open incident, oldest first."""
        return [_approval(row) for row in self._uow.execute(_PENDING_APPROVALS).mappings()]
