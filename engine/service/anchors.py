"""Anchoring the audit chain: its head goes off the machine at each incident's end and at
least every `audit.anchor.every` (a day by default).

A plan names the channel (`audit: {anchor: {channel: ..., every: 1d}}`, e.g. e-mail to an
auditor's mailbox). The anchor is an ordinary outbox message on that channel, carried by an
incident of that plan (the dispatcher delivers a message through its incident's pinned plan):
the incident that ended, else the plan's newest. Its body states `driftplan audit anchor
SEQ:HASH`, the installation, the time and how to verify; whoever keeps it can later prove the
log up to that link unchanged with `driftplan audit verify --anchor SEQ:HASH`, even against
someone holding the audit key (see `engine.store.audit`).

`Anchors.run` writes the message in its own transaction and remembers the last anchor in
`meta` (`audit_anchor`), and each ended incident it covered (`audit_anchor:end:<id>`). The
worker calls it every round; without new events it costs one read of the chain's head. After
one (every command moves the head) it reads one incident per plan version
(`IncidentRepository.newest_by_version`) and, when an anchor may be due, the incidents closed
since the last one (a range of the listing index): never every stored incident (issue #13).
What reaches Python stays flat however many incidents are kept; the database still ranks the
key columns of every incident for the newest per version (on SQLite about 15 ms for 10,000
incidents, against 200 ms for reading them all as before).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from engine.definition.definition import Definition
from engine.definition.durations import format_duration
from engine.definition.schema import AuditAnchor
from engine.domain.model import Incident, Message, MessageStatus
from engine.domain.paging import MAX_LIMIT, IncidentQuery, PageKey
from engine.ports import UnitOfWork
from engine.service.addressing import dedupe
from engine.service.workspace import Workspace
from engine.texts import t

LAST_ANCHOR = "audit_anchor"  # meta: JSON {seq, hash, at} of the last anchor written
ENDED = "audit_anchor:end:"  # meta, + incident id: the anchor that covered its end (a seq)
INSTALLATION_ID = "installation_id"  # meta: a random id naming this installation
# Ended incidents are looked for among those closed up to this long before the last anchor
# (a command that closed one may commit a little after an anchor read the incidents).
GRACE = timedelta(days=1)
IDLE = timedelta(hours=1)  # re-check this often when no plan asks for anchors
PAGE = MAX_LIMIT  # ended incidents are read this many at a time
# A position above every closed row of the listing order: a page after it skips the open
# section and reads closed incidents only, newest first, through the listing's index.
_CLOSED_ONLY = PageKey(True, datetime.max.replace(tzinfo=UTC), "")


class Head(Protocol):
    """The newest link of the installation's chain (`engine.store.ChainHead`)."""

    @property
    def seq(self) -> int: ...

    @property
    def hash(self) -> str: ...


@dataclass(frozen=True)
class AnchorSent:
    """What one anchor was: the head it states, the incidents whose end it covers, and the
    number of messages (one per plan with an anchor channel)."""

    seq: int
    hash: str
    ended: tuple[str, ...]
    messages: int

    @property
    def anchor(self) -> str:
        return f"{self.seq}:{self.hash}"


@dataclass(frozen=True)
class _Plan:
    """A plan with an anchor channel: the definition of its newest incident pinned to a version
    that has one, and that incident (the carrier of its anchor unless one of its incidents
    ended)."""

    definition: Definition
    newest: Incident


@dataclass(frozen=True)
class _Last:
    seq: int
    at: datetime


