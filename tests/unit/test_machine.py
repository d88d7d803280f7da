"""The evaluator, conditions and fields on the SAMSA plan: what each trigger does, or why not."""

from __future__ import annotations

import contextlib
import copy
import threading
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from engine.definition.loader import Definition, load_definition, parse_definition
from engine.definition.schema import Condition, FieldDef, Workflow
from engine.domain.conditions import describe, explain_failure, holds
from engine.domain.fields import display_value, format_time, parse_payload, parse_value
from engine.domain.machine import Evaluator, evaluator_for
from engine.domain.outcome import SYSTEM_ACTOR, Actor, Outcome, Slot
from engine.errors import (
    InvalidField,
    MissingField,
    NotAuthorized,
    TransitionNotAllowed,
    UnknownTrigger,
)

PLAN = Path(__file__).resolve().parents[2] / "workflows" / "samsa_outage.yaml"
NOW = datetime(2022, 6, 28, 12, 30, tzinfo=UTC)

OPERATOR = Actor("olle", frozenset({"operator"}), name="Olle Operatör")
SUPPLIER = Actor("cerner", frozenset({"supplier_support"}), name="Cerner Support")
VGR_IT = Actor("vgrit", frozenset({"vgr_it"}), name="VGR-IT")
OSIT = Actor("osit", frozenset({"osit"}), name="OSIT")
CHAIR = Actor("chair", frozenset({"council_chair"}), name="Ordförande")
VICE_CHAIR = Actor("vice", frozenset({"council_vice_chair"}), name="Vice ordförande")
ADMIN = Actor("admin", frozenset({"admin"}), name="Admin")
NOBODY = Actor("nobody", name="Ingen Roll")
DECIDER_FY = Actor("fia", frozenset({"subregional_decider"}), "fyrbodal", "Fia Fyrbodal")
DECIDER_SK = Actor("sven", frozenset({"subregional_decider"}), "skaraborg", "Sven Skaraborg")
DECIDER_NOWHERE = Actor("nils", frozenset({"subregional_decider"}), None, "Nils")

DECLARED = {
    "started_at": "2022-06-28T12:00:00+00:00",
    "scope": "Inga användare i Fyrbodal når SAMSA",
    "expected_resolution": "2022-06-28T16:00:00+00:00",
}
PARTIAL = {**DECLARED, "reserve_subregions": ["fyrbodal"]}
FOLLOW_UP = {**DECLARED, "resolved_at": "2022-06-28T15:00:00+00:00"}
CLOSING = {
    "feedback_summary": "Arbetsgrupperna saknade telefonlistor.",
    "evaluation_summary": "Utvärderat med Cerner och VGR-IT.",
    "lessons_learned": "Reservrutinen behöver övas.",
}
TOTAL_SLOT_ROLES = frozenset({"council_chair", "council_vice_chair"})
DECIDER_ROLES = frozenset({"subregional_decider"})


def load_samsa() -> Definition:
    """The SAMSA plan, checked when the checker is importable (it is written concurrently)."""
    try:
        return load_definition(PLAN)
    except ImportError:
        return parse_definition(PLAN.read_bytes(), str(PLAN), base=PLAN.parent, check=False)


@pytest.fixture(scope="module")
def definition() -> Definition:
    return load_samsa()


@pytest.fixture(scope="module")
def workflow(definition: Definition) -> Workflow:
    return definition.workflow


@pytest.fixture(scope="module")
def ev(definition: Definition) -> Evaluator:
    return Evaluator(definition)


def fire(
    ev: Evaluator,
    state: str | None,
    trigger: str,
    actor: Actor = OPERATOR,
    changes: Mapping[str, Any] | None = None,
    *,
    data: Mapping[str, Any] | None = None,
    flags: frozenset[str] = frozenset(),
    approved: bool = False,
) -> Outcome:
    if data is None:
        data = {} if state is None else DECLARED
    return ev.evaluate(
        state=state,
        data=data,
        flags=flags,
        trigger=trigger,
        actor=actor,
        changes=changes or {},
        now=NOW,
        approved=approved,
    )


def templates(outcome: Outcome) -> list[tuple[str, list[str]]]:
    return [(n.notify.template, list(n.notify.channels)) for n in outcome.notifications]


