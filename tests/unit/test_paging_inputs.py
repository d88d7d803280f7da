"""What people and clients type into a paged listing: `--since` times and cursors."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from engine.domain.paging import PageKey, check_limit, decode_cursor, encode_cursor, parse_since
from engine.errors import InvalidField

STOCKHOLM = ZoneInfo("Europe/Stockholm")
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # 13:00 in Stockholm


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("-2h", NOW - timedelta(hours=2)),
        ("90m", NOW - timedelta(minutes=90)),
        ("-PT30M", NOW - timedelta(minutes=30)),
        ("-7d", NOW - timedelta(days=7)),
        ("09:15", datetime(2026, 11, 30, 8, 15, tzinfo=UTC)),  # today, local time
        ("14:00", datetime(2026, 11, 29, 13, 0, tzinfo=UTC)),  # not yet today: yesterday's
        ("kl. 13.00", datetime(2026, 11, 30, 12, 0, tzinfo=UTC)),  # now itself is the past
        ("2026-11-01", datetime(2026, 10, 31, 23, 0, tzinfo=UTC)),  # local midnight
        ("2026-11-01T10:00+00:00", datetime(2026, 11, 1, 10, 0, tzinfo=UTC)),
    ],
)
def test_since_reads_past_times_as_people_type_them(typed: str, expected: datetime) -> None:
    """Durations ago, clock times (the latest one), dates and ISO times all name the past."""
    assert parse_since(typed, now=NOW, zone=STOCKHOLM) == expected


@pytest.mark.parametrize("typed", ["+2h", "igår", "", "-2026-11-01", "25:00", "-99999999d"])
def test_since_refuses_what_is_not_a_past_time_with_the_forms_that_work(typed: str) -> None:
    """The future, words, nonsense and overflowing spans are refused, naming the forms."""
    with pytest.raises(InvalidField) as refused:
        parse_since(typed, now=NOW, zone=STOCKHOLM)
    assert refused.value.field == "since"
    assert "-2h" in str(refused.value) and "-2h" in refused.value.text("sv")


def test_a_cursor_names_the_same_position_when_it_comes_back() -> None:
    """Encoding and decoding a position gives it back, in UTC, as url-safe text."""
    key = PageKey(True, datetime(2026, 11, 30, 12, 0, 1, 5, tzinfo=UTC), "20261130-3")
    text = encode_cursor(key)
    assert text.replace("-", "").replace("_", "").isalnum()
    assert decode_cursor(text) == key


def _b64(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "text",
    [
        "not a cursor",
        "åäö",
        _b64(["x"]),
        _b64({"a": 1, "b": 2, "c": 3}),
        _b64([2, "2026-11-30T12:00:00+00:00", "x"]),
        _b64([0, "2026-11-30T12:00:00", "x"]),  # no offset
        _b64([0, "9999-12-31T23:59:59-14:00", "x"]),  # beyond datetime in UTC
        _b64([0, "2026-11-30T12:00:00+00:00", "a\x00b"]),
        _b64([0, 5, "x"]),
    ],
)
def test_a_cursor_this_code_did_not_make_is_refused(text: str) -> None:
    """Tampered or foreign cursors are an InvalidField naming the cursor, never a crash."""
    with pytest.raises(InvalidField) as refused:
        decode_cursor(text)
    assert refused.value.field == "cursor"


def test_a_page_size_outside_the_served_range_is_refused() -> None:
    """Page sizes from 1 to 1000 are served; 0 and 1001 are refused with the range."""
    assert check_limit(1) == 1 and check_limit(1000) == 1000
    for limit in (0, 1001):
        with pytest.raises(InvalidField, match="between 1 and 1000"):
            check_limit(limit)
