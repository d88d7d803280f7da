"""Two-way communication in the timeline: operators' notes and organisations' reports.

During an outage organisations report back (by mail to the plan's inbound mailbox, or by
phone), and operators keep notes of what they learn and do. Both go into the incident's event
log, hash-chained like every other event, and nothing else happens: no message, no state
change, no timer. A note or report is evidence, not a command.

**Who may write.** The plan already says who is involved in each stage, so the timeline asks
no roles of its own: a person may write a note or record a report when they hold (themselves
or as a deputy) a role that is

* `responsible` in the incident's current state, or
* `allowed` on (or decides the gate of) a transition that starts from the current state, or
* `allowed` on (or decides the gate of) a transition that leads into it.

The last clause keeps the follow-up open: a final state (`closed`, `withdrawn`) has no
transitions out, and the roles that closed the incident may still add what they learn
afterwards. In the SAMSA plan that gives, in `outage`, GITS operational management, the
supplier, VGR-IT, OSIT, the sub-regional deciders and the council's chair and vice chair; in
`closed`, GITS operational management. A refusal is written to the incident's log (kind
`refused`, trigger `note` or `report`) like every refused command.

Notes and reports are allowed on a closed incident (follow-up goes on after closing). The text
is stored exactly as given (terminal control sequences are stripped when it is printed, not
when it is stored); empty or blank text is refused, and so is a NUL character, which no
reader could show and PostgreSQL cannot store in every column type.

The log's reader view (`annotate`) adds to each event what people look for in a timeline: the
actor's name, people's words (a note's or report's text, a decision's comment), a phone
decision's reference, and the fields the event set with their values before and after.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from engine.definition.schema import Workflow, localized
from engine.domain.machine import Evaluator
from engine.domain.model import Person
from engine.errors import InvalidField, NotAuthorized
from engine.service.event_log import note_event
from engine.service.workspace import Workspace

NOTE = "note"
REPORT = "report"
VIA = ("phone", "email")
MAX_TEXT = 10_000  # a long mail pasted whole fits; a runaway paste does not
MAX_LABEL = 300  # an organisation's name, a contact line
# Event data keys that hold people's words (a note's or report's text, a decision's comment);
# the engine's own messages (a refusal's) are in one language and stay in `data`.
_WORDS = ("text", "comment")


@dataclass(frozen=True)
class Report:
    """Who reported, and how: an organisation's report received by mail or phone."""

    organisation: str
    contact: str | None = None
    subregion: str | None = None
    via: str | None = None


def timeline_roles(evaluator: Evaluator, state: str) -> frozenset[str]:
    """The roles that may write into the timeline of an incident in `state` (see above)."""
    workflow = evaluator.workflow
    found = workflow.states.get(state)
    roles: set[str] = set(found.responsible) if found else set()
    leading_in = [t for t in workflow.transitions if not t.internal and t.dest == state]
    for t in [*evaluator.available(state), *leading_in]:
        roles.update(t.allowed)
        if t.gate is not None:
            roles.update(t.gate.any_of)
            roles.update(t.gate.all_of)
    return frozenset(roles)


