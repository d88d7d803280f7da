"""What the channels do with a withdrawal (`clear`): news items taken back from the index and the
feed, and crisis-meeting invitations cancelled with iCalendar CANCEL, read by two parsers."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import feedparser
import icalendar
import pytest
import vobject

from channels.calendar_invite import CalendarChannel
from channels.file_outbox import safe_name
from channels.news import NewsChannel
from engine.ports import OutgoingMessage, Recipient
from engine.ports.channels import Withdrawn
from tests.channel_helpers import CREATED, SmtpServer, make_meeting, make_message
from tests.integration.test_output_standards import vnu_command

PUBLIC = "https://gits.example.se/"
ANNA = Recipient("anna@example.se", "Anna Andersson")
BO = Recipient("bo@example.se", "Bo Berg")


def _news(folder: Path) -> NewsChannel:
    return NewsChannel({"publish_dir": str(folder), "base_url": PUBLIC}, data_dir=str(folder))


def _item(message_id: str, incident: str, minutes: int, subject: str) -> OutgoingMessage:
    return make_message(
        channel="website_news",
        kind="news",
        message_id=message_id,
        incident_id=incident,
        created_at=CREATED + timedelta(minutes=minutes),
        subject=subject,
        body_text=f"{subject}: text.",
    )


def test_a_withdrawal_takes_the_incidents_items_off_the_index_and_the_feed(
    tmp_path: Path,
) -> None:
    """After a clear, the news index, entries.json and the Atom feed list the correction and
    other incidents' items, never the mistaken items of the withdrawn incident."""
    news = _news(tmp_path)
    news.deliver(_item("m1@driftplan", "INC-1", 0, "Driftstörning i SAMSA"))
    news.deliver(_item("m2@driftplan", "INC-1", 10, "Lägesuppdatering SAMSA"))
    news.deliver(_item("m3@driftplan", "INC-2", 5, "Annan störning"))
    correction = replace(
        _item("m4@driftplan", "INC-1", 20, "Rättelse: ingen driftstörning"), clear=True
    )

    news.deliver(correction)

    folder = tmp_path / "news"
    feed = feedparser.parse((folder / "feed.atom").read_bytes())
    assert not feed.bozo, feed.get("bozo_exception")
    assert [e.title for e in feed.entries] == ["Rättelse: ingen driftstörning", "Annan störning"]
    index = (folder / "index.html").read_text("utf-8")
    assert "Rättelse: ingen driftstörning" in index and "Annan störning" in index
    assert "Driftstörning i SAMSA" not in index and "Lägesuppdatering" not in index
    listed = json.loads((folder / "entries.json").read_text("utf-8"))["entries"]
    assert [e["message_id"] for e in listed] == ["m4@driftplan", "m3@driftplan"]


def test_an_old_link_to_a_withdrawn_item_shows_the_correction(tmp_path: Path) -> None:
    """The page of a withdrawn item says it was withdrawn and links to the correction; the
    correction's own page stays, and delivering the clear again changes nothing."""
    news = _news(tmp_path)
    news.deliver(_item("m1@driftplan", "INC-1", 0, "Driftstörning i SAMSA"))
    correction = replace(_item("m4@driftplan", "INC-1", 20, "Rättelse"), clear=True)
    news.deliver(correction)
    folder = tmp_path / "news"
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}

    news.deliver(correction)

    old = (folder / f"{safe_name('m1@driftplan')}.html").read_text("utf-8")
    assert "Återkallat: Driftstörning i SAMSA" in old
    assert "Det här meddelandet har återkallats" in old
    page = f"{safe_name('m4@driftplan')}.html"
    assert f'<a href="{page}">Läs rättelsen</a>' in old
    assert "Rättelse: text." in old
    assert "Rättelse" in (folder / page).read_text("utf-8")
    after = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    assert after == before


