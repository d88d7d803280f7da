"""The e-mail channel (kind "email"): one message per recipient over one reused SMTP connection.

Owns what every mail-based channel shares: one copy per mailbox, the mapping of SMTP replies to
per-recipient results, and the fallback to the file outbox when no host is set (the settings and
the SMTP session itself are `channels.smtp_connection`'s). `NewsletterChannel` and
`CalendarChannel` subclass `EmailChannel` and only override the hooks `check` and `compose`.

Plain e-mail copies differ only in `To` (same Message-ID, Date and bodies; see `channels.mime`),
so they are serialised once per message and each copy is its `To` line plus those bytes (kept
for the next call too: a retry hands over the same message again). Newsletter and calendar
copies differ in their bodies and are built per recipient, each just before it is sent.

The channel `reports_each_copy`: the dispatcher hands it the whole list, and it calls the
message's `gate` (`engine.ports.CopyGate`) between RCPT and DATA of each copy and with each
copy's result, so the dispatcher has recorded every copy before the next one is delivered.

Failure rules: a 4xx reply is temporary and a 5xx reply permanent, per recipient (and
`smtplib.sendmail` *returns* refused recipients when only some fail, so both paths are handled).
When the server cannot be reached (refused, timeout, dropped) nothing more can be sent: if no
recipient got the message yet, the whole delivery raises `TemporaryDeliveryError`; otherwise the
report lists the remaining recipients as temporary, so a retry reaches only them. Connection and
login failures are temporary: a wrong password must not turn an outage notice into a dead letter
while someone fixes the configuration.
"""

from __future__ import annotations

import logging
import smtplib
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields, replace
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formataddr
from functools import partial
from typing import ClassVar

from channels.declarations import BUILTIN_SETTINGS
from channels.file_outbox import FileOutbox, outbox_status
from channels.mime import build_email, envelope_address, recipient_address, recipient_parts
from channels.smtp_connection import (
    SmtpConfig,
    SmtpConnection,
    SmtpUnavailableError,
    missing_smtp_settings,
)
from engine.definition.channel_settings import ChannelSettings
from engine.domain.model import RecipientStatus
from engine.errors import PermanentDeliveryError, TemporaryDeliveryError
from engine.ports import (
    ChannelStatus,
    CopyGate,
    DeliveryReport,
    OutgoingMessage,
    Recipient,
    RecipientResult,
)

__all__ = [
    "EmailChannel",
    "SmtpConfig",
    "SmtpConnection",
    "SmtpUnavailableError",
    "missing_smtp_settings",
    "to_header",
]

log = logging.getLogger(__name__)

SMTP_POLICY = policy.SMTP
# RFC 5322's hard line limit (998 characters and CRLF).
_FOLD_AT = 1000
# The `To` a shared copy is built with before its `To` is removed: any valid address will do.
_PLACEHOLDER = Address(addr_spec="copy@driftplan.invalid")


def _classify(address: str, code: int, text: bytes | str) -> RecipientResult:
    reply = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    status = RecipientStatus.PERMANENT if 500 <= code < 600 else RecipientStatus.TEMPORARY
    return RecipientResult(address, status, f"{code} {reply}".strip())


