"""Building e-mail messages: the one place that turns an `OutgoingMessage` into MIME.

Owns header hygiene (no CR/LF can ever reach a header, so operator text cannot add a header or a
recipient), address validation, the Message-ID rule, and the text/HTML bodies. The e-mail,
newsletter and calendar channels all build their mail here and differ only in the extra headers,
body additions and attachments they pass in.

Message-ID rule: every recipient's copy carries the same `<message_id>`. The copies are the same
message (like one mail with many `To:` addresses), the id is stable across retries, and a shared
mailbox that receives two copies can drop the duplicate.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from engine.ports import OutgoingMessage, Recipient

__all__ = [
    "Attachment",
    "build_email",
    "clean_header",
    "clean_text",
    "envelope_address",
    "exercise_subject",
    "format_message_id",
    "html_datetime",
    "insert_html",
    "paragraphs_html",
    "recipient_address",
    "recipient_parts",
    "sender_address",
    "text_to_html",
]

# Every character that some mail or HTTP stack treats as a line break, plus other C0/C1 controls:
# replacing them by spaces means no header can ever be split into two.
_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_ADDR_SPEC = re.compile(r"^[^\s@<>()\[\],;:\"\\]+@[^\s@<>()\[\],;:\"\\]+\.[^\s@<>()\[\],;:\"\\]+$")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
# Characters XML 1.0 forbids (lxml and feedgen refuse them) and the bidi controls that make text
# display differently from how it reads ("unicode tricks" in notices shown to the public).
_UNPRINTABLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff\u202a-\u202e\u2066-\u2069]"
)
EXERCISE_MARK = "ÖVNING"
# The From display name when neither the channel's `from_name` nor `mail_from` gives one: mail
# from a bare address looks like spam to people and to filters (issue #11).
DEFAULT_SENDER_NAME = {"sv": "Driftinformation", "en": "Service information"}


@dataclass(frozen=True)
class Attachment:
    """A text part for `build_email`: inline alternative (calendar) or attachment (invite.ics)."""

    content: str | bytes  # bytes go base64-encoded, byte for byte (iCalendar's CRLF survives)
    subtype: str  # text/<subtype>
    params: Mapping[str, str]
    filename: str = ""  # empty: an alternative body part; set: a downloadable attachment


def clean_header(value: str) -> str:
    """`value` as a single header line: line breaks and control characters become spaces."""
    return " ".join(_BREAKS.sub(" ", value).split())


def clean_text(value: str) -> str:
    """Multi-line text safe for XML and HTML: unusable characters dropped, line ends normalised."""
    unified = value.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n")
    return _UNPRINTABLE.sub("", unified.replace("\u2029", "\n\n"))


def paragraphs_html(text: str) -> str:
    """Escaped `<p>` elements: blank lines split paragraphs, single line breaks become `<br>`."""
    paragraphs = [p.strip() for p in _PARAGRAPH_BREAK.split(clean_text(text)) if p.strip()]
    return "\n".join(
        "<p>" + "<br>\n".join(html.escape(line) for line in p.split("\n")) + "</p>"
        for p in paragraphs
    )


def html_datetime(value: datetime | str) -> str:
    """A `<time datetime>` value: UTC with at most millisecond precision, as HTML requires
    (the W3C checker refuses the microseconds `isoformat` gives)."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return _aware(moment).astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def format_message_id(message_id: str, domain: str = "") -> str:
    """`<message_id>` on a real domain: a stored id without one, or with a dotless placeholder
    such as "@driftplan", takes `domain` (the sender's); without `domain` it is kept as it is.

    Receivers and spam filters expect the right-hand side to be a domain the sender controls;
    the local part stays the stored id, so every copy and every retry keeps the same id.
    """
    bare = clean_header(message_id).strip("<> ").replace(" ", "")
    local, at, right = bare.rpartition("@")
    if not at:
        local, right = bare, ""
    domain = clean_header(domain).strip("<>@ ").lower()
    if domain and "." in domain and "." not in right:
        right = domain
    return f"<{local}@{right or 'driftplan'}>"


def sender_address(mail_from: str, from_name: str = "", language: str = "sv") -> Address:
    """The From address: `from_name` (the channel setting) if set, else the display name in
    `mail_from`, else a neutral name in the message's language."""
    name, addr = parseaddr(clean_header(mail_from))
    shown = clean_header(from_name) or clean_header(name)
    shown = shown or DEFAULT_SENDER_NAME.get(language, DEFAULT_SENDER_NAME["sv"])
    username, _, domain = addr.rpartition("@")
    return Address(display_name=shown, username=username, domain=domain)


def recipient_address(recipient: Recipient) -> Address:
    """The `To` address of one recipient; `ValueError` when the address cannot be used.

    Only plain ASCII addresses are accepted: anything else needs SMTPUTF8, which we do not assume
    servers offer, and a clear refusal beats a garbled address.
    """
    name, addr = recipient_parts(recipient)
    return Address(display_name=name, addr_spec=addr)