def test_withdrawn_and_correction_pages_pass_the_nu_html_checker(tmp_path: Path) -> None:
    """The rewritten page of a withdrawn item, the correction and the index are valid HTML."""
    news = _news(tmp_path)
    news.deliver(_item("m1@driftplan", "INC-1", 0, "Driftstörning <i>i</i> SAMSA"))
    news.deliver(replace(_item("m4@driftplan", "INC-1", 20, "Rättelse & mer"), clear=True))
    files = sorted(str(p) for p in (tmp_path / "news").glob("*.html"))
    assert len(files) == 3
    done = subprocess.run(
        [*vnu_command(), "--format", "json", *files],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    messages = json.loads(done.stderr or done.stdout or '{"messages": []}')["messages"]
    problems = [m for m in messages if m.get("type") == "error" or m.get("subType") == "warning"]
    assert problems == [], json.dumps(problems, indent=1, ensure_ascii=False)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


def _calendar_parts(mail: EmailMessage) -> list[bytes]:
    parts = [p for p in mail.walk() if p.get_content_type() == "text/calendar"]
    return [p.get_payload(decode=True) for p in parts]  # type: ignore[misc]


def _invite_then_cancel(smtp: SmtpServer, tmp_path: Path) -> tuple[EmailMessage, EmailMessage]:
    channel = CalendarChannel(smtp.settings(timezone="Europe/Stockholm"), data_dir=str(tmp_path))
    meeting = make_meeting()
    invitation = make_message(
        channel="meeting_invite",
        kind="calendar",
        message_id="invite-1@driftplan",
        meeting=meeting,
        recipients=(ANNA, BO),
    )
    channel.deliver(invitation)
    cancel = make_message(
        channel="meeting_invite",
        kind="calendar",
        message_id="cancel-1@driftplan",
        created_at=CREATED + timedelta(minutes=10),
        subject="Rättelse: ingen driftstörning i SAMSA",
        body_text="Anmälan var ett misstag.",
        clear=True,
        recipients=(ANNA, BO),
        withdrawn=(Withdrawn("invite-1@driftplan", CREATED, (ANNA, BO), meeting),),
    )
    report = channel.deliver(cancel)
    channel.close()
    assert [r.status for r in report.results] == ["sent", "sent"]
    received = [r.message for r in smtp.received]
    assert len(received) == 4
    first = next(m for m in received[:2] if "anna@" in str(m["To"]))
    second = next(m for m in received[2:] if "anna@" in str(m["To"]))
    return first, second


def test_a_withdrawal_cancels_the_invitation_for_icalendar_and_vobject(
    smtp: SmtpServer, tmp_path: Path
) -> None:
    """The cancellation is METHOD:CANCEL with the invitation's UID, a higher SEQUENCE,
    STATUS:CANCELLED, the same time and the same attendee, and both parsers read it so."""
    invitation, cancellation = _invite_then_cancel(smtp, tmp_path)
    [request, _] = _calendar_parts(invitation)
    raw, attached = _calendar_parts(cancellation)
    assert raw == attached and raw.endswith(b"\r\n") and raw.count(b"\r\n") == raw.count(b"\n")
    calendar_part = next(p for p in cancellation.walk() if p.get_content_type() == "text/calendar")
    assert calendar_part.get_param("method") == "CANCEL"
    before = icalendar.Calendar.from_ical(request).walk("VEVENT")[0]
    parsed = icalendar.Calendar.from_ical(raw)
    after = parsed.walk("VEVENT")[0]
    assert str(parsed["METHOD"]) == "CANCEL"
    assert str(after["UID"]) == str(before["UID"])
    assert int(after["SEQUENCE"]) > int(before["SEQUENCE"])
    assert str(after["STATUS"]) == "CANCELLED"
    assert after["DTSTART"].dt == before["DTSTART"].dt
    assert str(after["ATTENDEE"]) == str(before["ATTENDEE"]) == "mailto:anna@example.se"
    card = vobject.readOne(raw.decode("utf-8"))
    assert card.method.value == "CANCEL"
    assert card.vevent.uid.value == str(before["UID"])
    assert int(card.vevent.sequence.value) == 1
    assert card.vevent.status.value == "CANCELLED"
    assert card.vevent.attendee.value == "mailto:anna@example.se"
    body = cancellation.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "INSTÄLLT: Krismöte SAMSA" in text and "Anmälan var ett misstag." in text


def test_each_withdrawn_meeting_gets_its_own_cancellation(smtp: SmtpServer, tmp_path: Path) -> None:
    """Two withdrawn invitations are two CANCELs per recipient, each with its own UID (one
    iTIP object names one UID)."""
    channel = CalendarChannel(smtp.settings(), data_dir=str(tmp_path))
    meeting = make_meeting()
    cancel = make_message(
        channel="meeting_invite",
        kind="calendar",
        clear=True,
        recipients=(ANNA,),
        withdrawn=(
            Withdrawn("invite-1@driftplan", CREATED, (ANNA,), meeting),
            Withdrawn("note@driftplan", CREATED, (ANNA,), None),  # no meeting: nothing to cancel
            Withdrawn("invite-2@driftplan", CREATED, (ANNA,), make_meeting(title="Nytt möte")),
        ),
    )
    report = channel.deliver(cancel)
    channel.close()
    assert [r.status for r in report.results] == ["sent"]
    uids = set()
    for got in smtp.received:
        [raw, _] = _calendar_parts(got.message)
        event = icalendar.Calendar.from_ical(raw).walk("VEVENT")[0]
        uids.add(str(event["UID"]))
    assert len(smtp.received) == 2 and len(uids) == 2


def test_a_clear_with_no_meeting_to_cancel_sends_nothing(smtp: SmtpServer, tmp_path: Path) -> None:
    """A calendar clear whose incident had no invitation sends no mail and is not a failure."""
    channel = CalendarChannel(smtp.settings(), data_dir=str(tmp_path))
    report = channel.deliver(
        make_message(channel="meeting_invite", kind="calendar", clear=True, recipients=(ANNA,))
    )
    channel.close()
    assert [(r.status, r.detail) for r in report.results] == [("sent", "no meeting to cancel")]
    assert smtp.received == []


@pytest.mark.parametrize(
    ("meeting_location", "setting", "shown"),
    [
        ("Telefonkonferens 08-123 456, kod 789", "", "Telefonkonferens 08-123 456, kod 789"),
        ("", "https://meet.example.se/samsa", "https://meet.example.se/samsa"),
    ],
)
def test_a_known_place_is_named_and_never_to_be_announced(
    smtp: SmtpServer, tmp_path: Path, meeting_location: str, setting: str, shown: str
) -> None:
    """The incident's place, else the channel's `meeting_location`, is in the body and in
    LOCATION; "meddelas senare" is not sent when either is known."""
    channel = CalendarChannel(smtp.settings(meeting_location=setting), data_dir=str(tmp_path))
    meeting = make_meeting(location=meeting_location)
    channel.deliver(make_message(kind="calendar", meeting=meeting))
    channel.close()
    mail = smtp.received[-1].message
    body = mail.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert f"Plats: {shown}" in text and "meddelas senare" not in text
    [raw, _] = _calendar_parts(mail)
    assert str(icalendar.Calendar.from_ical(raw).walk("VEVENT")[0]["LOCATION"]) == shown
