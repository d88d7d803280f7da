"""The evaluator on the SAMSA plan: every transition from every source, internal ones too."""

from __future__ import annotations

from typing import Any

import pytest

from engine.definition.schema import Workflow
from engine.domain.machine import Evaluator
from engine.domain.outcome import Actor
from tests.machine_helpers import (
    CHAIR,
    CLOSING,
    DECIDER_FY,
    DECIDER_SK,
    DECLARED,
    FOLLOW_UP,
    OPERATOR,
    PARTIAL,
    SUPPLIER,
    fire,
    samsa,
    templates,
    timer_ids,
)


@pytest.fixture(scope="module")
def workflow() -> Workflow:
    """The SAMSA plan's workflow."""
    return samsa().workflow


@pytest.fixture(scope="module")
def ev() -> Evaluator:
    """An evaluator of the SAMSA plan, private to this module."""
    return Evaluator(samsa())


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
    *[
        (
            "withdraw",
            src,
            "withdrawn",
            OPERATOR,
            {"withdrawal_reason": "Anmäld av misstag."},
            DECLARED,
            # `carried: true` narrows the channels when messages are written, not here.
            [
                ("withdrawal_notice", ["login_page", "website_news"]),
                ("withdrawal_notice", ["support_email", "newsletter", "it_nytt", "crisis_email"]),
                ("withdrawal_notice", ["meeting_invite"]),  # cancels a crisis meeting invitation
            ],
            [],
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
        [("lessons_learned", ["staff_email"])],
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
