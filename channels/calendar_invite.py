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

A `clear` message cancels (RFC 5546 §3.2.5): for each meeting in `message.withdrawn`, every
recipient gets a `METHOD:CANCEL` with the invitation's UID, a higher SEQUENCE, STATUS:CANCELLED
and the same time, so calendar clients remove the entry; the message's text says why. One
iTIP object names one UID, so two withdrawn meetings are two cancellations per recipient. The
YAML addresses the clear to the invitation's audience, so the cancellation reaches the invitees.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
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
from engine.domain.model import RecipientStatus
from engine.errors import PermanentDeliveryError
from engine.ports import DeliveryReport, Meeting, OutgoingMessage, Recipient, RecipientResult

__all__ = ["CalendarChannel", "build_invitation"]

_LABELS = {
    "sv": {"when": "Tid", "where": "Plats", "none": "meddelas senare", "cancelled": "INSTÄLLT"},
    "en": {
        "when": "Time",
        "where": "Location",
        "none": "to be announced",
        "cancelled": "CANCELLED",
    },
}
# RFC 5546: an invitation is sequence 0; any later revision of the same UID must count higher.
_CANCEL_SEQUENCE = 1
_WORST = (RecipientStatus.PERMANENT, RecipientStatus.TEMPORARY, RecipientStatus.SENT)


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
    cancels: str = "",
) -> str:
    """The iCalendar text (METHOD:REQUEST, one VEVENT, CRLF line ends) of one invitation.

    `organizer` is the channel's From value; the meeting's own organizer wins when it names one.
    Times are in `timezone` (the plan's) with its VTIMEZONE, which clients need to show a local
    time right across a daylight-saving change; a plan in UTC gets UTC times and no VTIMEZONE.
    With `cancels` (the message id of the invitation), the text is that invitation's
    cancellation instead: METHOD:CANCEL, its UID, a higher SEQUENCE, STATUS:CANCELLED.
    """
    method = "CANCEL" if cancels else "REQUEST"
    zone = _zone(timezone)
    starts = _utc(meeting.starts_at).astimezone(zone)
    ends = _utc(meeting.starts_at + meeting.duration).astimezone(zone)
    calendar = Calendar()
    calendar.add("prodid", "-//driftplan//driftplan//SV")
    calendar.add("version", "2.0")
    calendar.add("method", method)
    event = Event()
    domain = envelope_address(organizer).rpartition("@")[2]
    # The UID comes from the invitation's message id, so its cancellation names the same UID.
    event.add("uid", format_message_id(cancels or message.message_id, domain).strip("<>"))
    event.add("dtstamp", _utc(message.created_at))
    event.add("dtstart", starts)
    event.add("dtend", ends)
    event.add("sequence", _CANCEL_SEQUENCE if cancels else 0)
    event.add("status", "CANCELLED" if cancels else "CONFIRMED")
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
    if not cancels:  # a cancellation asks for no reply
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
        if message.meeting is None and not message.clear:
            raise PermanentDeliveryError(
                f"Message {message.message_id} on calendar channel '{message.channel}' has no "
                "meeting (time, duration, location); a calendar channel can only send invitations."
            )

    def _local(self, moment: datetime) -> str:
        zone = _zone(self.settings.get("timezone", ""))
        return _utc(moment).astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")

    def deliver(self, message: OutgoingMessage) -> DeliveryReport:
        """Send invitations; a `clear` message sends one cancellation per withdrawn meeting
        to each recipient (an address counts as served when all of its copies went)."""
        if not message.clear:
            return super().deliver(message)
        meetings = [w for w in message.withdrawn if w.meeting is not None]
        if not meetings:
            # Nothing this channel sent can be cancelled: nothing to send, and not a failure.
            return DeliveryReport(
                [
                    RecipientResult(r.address, RecipientStatus.SENT, "no meeting to cancel")
                    for r in message.recipients
                ],
                target="(nothing to cancel)",
                live=False,
            )
        if len(meetings) == 1:
            only = meetings[0]
            return super().deliver(replace(message, meeting=only.meeting, withdrawn=(only,)))
        # Several cancellations per address: an address is served only when all of its copies
        # went, so the dispatcher's gate hears of it after the last meeting, not per copy (a
        # crash in between resends cancellations, which are harmless to repeat).
        gate = message.gate
        if gate is not None:
            gate.before_copy()
        reports = []
        for withdrawn in meetings:
            one = replace(message, meeting=withdrawn.meeting, withdrawn=(withdrawn,), gate=None)
            reports.append(super().deliver(one))
        combined = _combined(reports)
        if gate is not None:
            for result in combined.results:
                gate.copied(result)
        return combined

    def compose(self, message: OutgoingMessage, recipient: Recipient, to: Address) -> EmailMessage:
        """The e-mail copy with the meeting in words, a calendar alternative and invite.ics
        (for a `clear`: the cancellation of the one meeting in `message.withdrawn`)."""
        meeting = message.meeting
        assert meeting is not None  # check() ran first; deliver() gives a clear its meeting
        cancels = message.withdrawn[0].message_id if message.clear and message.withdrawn else ""
        location = meeting.location or self.settings.get("meeting_location", "")
        labels = _LABELS.get(message.language, _LABELS["sv"])
        ends = meeting.starts_at + meeting.duration
        details = (
            (f"{labels['cancelled']}: {clean_header(meeting.title)}\n" if cancels else "")
            + f"{labels['when']}: {self._local(meeting.starts_at)} – {self._local(ends)}\n"
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
            cancels=cancels,
        ).encode("utf-8")
        params = {"method": "CANCEL" if cancels else "REQUEST", "charset": "utf-8"}
        return build_email(
            message,
            to,
            mail_from=self.mail_from,
            from_name=self.from_name,
            text=text,
            # The invitation's HTML is built from the text so the meeting details are in it too.
            html_body=text_to_html(text, language=message.language),
            parts=[
                Attachment(ical, "calendar", params),
                Attachment(ical, "calendar", params, filename="invite.ics"),
            ],
        )


def _combined(reports: Sequence[DeliveryReport]) -> DeliveryReport:
    """One report for several sends to the same recipients: per address the worst result, so
    a retry sends again to whoever missed a copy (a repeated cancellation is harmless)."""
    by_address: dict[str, RecipientResult] = {}
    for report in reports:
        for result in report.results:
            known = by_address.get(result.address)
            if known is None or _WORST.index(result.status) < _WORST.index(known.status):
                by_address[result.address] = result
    last = reports[-1]
    return DeliveryReport(list(by_address.values()), target=last.target, live=last.live)
