"""Conditions (engine.domain.conditions) on the SAMSA plan's fields: hold, explain, describe."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from engine.definition.schema import Condition, Workflow
from engine.domain.conditions import describe, explain_failure, holds
from tests.machine_helpers import NOW, samsa


@pytest.fixture(scope="module")
def workflow() -> Workflow:
    """The SAMSA plan's workflow."""
    return samsa().workflow


def cond(spec: dict[str, Any]) -> Condition:
    """A condition from its YAML form."""
    return Condition.model_validate(spec)


TIMES = {
    "started_at": "2022-06-28T12:00:00+00:00",
    "resolved_at": "2022-06-28T15:00:00+00:00",
    "expected_resolution": "unknown",
}


@pytest.mark.parametrize(
    ("spec", "data", "expected"),
    [
        ({"field": "scope", "equals": "x"}, {"scope": "x"}, True),
        ({"field": "scope", "equals": "x"}, {"scope": "y"}, False),
        ({"field": "total_it_breakdown", "equals": True}, {"total_it_breakdown": True}, True),
        ({"field": "total_it_breakdown", "equals": True}, {}, False),
        ({"field": "scope", "not_equals": "x"}, {"scope": "y"}, True),
        ({"field": "scope", "not_equals": "x"}, {"scope": "x"}, False),
        ({"field": "scope", "not_equals": "x"}, {}, True),
        ({"field": "scope", "in": ["a", "b"]}, {"scope": "b"}, True),
        ({"field": "scope", "in": ["a", "b"]}, {"scope": "c"}, False),
        (
            {"field": "affected_subregions", "contains": "goteborg"},
            {"affected_subregions": ["fyrbodal", "goteborg"]},
            True,
        ),
        (
            {"field": "affected_subregions", "contains": "goteborg"},
            {"affected_subregions": ["fyrbodal"]},
            False,
        ),
        ({"field": "affected_subregions", "contains": "goteborg"}, {}, False),
        (
            {"field": "affected_subregions", "min_items": 2},
            {"affected_subregions": ["a", "b"]},
            True,
        ),
        ({"field": "affected_subregions", "min_items": 2}, {"affected_subregions": ["a"]}, False),
        ({"field": "affected_subregions", "min_items": 1}, {}, False),
        ({"field": "affected_subregions", "max_items": 1}, {"affected_subregions": ["a"]}, True),
        (
            {"field": "affected_subregions", "max_items": 1},
            {"affected_subregions": ["a", "b"]},
            False,
        ),
        ({"field": "affected_subregions", "max_items": 0}, {}, True),
        ({"field": "started_at", "before": "now"}, TIMES, True),
        ({"field": "resolved_at", "before": "now"}, TIMES, False),
        ({"field": "resolved_at", "after": "now"}, TIMES, True),
        ({"field": "started_at", "after": "now"}, TIMES, False),
        ({"field": "resolved_at", "after": "started_at"}, TIMES, True),
        ({"field": "started_at", "after": "resolved_at"}, TIMES, False),
        ({"field": "started_at", "before": "resolved_at"}, TIMES, True),
        ({"field": "expected_resolution", "before": "now"}, TIMES, False),
        ({"field": "expected_resolution", "after": "now"}, TIMES, False),
        ({"field": "started_at", "before": "lessons_learned"}, TIMES, False),
        ({"field": "scope", "is_set": True}, {"scope": "x"}, True),
        ({"field": "scope", "is_set": True}, {"scope": ""}, False),
        ({"field": "affected_subregions", "is_set": True}, {"affected_subregions": []}, False),
        ({"field": "scope", "is_set": False}, {}, True),
        ({"field": "scope", "is_set": False}, {"scope": "x"}, False),
    ],
    ids=lambda v: None,
)
def test_each_comparison(spec: dict[str, Any], data: dict[str, Any], expected: bool) -> None:
    """Each field comparison holds exactly when its plain reading says it should."""
    now = datetime(2022, 6, 28, 13, 0, tzinfo=UTC)
    assert holds(cond(spec), data, frozenset(), now) is expected


def test_all_any_not_and_flags_combine() -> None:
    """`all` needs every part, `any` one, `not` inverts, and `flag` tests the incident's flags."""
    yes = {"field": "scope", "equals": "x"}
    no = {"field": "scope", "equals": "y"}
    data = {"scope": "x"}

    def check(spec: dict[str, Any], flags: frozenset[str] = frozenset()) -> bool:
        return holds(cond(spec), data, flags, NOW)

    assert check({"all": [yes, yes]}) and not check({"all": [yes, no]})
    assert check({"any": [no, yes]}) and not check({"any": [no, no]})
    assert check({"not": no}) and not check({"not": yes})
    assert check({"flag": "crisis"}, frozenset({"crisis"})) and not check({"flag": "crisis"})
    assert check({"all": []}) and not check({"any": []})


def test_explain_failure_names_the_part_that_does_not_hold(workflow: Workflow) -> None:
    """A failed condition is explained by its failing part and the value found there."""
    [rule] = workflow.rules
    alerted = frozenset({"council_alerted"})
    breakdown = {"total_it_breakdown": True}

    assert explain_failure(rule.when, breakdown, alerted, NOW) == (
        "it must not be that flag council_alerted is set"
    )
    assert explain_failure(rule.when, {"affected_subregions": ["fyrbodal"]}, frozenset(), NOW) == (
        "none of these holds: flag crisis is set; total_it_breakdown equals True; "
        "affected_subregions min items 3"
    )
    assert (
        explain_failure(cond({"field": "scope", "equals": "x"}), {"scope": "y"}, frozenset(), NOW)
        == "scope equals 'x' does not hold (it is 'y')"
    )
    assert explain_failure(cond({"flag": "crisis"}), {}, frozenset(), NOW) == (
        "flag 'crisis' is not set"
    )


def test_describe_reads_a_condition_aloud() -> None:
    """A nested condition is described in words, with its operands."""
    spec = {
        "all": [
            {"not": {"flag": "crisis"}},
            {"any": [{"field": "n", "in": [1, 2]}, {"field": "t", "before": "now"}]},
        ]
    }
    assert describe(cond(spec)) == (
        "(not flag crisis is set) and ((n in [1, 2]) or (t before 'now'))"
    )