class Timeline:
    """Notes and reports, each in one transaction, and the log as people read it."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    def note(self, *, incident_id: str, actor_id: str, text: str) -> int:
        """An operator's note into the incident's log; returns the event's seq."""
        return self._write(incident_id, actor_id, NOTE, text, None)

    def report(self, *, incident_id: str, actor_id: str, text: str, report: Report) -> int:
        """An organisation's report, recorded by `actor_id`; returns the event's seq."""
        return self._write(incident_id, actor_id, REPORT, text, report)

    def _write(
        self, incident_id: str, actor_id: str, kind: str, text: str, report: Report | None
    ) -> int:
        def body() -> int:
            with self.workspace.store.unit_of_work() as uow:
                incident = uow.incidents.get(incident_id, for_update=True)
                ctx = self.workspace.context(uow, incident, self.workspace.clock.now())
                actor = self.workspace.actor_in(ctx.directory, actor_id)
                roles = timeline_roles(ctx.evaluator, incident.state)
                if not ctx.evaluator.effective_roles(actor) & roles:
                    raise _refusal(actor.name or actor.id, kind, incident.id, roles)
                data: dict[str, Any] = {"text": note_text(text)}
                if report is not None:
                    data.update(report_data(ctx.definition.workflow, report))
                # Not `saved_with_incident`: the incident row is not saved, so its row version
                # stays (a note must not make an operator's concurrent command a conflict);
                # the append moves the chain's head on the row and re-seals it.
                event = note_event(
                    uow,
                    incident,
                    actor=actor.id,
                    kind=kind,
                    at=ctx.now,
                    data=self.workspace.attributed(actor.id, data),
                )
                uow.commit()
                return event.seq

        return self.workspace.refusals_logged(lambda: incident_id, actor_id, kind, body)

    def annotate(self, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Log entries (`IncidentQueries.log`) with what the timeline shows added: `actor_name`,
        `on_behalf_of` (a phone decision's decider), `text`, `reference` and `changed`."""
        with self.workspace.store.unit_of_work(read_only=True) as uow:
            people = self.workspace.directory(uow).people
        running: dict[str, Any] = {}
        return [_annotated(entry, people, running) for entry in entries]


def _annotated(
    entry: Mapping[str, Any], people: Mapping[str, Person], running: dict[str, Any]
) -> dict[str, Any]:
    """One entry with the timeline's keys; `running` is the incident's data so far."""
    data = entry.get("data") or {}
    changes = data.get("changes")
    changed = []
    if isinstance(changes, Mapping):
        for name, value in changes.items():
            changed.append({"field": name, "old": running.get(name), "new": value})
            running[name] = value
    decided_by = data.get("decided_by") if data.get("recorded_by") else None
    words = next((data[k] for k in _WORDS if isinstance(data.get(k), str) and data[k]), None)
    return {
        **entry,
        "actor_name": _name(people, entry.get("actor")),
        "on_behalf_of": _name(people, decided_by) or decided_by,
        "text": words,
        "reference": data.get("reference") or None,
        "changed": changed,
    }


def _name(people: Mapping[str, Person], person_id: object) -> str | None:
    person = people.get(person_id) if isinstance(person_id, str) else None
    return person.name if person is not None and person.name else None


def note_text(text: str) -> str:
    """The text as given, or InvalidField naming the fix."""
    if not text or not text.strip():
        raise InvalidField(
            "text",
            'the text is empty. Write what was noted or reported (--text "...").',
            detail_sv='texten är tom. Skriv vad som noterats eller rapporterats (--text "...").',
        )
    _check_label("text", text, MAX_TEXT)
    return text


def _check_label(name: str, value: str, limit: int) -> None:
    if "\x00" in value:
        raise InvalidField(
            name,
            "holds a NUL character, which cannot be stored; remove it.",
            detail_sv="innehåller ett NUL-tecken, som inte kan sparas; ta bort det.",
        )
    if len(value) > limit:
        raise InvalidField(
            name,
            f"is {len(value)} characters long; at most {limit} fit. Shorten it.",
            detail_sv=f"är {len(value)} tecken lång; högst {limit} får plats. Korta den.",
        )


def report_data(workflow: Workflow, report: Report) -> dict[str, Any]:
    """The report's own keys of the event data; blank optional ones are left out."""
    organisation = report.organisation.strip()
    if not organisation:
        raise InvalidField(
            "organisation",
            'say who reported: --from "ORGANISATION".',
            detail_sv='ange vem som rapporterade: --from "ORGANISATION".',
        )
    _check_label("organisation", organisation, MAX_LABEL)
    data: dict[str, Any] = {"organisation": organisation}
    contact = (report.contact or "").strip()
    if contact:
        _check_label("contact", contact, MAX_LABEL)
        data["contact"] = contact
    if report.subregion:
        if report.subregion not in workflow.subregions:
            raise _unknown("subregion", report.subregion, _subregion_choices(workflow))
        data["subregion"] = report.subregion
    if report.via:
        if report.via not in VIA:
            raise _unknown("via", report.via, VIA)
        data["via"] = report.via
    return data


def _subregion_choices(workflow: Workflow) -> list[str]:
    return [
        f"{name} ({localized(sub.title, workflow.document.language) or name})"
        for name, sub in workflow.subregions.items()
    ]


def _unknown(name: str, value: str, choices: Iterable[str]) -> InvalidField:
    listed = ", ".join(choices) or "(none)"
    return InvalidField(
        name,
        f"'{value}' is not one of the plan's choices. Choose one of: {listed}.",
        detail_sv=f"'{value}' är inget av planens val. Välj ett av: {listed}.",
    )


def _refusal(actor: str, kind: str, incident_id: str, roles: Iterable[str]) -> NotAuthorized:
    what, what_sv = (
        ("write a note on", "skriva en anteckning i")
        if kind == NOTE
        else ("record a report on", "registrera en rapport i")
    )
    return NotAuthorized(
        actor,
        f"{what} incident {incident_id}",
        roles,
        "The timeline takes notes and reports from those responsible in the incident's "
        "current stage or who may act on it.",
        action_sv=f"{what_sv} incident {incident_id}",
        detail_sv="Anteckningar och rapporter tas emot från dem som är ansvariga i "
        "incidentens nuvarande läge eller får agera i det.",
    )
