"""Words about approval requests: their statuses as people read them.

A request's stored status is one of `ApprovalStatus`; "partly approved" is how a per-sub-region
request reads while (or after) some sub-regions approved and others did not
(`engine.service.approval_view.request_status`).
"""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "approval_status_pending": {"sv": "väntar på beslut", "en": "pending"},
    "approval_status_partly_approved": {"sv": "delvis godkänd", "en": "partly approved"},
    "approval_status_approved": {"sv": "godkänd", "en": "approved"},
    "approval_status_rejected": {"sv": "avslagen", "en": "rejected"},
    "approval_status_expired": {"sv": "förfallen", "en": "expired"},
    "approval_status_withdrawn": {"sv": "återkallad", "en": "withdrawn"},
}
