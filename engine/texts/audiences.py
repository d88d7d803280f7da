"""People's words for whom a message was for, when that is not one of the plan's audiences
(`engine.service.addressing.describe_audience`): a decision's approvers, its requester, a role."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "audience_approvers": {"sv": "Beslutsfattare", "en": "Approvers"},
    "audience_requester": {"sv": "Den som begärde beslutet", "en": "The requester"},
    "audience_role": {"sv": "Rollen {role}", "en": "The role {role}"},
}
