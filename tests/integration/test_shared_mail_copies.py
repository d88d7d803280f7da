"""Copies of one e-mail share one serialised message, yet each arrives as its own full copy.

The e-mail channel serialises a message once and prepends each copy's `To` line (the dispatcher
hands it one recipient per call, so the serialised message is kept between calls). These tests
send through a real aiosmtpd server, one recipient per `deliver` as the dispatcher does, and
compare what arrived with the copy `channels.mime.build_email` (or the channel's own `compose`)
makes for that recipient: the same headers, To and Message-ID included, and the same bodies.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from icalendar import Calendar

from channels.calendar_invite import CalendarChannel
from channels.mime import build_email, recipient_address
from channels.newsletter import NewsletterChannel
from channels.smtp_email import EmailChannel
from engine.ports import OutgoingMessage, Recipient
from tests.channel_helpers import SmtpServer, make_meeting, make_message, parse_mail

PEOPLE = (
    Recipient("anna@example.se", "Anna Andersson"),
    Recipient("asa@example.se", "Åsa Öberg-Lindqvist"),  # RFC 2047-encoded in To
    Recipient("bo@example.se", 'Bo "Bosse", IT'),  # quoted in To
    Recipient("lang@example.se", "Förvaltningen för digitala tjänster " * 4),  # a long To
    Recipient("ingen@example.se"),  # no name
)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


def one_at_a_time(channel: EmailChannel, message: OutgoingMessage) -> None:
    """Deliver like the dispatcher: one recipient per call, the same message otherwise."""
    for person in message.recipients:
        report = channel.deliver(replace(message, recipients=[person]))
        assert [r.status for r in report.results] == ["sent"]


def headers(mail: EmailMessage) -> list[tuple[str, str]]:
    """Every header but To as parsed (decoded) text, in name order; MIME boundaries are
    random. (To is compared as an address: see `assert_same_mail`.)"""
    return sorted(
        (name.lower(), re.sub(r'boundary="[^"]*"', "boundary", str(value)))
        for name, value in mail.items()
        if name.lower() != "to"
    )


def bodies(mail: EmailMessage) -> list[tuple[str, str]]:
    """The content type and decoded content of every leaf part, in order."""
    return [
        (part.get_content_type(), str(part.get_content()))
        for part in mail.walk()
        if not part.is_multipart()
    ]


def assert_same_mail(got: EmailMessage, built: EmailMessage) -> None:
    """`got` is `built` as it arrives when sent whole (what the channel did per recipient)."""
    expected = parse_mail(built.as_bytes(policy=policy.SMTP))
    assert headers(got) == headers(expected)
    assert len(got.get_all("To", [])) == 1
    [address] = got["To"].addresses
    # The address the copy was built for, name and all (a folded long name used to come out
    # of a reader with stray spaces: see `channels.smtp_email.to_header`).
    assert (address.display_name, address.addr_spec) == (
        built["To"].addresses[0].display_name,
        built["To"].addresses[0].addr_spec,
    )
    assert bodies(got) == bodies(expected)


def test_plain_copies_parse_as_the_per_recipient_build(smtp: SmtpServer, tmp_path: Path) -> None:
    """Each plain copy has the recipient's own To (encoded, quoted or folded as needed) and
    otherwise the same headers and bodies as a copy built for that recipient alone."""
    channel = EmailChannel(smtp.settings(from_name="SAMSA drift"), data_dir=str(tmp_path))
    message = make_message(recipients=PEOPLE, body_html="<p>SAMSA &amp; <b>Cosmic</b></p>")
    one_at_a_time(channel, message)
    channel.close()

    assert [r.rcpt_tos for r in smtp.received] == [[p.address] for p in PEOPLE]
    for person, got in zip(PEOPLE, smtp.received, strict=True):
        expected = build_email(
            message,
            recipient_address(person),
            mail_from=channel.mail_from,
            from_name="SAMSA drift",
        )
        mail = got.message
        assert_same_mail(mail, expected)
        assert mail["To"].addresses[0].display_name == " ".join(person.name.split())
        assert mail["To"].addresses[0].addr_spec == person.address
        assert mail["Message-ID"] == "<m-0001@driftplan.test>"
        # On the wire, no line is longer than SMTP allows and every line ends in CRLF.
        lines = got.data.split(b"\r\n")
        assert all(len(line) <= 998 and b"\n" not in line for line in lines)


def test_another_message_is_not_sent_with_the_previous_body(
    smtp: SmtpServer, tmp_path: Path
) -> None:
    """The kept serialisation serves only the same message: a new message or a retry with new
    text on the same channel arrives with its own subject, body and Message-ID."""
    channel = EmailChannel(smtp.settings(), data_dir=str(tmp_path))
    first = make_message(recipients=PEOPLE[:2])
    second = make_message(
        message_id="m-0002@driftplan.test", subject="Åtgärdat", recipients=PEOPLE[:2]
    )
    edited = replace(second, body_text="Ny text.")
    for message in (first, second, edited):
        one_at_a_time(channel, message)
    channel.close()

    got = [r.message for r in smtp.received]
    assert [m["Message-ID"] for m in got] == ["<m-0001@driftplan.test>"] * 2 + [
        "<m-0002@driftplan.test>"
    ] * 4
    assert [m["Subject"] for m in got[2:]] == ["Åtgärdat"] * 4
    texts = [m.get_body(preferencelist=("plain",)) for m in got]
    assert all(t is not None for t in texts)
    assert ["Ny text." in str(t.get_content()) for t in texts if t is not None] == [False] * 4 + [
        True
    ] * 2


def test_newsletter_copies_stay_per_subscriber(smtp: SmtpServer, tmp_path: Path) -> None:
    """Newsletter copies are composed per subscriber: each carries its own unsubscribe link
    (List-Unsubscribe and bodies) exactly as the channel composes it for that subscriber."""
    subscribers = tuple(
        replace(p, unsubscribe_url=f"https://samsa.example.se/u/{n}")
        for n, p in enumerate(PEOPLE[:3])
    )
    channel = NewsletterChannel(smtp.settings(), data_dir=str(tmp_path))
    message = make_message(channel="subscribers", recipients=subscribers)
    one_at_a_time(channel, message)
    channel.close()

    for n, (person, got) in enumerate(zip(subscribers, smtp.received, strict=True)):
        expected = channel.compose(message, person, recipient_address(person))
        assert_same_mail(got.message, expected)
        assert got.message["List-Unsubscribe"] == f"<https://samsa.example.se/u/{n}>"


def test_calendar_copies_stay_per_attendee(smtp: SmtpServer, tmp_path: Path) -> None:
    """Calendar copies are composed per attendee: each invitation names only its attendee."""
    channel = CalendarChannel(smtp.settings(), data_dir=str(tmp_path))
    message = make_message(channel="council_invite", meeting=make_meeting(), recipients=PEOPLE[:2])
    one_at_a_time(channel, message)
    channel.close()

    for person, got in zip(PEOPLE[:2], smtp.received, strict=True):
        ics = next(p for p in got.message.iter_attachments() if p.get_filename() == "invite.ics")
        [event] = Calendar.from_ical(ics.get_content()).walk("VEVENT")
        assert str(event["ATTENDEE"]) == f"mailto:{person.address}"