def timer_ids(timers: Any) -> list[str]:
    return [t.id for t in timers]


# ------------------------------------------------------------------------------------- declare


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
        "post_update, restore." in str(err.value)
    )


# ------------------------------------------------------------------- every transition, every source

# (trigger, source, dest (None: internal), actor, changes, data, notices, timers armed/reset)
ALL_CHANNELS = ["support_email", "website_news", "newsletter", "it_nytt"]
STATUS_TIMERS = ["update_due", "eta_passed"]
TRANSITIONS: list[
    tuple[
        str,
        str,
        str | None,
        Actor,
        dict[str, Any],
        dict[str, Any],
        list[tuple[str, list[str]]],
        list[str],
    ]
] = [
    *[
        (
            "post_update",
            src,
            None,
            OPERATOR,
            {"details": "Cerner felsöker."},
            DECLARED,
            [("status_update", ["login_page", "support_email", "website_news", "it_nytt"])],
            STATUS_TIMERS,
        )
        for src in ("outage", "partial_reserve", "total_reserve")
    ],
    (
        "enter_partial_reserve",
        "outage",
        "partial_reserve",
        DECIDER_FY,
        {"reserve_subregions": ["fyrbodal"]},
        DECLARED,
        [("reserve_banner", ["login_page"]), ("partial_reserve_notice", ALL_CHANNELS)],
        STATUS_TIMERS,
    ),
    (
        "add_reserve_subregion",
        "partial_reserve",
        None,
        DECIDER_SK,
        {"reserve_subregions": ["skaraborg"]},
        PARTIAL,
        [("reserve_banner", ["login_page"]), ("partial_reserve_notice", ALL_CHANNELS)],
        [],
    ),
    *[
        (
            "enter_total_reserve",
            src,
            "total_reserve",
            CHAIR,
            {},
            PARTIAL,
            [
                ("reserve_banner", ["login_page"]),
                ("total_reserve_notice", [*ALL_CHANNELS, "crisis_email"]),
            ],
            STATUS_TIMERS,
        )
        for src in ("outage", "partial_reserve")
    ],
    *[
        (
            "notify_crisis",
            src,
            None,
            SUPPLIER,
            {},
            DECLARED,
            [("crisis_alert", ["crisis_email"]), ("crisis_meeting", ["meeting_invite"])],
            [],
        )
        for src in ("outage", "partial_reserve", "total_reserve")
    ],
    *[
        (
            "restore",
            src,
            "restored",
            SUPPLIER,
            {"resolved_at": "2022-06-28T15:00:00+00:00"},
            DECLARED,
            [("restored_notice", ["login_page"]), ("restored_notice", ALL_CHANNELS)],
            ["auto_follow_up"],
        )
        for src in ("outage", "partial_reserve", "total_reserve")
    ],
    (
        "start_follow_up",
        "restored",
        "follow_up",
        OPERATOR,
        {},
        FOLLOW_UP,
        [],
        ["feedback_request", "evaluation_invite", "lessons_due"],
    ),
    (
        "record_follow_up",
        "follow_up",
        None,
        OPERATOR,
        {"feedback_summary": "Bra."},
        FOLLOW_UP,
        [],
        [],
    ),
    (
        "close",
        "follow_up",
        "closed",
        OPERATOR,
        CLOSING,
        FOLLOW_UP,
        [("lessons_learned", ["staff_email"])] * 3,
        [],
    ),
]


def test_the_table_below_covers_every_transition_of_the_plan(workflow: Workflow) -> None:
    """Every (trigger, source) pair the plan declares, but `declare`, has a row in TRANSITIONS."""
    declared = {
        (t.trigger, s) for t in workflow.transitions if not t.initial for s in (t.source or [])
    }
    assert {(row[0], row[1]) for row in TRANSITIONS} == declared


