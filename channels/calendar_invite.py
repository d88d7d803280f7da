"""The calendar channel (kind "calendar"): meeting invitations as e-mail with an iCalendar request.

Owns the iCalendar part: a `METHOD:REQUEST` VEVENT whose UID derives from the message id (so a
retried invitation updates the same calendar entry instead of adding a second), DTSTART/DTEND in
the plan's timezone with its VTIMEZONE (UTC times only when the plan's zone is UTC), LOCATION when
the meeting or the channel names one, the organizer with a name (CN), and the recipient as
ATTENDEE. Each recipient's copy names only that recipient as
attendee: the e-mail rule that addresses do not leak between recipients holds for invitations too.
The request goes in twice, as calendar clients expect: as a `text/calendar; method=REQUEST`
alternative of the body and as an `invite.ics` attachment, both base64-encoded so that the CRLF
line endings RFC 5545 demands survive any mail path and the file outbox byte for byte. Sending is
`EmailChannel`'s.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import parseaddr
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
    sender_address,
    text_to_html,
)
from channels.smtp_email import EmailChannel
from engine.definition.channel_settings import ChannelSettings
from engine.errors import PermanentDeliveryError
from engine.ports import Meeting, OutgoingMessage, Recipient

__all__ = ["CalendarChannel", "build_invitation"]

_ICS_PARAMS = {"method": "REQUEST", "charset": "utf-8"}
_LABELS = {
    "sv": {"when": "Tid", "where": "Plats", "none": "meddelas senare"},
    "en": {"when": "Time", "where": "Location", "none": "to be announced"},
}


def _utc(moment: datetime) -> datetime:
    # Stored times are UTC; SQLite hands them back naive, so naive means UTC here.
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name or "Europe/Stockholm")
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def _cal_address(address: str, name: str) -> vCalAddress:
    value = vCalAddress(f"mailto:{address}")
    if name:
        # A double quote would end the quoted CN parameter early.
        value.params["CN"] = vText(clean_header(name).replace('"', "'"))
    return value


def build_invitation(
    message: OutgoingMessage,
    meeting: Meeting,
    *,
    organizer: str,
    attendee: Address,
    location: str,
    timezone: str = "",
    from_name: str = "",
) -> str:
    """The iCalendar text (METHOD:REQUEST, one VEVENT, CRLF line ends) of one invitation.

    `organizer` is the channel's From value; the meeting's own organizer wins when it names one.
    Times are in `timezone` (the plan's) with its VTIMEZONE, which clients need to show a local
    time right across a daylight-saving change; a plan in UTC gets UTC times and no VTIMEZONE.
    """
    zone = _zone(timezone)
    starts = _utc(meeting.starts_at).astimezone(zone)
    ends = _utc(meeting.starts_at + meeting.duration).astimezone(zone)
    calendar = Calendar()
    calendar.add("prodid", "-//driftplan//driftplan//SV")
    calendar.add("version", "2.0")
    calendar.add("method", "REQUEST")
    event = Event()
    domain = envelope_address(organizer).rpartition("@")[2]
    event.add("uid", format_message_id(message.message_id, domain).strip("<>"))
    event.add("dtstamp", _utc(message.created_at))
    event.add("dtstart", starts)
    event.add("dtend", ends)
    event.add("sequence", 0)
    event.add("status", "CONFIRMED")
    event.add("summary", clean_header(meeting.title) or exercise_subject(message))
    event.add("description", message.body_text)
    if location:
        event.add("location", clean_header(location))
    organizer_name, organizer_addr = organizer_parts(meeting, organizer)
    if not organizer_name:
        organizer_name = sender_address(organizer, from_name, message.language).display_name
    event.add("organizer", _cal_address(organizer_addr, organizer_name))
    guest = _cal_address(attendee.addr_spec, attendee.display_name)
    guest.params["ROLE"] = "REQ-PARTICIPANT"
    guest.params["PARTSTAT"] = "NEEDS-ACTION"
    guest.params["RSVP"] = "TRUE"
    event.add("attendee", guest)
    calendar.add_component(event)
    if zone is not UTC:
        # Only the years around the meeting: a VTIMEZONE with every rule since 1970 is long, and
        # the transitions near the meeting are all a client needs.
        calendar.add_missing_timezones(
            first_date=date(starts.year - 1, 1, 1), last_date=date(ends.year + 2, 1, 1)
        )
    ical: bytes = calendar.to_ical()
    return ical.decode("utf-8")


def organizer_parts(meeting: Meeting, mail_from: str) -> tuple[str, str]:
    """(name, address) of the organizer: the meeting's organizer if it gives an address (with
    its name, if any), else its name with our sender address."""
    if "@" in meeting.organizer:
        name, address = parseaddr(clean_header(meeting.organizer))
        return clean_header(name), address or envelope_address(mail_from)
    return clean_header(meeting.organizer), envelope_address(mail_from)


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
        zone = _zone(self.settings.get("timezone", ""))
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
            message,
            meeting,
            organizer=self.mail_from,
            attendee=to,
            location=location,
            timezone=self.settings.get("timezone", ""),
            from_name=self.from_name,
        ).encode("utf-8")
        return build_email(
            message,
            to,
            mail_from=self.mail_from,
            from_name=self.from_name,
            text=text,
            # The invitation's HTML is built from the text so the meeting details are in it too.
            html_body=text_to_html(text, language=message.language),
            parts=[
                Attachment(ical, "calendar", _ICS_PARAMS),
                Attachment(ical, "calendar", _ICS_PARAMS, filename="invite.ics"),
            ],
        )
