"""Times as people type them (engine.domain.fields): `14:00` today and `+2h` from now, in the
plan's timezone (Europe/Stockholm) and by the command's clock, daylight-saving days included."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine.definition.schema import Workflow
from engine.domain.fields import parse_value
from engine.errors import InvalidField
from tests.machine_helpers import samsa

SUMMER = datetime(2022, 6, 28, 12, 30, tzinfo=UTC)  # 14:30 in Stockholm (CEST, UTC+2)


@pytest.fixture(scope="module")
def workflow() -> Workflow:
    """The SAMSA plan's workflow (timezone Europe/Stockholm)."""
    return samsa().workflow


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("16:00", "2022-06-28T14:00:00+00:00"),
        ("9:05", "2022-06-28T07:05:00+00:00"),
        ("16.30", "2022-06-28T14:30:00+00:00"),  # the Swedish way of writing 16:30
        ("kl. 16.30", "2022-06-28T14:30:00+00:00"),
        (" 00:00 ", "2022-06-27T22:00:00+00:00"),
    ],
)
def test_a_time_of_day_is_today_in_the_plans_timezone(
    workflow: Workflow, raw: str, stored: str
) -> None:
    """`16:00` means today at 16:00 Stockholm time, stored in UTC."""
    assert parse_value(workflow, "expected_resolution", raw, now=SUMMER) == stored


def test_a_time_already_past_today_stays_today(workflow: Workflow) -> None:
    """`13:00` typed at 14:30 is today at 13:00 (a start time is usually in the past)."""
    assert parse_value(workflow, "started_at", "13:00", now=SUMMER) == "2022-06-28T11:00:00+00:00"


def test_today_is_the_local_date_not_the_utc_date(workflow: Workflow) -> None:
    """At 00:30 Stockholm time (still the day before in UTC) `08:00` is the local today."""
    late = datetime(2022, 6, 28, 22, 30, tzinfo=UTC)  # 29 June 00:30 in Stockholm
    stored = parse_value(workflow, "expected_resolution", "08:00", now=late)
    assert stored == "2022-06-29T06:00:00+00:00"


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("+2h", "2022-06-28T14:30:00+00:00"),
        ("+90m", "2022-06-28T14:00:00+00:00"),
        ("+1d", "2022-06-29T12:30:00+00:00"),
        ("+ 45m", "2022-06-28T13:15:00+00:00"),
        ("+PT30M", "2022-06-28T13:00:00+00:00"),
    ],
)
def test_a_duration_after_plus_is_that_long_from_the_clocks_now(
    workflow: Workflow, raw: str, stored: str
) -> None:
    """`+2h` is the command's now plus two hours (the clock passed in, not the wall clock)."""
    assert parse_value(workflow, "expected_resolution", raw, now=SUMMER) == stored


def test_on_the_spring_dst_day_afternoon_times_are_summer_time(workflow: Workflow) -> None:
    """On 31 March 2024 (clocks go 02:00 -> 03:00) `14:00` is 14:00 CEST, i.e. 12:00 UTC,
    although the morning of the same day was still UTC+1."""
    morning = datetime(2024, 3, 31, 0, 30, tzinfo=UTC)  # 01:30 CET
    assert parse_value(workflow, "started_at", "01:00", now=morning) == "2024-03-31T00:00:00+00:00"
    stored = parse_value(workflow, "expected_resolution", "14:00", now=morning)
    assert stored == "2024-03-31T12:00:00+00:00"


def test_a_wall_time_skipped_by_dst_lands_after_the_gap(workflow: Workflow) -> None:
    """02:30 does not exist on 31 March 2024 in Stockholm: it is taken as 03:30 CEST."""
    morning = datetime(2024, 3, 31, 0, 30, tzinfo=UTC)
    stored = parse_value(workflow, "expected_resolution", "02:30", now=morning)
    assert stored == "2024-03-31T01:30:00+00:00"


def test_a_wall_time_repeated_by_dst_is_its_first_occurrence(workflow: Workflow) -> None:
    """02:30 occurs twice on 27 October 2024 in Stockholm: the first (CEST) is meant."""
    night = datetime(2024, 10, 26, 23, 0, tzinfo=UTC)  # 01:00 CEST on the 27th
    stored = parse_value(workflow, "expected_resolution", "02:30", now=night)
    assert stored == "2024-10-27T00:30:00+00:00"


def test_plus_hours_across_the_dst_change_is_elapsed_time(workflow: Workflow) -> None:
    """`+2h` at 01:30 CET on the spring DST day is two real hours later (04:30 CEST)."""
    morning = datetime(2024, 3, 31, 0, 30, tzinfo=UTC)
    stored = parse_value(workflow, "expected_resolution", "+2h", now=morning)
    assert stored == "2024-03-31T02:30:00+00:00"


@pytest.mark.parametrize("raw", ["25:00", "14:75", "+2x", "+", "+-2h", "14", "14:5"])
def test_a_malformed_short_time_names_every_accepted_form(workflow: Workflow, raw: str) -> None:
    """A time that is none of the forms is refused, naming them in English and Swedish."""
    with pytest.raises(InvalidField) as err:
        parse_value(workflow, "expected_resolution", raw, now=SUMMER)
    english, swedish = err.value.text("en"), err.value.text("sv")
    assert "2022-06-28T14:30, now or unknown" in english
    assert "14:30 (today, in the plan's timezone) or +2h, +90m, +1d (from now)" in english
    assert "2022-06-28T14:30, now eller okänd" in swedish
    assert "14:30 (i dag, i planens tidszon) eller +2h, +90m, +1d (från nu)" in swedish


def test_iso_times_and_unknown_still_parse(workflow: Workflow) -> None:
    """The long forms keep working next to the short ones."""
    assert parse_value(workflow, "expected_resolution", "okänd", now=SUMMER) == "unknown"
    stored = parse_value(workflow, "expected_resolution", "2022-06-29T08:00", now=SUMMER)
    assert stored == "2022-06-29T06:00:00+00:00"