def recipient_parts(recipient: Recipient) -> tuple[str, str]:
    """(display name, address) of one recipient, checked as `recipient_address` checks them,
    without building an `Address` (whose parser is costly once per copy of a large fan-out)."""
    addr = recipient.address.strip()
    if not addr.isascii() or not _ADDR_SPEC.match(addr):
        raise ValueError(f"invalid e-mail address {recipient.address!r}")
    return clean_header(recipient.name), addr


def envelope_address(mail_from: str) -> str:
    """The bare address of a `From` value such as "SAMSA drift <drift@example.se>"."""
    return parseaddr(clean_header(mail_from))[1]


def exercise_subject(message: OutgoingMessage) -> str:
    """The subject, marked "ÖVNING" for exercises unless the service already marked it."""
    subject = clean_header(message.subject)
    if message.exercise and EXERCISE_MARK not in subject.upper():
        return f"{EXERCISE_MARK}: {subject}"
    return subject


def text_to_html(text: str, *, language: str = "sv") -> str:
    """An escaped HTML document from plain text: blank lines split paragraphs."""
    body = paragraphs_html(text)
    lang = html.escape(clean_header(language) or "sv")
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}">\n<head><meta charset="utf-8"></head>\n'
        f"<body>\n{body}\n</body>\n</html>\n"
    )


def insert_html(document: str, fragment: str) -> str:
    """`fragment` placed at the end of the body of `document` (or appended to a bare fragment)."""
    index = document.lower().rfind("</body>")
    if index < 0:
        return document + fragment
    return document[:index] + fragment + document[index:]


def build_email(
    message: OutgoingMessage,
    to: Address,
    *,
    mail_from: str,
    from_name: str = "",
    text: str | None = None,
    html_body: str | None = None,
    headers: Mapping[str, str] | None = None,
    parts: Iterable[Attachment] = (),
) -> EmailMessage:
    """One recipient's copy of `message`: multipart/alternative text + HTML, plus `parts`.

    `html_body` defaults to the service's `body_html` (already escaped by its templates) or, when
    that is empty, to `body_text` escaped. Header values pass through `clean_header`, and
    `policy.default` would refuse any CR/LF that slipped through anyway.
    """
    email = EmailMessage(policy=policy.default)
    sender = sender_address(mail_from, from_name, message.language)
    email["From"] = sender
    email["To"] = to
    email["Subject"] = exercise_subject(message)
    email["Date"] = format_datetime(_aware(message.created_at))
    email["Message-ID"] = format_message_id(message.message_id, sender.domain)
    if message.reply_to.strip():
        email["Reply-To"] = clean_header(message.reply_to)
    email["X-Driftplan-Incident"] = clean_header(message.incident_id)
    email["X-Driftplan-Channel"] = clean_header(message.channel)
    if message.exercise:
        email["X-Driftplan-Exercise"] = "yes"
    # Suppresses vacation auto-replies to a bulk notice (RFC 3834 convention, widely honoured).
    email["Auto-Submitted"] = "auto-generated"
    for name, value in (headers or {}).items():
        email[name] = clean_header(value)

    plain = message.body_text if text is None else text
    rich = html_body if html_body is not None else message.body_html
    if not rich.strip():
        rich = text_to_html(plain, language=message.language)
    email.set_content(plain)
    email.add_alternative(rich, subtype="html")
    listed = list(parts)
    # Alternatives first: once an attachment is added the message becomes multipart/mixed, and
    # calendar clients look for text/calendar among the alternatives of the body.
    for part in listed:
        if not part.filename:
            _alternative(email).add_alternative(*_content(part), params=dict(part.params))
    for part in listed:
        if part.filename:
            email.add_attachment(*_content(part), params=dict(part.params), filename=part.filename)
    if message.language:
        # Last: set_content() drops every Content-* header, and turning the message multipart
        # moves them into the first part, where readers of the whole message do not look.
        email["Content-Language"] = clean_header(message.language)
    return email


def _content(part: Attachment) -> tuple[object, ...]:
    """Positional content arguments of `part` for the email package's content manager."""
    if isinstance(part.content, bytes):
        return (part.content, "text", part.subtype)
    return (part.content, part.subtype)


def _alternative(email: EmailMessage) -> EmailMessage:
    """The multipart/alternative body of `email` (itself, or its first part once it is mixed)."""
    if email.get_content_subtype() == "alternative":
        return email
    for part in email.iter_parts():
        if isinstance(part, EmailMessage) and part.get_content_subtype() == "alternative":
            return part
    return email


def _aware(moment: datetime) -> datetime:
    # Stored times are UTC; SQLite returns them naive, so naive means UTC here.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