@pytest.mark.parametrize(
    ("trigger", "source", "dest", "actor", "changes", "data", "notices", "timers"),
    TRANSITIONS,
    ids=[f"{row[0]}-from-{row[1]}" for row in TRANSITIONS],
)
def test_each_transition_from_each_source(
    ev: Evaluator,
    workflow: Workflow,
    trigger: str,
    source: str,
    dest: str | None,
    actor: Actor,
    changes: dict[str, Any],
    data: dict[str, Any],
    notices: list[tuple[str, list[str]]],
    timers: list[str],
) -> None:
    """Each trigger reaches its destination from each source with exactly the plan's notices."""
    outcome = fire(ev, source, trigger, actor, changes, data=data)

    assert not outcome.is_pending
    assert outcome.source == source
    assert templates(outcome) == notices
    assert outcome.data == {**data, **outcome.changes}
    assert set(outcome.changes) == set(changes)
    if dest is None:
        assert (outcome.dest, outcome.internal, outcome.leaves_state) == (source, True, False)
        assert timer_ids(outcome.reset_timers) == timers
        assert outcome.arm_timers == ()
    else:
        assert (outcome.dest, outcome.internal, outcome.leaves_state) == (dest, False, True)
        assert timer_ids(outcome.arm_timers) == timers
        assert timer_ids(outcome.arm_timers) == [t.id for t in workflow.states[dest].timers]
        assert outcome.reset_timers == ()


def test_restore_withdraws_the_login_banner(ev: Evaluator) -> None:
    """The first notice on restore clears the login-page banner; the rest publish the all-clear."""
    outcome = fire(ev, "outage", "restore", OPERATOR, {"resolved_at": DECLARED["started_at"]})
    assert [n.notify.clear for n in outcome.notifications] == [True, False]


# ------------------------------------------------------------------------- internal transitions


@pytest.mark.parametrize("state", ["outage", "partial_reserve", "total_reserve"])
def test_post_update_keeps_the_state_and_restarts_the_status_timers(
    ev: Evaluator, workflow: Workflow, state: str
) -> None:
    """A status update stays in its stage and restarts every timer whose reset_on names it."""
    outcome = fire(ev, state, "post_update", SUPPLIER, {"expected_resolution": "unknown"})

    expected = [t.id for t in workflow.states[state].timers if "post_update" in t.reset_on]
    assert expected == STATUS_TIMERS
    assert (outcome.dest, outcome.internal) == (state, True)
    assert timer_ids(outcome.reset_timers) == expected
    assert outcome.data["expected_resolution"] == "unknown"


def test_an_internal_trigger_not_named_by_reset_on_restarts_no_timer(ev: Evaluator) -> None:
    """Crisis communication sends its notices but leaves the status-update timers running."""
    outcome = fire(ev, "outage", "notify_crisis", OPERATOR)
    assert (outcome.dest, outcome.reset_timers, outcome.arm_timers) == ("outage", (), ())


def test_record_follow_up_accumulates_data_without_leaving_follow_up(ev: Evaluator) -> None:
    """Recording follow-up notes adds them to the incident's data and stays in follow_up."""
    outcome = fire(
        ev,
        "follow_up",
        "record_follow_up",
        OPERATOR,
        {"lessons_learned": "Öva mer."},
        data={**FOLLOW_UP, "feedback_summary": "Bra."},
    )
    assert outcome.dest == "follow_up"
    assert outcome.data == {**FOLLOW_UP, "feedback_summary": "Bra.", "lessons_learned": "Öva mer."}


# ------------------------------------------------------------------------------------- refusals


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
    """Only operators and the supplier post status updates; anyone else is told who may."""
    with pytest.raises(NotAuthorized) as err:
        fire(ev, "outage", "post_update", actor)

    assert err.value.allowed == ["operator", "supplier_support"]
    assert str(err.value) == (
        f"{actor.name} may not fire 'post_update'. Allowed roles: operator, supplier_support."
    )


def test_person_without_any_role_cannot_declare(ev: Evaluator) -> None:
    """Someone in the directory without a role cannot open an incident."""
    with pytest.raises(NotAuthorized, match="operator, osit, supplier_support, vgr_it"):
        fire(ev, None, "declare", NOBODY, DECLARED)


def test_system_may_fire_any_trigger_the_state_allows(ev: Evaluator) -> None:
    """Timers and rules act as the system, which the plan's role lists do not restrict."""
    assert fire(ev, "restored", "start_follow_up", SYSTEM_ACTOR, data=FOLLOW_UP).dest == "follow_up"


