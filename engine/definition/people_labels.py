"""The words the outbox uses for messages addressed to people rather than to an audience.

`engine.service.addressing.audience_label` shows them where an audience's id would stand, and
the plan checker (`engine.definition.checks.references`) refuses an audience of either name,
which would read the same. They live here, apart from the checker, so that a command on a
running incident imports two words, not the checker (issue #13).
"""

from __future__ import annotations

APPROVERS_LABEL = "approvers"
REQUESTER_LABEL = "requester"
PEOPLE_LABELS = (APPROVERS_LABEL, REQUESTER_LABEL)
