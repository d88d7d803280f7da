"""The evaluator on the SAMSA plan: declaring an incident, who may, and what it needs."""

from __future__ import annotations

import pytest

from engine.domain.machine import Evaluator
from engine.domain.outcome import Actor
from engine.errors import MissingField, TransitionNotAllowed
from tests.machine_helpers import (
    DECLARED,
    OPERATOR,
    OSIT,
    SUPPLIER,
    VGR_IT,
    fire,
    samsa,
    templates,
    timer_ids,
)


@pytest.fixture(scope="module")
def ev() -> Evaluator:
    """An evaluator of the SAMSA plan, private to this module."""
    return Evaluator(samsa())


def test_declare_creates_an_outage_with_its_notices_and_status_timers(ev: Evaluator) -> None:
    """Declaring opens the incident in `outage`, publishes banner and notices and arms timers."""
    outcome = fire(ev, None, "declare", OPERATOR, DECLARED)

    assert (outcome.source, outcome.dest, outcome.internal) == (None, "outage", False)
    assert not outcome.is_pending and not outcome.leaves_state
    assert templates(outcome) == [
        ("outage_banner", ["login_page"]),
        ("outage_notice", ["support_email", "website_news", "newsletter", "it_nytt"]),
    ]
    assert [n.origin for n in outcome.notifications] == [
        "states.outage.on_enter[0]",
        "states.outage.on_enter[1]",
    ]
    assert timer_ids(outcome.arm_timers) == ["update_due", "eta_passed"]
    assert outcome.reset_timers == ()
    assert outcome.data == DECLARED
    assert outcome.changes == DECLARED
    assert outcome.flags == frozenset()


@pytest.mark.parametrize("actor", [OPERATOR, SUPPLIER, VGR_IT, OSIT], ids=lambda a: a.id)
def test_each_responsible_organisation_may_declare(ev: Evaluator, actor: Actor) -> None:
    """Cerner Support, GITS operational management, VGR-IT and OSIT may each declare an outage."""
    assert fire(ev, None, "declare", actor, DECLARED).dest == "outage"


@pytest.mark.parametrize("missing", ["started_at", "scope", "expected_resolution"])
def test_declare_needs_each_grundmall_field(ev: Evaluator, missing: str) -> None:
    """Declaring without one of the fields every message needs is refused, naming that field."""
    changes = {k: v for k, v in DECLARED.items() if k != missing}

    with pytest.raises(MissingField) as err:
        fire(ev, None, "declare", OPERATOR, changes)

    assert err.value.fields == [missing]
    assert f"--set {missing}=..." in str(err.value)
    assert "'declare'" in str(err.value)


def test_declare_counts_blank_text_as_missing(ev: Evaluator) -> None:
    """An empty scope is no scope: the declaration is refused."""
    with pytest.raises(MissingField, match="scope"):
        fire(ev, None, "declare", OPERATOR, {**DECLARED, "scope": ""})


def test_declare_accepts_an_unknown_expected_resolution(ev: Evaluator) -> None:
    """'unknown' is a value for the expected resolution, so the declaration goes through."""
    outcome = fire(ev, None, "declare", OPERATOR, {**DECLARED, "expected_resolution": "unknown"})
    assert outcome.data["expected_resolution"] == "unknown"


def test_a_new_incident_can_only_be_declared(ev: Evaluator) -> None:
    """Any trigger but `declare` on a not-yet-created incident is refused and `declare` offered."""
    with pytest.raises(TransitionNotAllowed) as err:
        fire(ev, None, "post_update", OPERATOR, data={})

    assert str(err.value) == (
        "'post_update' is not possible in state '(new incident)'. Possible now: declare."
    )


def test_declare_is_not_possible_on_an_existing_incident(ev: Evaluator) -> None:
    """Declaring again on an open incident is refused; the message lists what is possible."""
    with pytest.raises(TransitionNotAllowed) as err:
        fire(ev, "outage", "declare", OPERATOR, DECLARED)

    assert (
        "Possible now: enter_partial_reserve, enter_total_reserve, notify_crisis, "
        "post_update, restore, withdraw." in str(err.value)
    )
