"""Titles and local times for people's output, from the SAMSA plan."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine.definition.loader import load_definition
from engine.domain.labels import Labels
from engine.texts import label

PLAN = Path(__file__).resolve().parents[2] / "workflows" / "samsa_outage.yaml"


@pytest.fixture(scope="module")
def swedish() -> Labels:
    return Labels(load_definition(PLAN).workflow, "sv")


def test_states_and_actions_read_as_titles_with_the_id_to_type(swedish: Labels) -> None:
    """A state or trigger shows its title in the language asked for, and its id in brackets."""
    english = Labels(swedish.workflow, "en")
    assert swedish.state("outage") == "Avbrott i IT-tjänsten (outage)"
    assert english.state("outage") == "Outage in the IT service (outage)"
    assert swedish.state_title("outage") == "Avbrott i IT-tjänsten"
    assert swedish.trigger("post_update") == "Lägesuppdatering (post_update)"


def test_names_the_plan_does_not_know_are_shown_as_they_are(swedish: Labels) -> None:
    """An id missing from the plan (say, from an older version's log) is shown bare, not lost."""
    assert swedish.state("limbo") == "limbo"
    assert swedish.trigger("gone") == "gone"
    assert swedish.roles(["council_chair", "ghost"]).endswith(" / ghost")
    assert swedish.state(None) == swedish.trigger(None) == ""


def test_roles_and_subregions_are_joined_by_a_slash(swedish: Labels) -> None:
    """Titles may hold commas themselves, so a list of them is joined with ' / '."""
    chair = swedish.roles(["council_chair"])
    assert chair.startswith("Ordförande")
    assert swedish.roles(["council_chair", "council_vice_chair"]).count(" / ") == 1
    assert swedish.subregions(["fyrbodal"]) == "Fyrbodal"


def test_times_are_shown_in_the_plans_timezone(swedish: Labels) -> None:
    """UTC in storage, Stockholm time on screen: winter +1 h, summer +2 h."""
    assert swedish.time("2026-11-26T14:50:07+00:00") == "2026-11-26 15:50"
    assert swedish.time(datetime(2026, 6, 1, 12, 0, 5, tzinfo=UTC), seconds=True) == (
        "2026-06-01 14:00:05"
    )
    assert swedish.time(None) == swedish.time("") == ""


def test_stored_words_read_in_swedish_and_unknown_ones_pass_through() -> None:
    """Event kinds and statuses have Swedish words; one the table lacks is shown as stored."""
    assert label("event_", "declare", "sv") == "anmälan"
    assert label("event_", "declare", "en") == "declared"
    assert label("message_", "dead", "sv") == "misslyckades"
    assert label("event_", "something_new", "sv") == "something_new"
