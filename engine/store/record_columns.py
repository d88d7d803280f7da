"""The JSON columns that hold lists of records: an approval's slots and decisions, a message's
recipients and results.

The engine works with the records of `engine.domain.model`; these columns hold the JSON objects
the records' `to_dict` spells, as they always have, so that old rows read back and new rows
look like old ones. This is the one place in the store that converts between the two; the
repositories (`engine.store.repositories`, `engine.store.queues`) merge these columns into the
rest of a row.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.domain.model import (
    Approval,
    ApprovalDecision,
    ApprovalSlot,
    DeliveryResult,
    Message,
    StoredRecipient,
)


def approval_columns(approval: Approval) -> dict[str, Any]:
    """The approval's slots and decisions as they are stored."""
    return {
        "slots": [slot.to_dict() for slot in approval.slots],
        "decisions": [entry.to_dict() for entry in approval.decisions],
    }


def approval_records(row: Mapping[str, Any]) -> dict[str, Any]:
    """The slots and decisions of a stored approval row, as records."""
    return {
        "slots": [ApprovalSlot.from_dict(raw) for raw in row["slots"]],
        "decisions": [ApprovalDecision.from_dict(raw) for raw in row["decisions"]],
    }


def message_columns(message: Message) -> dict[str, Any]:
    """The message's recipients and results as they are stored."""
    return {
        "recipients": [r.to_dict() for r in message.recipients],
        "results": [r.to_dict() for r in message.results],
    }


def message_records(row: Mapping[str, Any]) -> dict[str, Any]:
    """The recipients and results of a stored message row, as records."""
    return {
        "recipients": [StoredRecipient.from_dict(raw) for raw in row["recipients"]],
        "results": [DeliveryResult.from_dict(raw) for raw in row["results"]],
    }
