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
worker calls it every round; without new events it costs one read of the chain's head.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from engine.definition.definition import Definition
from engine.definition.durations import format_duration
from engine.definition.schema import AuditAnchor
from engine.domain.model import Incident, Message, MessageStatus
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
        every = min(_spec(d).every for d, _ in plans.values())
        # Lock each carrier's row: of two processes anchoring at once, the second waits here and
        # then reads the first one's `audit_anchor` (PostgreSQL; SQLite serializes writers).
        for _, incidents in sorted(plans.values(), key=lambda p: p[1][0].id):
            uow.incidents.get(incidents[0].id, for_update=True)
        last = _last(uow.meta.get(LAST_ANCHOR))
        if last is not None and last.seq >= head.seq:
            self._quiet_until = last.at + every
            return None  # nothing new since the last anchor
        since = (last.at if last is not None else now - every) - GRACE
        ended = [
            i
            for _, incidents in plans.values()
            for i in incidents
            if i.closed and i.updated_at >= since and uow.meta.get(ENDED + i.id) is None
        ]
        if not ended and last is not None and now - last.at < every:
            self._quiet_until = last.at + every
            return None
        ended_ids = {i.id for i in ended}
        reason = "every" if not ended else "ended"
        installation_id = uow.meta.setdefault(INSTALLATION_ID, uuid.uuid4().hex)
        messages = []
        for definition, incidents in plans.values():
            carrier = next((i for i in incidents if i.id in ended_ids), incidents[0])
            text = self._text(definition, head, now, reason, sorted(ended_ids), installation_id)
            messages.append(self._message(uow, definition, carrier, head, now, *text))
        uow.messages.add_many(messages)
        for incident in ended:
            uow.meta.set(ENDED + incident.id, str(head.seq))
        record = {"seq": head.seq, "hash": head.hash, "at": now.isoformat()}
        uow.meta.set(LAST_ANCHOR, json.dumps(record))
        self._quiet_until = now + every
        return AnchorSent(head.seq, head.hash, tuple(sorted(ended_ids)), len(messages))

    def _plans(self, uow: UnitOfWork) -> dict[str, tuple[Definition, list[Incident]]]:
        """Each plan with an anchor channel: its newest definition and its incidents, newest
        first (as the store lists them)."""
        plans: dict[str, tuple[Definition, list[Incident]]] = {}
        for incident in uow.incidents.list(include_closed=True):
            definition = self.workspace.definition_of(uow, incident)
            if _anchor_of(definition) is None:
                continue
            found = plans.setdefault(incident.workflow, (definition, []))
            found[1].append(incident)
        return plans

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
