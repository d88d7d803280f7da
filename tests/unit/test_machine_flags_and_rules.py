"""The evaluator on the SAMSA plan: the incident's flags, and rules that become due."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from engine.definition.schema import Workflow
from engine.domain.machine import Evaluator
from engine.domain.outcome import SYSTEM_ACTOR
from tests.machine_helpers import DECLARED, FOLLOW_UP, NOW, OPERATOR, PARTIAL, fire, samsa


@pytest.fixture(scope="module")
def workflow() -> Workflow:
    """The SAMSA plan's workflow."""
    return samsa().workflow


@pytest.fixture(scope="module")
def ev() -> Evaluator:
    """An evaluator of the SAMSA plan, private to this module."""
    return Evaluator(samsa())


# ---------------------------------------------------------------------------------------- flags


def test_notify_crisis_sets_the_crisis_flag_and_keeps_others(ev: Evaluator) -> None:
    """Crisis communication marks the incident as a crisis whose council has been alerted,
    without dropping its other flags."""
    outcome = fire(
        ev, "partial_reserve", "notify_crisis", OPERATOR, data=PARTIAL, flags=frozenset({"drill"})
    )
    assert outcome.flags == frozenset({"crisis", "council_alerted", "drill"})


def test_a_trigger_without_flags_keeps_the_incidents_flags(ev: Evaluator) -> None:
    """A status update neither adds nor removes flags."""
    outcome = fire(ev, "total_reserve", "post_update", OPERATOR, flags=frozenset({"crisis"}))
    assert outcome.flags == frozenset({"crisis"})


# ---------------------------------------------------------------------------------------- rules


def due(
    ev: Evaluator,
    data: Mapping[str, Any],
    *,
    state: str = "outage",
    flags: frozenset[str] = frozenset(),
    fired: tuple[str, ...] = (),
) -> list[str]:
    """The ids of the rules due in `state` with `data` and `flags`, at NOW."""
    return ev.rules_due(state, data, flags, fired, NOW)


def test_council_alert_is_due_on_a_total_it_breakdown(ev: Evaluator) -> None:
    """A total IT breakdown makes the council alert due."""
    assert due(ev, {**DECLARED, "total_it_breakdown": True}) == ["council_alert"]


@pytest.mark.parametrize(
    ("count", "expected"), [(0, []), (2, []), (3, ["council_alert"]), (4, ["council_alert"])]
)
def test_council_alert_is_due_from_three_affected_subregions(
    ev: Evaluator, count: int, expected: list[str]
) -> None:
    """SAMSA down in most sub-regions (three or more of four) makes the council alert due."""
    regions = ["fyrbodal", "skaraborg", "sodra_alvsborg", "goteborg"][:count]
    data = {**DECLARED, "affected_subregions": regions, "total_it_breakdown": False}
    assert due(ev, data) == expected


def test_council_alert_is_not_due_once_the_council_was_alerted(ev: Evaluator) -> None:
    """After crisis communication has started the council is not alerted again by the rule."""
    data = {**DECLARED, "total_it_breakdown": True}
    assert due(ev, data, flags=frozenset({"crisis", "council_alerted"})) == []


def test_council_alert_is_due_in_a_total_reserve_routine(ev: Evaluator) -> None:
    """A decided total reserve routine (flag crisis) is a crisis: the council alert is due."""
    assert due(ev, DECLARED, state="total_reserve", flags=frozenset({"crisis"})) == [
        "council_alert"
    ]


def test_a_fired_rule_is_not_due_again(ev: Evaluator) -> None:
    """A once-rule already in the fired list stays quiet even when its condition holds."""
    data = {**DECLARED, "total_it_breakdown": True}
    assert due(ev, data, fired=("council_alert",)) == []


def test_council_alert_is_not_due_where_its_trigger_is_impossible(ev: Evaluator) -> None:
    """After restore, notify_crisis no longer applies, so the rule is not due."""
    assert due(ev, {**FOLLOW_UP, "total_it_breakdown": True}, state="restored") == []


def test_the_due_rules_trigger_applies_as_the_system(ev: Evaluator, workflow: Workflow) -> None:
    """Firing the due rule's trigger as the system sets the crisis flag, after which it is quiet."""
    data = {**DECLARED, "total_it_breakdown": True}
    [rule_id] = due(ev, data)
    [rule] = [r for r in workflow.rules if r.id == rule_id]
    outcome = fire(ev, "outage", rule.fire, SYSTEM_ACTOR, data=data)
    assert due(ev, outcome.data, flags=outcome.flags) == []
