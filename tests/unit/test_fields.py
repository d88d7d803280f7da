"""Fields (engine.domain.fields) of the SAMSA plan: parsing input, storing and showing values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from engine.definition.schema import FieldDef, Workflow
from engine.domain.fields import display_value, format_time, parse_payload, parse_value
from engine.errors import InvalidField
from tests.machine_helpers import NOW, samsa


@pytest.fixture(scope="module")
def workflow() -> Workflow:
    """The SAMSA plan's workflow."""
    return samsa().workflow


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
