"""Transition `stamps` and gate `escalate_to_deputy_after` in the plan language: what the
checker refuses (with a located error), and what a stamp does to a trigger's data."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest

from engine.definition.checks.workflow import check_workflow
from engine.domain.machine import Evaluator
from engine.domain.outcome import SYSTEM_ACTOR, Actor
from engine.errors import DefinitionError, MissingField, Problem
from tests.machine_helpers import FOLLOW_UP, NOW, OPERATOR, fire, samsa
from tests.plan_fixtures import KNOWN_KINDS, VALID_PLAN, broken, line_of, parse

RESOLVED_FIELD = (
    "  broken_everywhere: {type: bool}\n",
    "  broken_everywhere: {type: bool}\n"
    "  resolved_at: {type: datetime}\n"
    "  decided_at: {type: datetime}\n",
)
RESOLVE = "  - trigger: resolve\n    source: [outage, reserve]\n    dest: closed\n"
# A council decision by the chair or the vice chair, appended after the last transition.
COUNCIL = (
    "  - trigger: council_reserve\n"
    "    source: outage\n"
    "    dest: reserve\n"
    "    allowed: [operator]\n"
    "    stamps: [decided_at]\n"
    "    gate:\n"
    "      any_of: [chair, vice_chair]\n"
    "      expires: 2h\n"
    "      escalate_to_deputy_after: 20m\n"
)


def plan(*edits: tuple[str, str]) -> str:
    text = VALID_PLAN
    for old, new in (RESOLVED_FIELD, *edits):
        text = broken(old, new, text)
    return text


def with_council(gate_edit: tuple[str, str] | None = None) -> str:
    council = COUNCIL if gate_edit is None else broken(*gate_edit, text=COUNCIL)
    return plan(
        (RESOLVE, RESOLVE + "    stamps: [resolved_at]\n"), ("rules:\n", council + "rules:\n")
    )


def problems(text: str) -> list[Problem]:
    with pytest.raises(DefinitionError) as raised:
        parse(text)
    return raised.value.problems


def only_error(text: str, fragment: str, at: str) -> Problem:
    found = [p for p in problems(text) if fragment in p.message]
    assert found, "\n".join(map(str, problems(text)))
    assert found[0].severity == "error"
    assert found[0].line == line_of(text, at), str(found[0])
    return found[0]


def test_a_plan_with_stamps_and_an_escalating_gate_is_valid() -> None:
    """A datetime stamp the transition may set, and a gate with a deputy, pass the checker."""
    text = with_council()
    assert check_workflow(parse(text), known_kinds=KNOWN_KINDS) == []


def test_stamping_a_field_that_is_not_a_time_is_refused() -> None:
    """`stamps: [scope]` names a text field: refused where it is written."""
    text = plan((RESOLVE, RESOLVE + "    stamps: [scope]\n"))
    only_error(text, "'resolve' stamps 'scope', a text field", "stamps: [scope]")


def test_stamping_an_unknown_field_names_the_known_ones() -> None:
    """A misspelt stamp is an unknown field, listed with the fields there are."""
    text = plan((RESOLVE, RESOLVE + "    stamps: [resolvd_at]\n"))
    problem = only_error(text, "unknown field 'resolvd_at'", "stamps: [resolvd_at]")
    assert "Known fields: affected, broken_everywhere" in problem.message


def test_stamping_a_field_the_transition_does_not_set_is_refused() -> None:
    """A stamp outside the transition's `accepts` could never be stored: refused."""
    text = plan((RESOLVE, RESOLVE + "    accepts: [scope]\n    stamps: [resolved_at]\n"))
    problem = only_error(text, "'resolve' stamps 'resolved_at' but does not set it", "stamps:")
    assert "add 'resolved_at' to its `accepts` (it sets: scope)" in problem.message


def test_escalating_without_a_deputy_among_the_approvers_is_refused() -> None:
    """`escalate_to_deputy_after` on a gate whose approvers have no deputy is an error."""
    text = with_council(("any_of: [chair, vice_chair]", "any_of: [chair]"))
    only_error(
        text,
        "the gate of 'council_reserve' escalates to deputies, but none of its `any_of` roles "
        "(chair) is `deputy_of` another of them",
        "escalate_to_deputy_after",
    )


def test_escalating_after_the_request_expired_is_refused() -> None:
    """Deputies asked after the request has expired would never be asked: an error."""
    text = with_council(("expires: 2h", "expires: 15m"))
    only_error(
        text,
        "escalates to deputies after 20m, but its requests expire after 15m",
        "escalate_to_deputy_after",
    )


@pytest.fixture(scope="module")
def ev() -> Evaluator:
    """An evaluator of the SAMSA plan, whose `restore` stamps `resolved_at`."""
    return Evaluator(samsa())


def test_restore_without_resolved_at_is_resolved_now(ev: Evaluator) -> None:
    """`restore` given no `resolved_at` records the moment it happens."""
    out = fire(ev, "outage", "restore", OPERATOR, {})
    assert out.dest == "restored"
    assert out.data["resolved_at"] == out.changes["resolved_at"] == NOW.isoformat()


def test_restore_keeps_a_resolved_at_the_operator_gives(ev: Evaluator) -> None:
    """A `resolved_at` given with the command wins over the stamp."""
    given = "2022-06-28T11:45:00+00:00"
    out = fire(ev, "outage", "restore", OPERATOR, {"resolved_at": given})
    assert out.data["resolved_at"] == given


def test_a_required_field_without_a_stamp_is_still_required(ev: Evaluator) -> None:
    """Stamps fill only what they name: `start_follow_up` still needs its own fields."""
    out = fire(ev, "restored", "start_follow_up", OPERATOR, {}, data=FOLLOW_UP)
    assert out.dest == "follow_up"
    with pytest.raises(MissingField):
        fire(ev, "outage", "enter_partial_reserve", OPERATOR, {})


def test_a_gated_transition_is_stamped_when_it_is_decided_not_when_asked() -> None:
    """The request keeps only what the command gave; the approved transition is stamped with
    the moment of the decision."""
    evaluator = Evaluator(parse(with_council()))
    data = {"started_at": NOW.isoformat(), "scope": "x", "expected_resolution": "unknown"}
    asked = evaluator.evaluate(
        state="outage",
        data=data,
        flags=(),
        trigger="council_reserve",
        actor=Actor("olle", frozenset({"operator"})),
        changes={},
        now=NOW,
    )
    assert asked.pending is not None and "decided_at" not in asked.changes
    later = NOW + timedelta(minutes=25)
    decided = evaluator.evaluate(
        state="outage",
        data=data,
        flags=(),
        trigger="council_reserve",
        actor=SYSTEM_ACTOR,
        changes=dict(asked.changes),
        now=later,
        approved=True,
    )
    assert decided.dest == "reserve"
    assert decided.data["decided_at"] == later.astimezone(UTC).isoformat()
