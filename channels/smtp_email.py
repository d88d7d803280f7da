"""The e-mail channel (kind "email"): one message per recipient over one reused SMTP connection.

Owns the SMTP side of every mail-based channel: settings parsing, the connection (plain, STARTTLS
or implicit TLS; always with a timeout; reconnected when the server dropped it), the mapping of
SMTP replies to per-recipient results, and the fallback to the file outbox when no host is set.
`NewsletterChannel` and `CalendarChannel` subclass `EmailChannel` and only override the hooks
`check` and `compose`.

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
import socket
import ssl
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formataddr
from typing import ClassVar

from channels.declarations import BUILTIN_SETTINGS
from channels.file_outbox import FileOutbox, outbox_status
from channels.mime import build_email, envelope_address, recipient_address
from engine.definition.channel_settings import ChannelSettings
from engine.domain.model import RecipientStatus
from engine.errors import ConfigurationError, PermanentDeliveryError, TemporaryDeliveryError
from engine.ports import ChannelStatus, DeliveryReport, OutgoingMessage, Recipient, RecipientResult

__all__ = [
    "EmailChannel",
    "SmtpConfig",
    "SmtpConnection",
    "SmtpUnavailableError",
    "missing_smtp_settings",
]

log = logging.getLogger(__name__)

SECURITY_MODES = ("none", "starttls", "tls")
REQUIRED_SETTINGS = ("host", "mail_from")
SMTP_POLICY = policy.SMTP
_DEFAULT_PORTS = {"none": 25, "starttls": 587, "tls": 465}


class SmtpUnavailableError(Exception):
    """The SMTP server could not be reached or dropped the connection (internal signal)."""


@dataclass(frozen=True)
class SmtpConfig:
    """Validated SMTP settings of one channel."""

    host: str
    port: int
    security: str
    user: str
    password: str
    mail_from: str
    timeout: float
    helo: str

    @classmethod
    def from_settings(cls, settings: Mapping[str, str]) -> SmtpConfig:
        """Parse resolved settings; `ConfigurationError` names the bad setting and valid values."""
        port_text = settings.get("port", "").strip()
        security = settings.get("security", "").strip().lower()
        if not security:
            # Never send a password in clear text by default; port 465 means implicit TLS.
            if port_text == "465":
                security = "tls"
            else:
                security = "starttls" if settings.get("user") else "none"
        if security not in SECURITY_MODES:
            raise ConfigurationError(
                f"SMTP setting 'security' is {security!r}. "
                f"Valid values: {', '.join(SECURITY_MODES)}."
            )
        try:
            port = int(port_text) if port_text else _DEFAULT_PORTS[security]
            timeout = float(settings.get("timeout", "") or "10")
        except ValueError as exc:
            raise ConfigurationError(
                f"SMTP setting 'port' or 'timeout' is not a number: {exc}"
            ) from exc
        if not 0 < port < 65536 or timeout <= 0:
            raise ConfigurationError(
                f"SMTP settings out of range: port {port} (1-65535), "
                f"timeout {timeout} (> 0 seconds)."
            )
        mail_from = settings.get("mail_from", "")
        if "@" not in envelope_address(mail_from):
            raise ConfigurationError(
                f"SMTP setting 'mail_from' is not an e-mail address: {mail_from!r}."
            )
        return cls(
            host=settings["host"].strip(),
            port=port,
            security=security,
            user=settings.get("user", ""),
            password=settings.get("password", ""),
            mail_from=mail_from,
            timeout=timeout,
            helo=settings.get("helo", "") or socket.gethostname(),
        )

    @property
    def target(self) -> str:
        scheme = "smtps" if self.security == "tls" else "smtp"
        return f"{scheme}://{self.host}:{self.port}"


class SmtpConnection:
    """One SMTP session kept open across recipients and messages; not thread-safe on its own."""

    def __init__(self, config: SmtpConfig) -> None:
        self._config = config
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        cfg = self._config
        smtp: smtplib.SMTP | None = None
        try:
            if cfg.security == "tls":
                smtp = smtplib.SMTP_SSL(
                    cfg.host,
                    cfg.port,
                    local_hostname=cfg.helo,
                    timeout=cfg.timeout,
                    context=ssl.create_default_context(),
                )
            else:
                # local_hostname avoids getfqdn(), which can block on reverse DNS.
                smtp = smtplib.SMTP(
                    cfg.host, cfg.port, local_hostname=cfg.helo, timeout=cfg.timeout
                )
            smtp.ehlo()
            if cfg.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            elif cfg.user and cfg.security == "none":
                log.warning(
                    "Logging in to %s without TLS: the password travels in clear", cfg.target
                )
            if cfg.user:
                smtp.login(cfg.user, cfg.password)
        except (smtplib.SMTPException, OSError) as exc:
            if smtp is not None:
                _quietly_close(smtp)
            raise SmtpUnavailableError(f"cannot connect to {cfg.target}: {exc}") from exc
        log.debug("Connected to %s", cfg.target)
        self._smtp = smtp
        return smtp

    def send(self, sender: str, recipient: str, data: bytes) -> None:
        """Send one copy; raises smtplib response errors or `SmtpUnavailableError`."""
        reused = self._smtp is not None
        for attempt in (1, 2):
            smtp = self._smtp or self._connect()
            try:
                refused = smtp.sendmail(sender, [recipient], data)
            except smtplib.SMTPServerDisconnected as exc:
                lost: Exception = exc
            except smtplib.SMTPException:
                raise  # the server answered: a per-recipient result (SMTPException is an OSError)
            except OSError as exc:
                lost = exc
            else:
                if refused:
                    raise smtplib.SMTPRecipientsRefused(refused)
                return
            self.close()
            # A pooled connection may have idled out on the server side: one fresh try.
            if not (reused and attempt == 1):
                raise SmtpUnavailableError(f"{self._config.target}: {lost!r}") from lost
            log.info("SMTP connection to %s was dropped; reconnecting", self._config.target)

    def close(self) -> None:
        if self._smtp is not None:
            _quietly_close(self._smtp)
            self._smtp = None


def _quietly_close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def _classify(address: str, code: int, text: bytes | str) -> RecipientResult:
    reply = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    status = RecipientStatus.PERMANENT if 500 <= code < 600 else RecipientStatus.TEMPORARY
    return RecipientResult(address, status, f"{code} {reply}".strip())


def missing_smtp_settings(settings: Mapping[str, str]) -> list[str]:
    """The required settings that are absent or blank."""
    return [name for name in REQUIRED_SETTINGS if not settings.get(name, "").strip()]


class EmailChannel:
    """Plain e-mail to the recipients of a contact list (kind "email")."""

    kind = "email"
    settings_spec: ClassVar[ChannelSettings] = BUILTIN_SETTINGS["email"]
    # Addressed to people: with nobody to address there is nothing to deliver (see dispatch).
    needs_recipients = True

    def __init__(self, settings: Mapping[str, str], *, data_dir: str) -> None:
        self.settings = dict(settings)
        missing = missing_smtp_settings(settings)
        self._lock = threading.Lock()
        self._config: SmtpConfig | None = None
        self._connection: SmtpConnection | None = None
        self._outbox: FileOutbox | None = None
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
        if self._outbox is not None:
            prepared, refused = self._prepare(message)
            with self._lock:
                report = self._outbox.write_emails(message, prepared)
            return _merged(message, report.results, refused, report.target, live=False)
        payloads, refused = self._payloads(message)
        with self._lock:
            sent = self._send(payloads)
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
    ) -> tuple[list[tuple[str, bytes]], list[RecipientResult]]:
        """Each recipient's bytes on the wire (SMTP needs CRLF; smtplib sends bytes as is).

        When every copy is the same but for `To` (plain e-mail: `compose` not overridden), the
        message is built and serialised once and only the `To` line differs: building a MIME
        message per recipient cost most of a large fan-out's time.
        """
        if type(self).compose is not EmailChannel.compose:
            prepared, invalid = self._prepare(message)
            return [(a, e.as_bytes(policy=SMTP_POLICY)) for a, e in prepared], invalid
        payloads: list[tuple[str, bytes]] = []
        refused: list[RecipientResult] = []
        seen: set[str] = set()
        shared: bytes | None = None
        for recipient in message.recipients:
            key = recipient.address.strip().lower()
            if key in seen:
                continue
            seen.add(key)
            try:
                to = recipient_address(recipient)
            except ValueError as exc:
                refused.append(
                    RecipientResult(recipient.address, RecipientStatus.PERMANENT, str(exc))
                )
                continue
            if shared is None:
                template = build_email(
                    message, to, mail_from=self.mail_from, from_name=self.from_name
                )
                del template["To"]
                shared = template.as_bytes(policy=SMTP_POLICY)
            # formataddr quotes the name and RFC 2047-encodes a non-ASCII one; it is far cheaper
            # than the email package's header parser, which dominated a large fan-out.
            # (`recipient_address` has already removed CR/LF from the name.)
            to_line = formataddr((to.display_name, to.addr_spec), charset="utf-8")
            payloads.append((to.addr_spec, f"To: {to_line}\r\n".encode("ascii") + shared))
        return payloads, refused

    def _send(self, prepared: Sequence[tuple[str, bytes]]) -> list[RecipientResult]:
        assert self._config is not None and self._connection is not None
        sender = envelope_address(self._config.mail_from)
        results: list[RecipientResult] = []
        for index, (address, data) in enumerate(prepared):
            try:
                self._connection.send(sender, address, data)
            except smtplib.SMTPRecipientsRefused as exc:
                code, text = exc.recipients.get(address, (550, b"recipient refused"))
                results.append(_classify(address, code, text))
            except smtplib.SMTPResponseException as exc:
                results.append(_classify(address, exc.smtp_code, exc.smtp_error))
            except smtplib.SMTPException as exc:
                # E.g. SMTPNotSupportedError: this copy can never go through this server.
                results.append(RecipientResult(address, RecipientStatus.PERMANENT, str(exc)))
            except SmtpUnavailableError as exc:
                if not any(r.status == "sent" for r in results):
                    raise TemporaryDeliveryError(f"SMTP server unavailable: {exc}") from exc
                results.extend(
                    RecipientResult(rest, RecipientStatus.TEMPORARY, f"not attempted: {exc}")
                    for rest, _ in prepared[index:]
                )
                break
            else:
                results.append(RecipientResult(address, RecipientStatus.SENT, "250"))
        return results

    def close(self) -> None:
        """Quit the SMTP session, if one is open."""
        with self._lock:
            if self._connection is not None:
                self._connection.close()


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