def test_restore_needs_the_resolution_time(ev: Evaluator) -> None:
    """Restoring without saying when the disturbance was resolved names the missing field."""
    with pytest.raises(MissingField) as err:
        fire(ev, "outage", "restore", OPERATOR)

    assert err.value.fields == ["resolved_at"]
    assert str(err.value) == "'restore' needs resolved_at: set --set resolved_at=...."


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
    assert "Known fields: affected_subregions, details, evaluation_summary" in str(err.value)


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


# ---------------------------------------------------------------------------------------- gates


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


# ---------------------------------------------------------------------------------------- flags


def test_notify_crisis_sets_the_crisis_flag_and_keeps_others(ev: Evaluator) -> None:
    """Crisis communication marks the incident as a crisis without dropping its other flags."""
    outcome = fire(
        ev, "partial_reserve", "notify_crisis", OPERATOR, data=PARTIAL, flags=frozenset({"drill"})
    )
    assert outcome.flags == frozenset({"crisis", "drill"})


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


def test_council_alert_is_not_due_once_the_crisis_flag_is_set(ev: Evaluator) -> None:
    """After crisis communication has started the council is not alerted again by the rule."""
    data = {**DECLARED, "total_it_breakdown": True}
    assert due(ev, data, flags=frozenset({"crisis"})) == []


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


# ------------------------------------------------------------------------------- machine plumbing


def test_evaluators_are_cached_per_definition_version(definition: Definition) -> None:
    """The same plan version shares one evaluator (one transitions machine)."""
    assert evaluator_for(definition) is evaluator_for(definition)


def test_concurrent_evaluations_do_not_mix_states(ev: Evaluator) -> None:
    """Threads evaluating different incidents at once each get their own state and notices."""
    errors: list[str] = []

    def work(state: str, trigger: str, expected: str) -> None:
        for _ in range(200):
            changes = {"resolved_at": NOW.isoformat()} if trigger == "restore" else {}
            out = fire(ev, state, trigger, OPERATOR, changes, data=FOLLOW_UP)
            if out.dest != expected:
                errors.append(f"{state}/{trigger} -> {out.dest}")

    threads = [
        threading.Thread(target=work, args=args)
        for args in [
            ("outage", "restore", "restored"),
            ("total_reserve", "post_update", "total_reserve"),
            ("restored", "start_follow_up", "follow_up"),
        ]
        * 3
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


# ------------------------------------------------------------------------------------ conditions


def cond(spec: dict[str, Any]) -> Condition:
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
    crisis = frozenset({"crisis"})
    breakdown = {"total_it_breakdown": True}

    assert explain_failure(rule.when, breakdown, crisis, NOW) == (
        "it must not be that flag crisis is set"
    )
    assert explain_failure(rule.when, {"affected_subregions": ["fyrbodal"]}, frozenset(), NOW) == (
        "none of these holds: total_it_breakdown equals True; affected_subregions min items 3"
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


# ---------------------------------------------------------------------------------------- fields


def test_datetime_now_is_the_clocks_now_in_utc(workflow: Workflow) -> None:
    """`now` stores the current instant as ISO 8601 UTC."""
    now = datetime(2022, 6, 28, 14, 30, tzinfo=UTC) + timedelta(seconds=5)
    assert parse_value(workflow, "started_at", " now ", now=now) == "2022-06-28T14:30:05+00:00"


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("2022-06-28T14:30+02:00", "2022-06-28T12:30:00+00:00"),
        ("2022-06-28T12:30:00Z", "2022-06-28T12:30:00+00:00"),
        ("2022-06-28T14:30", "2022-06-28T12:30:00+00:00"),  # naive: Stockholm summer time
        ("2022-06-28 14:30", "2022-06-28T12:30:00+00:00"),
        ("2022-01-10T14:30", "2022-01-10T13:30:00+00:00"),  # naive: Stockholm winter time
        (datetime(2022, 6, 28, 14, 30), "2022-06-28T12:30:00+00:00"),
        (datetime(2022, 6, 28, 14, 30, tzinfo=UTC), "2022-06-28T14:30:00+00:00"),
    ],
)
def test_datetimes_are_stored_in_utc_with_naive_times_in_the_plans_zone(
    workflow: Workflow, raw: Any, stored: str
) -> None:
    """Times with an offset are converted to UTC; times without one are Stockholm local time."""
    assert parse_value(workflow, "started_at", raw, now=NOW) == stored


