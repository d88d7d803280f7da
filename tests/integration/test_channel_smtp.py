"""The mail channels (email, newsletter, calendar) against a real SMTP server on loopback."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from icalendar import Calendar

from channels.calendar_invite import CalendarChannel
from channels.newsletter import NewsletterChannel
from channels.smtp_email import EmailChannel
from engine.errors import PermanentDeliveryError, TemporaryDeliveryError
from engine.ports import Recipient
from tests.channel_helpers import SmtpServer, make_meeting, make_message, walk_types


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


def test_email_arrives_with_headers_and_both_bodies(smtp: SmtpServer, tmp_path: Path) -> None:
    """An e-mail arrives with From, To, Reply-To, Message-ID, incident header, text and HTML."""
    channel = EmailChannel(smtp.settings(), data_dir=str(tmp_path))
    report = channel.deliver(make_message())
    channel.close()

    assert report.live and report.target == f"smtp://127.0.0.1:{smtp.port}"
    assert [(r.address, r.status) for r in report.results] == [("anna@example.se", "sent")]
    [got] = smtp.received
    assert got.mail_from == "drift@samsa.example.se"
    assert got.rcpt_tos == ["anna@example.se"]
    mail = got.message
    assert mail["From"].addresses[0].addr_spec == "drift@samsa.example.se"
    assert str(mail["To"]) == "Anna Andersson <anna@example.se>"
    assert str(mail["Reply-To"]) == "samsa-drift@example.se"
    assert mail["Message-ID"] == "<m-0001@driftplan.test>"
    assert mail["X-Driftplan-Incident"] == "INC-42"
    assert mail["Subject"] == "Driftstörning i SAMSA"
    assert mail["Date"].datetime == datetime(2025, 3, 4, 8, 30, tzinfo=UTC)
    assert mail.get_content_type() == "multipart/alternative"
    text = mail.get_body(preferencelist=("plain",))
    rich = mail.get_body(preferencelist=("html",))
    assert text is not None and "Nästa uppdatering senast 09:30." in text.get_content()
    assert rich is not None and "<p>Nästa uppdatering senast 09:30.</p>" in rich.get_content()


def test_one_copy_per_recipient_over_one_connection(smtp: SmtpServer, tmp_path: Path) -> None:
    """Three messages to two people are six copies, each naming one recipient, on one connection."""
    channel = EmailChannel(smtp.settings(), data_dir=str(tmp_path))
    people = (Recipient("anna@example.se", "Anna"), Recipient("bo@example.se", "Bo"))
    for n in range(3):
        channel.deliver(make_message(message_id=f"m-{n}@driftplan.test", recipients=people))
    channel.close()

    assert len(smtp.received) == 6
    for got in smtp.received:
        assert len(got.rcpt_tos) == 1
        assert str(got.message["To"]).endswith(f"<{got.rcpt_tos[0]}>")
    assert smtp.connections == 1


def test_reconnects_after_the_server_dropped_an_idle_connection(tmp_path: Path) -> None:
    """When the server closed the pooled connection, the next message goes out on a new one."""
    server = SmtpServer(idle_timeout=0.3).start()
    try:
        channel = EmailChannel(server.settings(), data_dir=str(tmp_path))
        channel.deliver(make_message(message_id="a@driftplan.test"))
        time.sleep(0.8)
        report = channel.deliver(make_message(message_id="b@driftplan.test"))
        channel.close()
    finally:
        server.stop()
    assert [r.status for r in report.results] == ["sent"]
    assert len(server.received) == 2 and server.connections == 2


def test_4xx_and_5xx_replies_are_reported_per_recipient(smtp: SmtpServer, tmp_path: Path) -> None:
    """451 is temporary and 550 permanent for that recipient only; the others still get the mail."""
    smtp.handler.replies["later@example.se"] = "451 4.3.0 Try again later"
    smtp.handler.replies["nobody@example.se"] = "550 5.1.1 No such user"
    addresses = ("anna@example.se", "later@example.se", "nobody@example.se", "bo@example.se")
    people = tuple(Recipient(a) for a in addresses)
    channel = EmailChannel(smtp.settings(), data_dir=str(tmp_path))
    report = channel.deliver(make_message(recipients=people))
    channel.close()

    assert [(r.address, r.status) for r in report.results] == [
        ("anna@example.se", "sent"),
        ("later@example.se", "temporary"),
        ("nobody@example.se", "permanent"),
        ("bo@example.se", "sent"),
    ]
    assert report.results[1].detail.startswith("451")
    assert report.results[2].detail.startswith("550")
    assert sorted(r.rcpt_tos[0] for r in smtp.received) == ["anna@example.se", "bo@example.se"]


def test_unreachable_server_is_a_temporary_failure(tmp_path: Path) -> None:
    """With the server stopped, delivery raises TemporaryDeliveryError: nothing was sent."""
    server = SmtpServer().start()
    server.stop()
    channel = EmailChannel(server.settings(timeout="2"), data_dir=str(tmp_path))
    with pytest.raises(TemporaryDeliveryError, match="SMTP server unavailable"):
        channel.deliver(make_message())
    channel.close()


def test_connection_lost_midway_leaves_the_rest_temporary(smtp: SmtpServer, tmp_path: Path) -> None:
    """When the server drops mid-delivery, the delivered stay sent and the rest are temporary."""
    smtp.handler.replies["drop@example.se"] = "DROP"
    addresses = ("anna@example.se", "drop@example.se", "bo@example.se")
    channel = EmailChannel(smtp.settings(), data_dir=str(tmp_path))
    report = channel.deliver(make_message(recipients=tuple(Recipient(a) for a in addresses)))
    channel.close()
    assert [(r.address, r.status) for r in report.results] == [
        ("anna@example.se", "sent"),
        ("drop@example.se", "temporary"),
        ("bo@example.se", "temporary"),
    ]
    assert [r.rcpt_tos for r in smtp.received] == [["anna@example.se"]]


def test_invalid_address_is_permanent_and_not_sent(smtp: SmtpServer, tmp_path: Path) -> None:
    """An address with a line break or without a domain fails permanently; others are delivered."""
    people = (
        Recipient("anna@example.se"),
        Recipient("evil@example.se\r\nRCPT TO:<victim@example.se>"),
        Recipient("no-domain"),
    )
    channel = EmailChannel(smtp.settings(), data_dir=str(tmp_path))
    report = channel.deliver(make_message(recipients=people))
    channel.close()
    assert [r.status for r in report.results] == ["sent", "permanent", "permanent"]
    assert [r.rcpt_tos for r in smtp.received] == [["anna@example.se"]]


def test_crlf_in_subject_and_names_adds_no_header_or_recipient(
    smtp: SmtpServer, tmp_path: Path
) -> None:
    """Line breaks in subject and display names never create headers or recipients."""
    message = make_message(
        subject="Störning\r\nBcc: thief@evil.example\r\nX-Injected: yes",
        recipients=(
            Recipient("anna@example.se", "Anna\r\nBcc: thief@evil.example\nCc: x@evil.example"),
        ),
        reply_to="samsa-drift@example.se\r\nBcc: thief@evil.example",
    )
    channel = EmailChannel(smtp.settings(), data_dir=str(tmp_path))
    report = channel.deliver(message)
    channel.close()

    assert [r.status for r in report.results] == ["sent"]
    [got] = smtp.received
    assert got.rcpt_tos == ["anna@example.se"]
    mail = got.message
    assert mail["Bcc"] is None and mail["Cc"] is None and mail["X-Injected"] is None
    head = got.data.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
    names = {line.split(":", 1)[0] for line in head.split("\r\n") if not line[:1].isspace()}
    assert names <= {
        *("From", "To", "Subject", "Date", "Message-ID", "Reply-To", "X-Driftplan-Incident"),
        *("X-Driftplan-Channel", "Content-Language", "Auto-Submitted", "MIME-Version"),
        *("Content-Type", "X-Peer", "X-MailFrom", "X-RcptTo"),
    }
    assert str(mail["Reply-To"]).startswith("samsa-drift@example.se")
    assert "\n" not in mail["Subject"]
    assert [a.addr_spec for a in mail["To"].addresses] == ["anna@example.se"]


def test_exercise_subject_is_marked_once(smtp: SmtpServer, tmp_path: Path) -> None:
    """An exercise is marked ÖVNING exactly once, and carries the exercise header."""
    channel = EmailChannel(smtp.settings(), data_dir=str(tmp_path))
    channel.deliver(make_message(message_id="x1@t", exercise=True, subject="ÖVNING: Störning"))
    channel.deliver(make_message(message_id="x2@t", exercise=True, subject="Störning"))
    channel.close()
    subjects = [r.message["Subject"] for r in smtp.received]
    assert subjects == ["ÖVNING: Störning", "ÖVNING: Störning"]
    assert all(r.message["X-Driftplan-Exercise"] == "yes" for r in smtp.received)


def test_newsletter_has_one_click_unsubscribe_per_subscriber(
    smtp: SmtpServer, tmp_path: Path
) -> None:
    """Each subscriber gets their own unsubscribe link in both bodies and RFC 8058 headers."""
    subscribers = (
        Recipient("a@example.se", unsubscribe_url="https://samsa.example.se/u/aaa"),
        Recipient("b@example.se", unsubscribe_url="https://samsa.example.se/u/bbb"),
        Recipient("c@example.se"),
    )
    channel = NewsletterChannel(smtp.settings(), data_dir=str(tmp_path))
    report = channel.deliver(make_message(channel="subscribers", recipients=subscribers))
    channel.close()

    assert [r.status for r in report.results] == ["sent", "sent", "permanent"]
    assert "unsubscribe" in report.results[2].detail
    by_rcpt = {r.rcpt_tos[0]: r.message for r in smtp.received}
    assert set(by_rcpt) == {"a@example.se", "b@example.se"}
    for address, token in (("a@example.se", "aaa"), ("b@example.se", "bbb")):
        mail = by_rcpt[address]
        url = f"https://samsa.example.se/u/{token}"
        assert mail["List-Unsubscribe"] == f"<{url}>"
        assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert mail["List-Id"] == "<subscribers.samsa.example.se>"
        text = mail.get_body(preferencelist=("plain",))
        rich = mail.get_body(preferencelist=("html",))
        assert text is not None and f"Avsluta prenumerationen: {url}" in text.get_content()
        assert (
            rich is not None
            and f'<a href="{url}">Avsluta prenumerationen</a>' in rich.get_content()
        )
    assert "bbb" not in by_rcpt["a@example.se"].as_string()


def test_calendar_invitation_carries_a_request(smtp: SmtpServer, tmp_path: Path) -> None:
    """The invitation has a text/calendar REQUEST alternative and an invite.ics that parses."""
    channel = CalendarChannel(smtp.settings(), data_dir=str(tmp_path))
    message = make_message(
        channel="council_invite",
        meeting=make_meeting(),
        recipients=(Recipient("chair@example.se", "Ordförande"), Recipient("vice@example.se")),
    )
    report = channel.deliver(message)
    channel.deliver(message)  # a retry must describe the same calendar entry
    channel.close()

    assert [r.status for r in report.results] == ["sent", "sent"]
    first = smtp.received[0].message
    assert "text/calendar" in list(walk_types(first))
    inline = [
        p for p in first.walk() if p.get_content_type() == "text/calendar" and not p.get_filename()
    ]
    assert inline and inline[0].get_param("method") == "REQUEST"
    [attachment] = [p for p in first.iter_attachments() if p.get_filename() == "invite.ics"]
    calendar = Calendar.from_ical(attachment.get_content())
    assert str(calendar["METHOD"]) == "REQUEST"
    [event] = calendar.walk("VEVENT")
    assert str(event["UID"]) == "m-0001@driftplan.test"
    assert event.decoded("DTSTART") == datetime(2025, 3, 4, 9, 30, tzinfo=UTC)
    assert event.decoded("DTEND") == datetime(2025, 3, 4, 10, 15, tzinfo=UTC)
    assert str(event["SUMMARY"]) == "Krismöte SAMSA"
    assert str(event["LOCATION"]) == "https://meet.example.se/samsa-kris"
    assert "Nästa uppdatering" in str(event["DESCRIPTION"])
    assert str(event["ORGANIZER"]) == "mailto:drift@samsa.example.se"
    assert str(event["ATTENDEE"]) == "mailto:chair@example.se"  # only this recipient
    uids = set()
    for got in smtp.received:
        ics = next(p for p in got.message.iter_attachments() if p.get_filename() == "invite.ics")
        uids.add(str(Calendar.from_ical(ics.get_content()).walk("VEVENT")[0]["UID"]))
    assert uids == {"m-0001@driftplan.test"}
    text = first.get_body(preferencelist=("plain",))
    assert text is not None and "Tid: 2025-03-04 10:30 CET" in text.get_content()


def test_calendar_without_meeting_is_permanent(smtp: SmtpServer, tmp_path: Path) -> None:
    """A calendar message without a meeting fails as a whole, permanently, and sends nothing."""
    channel = CalendarChannel(smtp.settings(), data_dir=str(tmp_path))
    with pytest.raises(PermanentDeliveryError, match="no meeting"):
        channel.deliver(make_message(channel="council_invite"))
    channel.close()
    assert smtp.received == []


def test_calendar_location_falls_back_to_setting(smtp: SmtpServer, tmp_path: Path) -> None:
    """Without a meeting location, the channel's meeting_location setting is used."""
    channel = CalendarChannel(
        smtp.settings(meeting_location="Telefon 010-123 45 67, kod 1234"), data_dir=str(tmp_path)
    )
    channel.deliver(make_message(meeting=make_meeting(location="")))
    channel.close()
    ics = next(p for p in smtp.received[0].message.iter_attachments())
    event = Calendar.from_ical(ics.get_content()).walk("VEVENT")[0]
    assert str(event["LOCATION"]) == "Telefon 010-123 45 67, kod 1234"
