"""The records an approval and a message hold (engine.domain.model) read and write the JSON
objects the store has always held: every shape below is one the engine writes (or wrote), taken
from a stored row, and comes back from `from_dict(...).to_dict()` with the same keys in the same
order, so stored columns, event data (hash-chained) and `--json` output stay as they are."""

from __future__ import annotations

import json
from typing import Any

import pytest

from engine.domain.model import (
    ApprovalDecision,
    ApprovalSlot,
    ApprovalStatus,
    DeliveryResult,
    RecipientStatus,
    StoredRecipient,
)
from engine.domain.outcome import Slot
from engine.service.addressing import dedupe
from engine.service.approval_view import open_slot, slot_of

AT = "2025-03-04T09:11:00+00:00"
ROLES = ["council_chair", "council_vice_chair"]


def spelled(value: Any) -> str:
    """JSON as the store writes it: key order kept (unlike the sorted canonical form)."""
    return json.dumps(value, ensure_ascii=False)


SLOTS: list[dict[str, Any]] = [
    # open, with and without sub-regions
    {"roles": ROLES, "subregions": None},
    {"roles": ["subregional_decider"], "subregions": ["sodra_alvsborg"]},
    # filled by the requester when firing the trigger: no comment
    {
        "roles": ["subregional_decider"],
        "subregions": ["fyrbodal"],
        "decision": "approved",
        "decided_by": "johan.berg",
        "at": "2025-03-04T08:31:00+00:00",
    },
    # decided by the approver
    {
        "roles": ["subregional_decider"],
        "subregions": ["skaraborg"],
        "decision": "approved",
        "decided_by": "eva.holm",
        "at": AT,
        "comment": "ok ö",
    },
    # recorded by an operator for a decision taken on the phone
    {
        "roles": ["subregional_decider"],
        "subregions": ["goteborg"],
        "decision": "approved",
        "decided_by": "lena.sjoberg",
        "at": AT,
        "comment": "",
        "recorded_by": "anna.andersson",
        "reference": "Samtal 14.05",
    },
    {
        "roles": ROLES,
        "subregions": None,
        "decision": "rejected",
        "decided_by": "olof.strand",
        "at": AT,
        "comment": "nej",
    },
    # no sub-region may decide (an empty scope), which is not the same as no scope
    {"roles": ["subregional_decider"], "subregions": []},
]

DECISIONS: list[dict[str, Any]] = [
    {
        "decision": "approved",
        "decided_by": "eva.holm",
        "at": AT,
        "comment": "ok ö",
        "slots": [1],
    },
    {
        "decision": "approved",
        "decided_by": "lena.sjoberg",
        "at": AT,
        "comment": "",
        "recorded_by": "anna.andersson",
        "reference": "Samtal 14.05",
        "slots": [2],
    },
    {"decision": "rejected", "decided_by": "olof.strand", "at": AT, "comment": "", "slots": [0]},
    {"withdrawn": "left state partial_reserve", "at": AT},
]

RECIPIENTS: list[dict[str, Any]] = [
    # a person with a role
    {"address": "eva.holm@skaraborg.example.se", "name": "Eva Holm", "person_id": "eva.holm"},
    # a contact-list member who is nobody in `people`
    {"address": "support0@x.se", "name": "Support 0", "person_id": None},
    # a confirmed subscriber
    {
        "address": "pub@x.se",
        "name": "Pub",
        "subscriber_id": "2d1f5e6a",
        "unsubscribe_token": "tok00000000000000000000000000001",
    },
    # a subscriber as the first service layer wrote one, before unsubscribe links
    {"address": "old@x.se", "name": "", "subscriber_id": "9c0e"},
]

RESULTS: list[dict[str, Any]] = [
    {"address": "support0@x.se", "status": "sent", "detail": "detail sent", "at": AT, "attempt": 1},
    {
        "address": "support1@x.se",
        "status": "permanent",
        "detail": "550 5.1.1 No such user",
        "at": AT,
        "attempt": 1,
    },
    {"address": "support2@x.se", "status": "temporary", "detail": "451", "at": AT, "attempt": 3},
]