class EmailChannel:
    """Plain e-mail to the recipients of a contact list (kind "email")."""

    kind = "email"
    settings_spec: ClassVar[ChannelSettings] = BUILTIN_SETTINGS["email"]
    # Addressed to people: with nobody to address there is nothing to deliver (see dispatch).
    needs_recipients = True
    # Calls the message's gate between copies (see the module docstring).
    reports_each_copy = True

    def __init__(self, settings: Mapping[str, str], *, data_dir: str) -> None:
        self.settings = dict(settings)
        missing = missing_smtp_settings(settings)
        self._lock = threading.Lock()
        self._config: SmtpConfig | None = None
        self._connection: SmtpConnection | None = None
        self._outbox: FileOutbox | None = None
        self._sender = ""
        # The latest message's copy without `To` (see `_shared_copy`).
        self._shared: tuple[OutgoingMessage, bytes] | None = None
        if missing:
            # Info only: the file outbox warns (once per channel, naming it and the folder)
            # when it first writes, and `driftplan channels` lists what is missing.
            log.info(
                "%s channel has no %s: delivering to the file outbox", self.kind, ", ".join(missing)
            )
            self._outbox = FileOutbox(settings, data_dir=data_dir)
        else:
            self._config = SmtpConfig.from_settings(settings)
            self._connection = SmtpConnection(self._config)
            self._sender = envelope_address(self._config.mail_from)  # parsed once

    @staticmethod
    def status(settings: Mapping[str, str], *, data_dir: str) -> ChannelStatus:
        """Live with host and sender configured; else the file outbox and what is missing."""
        missing = missing_smtp_settings(settings)
        if missing:
            return outbox_status(settings, data_dir, missing)
        return ChannelStatus(live=True, target=SmtpConfig.from_settings(settings).target)

    @property
    def mail_from(self) -> str:
        """The From value; the outbox uses a placeholder so its files open in a mail client."""
        if self._config is not None:
            return self._config.mail_from
        return self.settings.get("mail_from", "") or "driftplan@localhost"

    @property
    def from_name(self) -> str:
        """The From display name set for the channel ("" when `mail_from` or the default names)."""
        return self.settings.get("from_name", "")

    # Hooks for the newsletter and calendar channels.
    def check(self, message: OutgoingMessage) -> None:
        """Raise PermanentDeliveryError for a message this kind can never deliver."""

    def compose(self, message: OutgoingMessage, recipient: Recipient, to: Address) -> EmailMessage:
        """One recipient's copy; raise `ValueError` when this recipient cannot get one."""
        return build_email(message, to, mail_from=self.mail_from, from_name=self.from_name)

    def deliver(self, message: OutgoingMessage) -> DeliveryReport:
        """Send one copy per recipient; see the module docstring for the failure rules."""
        self.check(message)
        if not message.recipients:
            raise PermanentDeliveryError(
                f"Message {message.message_id} on channel '{message.channel}' has no recipients."
            )
        gate = message.gate
        if self._outbox is not None:
            prepared, refused = self._prepare(message)
            if gate is not None:
                gate.before_copy()
            with self._lock:
                report = self._outbox.write_emails(message, prepared)
            if gate is not None:  # the files are written together: recorded together
                for result in report.results:
                    gate.copied(result)
            return _merged(message, report.results, refused, report.target, live=False)
        payloads, refused = self._payloads(message)
        with self._lock:
            sent = self._send(payloads, gate)
        assert self._config is not None  # set whenever there is no outbox
        return _merged(message, sent, refused, self._config.target, live=True)

    def _prepare(
        self, message: OutgoingMessage
    ) -> tuple[list[tuple[str, EmailMessage]], list[RecipientResult]]:
        prepared: list[tuple[str, EmailMessage]] = []
        refused: list[RecipientResult] = []
        seen: set[str] = set()
        for recipient in message.recipients:
            key = recipient.address.strip().lower()
            if key in seen:
                continue  # one copy per mailbox, even if a person is on two lists
            seen.add(key)
            try:
                to = recipient_address(recipient)
                prepared.append((to.addr_spec, self.compose(message, recipient, to)))
            except ValueError as exc:
                refused.append(
                    RecipientResult(recipient.address, RecipientStatus.PERMANENT, str(exc))
                )
        return prepared, refused

    def _payloads(
        self, message: OutgoingMessage
    ) -> tuple[list[tuple[str, Callable[[], bytes]]], list[RecipientResult]]:
        """Each mailbox's address and how to make its bytes on the wire (SMTP needs CRLF;
        smtplib sends bytes as is), made as the copy is sent; the refused addresses.

        When every copy is the same but for `To` (plain e-mail: `compose` not overridden), the
        copies share one serialised message (`_shared_copy`) and only the `To` line is made per
        recipient: building a MIME message per recipient cost most of a large fan-out's time.
        Otherwise (newsletter, calendar) each copy is composed whole. Either way a copy is made
        just before it is sent, so that the first copy of a long list does not wait for all
        the others to be made (on a 5,000-address list that wait was about 100 ms).
        """
        per_recipient = type(self).compose is not EmailChannel.compose
        shared = b"" if per_recipient else self._shared_copy(message)
        payloads: list[tuple[str, Callable[[], bytes]]] = []
        refused: list[RecipientResult] = []
        seen: set[str] = set()
        for recipient in message.recipients:
            key = recipient.address.strip().lower()
            if key in seen:
                continue  # one copy per mailbox, even if a person is on two lists
            seen.add(key)
            try:
                if per_recipient:
                    to = recipient_address(recipient)
                    build = partial(self._composed, message, recipient, to)
                    payloads.append((to.addr_spec, build))
                    continue
                name, addr = recipient_parts(recipient)
            except ValueError as exc:
                refused.append(
                    RecipientResult(recipient.address, RecipientStatus.PERMANENT, str(exc))
                )
                continue
            payloads.append((addr, partial(_plain_copy, name, addr, shared)))
        return payloads, refused

    def _composed(self, message: OutgoingMessage, recipient: Recipient, to: Address) -> bytes:
        """One recipient's own copy, serialised; `ValueError` when it cannot have one."""
        return self.compose(message, recipient, to).as_bytes(policy=SMTP_POLICY)

    def _shared_copy(self, message: OutgoingMessage) -> bytes:
        """The serialised message without `To`, built once per message and kept for the next
        calls (a retry of the same message, or its chunks when called without a gate).

        The cache key is the whole message but its recipients, so any other difference (a
        retry with new text, another message) builds afresh; the comparison is cheap because
        the dispatcher's pieces share their field objects and equality checks identity first.
        """
        cached = self._shared
        if cached is not None and _same_but_recipients(cached[0], message):
            return cached[1]
        template = build_email(
            message, _PLACEHOLDER, mail_from=self.mail_from, from_name=self.from_name
        )
        del template["To"]
        data = template.as_bytes(policy=SMTP_POLICY)
        self._shared = (message, data)
        return data

    def _send(
        self, prepared: Sequence[tuple[str, Callable[[], bytes]]], gate: CopyGate | None
    ) -> list[RecipientResult]:
        assert self._config is not None and self._connection is not None
        sender = self._sender
        before_data = gate.before_copy if gate is not None else None
        results: list[RecipientResult] = []
        # Each copy's result is reported to the gate while the server answers the next
        # copy's MAIL command (`while_waiting`), so the record and the round trip overlap;
        # that is still before the next copy's DATA, as the gate requires. The last copy's
        # result, and any that no next MAIL follows, are reported before returning.
        unreported = _Unreported(gate)
        try:
            for index, (address, build) in enumerate(prepared):
                try:
                    data = build()
                except ValueError as exc:  # this recipient cannot have a copy (see `compose`)
                    unreported.report()
                    results.append(RecipientResult(address, RecipientStatus.PERMANENT, str(exc)))
                    unreported.hold(results[-1])
                    continue
                try:
                    self._connection.send(
                        sender, address, data, before_data, unreported.report if gate else None
                    )
                except smtplib.SMTPRecipientsRefused as exc:
                    code, text = exc.recipients.get(address, (550, b"recipient refused"))
                    results.append(_classify(address, code, text))
                except smtplib.SMTPResponseException as exc:
                    results.append(_classify(address, exc.smtp_code, exc.smtp_error))
                except smtplib.SMTPException as exc:
                    # E.g. SMTPNotSupportedError: this copy can never go through this server.
                    results.append(RecipientResult(address, RecipientStatus.PERMANENT, str(exc)))
                except SmtpUnavailableError as exc:
                    unreported.report()
                    if not any(r.status == "sent" for r in results):
                        raise TemporaryDeliveryError(f"SMTP server unavailable: {exc}") from exc
                    results.extend(
                        RecipientResult(rest, RecipientStatus.TEMPORARY, f"not attempted: {exc}")
                        for rest, _ in prepared[index:]
                    )
                    break
                else:
                    results.append(RecipientResult(address, RecipientStatus.SENT, "250"))
                unreported.report()  # when the copy failed before its MAIL: nothing overlapped
                unreported.hold(results[-1])
        finally:  # also when the list ends in an exception: those copies went
            unreported.report()
        return results

    def close(self) -> None:
        """Quit the SMTP session, if one is open."""
        with self._lock:
            if self._connection is not None:
                self._connection.close()


