"""How an approval request reads: its slots as plain values, its status for people ("partly
approved"), who still has to decide, the facts a decision request, reminder or notice is
rendered with, and who took a decision (the `decision` variables of the messages it sets off).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from engine.definition.definition import Definition
from engine.definition.schema import Workflow, localized
from engine.definition.wording import and_list
from engine.domain import labels
from engine.domain.fields import format_time
from engine.domain.model import Approval, ApprovalSlot, ApprovalStatus, Person
from engine.domain.outcome import SYSTEM, Slot
from engine.ports import UnitOfWork
from engine.texts import label


def slot_of(slot: ApprovalSlot) -> Slot:
    """A request's slot as the evaluator's `Slot` (who may fill it)."""
    subregions = slot.subregions
    return Slot(frozenset(slot.roles), frozenset(subregions) if subregions is not None else None)


def open_slot(slot: Slot) -> ApprovalSlot:
    """The evaluator's `Slot` as an open slot of a request (roles and sub-regions sorted)."""
    subregions = tuple(sorted(slot.subregions)) if slot.subregions is not None else None
    return ApprovalSlot(tuple(sorted(slot.roles)), subregions)


def request_status(definition: Definition, approval: Approval) -> str:
    """The request's status as people read it ("partly_approved" for a per-sub-region request
    some sub-regions approved; see `engine.domain.labels.request_status`)."""
    decisions = [str(slot.decision) if slot.decision else None for slot in approval.slots]
    return labels.request_status(
        definition.workflow, approval.trigger, str(approval.status), decisions
    )


def status_title(definition: Definition, approval: Approval, language: str) -> str:
    """`delvis godkänd` / `partly approved`, `väntar på beslut` / `pending`, ..."""
    return label("approval_status_", request_status(definition, approval), language)


def describe_slots(definition: Definition, slots: list[ApprovalSlot], language: str) -> str:
    """The roles (and sub-regions) still to decide, e.g. "Delregional beslutsfattare (Fyrbodal)"."""
    parts = []
    for slot in slots:
        if not slot.is_open:
            continue
        roles = " / ".join(
            localized(definition.workflow.roles[r].title, language)
            for r in slot.roles
            if r in definition.workflow.roles
        )
        if slot.subregions:
            regions = and_list(
                (
                    localized(definition.workflow.subregions[s].title, language)
                    for s in slot.subregions
                    if s in definition.workflow.subregions
                ),
                language,
            )
            roles += f" ({regions})"
        parts.append(roles)
    return "; ".join(parts)


def approval_context(
    definition: Definition,
    approval: Approval,
    public_url: str,
    *,
    url: str | None = None,
    names: Mapping[str, str] | None = None,
    contacts: str = "",
) -> dict[str, Any]:
    """The `approval` variables of a template about this request.

    `url` is the reader's own decision link (None: the request's page for signed-in people);
    `names` turns person ids into names (the requester); `contacts` lists who may still decide
    with their phone numbers (for the operators' overdue notice).
    """
    lang = definition.language
    t = next(t for t in definition.workflow.transitions if t.trigger == approval.trigger)
    title = localized(t.gate.title if t.gate and t.gate.title else t.title, lang) or t.trigger
    regions = [s for slot in approval.slots for s in (slot.subregions or ())]
    if url is None:
        url = f"{public_url.rstrip('/')}/beslut/{approval.id}" if public_url else ""
    requester = (names or {}).get(approval.requested_by) or approval.requested_by
    if approval.requested_by == SYSTEM:
        requester = "driftplan (automatisk regel)" if lang == "sv" else "driftplan (automatic rule)"
    return {
        "id": approval.id,
        "title": title,
        "trigger": approval.trigger,
        "approvers": describe_slots(definition, approval.slots, lang),
        "requested_by": requester,
        "requested_by_id": approval.requested_by,
        "contacts": contacts,
        "requested_at": format_time(approval.requested_at.isoformat(), definition.workflow, lang),
        "expires_at": format_time(approval.expires_at.isoformat(), definition.workflow, lang)
        if approval.expires_at
        else ("–" if lang == "sv" else "-"),
        "subregions": and_list(
            (
                localized(definition.workflow.subregions[s].title, lang)
                for s in dict.fromkeys(regions)
                if s in definition.workflow.subregions
            ),
            lang,
        ),
        "url": url,
    }


def _role_filled(workflow: Workflow, person: Person | None, roles: list[str]) -> str | None:
    """The role by which `person` fills a slot open to `roles`: one they hold among `roles`,
    else one they hold as a deputy of one of them (a vice chair acting for the chair)."""
    held = list(person.roles) if person else []
    for role in held:
        if role in roles:
            return role
    for role in held:
        seen: set[str] = set()
        current = workflow.roles[role].deputy_of if role in workflow.roles else None
        while current and current not in seen:
            if current in roles:
                return role
            seen.add(current)
            current = workflow.roles[current].deputy_of if current in workflow.roles else None
    return None


def decision_context(
    definition: Definition,
    people: Mapping[str, Person],
    *,
    trigger: str,
    decider_id: str,
    at: datetime,
    approval: Approval | None = None,
) -> dict[str, Any] | None:
    """The `decision` variables of the messages a gated trigger sends when it happens.

    `decider_id` decided it (the person an operator recorded a phone decision for, not the
    operator); `approval` is the request it was decided on, when there is one (a requester
    who may decide themselves has none), whose latest decision by that person gives the
    comment, time and phone record. None for a trigger without a gate: nobody decided.
    """
    workflow, lang = definition.workflow, definition.language
    gated = approval.trigger if approval is not None else trigger
    t = next((t for t in workflow.transitions if t.trigger == gated), None)
    if t is None or t.gate is None:
        return None
    person = people.get(decider_id)
    candidates = [*t.gate.any_of, *t.gate.all_of]
    role = _role_filled(workflow, person, candidates)
    entry = None
    if approval is not None:
        entry = next(
            (
                d
                for d in reversed(approval.decisions)
                if d.decided_by == decider_id and d.decision == ApprovalStatus.APPROVED
            ),
            None,
        )
    recorded_by = (entry.recorded_by or "") if entry else ""
    recorder = people.get(recorded_by)
    moment = entry.at if entry else at.isoformat()
    return {
        "role": localized(workflow.roles[role].title, lang) if role else "",
        "by": person.name if person else decider_id,
        "by_id": decider_id,
        "at": format_time(moment, workflow, lang),
        "comment": (entry.comment or "") if entry else "",
        "recorded_by": recorder.name if recorder else recorded_by,
        "reference": (entry.reference or "") if entry else "",
    }


def decided_approval(
    uow: UnitOfWork, incident_id: str, extra: Mapping[str, Any] | None
) -> Approval | None:
    """The request an outcome was decided on (its event's `approval_id`), when it exists yet:
    a requester who decides part of a request themselves applies it before it is stored."""
    wanted = (extra or {}).get("approval_id")
    if not wanted:
        return None
    return next((a for a in uow.approvals.list(incident_id) if a.id == wanted), None)