@pytest.mark.parametrize("raw", SLOTS)
def test_an_approval_slot_reads_and_writes_its_stored_object(raw: dict[str, Any]) -> None:
    slot = ApprovalSlot.from_dict(json.loads(spelled(raw)))
    assert spelled(slot.to_dict()) == spelled(raw)
    assert slot.is_open == ("decision" not in raw)
    assert slot.decision is None or isinstance(slot.decision, ApprovalStatus)


@pytest.mark.parametrize("raw", DECISIONS)
def test_an_approval_decision_reads_and_writes_its_stored_object(raw: dict[str, Any]) -> None:
    entry = ApprovalDecision.from_dict(json.loads(spelled(raw)))
    assert spelled(entry.to_dict()) == spelled(raw)
    without_slots = {key: value for key, value in raw.items() if key != "slots"}
    assert spelled(entry.record()) == spelled(without_slots)


@pytest.mark.parametrize("raw", RECIPIENTS)
def test_a_stored_recipient_reads_and_writes_its_stored_object(raw: dict[str, Any]) -> None:
    recipient = StoredRecipient.from_dict(json.loads(spelled(raw)))
    assert spelled(recipient.to_dict()) == spelled(raw)


@pytest.mark.parametrize("raw", RESULTS)
def test_a_delivery_result_reads_and_writes_its_stored_object(raw: dict[str, Any]) -> None:
    result = DeliveryResult.from_dict(json.loads(spelled(raw)))
    assert spelled(result.to_dict()) == spelled(raw)
    assert isinstance(result.status, RecipientStatus)


def test_filling_a_slot_adds_the_decision_after_its_roles_as_the_old_dict_merge_did() -> None:
    """A decided slot was `{**slot, **record}`; the event logged `{approval_id, **record}`."""
    entry = ApprovalDecision.from_dict(DECISIONS[1])
    record = {k: v for k, v in DECISIONS[1].items() if k != "slots"}
    for raw in SLOTS[:2]:
        filled = ApprovalSlot.from_dict(raw).filled(entry)
        assert spelled(filled.to_dict()) == spelled({**raw, **record})
        assert not filled.is_open


def test_an_evaluator_slot_opens_a_request_slot_and_back() -> None:
    """Roles and sub-regions sorted, no scope as null and an empty scope as []."""
    slots = [
        Slot(frozenset(ROLES[::-1])),
        Slot(frozenset({"subregional_decider"}), frozenset({"skaraborg", "fyrbodal"})),
        Slot(frozenset({"subregional_decider"}), frozenset()),
    ]
    assert [open_slot(s).to_dict() for s in slots] == [
        {"roles": ROLES, "subregions": None},
        {"roles": ["subregional_decider"], "subregions": ["fyrbodal", "skaraborg"]},
        {"roles": ["subregional_decider"], "subregions": []},
    ]
    assert [slot_of(open_slot(s)) for s in slots] == slots


def test_a_subscriber_keeps_a_person_id_it_was_given() -> None:
    """Nothing is dropped: person_id is left out only for a subscriber who has none."""
    both = StoredRecipient("a@x.se", "A", person_id="a", subscriber_id="s1")
    assert both.to_dict() == {
        "address": "a@x.se",
        "name": "A",
        "person_id": "a",
        "subscriber_id": "s1",
    }
    assert StoredRecipient.from_dict(both.to_dict()) == both


def test_dedupe_keeps_the_first_of_each_address_ignoring_case_and_blanks() -> None:
    people = [StoredRecipient.from_dict(raw) for raw in RECIPIENTS]
    again = StoredRecipient(" EVA.HOLM@skaraborg.example.se", "Dubblett", "x")
    nobody = StoredRecipient("  ", "Ingen")
    assert dedupe([*people, again, nobody]) == people
