"""Reports from the public: an organisation tells the operators how an outage affects it.

The public form (`/rapportera`) has no signed-in person, so the timeline's rule of who may
write (`engine.service.notes`) cannot apply. Instead a public report:

* goes only to an incident that is open (a closed one takes follow-up from its roles, not from
  the web), and is recorded with the actor `public` — never a directory person, so nobody is
  made to have said it — and `via: web`;
* tells the people the plan names in `inbound_reports` (channels and audience) in the same
  transaction, as an outbox message like every other: a report nobody reads helps nobody.
  A plan without `inbound_reports` still logs the report (the operators see it in the
  timeline), and says so in the application log.

The message is written by the engine, not by a plan template: its content is the report
itself, which is data and never a template. Limiting how often one client may report is the
web layer's (it knows the client's address).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from engine.definition.definition import Definition
from engine.definition.schema import Workflow, localized
from engine.domain.model import Incident, Message, MessageStatus, StoredRecipient
from engine.errors import ConfigurationError, InvalidField, NotFound
from engine.service.addressing import Addressing, dedupe
from engine.service.event_log import note_event
from engine.service.notes import REPORT, Report, note_text, report_data
from engine.service.workspace import Workspace

__all__ = ["PUBLIC_ACTOR", "OpenIncident", "PublicReports"]

log = logging.getLogger(__name__)

PUBLIC_ACTOR = "public"  # the actor of a report made on the public form
VIA_WEB = "web"
_WORDS = {
    "sv": {
        "subject": "Rapport om påverkan från {organisation}",
        "lead": "En organisation har rapporterat påverkan via webbformuläret.",
        "organisation": "Organisation",
        "contact": "Kontakt",
        "subregion": "Delregion",
        "incident": "Driftstörning",
        "text": "Rapport",
        "timeline": "Rapporten finns i incidentens händelselogg",
    },
    "en": {
        "subject": "Impact report from {organisation}",
        "lead": "An organisation reported how it is affected, on the web form.",
        "organisation": "Organisation",
        "contact": "Contact",
        "subregion": "Sub-region",
        "incident": "Incident",
        "text": "Report",
        "timeline": "The report is in the incident's timeline",
    },
}


@dataclass(frozen=True)
class OpenIncident:
    """An open incident as the public may see it: no data, only its stage and start."""

    id: str
    state_title: str
    declared_at: datetime
    exercise: bool


class PublicReports:
    """The open incidents the public may report on, and recording their reports."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    def open_incidents(self, language: str) -> list[OpenIncident]:
        """The open incidents, newest first, each with its stage in `language`."""
        with self.workspace.store.unit_of_work(read_only=True) as uow:
            found = []
            for incident in uow.incidents.list(False):
                workflow = self.workspace.definition_of(uow, incident).workflow
                state = workflow.states.get(incident.state)
                title = localized(state.title, language) if state else incident.state
                found.append(
                    OpenIncident(incident.id, title, incident.created_at, incident.exercise)
                )
        return sorted(found, key=lambda i: i.declared_at, reverse=True)

    def report(
        self,
        *,
        incident_id: str,
        organisation: str,
        text: str,
        contact: str = "",
        subregion: str = "",
    ) -> int:
        """Record a public report on an open incident and notify the plan's receivers of
        reports; returns the event's seq. InvalidField names a field to correct."""
        with self.workspace.store.unit_of_work() as uow:
            try:
                incident = uow.incidents.get(incident_id, for_update=True)
            except NotFound:
                incident = None
            if incident is None or incident.closed:
                raise InvalidField(
                    "incident",
                    "choose one of the open incidents; this one is unknown or has ended.",
                    detail_sv="välj en av de pågående driftstörningarna; den här är okänd "
                    "eller avslutad.",
                )
            now = self.workspace.clock.now()
            ctx = self.workspace.context(uow, incident, now)
            workflow = ctx.definition.workflow
            data: dict[str, Any] = {"text": note_text(text)}
            data.update(report_data(workflow, Report(organisation, contact, subregion or None)))
            data["via"] = VIA_WEB
            event = note_event(
                uow,
                incident,
                actor=PUBLIC_ACTOR,
                kind=REPORT,
                at=now,
                data=self.workspace.attributed(PUBLIC_ACTOR, data),
            )
            messages = _notices(ctx.definition, incident, data, ctx.addressing, now)
            uow.messages.add_many(messages)
            uow.commit()
        if workflow.inbound_reports is None:
            log.warning(
                "public report on %s logged; the plan names no `inbound_reports` to tell",
                incident_id,
            )
        return event.seq


def _notices(
    definition: Definition,
    incident: Incident,
    report: dict[str, Any],
    addressing: Addressing,
    now: datetime,
) -> list[Message]:
    """One outbox message per channel of the plan's `inbound_reports` (none without it)."""
    spec = definition.workflow.inbound_reports
    if spec is None:
        return []
    workflow = definition.workflow
    language = definition.language
    subject, body = _compose(workflow, incident, report, language)
    stamp = f"{now:%Y%m%d%H%M%S%f}"
    messages = []
    for index, name in enumerate(spec.channels):
        channel = workflow.channels.get(name)
        audiences = list(spec.audience) or (
            [channel.audience] if channel and channel.audience else []
        )
        unknown = [a for a in audiences if a not in workflow.audiences]
        if channel is None or unknown or not audiences:
            raise ConfigurationError(
                f"inbound_reports names channel '{name}' and audience(s) {audiences}, which "
                f"the plan does not define with an audience. Channels: "
                f"{', '.join(workflow.channels)}; audiences: {', '.join(workflow.audiences)}.",
                sv=f"inbound_reports anger kanalen '{name}' och målgrupperna {audiences}, som "
                "planen inte har (med en målgrupp). Rätta planens inbound_reports.",
            )
        recipients: list[StoredRecipient] = dedupe(
            r for a in audiences for r in addressing.for_audience(workflow, a)
        )
        messages.append(
            Message(
                id=f"{stamp}-{index:03d}-{uuid.uuid4().hex[:8]}",
                incident_id=incident.id,
                channel=name,
                kind=channel.kind,
                audience=",".join(audiences),
                language=language,
                subject=subject,
                body_text=body,
                body_html="",
                recipients=recipients,
                status=MessageStatus.PENDING,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
                cause="report:public",
                exercise=incident.exercise,
            )
        )
    return messages


def _compose(
    workflow: Workflow, incident: Incident, report: dict[str, Any], language: str
) -> tuple[str, str]:
    """The notice's subject and text, in the plan's language; the report's words as given."""
    words = _WORDS.get(language, _WORDS["sv"])
    subregion = report.get("subregion")
    sub = workflow.subregions.get(subregion) if subregion else None
    zone = ZoneInfo(workflow.document.timezone or "UTC")
    declared = incident.created_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    state = workflow.states.get(incident.state)
    lines = [
        words["lead"],
        "",
        f"{words['organisation']}: {report['organisation']}",
    ]
    if report.get("contact"):
        lines.append(f"{words['contact']}: {report['contact']}")
    if sub is not None:
        lines.append(f"{words['subregion']}: {localized(sub.title, language)}")
    stage = localized(state.title, language) if state else incident.state
    lines += [
        f"{words['incident']}: {incident.id} ({stage}, {declared})",
        "",
        f"{words['text']}:",
        str(report["text"]),
        "",
        f"{words['timeline']}: {incident.id}.",
    ]
    subject = words["subject"].format(organisation=report["organisation"])
    # A subject is one header line: the organisation's name is checked for length, and line
    # breaks in it would be folded away by the mail channel anyway.
    return " ".join(subject.split()), "\n".join(lines)
