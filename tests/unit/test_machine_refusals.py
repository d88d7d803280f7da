"""The evaluator on the SAMSA plan: refused triggers, roles and fields, and why."""

from __future__ import annotations

import contextlib
import copy

import pytest

from engine.definition.schema import Workflow
from engine.domain.machine import Evaluator
from engine.domain.outcome import SYSTEM_ACTOR, Actor
from engine.errors import (
    InvalidField,
    MissingField,
    NotAuthorized,
    TransitionNotAllowed,
    UnknownTrigger,
)
from tests.machine_helpers import (
    ADMIN,
    CHAIR,
    CLOSING,
    DECIDER_FY,
    DECIDER_SK,
    DECLARED,
    FOLLOW_UP,
    NOBODY,
    NOW,
    OPERATOR,
    PARTIAL,
    VICE_CHAIR,
    fire,
    samsa,
)


@pytest.fixture(scope="module")
def workflow() -> Workflow:
    """The SAMSA plan's workflow."""
    return samsa().workflow


@pytest.fixture(scope="module")
def ev() -> Evaluator:
    """An evaluator of the SAMSA plan, private to this module."""
    return Evaluator(samsa())


def test_unknown_trigger_is_refused_listing_the_plans_triggers(
    ev: Evaluator, workflow: Workflow
) -> None:
    """A trigger the plan does not have is refused and every known trigger is listed."""
    with pytest.raises(UnknownTrigger) as err:
        fire(ev, "outage", "post_updat", OPERATOR)

    names = sorted({t.trigger for t in workflow.transitions})
    assert str(err.value) == f"Unknown trigger 'post_updat'. Known triggers: {', '.join(names)}."


def test_trigger_in_the_wrong_state_lists_the_possible_ones(ev: Evaluator) -> None:
    """Restoring during follow-up is refused; the message names the state and what is possible."""
    with pytest.raises(TransitionNotAllowed) as err:
        fire(ev, "follow_up", "restore", OPERATOR, {"resolved_at": DECLARED["started_at"]})

    assert (err.value.trigger, err.value.state) == ("restore", "follow_up")
    assert str(err.value) == (
        "'restore' is not possible in state 'follow_up'. Possible now: close, record_follow_up."
    )


def test_closed_incident_admits_no_trigger(ev: Evaluator, workflow: Workflow) -> None:
    """Once closed, every trigger of the plan is refused, even for the system."""
    for trigger in sorted({t.trigger for t in workflow.transitions}):
        with pytest.raises(TransitionNotAllowed, match=r"Possible now: \(none\)"):
            fire(ev, "closed", trigger, SYSTEM_ACTOR, data={**FOLLOW_UP, **CLOSING})


@pytest.mark.parametrize(
    "actor", [CHAIR, VICE_CHAIR, DECIDER_FY, ADMIN, NOBODY], ids=lambda a: a.id
)
def test_status_update_by_a_role_the_plan_does_not_allow(ev: Evaluator, actor: Actor) -> None:
    """Only operators, the supplier, VGR-IT and OSIT post status updates; anyone else is told
    who may."""
    with pytest.raises(NotAuthorized) as err:
        fire(ev, "outage", "post_update", actor)

    assert err.value.allowed == ["operator", "osit", "supplier_support", "vgr_it"]
    assert str(err.value) == (
        f"{actor.name} may not fire 'post_update'. "
        "Allowed roles: operator, osit, supplier_support, vgr_it."
    )


def test_person_without_any_role_cannot_declare(ev: Evaluator) -> None:
    """Someone in the directory without a role cannot open an incident."""
    with pytest.raises(NotAuthorized, match="operator, osit, supplier_support, vgr_it"):
        fire(ev, None, "declare", NOBODY, DECLARED)


def test_system_may_fire_any_trigger_the_state_allows(ev: Evaluator) -> None:
    """Timers and rules act as the system, which the plan's role lists do not restrict."""
    assert fire(ev, "restored", "start_follow_up", SYSTEM_ACTOR, data=FOLLOW_UP).dest == "follow_up"


def test_partial_reserve_needs_its_subregions(ev: Evaluator) -> None:
    """Asking for the partial reserve routine without naming sub-regions names the field."""
    with pytest.raises(MissingField) as err:
        fire(ev, "outage", "enter_partial_reserve", OPERATOR)

    assert err.value.fields == ["reserve_subregions"]
    assert str(err.value) == (
        "'enter_partial_reserve' needs reserve_subregions: set --set reserve_subregions=...."
    )


def test_close_needs_every_follow_up_summary(ev: Evaluator) -> None:
    """Closing without the follow-up's three summaries lists all of them."""
    with pytest.raises(MissingField) as err:
        fire(ev, "follow_up", "close", OPERATOR, data=FOLLOW_UP)

    assert err.value.fields == ["evaluation_summary", "feedback_summary", "lessons_learned"]


def test_evaluate_refuses_a_field_the_plan_does_not_define(ev: Evaluator) -> None:
    """Data for a field the plan does not define is refused, naming the known fields."""
    # The evaluator is the last check before the store; unknown keys must not get through.
    with pytest.raises(InvalidField) as err:
        fire(ev, "outage", "post_update", OPERATOR, {"sevierity": "high"})

    assert err.value.field == "sevierity"
    assert "Known fields: affected_subregions, crisis_meeting_at, crisis_meeting_location" in str(
        err.value
    )


@pytest.mark.parametrize("field", ["scope", "resolved_at", "reserve_subregions"])
def test_record_follow_up_refuses_fields_it_does_not_accept(ev: Evaluator, field: str) -> None:
    """Follow-up notes cannot rewrite the incident's other data; the error lists what they set."""
    with pytest.raises(InvalidField) as err:
        fire(ev, "follow_up", "record_follow_up", OPERATOR, {field: "x"}, data=FOLLOW_UP)

    assert err.value.field == field
    assert str(err.value) == (
        f"Field '{field}': 'record_follow_up' does not set this field. "
        "It sets: details, evaluation_summary, feedback_summary, lessons_learned"
    )


@pytest.mark.parametrize(
    "field", ["feedback_summary", "evaluation_summary", "lessons_learned", "details"]
)
def test_record_follow_up_accepts_each_of_its_fields(ev: Evaluator, field: str) -> None:
    """Each follow-up field the plan lists under `accepts` can be recorded."""
    outcome = fire(ev, "follow_up", "record_follow_up", OPERATOR, {field: "text"}, data=FOLLOW_UP)
    assert outcome.data[field] == "text"


def test_a_refused_command_changes_none_of_its_inputs(ev: Evaluator) -> None:
    """Evaluation is pure: data, flags and changes are untouched whether it succeeds or not."""
    data = copy.deepcopy(PARTIAL)
    flags = {"crisis"}
    changes = {"reserve_subregions": ["skaraborg"]}
    for actor in (OPERATOR, DECIDER_SK, NOBODY):
        with contextlib.suppress(NotAuthorized):
            ev.evaluate(
                state="partial_reserve",
                data=data,
                flags=flags,
                trigger="add_reserve_subregion",
                actor=actor,
                changes=changes,
                now=NOW,
            )
    assert (data, flags, changes) == (PARTIAL, {"crisis"}, {"reserve_subregions": ["skaraborg"]})