@pytest.mark.parametrize("raw", ["okänd", "Okänd", "unknown", "okand", "?"])
def test_unknown_is_a_value_where_the_field_allows_it(workflow: Workflow, raw: str) -> None:
    """The expected resolution may be 'okänd' / 'unknown', stored as 'unknown'."""
    assert parse_value(workflow, "expected_resolution", raw, now=NOW) == "unknown"


def test_unknown_is_refused_where_the_field_does_not_allow_it(workflow: Workflow) -> None:
    """The start of a disturbance must be a time; 'okänd' is refused with the reason."""
    with pytest.raises(InvalidField, match="'unknown' is not allowed for this field"):
        parse_value(workflow, "started_at", "okänd", now=NOW)


@pytest.mark.parametrize(
    ("field", "hint"), [("started_at", "now;"), ("expected_resolution", "now or unknown;")]
)
def test_an_unreadable_time_shows_the_accepted_forms(
    workflow: Workflow, field: str, hint: str
) -> None:
    """A malformed time is refused with an example of what is accepted."""
    with pytest.raises(InvalidField) as err:
        parse_value(workflow, field, "i eftermiddag", now=NOW)
    assert f"expected an ISO 8601 time such as 2022-06-28T14:30, {hint} got 'i eftermiddag'" in str(
        err.value
    )


def test_a_non_text_time_is_refused(workflow: Workflow) -> None:
    """A number is not a time."""
    with pytest.raises(InvalidField, match="expected a time, got 1656420000"):
        parse_value(workflow, "started_at", 1656420000, now=NOW)


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("ja", True),
        ("Nej", False),
        ("true", True),
        ("false", False),
        (True, True),
        (False, False),
        ("1", True),
        ("0", False),
        (" JA ", True),
    ],
)
def test_bools_read_swedish_and_english(workflow: Workflow, raw: Any, value: bool) -> None:
    """Yes/no fields accept ja/nej as well as true/false."""
    assert parse_value(workflow, "total_it_breakdown", raw, now=NOW) is value


def test_an_unreadable_bool_is_refused(workflow: Workflow) -> None:
    """'kanske' is neither yes nor no; the error says what is."""
    with pytest.raises(InvalidField, match=r"expected true or false \(ja/nej\), got 'kanske'"):
        parse_value(workflow, "total_it_breakdown", "kanske", now=NOW)


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("fyrbodal, skaraborg,fyrbodal", ["fyrbodal", "skaraborg"]),
        ("goteborg,,", ["goteborg"]),
        ("", []),
        (["skaraborg", "fyrbodal", "skaraborg"], ["skaraborg", "fyrbodal"]),
    ],
)
def test_multichoice_reads_comma_lists_keeping_order_without_duplicates(
    workflow: Workflow, raw: Any, value: list[str]
) -> None:
    """Sub-region lists come as text or lists; order is kept and repeats dropped."""
    assert parse_value(workflow, "reserve_subregions", raw, now=NOW) == value


def test_an_unknown_subregion_is_refused_listing_the_choices(workflow: Workflow) -> None:
    """Naming a sub-region the plan does not have lists the four that exist."""
    with pytest.raises(InvalidField) as err:
        parse_value(workflow, "affected_subregions", "fyrbodal,halland", now=NOW)
    assert str(err.value) == (
        "Field 'affected_subregions': 'halland' is not a choice. "
        "Choices: fyrbodal, skaraborg, sodra_alvsborg, goteborg"
    )


def test_text_is_stripped_and_must_be_text(workflow: Workflow) -> None:
    """Text fields are trimmed; a number or an over-long text is refused."""
    assert parse_value(workflow, "scope", "  Fyrbodal  \n", now=NOW) == "Fyrbodal"
    with pytest.raises(InvalidField, match="expected text, got 12"):
        parse_value(workflow, "scope", 12, now=NOW)
    with pytest.raises(InvalidField, match="longer than 10000 characters"):
        parse_value(workflow, "scope", "x" * 10_001, now=NOW)


