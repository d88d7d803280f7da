"""A meeting's `starts_at` and `location` name incident fields: what the checker refuses (with a
located error) and what an incident's values do to the meeting a message carries."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine.definition.checks.workflow import check_workflow
from engine.definition.schema import Notify
from engine.errors import DefinitionError, Problem
from engine.service.effects import _meeting
from tests.plan_fixtures import KNOWN_KINDS, VALID_PLAN, broken, line_of, parse

FIELDS = (
    "  broken_everywhere: {type: bool}\n",
    "  broken_everywhere: {type: bool}\n"
    "  meeting_at: {type: datetime}\n"
    "  meeting_place: {type: text}\n",
)
ALERT = "      - notify: {template: escalated, roles: [chair], channels: [mail]}\n"


def plan(starts_at: str = "meeting_at", location: str = "meeting_place") -> str:
    meeting = (
        "      - notify:\n"
        "          template: escalated\n"
        "          roles: [chair]\n"
        "          channels: [invite]\n"
        "          meeting:\n"
        "            title: Krismöte\n"
        f"            starts_at: {starts_at}\n"
        f"            location: {location}\n"
    )
    text = broken(*FIELDS, text=VALID_PLAN)
    text = broken(
        "  banner: {kind: banner, audience: users}\n",
        "  banner: {kind: banner, audience: users}\n"
        "  invite: {kind: calendar, audience: council}\n",
        text,
    )
    return broken(ALERT, ALERT + meeting, text)


def problems(text: str) -> list[Problem]:
    with pytest.raises(DefinitionError) as raised:
        parse(text)
    return raised.value.problems


def test_a_meeting_reading_a_time_and_a_text_field_is_valid() -> None:
    """`starts_at` on a datetime field and `location` on a text field pass the checker, and
    both fields count as used."""
    assert check_workflow(parse(plan()), known_kinds=KNOWN_KINDS) == []


@pytest.mark.parametrize(
    ("starts_at", "location", "fragment", "at"),
    [
        ("scope", "meeting_place", "meeting starts_at 'scope' is a text field", "starts_at: scope"),
        ("meeting_at", "affected", "meeting location 'affected' is a multichoice", "location: aff"),
        ("meting_at", "meeting_place", "unknown field 'meting_at'", "starts_at: meting_at"),
    ],
)
def test_a_meeting_field_of_the_wrong_type_or_unknown_is_refused(
    starts_at: str, location: str, fragment: str, at: str
) -> None:
    """A meeting field that is not a datetime (start) or text (place), or no field at all, is
    an error at the line that names it."""
    text = plan(starts_at, location)
    found = [p for p in problems(text) if fragment in p.message]
    assert found, "\n".join(map(str, problems(text)))
    assert found[0].severity == "error"
    assert found[0].line == line_of(text, at), str(found[0])


NOW = datetime(2025, 3, 4, 12, 47, 26, tzinfo=UTC)
NOTIFY = Notify.model_validate(
    {
        "template": "t",
        "channels": ["invite"],
        "meeting": {"title": "Krismöte", "starts_at": "at", "location": "place"},
    }
)


def test_an_incidents_time_and_place_make_the_meeting() -> None:
    """Given values are used as they are (the time not rounded, the place trimmed)."""
    meeting = _meeting(
        NOTIFY, NOW, "sv", {"at": "2025-03-04T14:10:00+00:00", "place": " 08-123 kod 4 "}
    )
    assert meeting is not None
    assert meeting["starts_at"] == "2025-03-04T14:10:00+00:00"
    assert meeting["location"] == "08-123 kod 4"


@pytest.mark.parametrize("data", [{}, {"at": "unknown", "place": "  "}])
def test_without_values_the_meeting_starts_on_the_next_quarter_after_starts_in(
    data: dict[str, str],
) -> None:
    """No time (or "unknown") and no place: 30 minutes from now on the quarter, no location."""
    meeting = _meeting(NOTIFY, NOW, "sv", data)
    assert meeting is not None
    assert meeting["starts_at"] == "2025-03-04T13:30:00+00:00"
    assert "location" not in meeting
