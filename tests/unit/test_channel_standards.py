"""The header and time rules behind the output standards of issue #11, one rule per test."""

from __future__ import annotations

import email
from datetime import UTC, datetime, timedelta, timezone
from email import policy

import pytest

from channels.calendar_invite import organizer_parts
from channels.mime import (
    Attachment,
    build_email,
    format_message_id,
    html_datetime,
    recipient_address,
    sender_address,
)
from channels.newsletter import check_unsubscribe_url
from engine.ports import Recipient
from tests.channel_helpers import make_meeting, make_message


def test_html_datetime_has_at_most_milliseconds_in_utc() -> None:
    """Stored microseconds and other offsets become UTC with three fraction digits."""
    moment = datetime(2025, 3, 4, 9, 30, 0, 123456, tzinfo=timezone(timedelta(hours=1)))
    assert html_datetime(moment) == "2025-03-04T08:30:00.123Z"
    assert html_datetime("2025-03-04T08:30:00+00:00") == "2025-03-04T08:30:00.000Z"
    assert html_datetime(datetime(2025, 3, 4, 8, 30)) == "2025-03-04T08:30:00.000Z"  # naive = UTC


@pytest.mark.parametrize(
    ("stored", "domain", "expected"),
    [
        ("abc@driftplan", "samsa.example.se", "<abc@samsa.example.se>"),
        ("abc", "samsa.example.se", "<abc@samsa.example.se>"),
        ("abc@driftplan.test", "samsa.example.se", "<abc@driftplan.test>"),
        ("abc@driftplan", "localhost", "<abc@driftplan>"),
        ("abc@driftplan", "", "<abc@driftplan>"),
    ],
)
def test_message_id_moves_to_the_senders_real_domain(
    stored: str, domain: str, expected: str
) -> None:
    """A placeholder or missing domain takes the sender's dotted domain; a real one is kept."""
    assert format_message_id(stored, domain) == expected


def test_sender_name_comes_from_setting_then_address_then_default() -> None:
    """The From display name is the channel's `from_name`, else the one in `mail_from`, else a
    neutral name in the message's language; the address is always `mail_from`'s."""
    assert sender_address("Drift <d@x.se>", "SAMSA").display_name == "SAMSA"
    assert sender_address("Drift <d@x.se>").display_name == "Drift"
    assert str(sender_address("d@x.se", language="sv")) == "Driftinformation <d@x.se>"
    assert sender_address("d@x.se", language="en").display_name == "Service information"
    assert sender_address("d@x.se", "Ond\r\nBcc: x@y.se").display_name == "Ond Bcc: x@y.se"


def test_content_language_survives_attachments() -> None:
    """Content-Language stays a header of the whole message also when it becomes multipart/mixed
    (the email package moves Content-* headers into the first part otherwise)."""
    message = make_message(language="sv")
    built = build_email(
        message,
        recipient_address(Recipient("a@example.se")),
        mail_from="d@x.se",
        parts=[Attachment(b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "calendar", {}, "a.ics")],
    )
    parsed = email.message_from_bytes(built.as_bytes(), policy=policy.default)
    assert parsed.get_content_type() == "multipart/mixed"
    assert str(parsed["Content-Language"]) == "sv"
    attachment = next(parsed.iter_attachments())
    assert attachment.get_payload(decode=True) == b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://samsa.example.se/unsubscribe/t", True),
        ("http://127.0.0.1:8000/unsubscribe/t", True),
        ("http://localhost:8080/unsubscribe/t", True),
        ("http://[::1]:8000/unsubscribe/t", True),
        ("http://samsa.example.se/unsubscribe/t", False),
        ("ftp://samsa.example.se/t", False),
        ("https://samsa.example.se/a b", False),
    ],
)
def test_unsubscribe_links_are_https_off_this_machine(url: str, ok: bool) -> None:
    """Only https unsubscribe links are used, plain http only for loopback development."""
    if ok:
        assert check_unsubscribe_url(url) == url
    else:
        with pytest.raises(ValueError, match="unsubscribe URL"):
            check_unsubscribe_url(url)


def test_organizer_keeps_the_name_given_with_its_address() -> None:
    """ "Name <address>" as a meeting's organizer gives both; a bare name uses our address."""
    named = make_meeting(organizer="GITS Operativ förvaltning <gits@example.se>")
    assert organizer_parts(named, "d@x.se") == ("GITS Operativ förvaltning", "gits@example.se")
    assert organizer_parts(make_meeting(), "Drift <d@x.se>") == ("Driftledningen", "d@x.se")
    assert make_meeting().starts_at.tzinfo is UTC
