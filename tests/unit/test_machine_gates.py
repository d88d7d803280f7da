"""The evaluator on the SAMSA plan: decision gates (who decides a reserve routine, who waits)."""

from __future__ import annotations

from typing import Any

import pytest

from engine.domain.machine import Evaluator
from engine.domain.outcome import SYSTEM_ACTOR, Actor, Slot
from engine.errors import InvalidField, MissingField, NotAuthorized
from tests.machine_helpers import (
    CHAIR,
    DECIDER_FY,
    DECIDER_NOWHERE,
    DECIDER_ROLES,
    DECIDER_SK,
    DECLARED,
    NOBODY,
    OPERATOR,
    PARTIAL,
    TOTAL_SLOT_ROLES,
    VICE_CHAIR,
    fire,
    samsa,
)


@pytest.fixture(scope="module")
def ev() -> Evaluator:
    """An evaluator of the SAMSA plan, private to this module."""
    return Evaluator(samsa())


def test_operator_asking_for_partial_reserve_waits_for_each_subregions_decider(
    ev: Evaluator,
) -> None:
    """An operator's request opens a decision slot per named sub-region and changes nothing yet."""
    outcome = fire(
        ev,
        "outage",
        "enter_partial_reserve",
        OPERATOR,
        {"reserve_subregions": ["fyrbodal", "skaraborg", "goteborg"]},
    )

    assert outcome.is_pending
    assert outcome.pending is not None
    assert outcome.pending.slots == (
        Slot(DECIDER_ROLES, frozenset({"fyrbodal"})),
        Slot(DECIDER_ROLES, frozenset({"skaraborg"})),
        Slot(DECIDER_ROLES, frozenset({"goteborg"})),
    )
    assert outcome.pending.filled == ()
    assert outcome.pending.open_slots == (0, 1, 2)
    assert outcome.source == "outage"
    assert outcome.data == DECLARED
    assert outcome.changes == {"reserve_subregions": ["fyrbodal", "skaraborg", "goteborg"]}
    assert (outcome.notifications, outcome.arm_timers, outcome.leaves_state) == ((), (), False)


def test_a_subregions_decider_puts_their_own_subregion_on_reserve_at_once(ev: Evaluator) -> None:
    """Fyrbodal's decider deciding for Fyrbodal alone is the decision: the stage changes now."""
    outcome = fire(
        ev, "outage", "enter_partial_reserve", DECIDER_FY, {"reserve_subregions": ["fyrbodal"]}
    )

    assert not outcome.is_pending
    assert outcome.dest == "partial_reserve"
    assert outcome.data["reserve_subregions"] == ["fyrbodal"]


def test_a_decider_fills_only_their_own_slot_of_a_wider_request(ev: Evaluator) -> None:
    """Fyrbodal's decider asking for Fyrbodal and Skaraborg fills Fyrbodal's slot only."""
    outcome = fire(
        ev,
        "outage",
        "enter_partial_reserve",
        DECIDER_FY,
        {"reserve_subregions": ["fyrbodal", "skaraborg"]},
    )

    assert outcome.pending is not None
    slots = outcome.pending.slots
    assert [slots[i].subregions for i in outcome.pending.filled] == [frozenset({"fyrbodal"})]
    assert [slots[i].subregions for i in outcome.pending.open_slots] == [frozenset({"skaraborg"})]


def test_a_decider_asking_for_another_subregion_fills_nothing(ev: Evaluator) -> None:
    """Skaraborg's decider may ask for Fyrbodal's reserve routine, but cannot decide it."""
    outcome = fire(
        ev, "outage", "enter_partial_reserve", DECIDER_SK, {"reserve_subregions": ["fyrbodal"]}
    )
    assert outcome.pending is not None
    assert outcome.pending.filled == ()


@pytest.mark.parametrize(
    ("actor", "fills"),
    [
        (DECIDER_FY, True),
        (DECIDER_SK, False),
        (DECIDER_NOWHERE, False),
        (OPERATOR, False),
        (CHAIR, False),
        (SYSTEM_ACTOR, False),
    ],
    ids=lambda v: v.id if isinstance(v, Actor) else str(v),
)
def test_only_fyrbodals_decider_can_fill_fyrbodals_slot(
    ev: Evaluator, actor: Actor, fills: bool
) -> None:
    """A sub-regional slot is filled by a decider of that sub-region and by nobody else."""
    assert ev.can_fill(actor, Slot(DECIDER_ROLES, frozenset({"fyrbodal"}))) is fills


def test_enter_partial_reserve_needs_the_subregions(ev: Evaluator) -> None:
    """Asking for a partial reserve routine without naming sub-regions is refused."""
    with pytest.raises(MissingField, match="reserve_subregions"):
        fire(ev, "outage", "enter_partial_reserve", OPERATOR, {"reserve_subregions": []})


def test_add_reserve_subregion_appends_to_the_list(ev: Evaluator) -> None:
    """An approved addition appends the new sub-region to those already on the reserve routine."""
    outcome = fire(
        ev,
        "partial_reserve",
        "add_reserve_subregion",
        OPERATOR,
        {"reserve_subregions": ["skaraborg"]},
        data=PARTIAL,
        approved=True,
    )

    assert outcome.dest == "partial_reserve"
    assert outcome.data["reserve_subregions"] == ["fyrbodal", "skaraborg"]


