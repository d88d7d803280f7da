"""How an approval request reads: its slots as plain values, who still has to decide, and the
facts a decision request, reminder or notice is rendered with."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.definition.definition import Definition
from engine.definition.schema import localized
from engine.domain.fields import format_time
from engine.domain.model import Approval, ApprovalSlot
from engine.domain.outcome import SYSTEM, Slot


def slot_of(slot: ApprovalSlot) -> Slot:
    """A request's slot as the evaluator's `Slot` (who may fill it)."""
    subregions = slot.subregions
    return Slot(frozenset(slot.roles), frozenset(subregions) if subregions is not None else None)


def open_slot(slot: Slot) -> ApprovalSlot:
    """The evaluator's `Slot` as an open slot of a request (roles and sub-regions sorted)."""
    subregions = tuple(sorted(slot.subregions)) if slot.subregions is not None else None
    return ApprovalSlot(tuple(sorted(slot.roles)), subregions)


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
            regions = ", ".join(
                localized(definition.workflow.subregions[s].title, language)
                for s in slot.subregions
                if s in definition.workflow.subregions
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
        "subregions": ", ".join(
            localized(definition.workflow.subregions[s].title, lang)
            for s in dict.fromkeys(regions)
            if s in definition.workflow.subregions
        ),
        "url": url,
    }