class Anchors:
    """Writes anchor messages when an incident ended or `every` has passed since the last."""

    def __init__(
        self, workspace: Workspace, *, head: Callable[[], Head], installation: str
    ) -> None:
        self.workspace = workspace
        self._head = head
        self.installation = installation
        self._seen = -1  # the head seq of the last check in this process
        self._quiet_until: datetime | None = None

    def run(self) -> AnchorSent | None:
        """Write an anchor if one is due; returns it, or None."""
        now = self.workspace.clock.now()
        head = self._head()
        quiet = self._quiet_until is not None and now < self._quiet_until
        if head.seq == 0 or (head.seq == self._seen and quiet):
            return None
        self._seen = head.seq
        with self.workspace.store.unit_of_work() as uow:
            sent = self._run_in(uow, head, now)
            uow.commit()
        return sent

    def _run_in(self, uow: UnitOfWork, head: Head, now: datetime) -> AnchorSent | None:
        plans = self._plans(uow)
        if not plans:
            self._quiet_until = now + IDLE
            return None
        every = min(_spec(p.definition).every for p in plans.values())
        # Lock each carrier's row: of two processes anchoring at once, the second waits here and
        # then reads the first one's `audit_anchor` (PostgreSQL; SQLite serializes writers).
        for plan in sorted(plans.values(), key=lambda p: p.newest.id):
            uow.incidents.get(plan.newest.id, for_update=True)
        last = _last(uow.meta.get(LAST_ANCHOR))
        if last is not None and last.seq >= head.seq:
            self._quiet_until = last.at + every
            return None  # nothing new since the last anchor
        since = (last.at if last is not None else now - every) - GRACE
        ended = self._ended(uow, plans, since)
        if not ended and last is not None and now - last.at < every:
            self._quiet_until = last.at + every
            return None
        ended_ids = {i.id for i in ended}
        reason = "every" if not ended else "ended"
        installation_id = uow.meta.setdefault(INSTALLATION_ID, uuid.uuid4().hex)
        messages = []
        for workflow, plan in plans.items():
            carrier = next((i for i in ended if i.workflow == workflow), plan.newest)
            definition = plan.definition
            text = self._text(definition, head, now, reason, sorted(ended_ids), installation_id)
            messages.append(self._message(uow, definition, carrier, head, now, *text))
        uow.messages.add_many(messages)
        for incident in ended:
            uow.meta.set(ENDED + incident.id, str(head.seq))
        record = {"seq": head.seq, "hash": head.hash, "at": now.isoformat()}
        uow.meta.set(LAST_ANCHOR, json.dumps(record))
        self._quiet_until = now + every
        return AnchorSent(head.seq, head.hash, tuple(sorted(ended_ids)), len(messages))

    def _plans(self, uow: UnitOfWork) -> dict[str, _Plan]:
        """Each plan (workflow) with an anchor channel, by workflow, the most recently active
        first. A plan version without one does not count: the plan is the newest version with
        one that an incident was pinned to."""
        plans: dict[str, _Plan] = {}
        for incident in uow.incidents.newest_by_version():  # newest first
            if incident.workflow in plans:
                continue  # an older version of a plan already found
            definition = self.workspace.definition_of(uow, incident)
            if _anchor_of(definition) is not None:
                plans[incident.workflow] = _Plan(definition, incident)
        return plans

    def _ended(self, uow: UnitOfWork, plans: dict[str, _Plan], since: datetime) -> list[Incident]:
        """The ended incidents no anchor covered yet: closed ones updated at or after `since`
        and pinned to a plan version with an anchor channel, newest first (by `created_at`,
        then id: the first of a plan's carries its anchor). Read a page at a time from the
        closed section of the listing index, so only incidents closed since are read."""
        found: list[Incident] = []
        query = IncidentQuery(limit=PAGE, closed=None, since=since, after=_CLOSED_ONLY)
        while True:
            page = uow.incidents.page(query)
            found.extend(
                incident
                for incident in page.items
                if incident.closed
                and incident.workflow in plans
                and _anchor_of(self.workspace.definition_of(uow, incident)) is not None
                and uow.meta.get(ENDED + incident.id) is None
            )
            if page.next is None:
                break
            query = replace(query, after=page.next)
        found.sort(key=lambda i: i.id)
        found.sort(key=lambda i: i.created_at, reverse=True)
        return found

    def _text(
        self,
        definition: Definition,
        head: Head,
        now: datetime,
        reason: str,
        ended: list[str],
        installation_id: str,
    ) -> tuple[str, str]:
        language = definition.language
        zone = definition.workflow.document.timezone
        if reason == "ended":
            why = t("anchor_ended", language, ids=", ".join(ended))
        else:
            why = t("anchor_every", language, every=format_duration(_spec(definition).every))
        values = {
            "seq": head.seq,
            "anchor": f"{head.seq}:{head.hash}",
            "installation": self.installation,
            "id": installation_id,
            "local": f"{now.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M:%S}",
            "zone": zone,
            "utc": f"{now:%Y-%m-%d %H:%M:%S}",
            "reason": why,
        }
        return t("anchor_subject", language, **values), t("anchor_body", language, **values)

    def _message(
        self,
        uow: UnitOfWork,
        definition: Definition,
        carrier: Incident,
        head: Head,
        now: datetime,
        subject: str,
        body: str,
    ) -> Message:
        channel_name = _spec(definition).channel
        channel = definition.workflow.channels[channel_name]
        audience = channel.audience or ""
        ctx = self.workspace.context(uow, carrier, now, definition=definition)
        recipients = (
            dedupe(ctx.addressing.for_audience(definition.workflow, audience)) if audience else []
        )
        return Message(
            id=f"{now:%Y%m%d%H%M%S%f}-anchor-{uuid.uuid4().hex[:8]}",
            incident_id=carrier.id,
            channel=channel_name,
            kind=channel.kind,
            audience=audience,
            language=definition.language,
            subject=subject,
            body_text=body,
            body_html="",  # channels render the text as HTML
            recipients=recipients,
            status=MessageStatus.PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            cause=f"audit_anchor:{head.seq}",
        )


def _anchor_of(definition: Definition) -> AuditAnchor | None:
    audit = definition.workflow.audit
    return audit.anchor if audit is not None else None


def _spec(definition: Definition) -> AuditAnchor:
    """The anchor settings of a plan that has them (`Anchors._plans` keeps only those)."""
    spec = _anchor_of(definition)
    if spec is None:
        raise ValueError(f"plan {definition.name} has no audit anchor")
    return spec


def _last(raw: str | None) -> _Last | None:
    if not raw:
        return None
    value = json.loads(raw)
    return _Last(int(value["seq"]), datetime.fromisoformat(value["at"]))