def test_adding_a_subregion_asks_only_its_decider(ev: Evaluator) -> None:
    """An operator adding Skaraborg waits for Skaraborg's decision alone, not Fyrbodal's again."""
    outcome = fire(
        ev,
        "partial_reserve",
        "add_reserve_subregion",
        OPERATOR,
        {"reserve_subregions": ["skaraborg"]},
        data=PARTIAL,
    )

    assert outcome.pending is not None
    assert outcome.pending.slots == (Slot(DECIDER_ROLES, frozenset({"skaraborg"})),)


def test_adding_a_subregion_with_an_existing_one_asks_only_for_the_new_one(
    ev: Evaluator,
) -> None:
    """Naming Fyrbodal (already on reserve) with Skaraborg opens a slot for Skaraborg only."""
    outcome = fire(
        ev,
        "partial_reserve",
        "add_reserve_subregion",
        OPERATOR,
        {"reserve_subregions": ["fyrbodal", "skaraborg"]},
        data=PARTIAL,
    )

    assert outcome.pending is not None
    assert outcome.pending.slots == (Slot(DECIDER_ROLES, frozenset({"skaraborg"})),)


def test_new_subregions_decider_adds_it_at_once_even_naming_an_existing_one(
    ev: Evaluator,
) -> None:
    """Skaraborg's decider adding [fyrbodal, skaraborg] decides the only new part: applied now."""
    outcome = fire(
        ev,
        "partial_reserve",
        "add_reserve_subregion",
        DECIDER_SK,
        {"reserve_subregions": ["fyrbodal", "skaraborg"]},
        data=PARTIAL,
    )

    assert not outcome.is_pending
    assert outcome.data["reserve_subregions"] == ["fyrbodal", "skaraborg"]


def test_re_adding_a_subregion_already_on_reserve_is_refused(ev: Evaluator) -> None:
    """Adding only sub-regions that are already on the reserve routine is refused, naming them."""
    with pytest.raises(InvalidField) as err:
        fire(
            ev,
            "partial_reserve",
            "add_reserve_subregion",
            DECIDER_FY,
            {"reserve_subregions": ["fyrbodal"]},
            data=PARTIAL,
        )

    assert err.value.field == "reserve_subregions"
    assert "already set (fyrbodal)" in str(err.value)


@pytest.mark.parametrize("changes", [{}, {"reserve_subregions": []}], ids=["absent", "empty"])
@pytest.mark.parametrize("actor", [OPERATOR, DECIDER_FY], ids=lambda a: a.id)
def test_adding_no_subregion_is_refused(
    ev: Evaluator, changes: dict[str, Any], actor: Actor
) -> None:
    """An addition that names no new sub-region is refused instead of re-sending every notice."""
    # Otherwise an operator's empty addition passes the gate with zero slots, undecided.
    with pytest.raises(MissingField) as err:
        fire(ev, "partial_reserve", "add_reserve_subregion", actor, changes, data=PARTIAL)
    assert err.value.fields == ["reserve_subregions"]


@pytest.mark.parametrize("actor", [CHAIR, VICE_CHAIR], ids=lambda a: a.id)
def test_chair_or_vice_chair_decides_total_reserve_at_once(ev: Evaluator, actor: Actor) -> None:
    """The chair, or the vice chair as deputy, puts every organisation on reserve immediately."""
    outcome = fire(ev, "outage", "enter_total_reserve", actor)

    assert not outcome.is_pending
    assert outcome.dest == "total_reserve"
    assert outcome.flags == frozenset({"crisis"})


def test_operator_asking_for_total_reserve_waits_for_chair_or_vice_chair(ev: Evaluator) -> None:
    """An operator's request for total reserve waits for one decision by the chair or vice chair."""
    outcome = fire(ev, "partial_reserve", "enter_total_reserve", OPERATOR, data=PARTIAL)

    assert outcome.pending is not None
    assert outcome.pending.slots == (Slot(TOTAL_SLOT_ROLES),)
    assert outcome.pending.filled == ()
    assert outcome.flags == frozenset()  # the crisis flag comes with the decision
    assert outcome.data == PARTIAL


def test_subregional_decider_cannot_decide_total_reserve(ev: Evaluator) -> None:
    """A sub-regional decider neither fires nor fills the total-reserve decision."""
    with pytest.raises(NotAuthorized) as err:
        fire(ev, "outage", "enter_total_reserve", DECIDER_FY)

    assert "Allowed roles: council_chair, council_vice_chair, operator." in str(err.value)
    assert not ev.can_fill(DECIDER_FY, Slot(TOTAL_SLOT_ROLES))


def test_approved_request_applies_the_transition(ev: Evaluator) -> None:
    """Once the service has every decision (approved=True), the operator's request goes through."""
    outcome = fire(ev, "outage", "enter_total_reserve", OPERATOR, approved=True)

    assert not outcome.is_pending
    assert (outcome.dest, outcome.leaves_state) == ("total_reserve", True)
    assert outcome.flags == frozenset({"crisis"})


def test_system_request_for_a_gated_transition_waits(ev: Evaluator) -> None:
    """The system can ask for total reserve but never decides it on its own."""
    outcome = fire(ev, "outage", "enter_total_reserve", SYSTEM_ACTOR)
    assert outcome.is_pending


def test_effective_roles_include_the_roles_deputised_for(ev: Evaluator) -> None:
    """The vice chair acts as the chair; no one else gains a role."""
    assert ev.effective_roles(VICE_CHAIR) == TOTAL_SLOT_ROLES
    assert ev.effective_roles(CHAIR) == frozenset({"council_chair"})
    assert ev.effective_roles(NOBODY) == frozenset()