def test_an_unknown_field_is_refused_listing_the_known_ones(workflow: Workflow) -> None:
    """A field the plan does not define is refused and the plan's fields are listed."""
    with pytest.raises(InvalidField) as err:
        parse_payload(workflow, {"scope": "x", "sevierity": "hög"}, now=NOW)
    assert err.value.field == "sevierity"
    assert str(err.value).endswith(f"Known fields: {', '.join(sorted(workflow.fields))}")


def test_parse_payload_parses_every_key(workflow: Workflow) -> None:
    """A whole trigger input is parsed field by field."""
    assert parse_payload(
        workflow,
        {
            "started_at": "2022-06-28T14:30",
            "expected_resolution": "okänd",
            "scope": " X ",
            "affected_subregions": "goteborg,skaraborg",
            "total_it_breakdown": "nej",
        },
        now=NOW,
    ) == {
        "started_at": "2022-06-28T12:30:00+00:00",
        "expected_resolution": "unknown",
        "scope": "X",
        "affected_subregions": ["goteborg", "skaraborg"],
        "total_it_breakdown": False,
    }


@pytest.fixture(scope="module")
def typed(workflow: Workflow) -> Workflow:
    """The SAMSA plan with one field of each type it does not use itself."""
    return workflow.model_copy(
        update={
            "fields": {
                "severity": FieldDef(type="choice", choices=["low", "high"]),
                "count": FieldDef(type="int"),
                "delay": FieldDef(type="duration"),
            }
        }
    )


def test_choice_int_and_duration_fields(typed: Workflow) -> None:
    """Choices, whole numbers and durations parse to their stored form or are refused clearly."""
    assert parse_value(typed, "severity", " high ", now=NOW) == "high"
    with pytest.raises(InvalidField, match=r"'medium' is not a choice\. Choices: low, high"):
        parse_value(typed, "severity", "medium", now=NOW)
    assert parse_value(typed, "count", " 3 ", now=NOW) == 3
    for bad in (True, "3.5"):
        with pytest.raises(InvalidField, match="expected a whole number"):
            parse_value(typed, "count", bad, now=NOW)
    assert parse_value(typed, "delay", "PT90M", now=NOW) == parse_value(
        typed, "delay", "90m", now=NOW
    )
    with pytest.raises(InvalidField, match="expected a duration such as 90s"):
        parse_value(typed, "delay", "snart", now=NOW)


@pytest.mark.parametrize(
    ("iso", "language", "text"),
    [
        ("2022-06-28T12:30:00+00:00", "sv", "28 juni 2022 kl. 14.30"),
        ("2022-06-28T12:30:00+00:00", "en", "28 June 2022 at 14:30"),
        ("2022-01-05T08:05:00+00:00", "sv", "5 januari 2022 kl. 09.05"),
        ("2022-12-31T23:30:00+00:00", "en", "1 January 2023 at 00:30"),
        ("unknown", "sv", "okänd"),
        ("unknown", "en", "unknown"),
    ],
)
def test_format_time_in_the_plans_zone(
    workflow: Workflow, iso: str, language: str, text: str
) -> None:
    """Stored UTC times are shown as Swedish (or English) readers write them, in Stockholm time."""
    assert format_time(iso, workflow, language) == text


def test_display_value_shows_titles_and_words(workflow: Workflow) -> None:
    """Sub-regions show their titles, yes/no its word and times their local form."""
    assert (
        display_value(workflow, "reserve_subregions", ["sodra_alvsborg", "goteborg"], "sv")
        == "Södra Älvsborg, Göteborgsområdet"
    )
    assert display_value(workflow, "total_it_breakdown", True, "sv") == "ja"
    assert display_value(workflow, "total_it_breakdown", False, "en") == "no"
    assert display_value(workflow, "started_at", "2022-06-28T12:30:00+00:00", "sv") == (
        "28 juni 2022 kl. 14.30"
    )
    assert display_value(workflow, "scope", None, "sv") == ""
