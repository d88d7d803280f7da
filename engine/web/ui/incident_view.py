"""What the operator's pages show about an incident, shaped for templates: its age, the plan's
states as a flow with the current one marked, timers, decisions, the timeline and messages.

Pure shaping of what the service returned (plan titles, local times, people's names); nothing
here reads the store or decides who may see what. The words the incident page adds to the
shared ones (the timeline's note and report forms) are here too (`incident_words`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.definition.schema import Workflow, localized
from engine.domain.fields import display_value, format_time
from engine.domain.labels import Labels
from engine.domain.model import Message, MessageStatus, Timer
from engine.texts import label
from engine.web.ui.words import Words

# Event kinds whose text is people's words worth showing whole in the timeline.
_SAID_KINDS = ("note", "report")
VIA = ("phone", "email")  # how a report came in (engine.service.notes)

INCIDENT_TEXTS: dict[str, tuple[str, str]] = {
    # key: (Swedish, English)
    "add_note": ("Lägg till anteckning", "Add a note"),
    "note_text": ("Anteckning", "Note"),
    "note_hint": (
        "Skrivs in i händelseloggen; inget skickas.",
        "Goes into the timeline; nothing is sent.",
    ),
    "save_note": ("Spara anteckningen", "Save the note"),
    "add_report": ("Registrera rapport", "Record a report"),
    "report_lead": (
        "En organisations besked om hur de påverkas, mottaget per e-post eller telefon. "
        "Skrivs in i händelseloggen; inget skickas.",
        "An organisation telling how it is affected, received by e-mail or phone. Goes into "
        "the timeline; nothing is sent.",
    ),
    "organisation": ("Organisation", "Organisation"),
    "contact": ("Kontaktperson", "Contact"),
    "subregion": ("Delregion", "Sub-region"),
    "via": ("Mottagen via", "Received by"),
    "via_phone": ("telefon", "phone"),
    "via_email": ("e-post", "e-mail"),
    "not_given": ("Ej angivet", "Not given"),
    "report_text": ("Vad de rapporterar", "What they report"),
    "save_report": ("Registrera rapporten", "Record the report"),
    "noted": ("Anteckningen är sparad.", "The note is saved."),
    "reported": ("Rapporten är registrerad.", "The report is recorded."),
    "from_org": ("Från", "From"),
    "request_status": ("Status", "Status"),
}


def incident_words(language: str) -> Words:
    """The operator pages' words plus the incident page's own."""
    return Words(language, INCIDENT_TEXTS)


def age_text(now: datetime, since: datetime | str, words: Words) -> str:
    """How long ago `since` was, as "35 min", "2 h 5 min" or "3 d 4 h"."""
    start = datetime.fromisoformat(since) if isinstance(since, str) else since
    minutes = max(0, int((now - start).total_seconds() // 60))
    if minutes < 60:
        return words.f("minutes", n=minutes)
    hours, rest = divmod(minutes, 60)
    if hours < 24:
        return words.f("hours", h=hours, m=rest)
    days, hours = divmod(hours, 24)
    return words.f("days", d=days, h=hours)


@dataclass
class Step:
    """A state of the plan in the flow: its title, whether the incident is there, and where
    its transitions lead."""

    name: str
    title: str
    current: bool
    final: bool
    leads_to: list[str] = field(default_factory=list)


def flow(workflow: Workflow, state: str, language: str) -> list[Step]:
    """The plan's states in plan order with their outgoing transitions (the diagram as a list:
    readable on a phone and by a screen reader, with no drawing library)."""
    steps = []
    finals = {n for n, s in workflow.states.items() if s.final}
    for name, s in workflow.states.items():
        targets: list[str] = []
        for t in workflow.transitions:
            sources = t.source or []
            leaves = name in sources or (sources == ["*"] and name not in finals)
            if not leaves or t.internal or t.dest is None or t.dest == name:
                continue
            title = localized(workflow.states[t.dest].title, language) or t.dest
            if title not in targets:
                targets.append(title)
        steps.append(
            Step(name, localized(s.title, language) or name, name == state, s.final, targets)
        )
    return steps


def timer_title(workflow: Workflow, timer: Timer, words: Words) -> str:
    """A timer as people name it: the plan's title of a state timer, or what a decision
    reminder or expiry is."""
    kind = timer.payload.get("kind")
    if kind == "approval_reminder":
        return words.timer_reminder
    if kind == "approval_expire":
        return words.timer_expire
    state = workflow.states.get(str(timer.payload.get("state", "")))
    for t in state.timers if state else []:
        if t.id == timer.payload.get("timer"):
            return (localized(t.title, words.language) if t.title else "") or t.id
    return str(timer.payload.get("timer") or timer.key)


def timer_rows(workflow: Workflow, timers: list[Timer], words: Words) -> list[dict[str, str]]:
    return [
        {
            "title": timer_title(workflow, t, words),
            "due": format_time(t.due_at.isoformat(), workflow, words.language),
            "iso": t.due_at.isoformat(timespec="seconds"),
            "approval": str(t.payload.get("approval", "")),
        }
        for t in timers
    ]


def pending_rows(
    labels: Labels, approvals: list[dict[str, Any]], timers: list[dict[str, str]]
) -> list[dict[str, Any]]:
    """Open decisions with who still has to decide and when reminders go."""
    workflow, language = labels.workflow, labels.language
    rows = []
    for a in approvals:
        action = [t.title for t in workflow.transitions if t.trigger == a["trigger"] and t.title]
        rows.append(
            {
                **a,
                "action": localized(action[0], language) if action else a["title"],
                "requested": format_time(a["requested_at"], workflow, language),
                "expires": format_time(a["expires_at"], workflow, language)
                if a["expires_at"]
                else "–",
                "reminders": [t["due"] for t in timers if t["approval"] == a["id"]],
                # "delvis godkänd" when some sub-regions of a per-sub-region request approved
                "status_title": label("approval_status_", str(a.get("status", "")), language),
            }
        )
    return rows


def timeline(
    labels: Labels, events: list[dict[str, Any]], names: dict[str, str]
) -> list[dict[str, Any]]:
    """The log, newest first, for reading: when, what, who, the move, and the words people
    attached (comments, phone references, changed details)."""
    workflow, language = labels.workflow, labels.language
    rows = []
    for e in reversed(events):
        data = e["data"] or {}
        moved = ""
        if e["from_state"] and e["to_state"] and e["from_state"] != e["to_state"]:
            moved = f"{labels.state_title(e['from_state'])} → {labels.state_title(e['to_state'])}"
        elif e["to_state"] and e["kind"] == "declare":
            moved = labels.state_title(e["to_state"])
        raw_changes = data.get("changes")
        changes: dict[str, Any] = raw_changes if isinstance(raw_changes, dict) else {}
        details = [
            (
                localized(workflow.fields[k].title, language) or k,
                display_value(workflow, k, v, language),
            )
            for k, v in changes.items()
            if k in workflow.fields and v not in (None, "", [])
        ]
        who = names.get(e["actor"], e["actor"])
        behalf = data.get("on_behalf_of")
        rows.append(
            {
                "at": format_time(e["at"], workflow, language),
                "iso": datetime.fromisoformat(e["at"]).isoformat(timespec="seconds"),
                "kind": label("event_", e["kind"], language),
                "trigger": labels.trigger(e["trigger"]).rsplit(" (", 1)[0] if e["trigger"] else "",
                "who": who,
                "on_behalf_of": names.get(str(behalf), str(behalf)) if behalf else "",
                "moved": moved,
                "comment": str(data.get("comment") or ""),
                "reference": str(data.get("reference") or ""),
                "details": details,
                **_said(labels, e),
            }
        )
    return rows


def _said(labels: Labels, entry: dict[str, Any]) -> dict[str, str]:
    """A note's or report's words, and who reported how (empty for other events)."""
    if entry["kind"] not in _SAID_KINDS:
        return {"said": "", "organisation": "", "contact": "", "subregion": "", "via": ""}
    data = entry["data"] or {}
    via = str(data.get("via") or "")
    words = incident_words(labels.language)
    subregion = str(data.get("subregion") or "")
    return {
        "said": str(entry.get("text") or data.get("text") or ""),
        "organisation": str(data.get("organisation") or ""),
        "contact": str(data.get("contact") or ""),
        "subregion": labels.subregions([subregion]) if subregion else "",
        "via": getattr(words, f"via_{via}") if via in VIA else via,
    }


def message_rows(workflow: Workflow, messages: list[Message], words: Words) -> list[dict[str, Any]]:
    """Messages newest first, each with its per-recipient results and whether it may be sent
    again (a dead letter)."""
    language = words.language
    rows = []
    for m in reversed(messages):
        channel = workflow.channels.get(m.channel)
        audience = workflow.audiences.get(m.audience)
        rows.append(
            {
                "id": m.id,
                "subject": m.subject,
                "channel": (localized(channel.title, language) if channel and channel.title else "")
                or m.channel,
                "audience": (localized(audience.title, language) if audience else "") or m.audience,
                "status": label("message_", str(m.status), language),
                "dead": m.status == MessageStatus.DEAD,
                "status_class": str(m.status),
                "attempts": m.attempts,
                "recipients": len(m.recipients),
                "created": format_time(m.created_at.isoformat(), workflow, language),
                "last_error": m.last_error,
                "results": [
                    {
                        "address": r.address,
                        "status": getattr(words, f"result_{r.status}", str(r.status)),
                        "ok": str(r.status) == "sent",
                        "detail": r.detail,
                    }
                    for r in m.results
                ],
            }
        )
    return rows
