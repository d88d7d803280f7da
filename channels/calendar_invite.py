"""The calendar channel (kind "calendar"): meeting invitations as e-mail with an iCalendar request.

Owns the iCalendar part: a `METHOD:REQUEST` VEVENT whose UID derives from the message id (so a
retried invitation updates the same calendar entry instead of adding a second), times in UTC, the
organizer, and the recipient as ATTENDEE. Each recipient's copy names only that recipient as
attendee: the e-mail rule that addresses do not leak between recipients holds for invitations too.
The request goes in twice, as calendar clients expect: as a `text/calendar; method=REQUEST`
alternative of the body and as an `invite.ics` attachment. Sending is `EmailChannel`'s.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from typing import ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import Calendar, Event, vCalAddress, vText

from channels.declarations import BUILTIN_SETTINGS
from channels.mime import (
    Attachment,
    build_email,
    clean_header,
    envelope_address,
    exercise_subject,
    format_message_id,
    text_to_html,
)
from channels.smtp_email import EmailChannel
from engine.definition.channel_settings import ChannelSettings
from engine.errors import PermanentDeliveryError
from engine.ports import Meeting, OutgoingMessage, Recipient

__all__ = ["CalendarChannel", "build_invitation"]

_LABELS = {
    "sv": {"when": "Tid", "where": "Plats", "none": "meddelas senare"},
    "en": {"when": "Time", "where": "Location", "none": "to be announced"},
}


def _utc(moment: datetime) -> datetime:
    # Stored times are UTC; SQLite hands them back naive, so naive means UTC here.
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _cal_address(address: str, name: str) -> vCalAddress:
    value = vCalAddress(f"mailto:{address}")
    if name:
        # A double quote would end the quoted CN parameter early.
        value.params["CN"] = vText(clean_header(name).replace('"', "'"))
    return value


def build_invitation(
    message: OutgoingMessage, meeting: Meeting, *, organizer: str, attendee: Address, location: str
) -> str:
    """The iCalendar text (METHOD:REQUEST, one VEVENT) of one recipient's invitation."""
    calendar = Calendar()
    calendar.add("prodid", "-//driftplan//driftplan//SV")
    calendar.add("version", "2.0")
    calendar.add("method", "REQUEST")
    event = Event()
    event.add("uid", format_message_id(message.message_id).strip("<>"))
    event.add("dtstamp", _utc(message.created_at))
    event.add("dtstart", _utc(meeting.starts_at))
    event.add("dtend", _utc(meeting.starts_at + meeting.duration))
    event.add("sequence", 0)
    event.add("status", "CONFIRMED")
    event.add("summary", clean_header(meeting.title) or exercise_subject(message))
    event.add("description", message.body_text)
    if location:
        event.add("location", location)
    organizer_name, organizer_addr = organizer_parts(meeting, organizer)
    event.add("organizer", _cal_address(organizer_addr, organizer_name))
    guest = _cal_address(attendee.addr_spec, attendee.display_name)
    guest.params["ROLE"] = "REQ-PARTICIPANT"
    guest.params["PARTSTAT"] = "NEEDS-ACTION"
    guest.params["RSVP"] = "TRUE"
    event.add("attendee", guest)
    calendar.add_component(event)
    ical: bytes = calendar.to_ical()
    return ical.decode("utf-8")


def organizer_parts(meeting: Meeting, mail_from: str) -> tuple[str, str]:
    """(name, address) of the organizer: the meeting's organizer if it is an address, else ours."""
    if "@" in meeting.organizer:
        return "", envelope_address(meeting.organizer) or envelope_address(mail_from)
    return meeting.organizer, envelope_address(mail_from)


class CalendarChannel(EmailChannel):
    """Meeting invitations (kind "calendar"); needs `message.meeting`."""

    kind = "calendar"
    settings_spec: ClassVar[ChannelSettings] = BUILTIN_SETTINGS["calendar"]

    def check(self, message: OutgoingMessage) -> None:
        """An invitation without a meeting can never be sent: refuse it as a whole."""
        if message.meeting is None:
            raise PermanentDeliveryError(
                f"Message {message.message_id} on calendar channel '{message.channel}' has no "
                "meeting (time, duration, location); a calendar channel can only send invitations."
            )

    def _local(self, moment: datetime) -> str:
        try:
            zone = ZoneInfo(self.settings.get("timezone", "") or "Europe/Stockholm")
        except (ZoneInfoNotFoundError, ValueError):
            zone = ZoneInfo("UTC")
        return _utc(moment).astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")

    def compose(self, message: OutgoingMessage, recipient: Recipient, to: Address) -> EmailMessage:
        """The e-mail copy with the meeting in words, a calendar alternative and invite.ics."""
        meeting = message.meeting
        assert meeting is not None  # check() ran first
        location = meeting.location or self.settings.get("meeting_location", "")
        labels = _LABELS.get(message.language, _LABELS["sv"])
        ends = meeting.starts_at + meeting.duration
        details = (
            f"{labels['when']}: {self._local(meeting.starts_at)} – {self._local(ends)}\n"
            f"{labels['where']}: {location or labels['none']}\n"
        )
        text = f"{details}\n{message.body_text}"
        ical = build_invitation(
            message, meeting, organizer=self.mail_from, attendee=to, location=location
        )
        return build_email(
            message,
            to,
            mail_from=self.mail_from,
            text=text,
            # The invitation's HTML is built from the text so the meeting details are in it too.
            html_body=text_to_html(text, language=message.language),
            parts=[
                Attachment(ical, "calendar", {"method": "REQUEST"}),
                Attachment(ical, "calendar", {"method": "REQUEST"}, filename="invite.ics"),
            ],
        )