class _Unreported:
    """The one copy result that the gate has not been told of yet (see `EmailChannel._send`)."""

    def __init__(self, gate: CopyGate | None) -> None:
        self._gate = gate
        self._result: RecipientResult | None = None

    def hold(self, result: RecipientResult) -> None:
        self._result = result

    def report(self) -> None:
        result, self._result = self._result, None
        if result is not None and self._gate is not None:
            self._gate.copied(result)


_COPY_FIELDS = tuple(
    f.name for f in fields(OutgoingMessage) if f.name not in {"recipients", "gate"}
)


def _same_but_recipients(one: OutgoingMessage, other: OutgoingMessage) -> bool:
    """Whether two messages differ at most in their recipients (identity first: cheap for the
    dispatcher's pieces of one message, which share their field objects)."""
    for name in _COPY_FIELDS:
        mine, theirs = getattr(one, name), getattr(other, name)
        if mine is not theirs and mine != theirs:
            return False
    return True


def _plain_copy(name: str, addr: str, shared: bytes) -> bytes:
    """One recipient's copy of a message every copy shares but for `To`."""
    return to_header(name, addr) + shared


def to_header(name: str, addr: str) -> bytes:
    """The folded `To:` line of one copy, CRLF-terminated.

    `formataddr` quotes the name and RFC 2047-encodes a non-ASCII one, far cheaper than the email
    package's header parser (which dominated a large fan-out when run per recipient). A long name
    stays on one line up to the hard limit: folding it splits the encoded name mid-word, which
    readers (Python's own parser among them) show with stray spaces; only beyond the limit does
    the SMTP policy fold it. (`recipient_parts` has already removed CR/LF from the name.)
    """
    line = f"To: {formataddr((name, addr), charset='utf-8')}\r\n"
    if len(line) > _FOLD_AT:
        line = SMTP_POLICY.fold("To", str(Address(display_name=name, addr_spec=addr)))
    return line.encode("ascii")


def _merged(
    message: OutgoingMessage,
    results: Sequence[RecipientResult],
    refused: Sequence[RecipientResult],
    target: str,
    *,
    live: bool,
) -> DeliveryReport:
    """Results in the order of `message.recipients`, whatever order they were produced in."""
    by_address = {r.address.strip().lower(): r for r in [*refused, *results]}
    ordered: list[RecipientResult] = []
    for recipient in message.recipients:
        result = by_address.pop(recipient.address.strip().lower(), None)
        if result is not None:
            # Report the address exactly as the caller gave it, so it can match its rows.
            ordered.append(replace(result, address=recipient.address))
    ordered.extend(by_address.values())
    return DeliveryReport(results=ordered, target=target, live=live)
