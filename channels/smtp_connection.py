"""The SMTP session of the mail channels: validated settings and one reused connection.

`SmtpConfig` parses a channel's resolved settings (naming the bad setting and the valid values);
`SmtpConnection` keeps one session open across recipients and messages (plain, STARTTLS or
implicit TLS; always with a timeout) and reconnects once when the server dropped an idle
connection. Anything that means nothing more can be sent (refused, timeout, dropped) surfaces as
`SmtpUnavailableError`; SMTP replies surface as smtplib's own exceptions, for the channel to map
to per-recipient results (`channels.smtp_email`).
"""

from __future__ import annotations

import logging
import re
import smtplib
import socket
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from channels.mime import envelope_address
from engine.errors import ConfigurationError

__all__ = [
    "REQUIRED_SETTINGS",
    "SmtpConfig",
    "SmtpConnection",
    "SmtpUnavailableError",
    "missing_smtp_settings",
]

log = logging.getLogger(__name__)

SECURITY_MODES = ("none", "starttls", "tls")
REQUIRED_SETTINGS = ("host", "mail_from")
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

    def send(
        self,
        sender: str,
        recipient: str,
        data: bytes,
        before_data: Callable[[], None] | None = None,
        while_waiting: Callable[[], None] | None = None,
    ) -> None:
        """Send one copy; raises smtplib response errors or `SmtpUnavailableError`.

        `before_data` runs after the server accepted the sender and the recipient and before
        DATA, the point after which the copy is delivered. If it raises, the transaction is
        reset (the server discards it) and the exception goes through.

        `while_waiting` runs once, while the server works on this copy's MAIL command (sent,
        its reply not yet read), so that local work, such as recording the previous copy,
        costs no time of its own on a list: the server's reply takes longer than the record.
        It runs before `before_data`, so what it records is recorded before this copy's DATA.
        If it raises, the transaction is reset and the exception goes through.
        """
        reused = self._smtp is not None
        waiting = _Once(while_waiting) if while_waiting is not None else None
        for attempt in (1, 2):
            smtp = self._smtp or self._connect()
            try:
                _transaction(smtp, sender, recipient, data, before_data, waiting)
            except smtplib.SMTPServerDisconnected as exc:
                lost: Exception = exc
            except smtplib.SMTPException:
                raise  # the server answered: a per-recipient result (SMTPException is an OSError)
            except OSError as exc:
                lost = exc
            else:
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


class _Once:
    """A callable that does its work on the first call only (a reconnect repeats the
    transaction, not what was done while waiting for it)."""

    def __init__(self, work: Callable[[], None]) -> None:
        self._work: Callable[[], None] | None = work

    def __call__(self) -> None:
        work, self._work = self._work, None
        if work is not None:
            work()


def _transaction(
    smtp: smtplib.SMTP,
    sender: str,
    recipient: str,
    data: bytes,
    before_data: Callable[[], None] | None,
    while_waiting: Callable[[], None] | None = None,
) -> None:
    """One mail transaction (MAIL, RCPT, DATA) as `smtplib.SMTP.sendmail` makes it for one
    recipient, through smtplib's documented low-level commands, so that `before_data` can run
    between RCPT and DATA (and `while_waiting` while MAIL is answered). A refusal raises
    smtplib's exception after resetting the transaction (421 closes the connection, as
    sendmail does)."""
    smtp.ehlo_or_helo_if_needed()
    options = f" SIZE={len(data)}" if smtp.does_esmtp and smtp.has_extn("size") else ""
    # What `smtp.mail` and `smtp.rcpt` do for these options (no SMTPUTF8), each split in two:
    # the command is written (putcmd) and its reply read (getreply), the pair the smtplib
    # module's own docstring shows, so that `while_waiting` runs in between. One command and
    # its reply, in order: no pipelining, so any server takes it.
    smtp.putcmd("mail", f"FROM:{angle_address(sender)}{options}")
    if while_waiting is not None:
        try:
            while_waiting()
        except BaseException:
            _read_then_abandon(smtp)
            raise
    code, reply = smtp.getreply()
    if code != 250:
        _abandon(smtp, code)
        raise smtplib.SMTPSenderRefused(code, reply, sender)
    smtp.putcmd("rcpt", f"TO:{angle_address(recipient)}")
    code, reply = smtp.getreply()
    if code not in (250, 251):
        _abandon(smtp, code)
        raise smtplib.SMTPRecipientsRefused({recipient: (code, reply)})
    if before_data is not None:
        try:
            before_data()
        except BaseException:
            _abandon(smtp, 0)
            raise
    code, reply = smtp.data(data)
    if code != 250:
        _abandon(smtp, code)
        raise smtplib.SMTPDataError(code, reply)


# A bare addr-spec of the usual kind (no display name, quotes, comments, brackets or spaces),
# for which `smtplib.quoteaddr` gives back "<" + the address + ">".
_PLAIN_ADDRESS = re.compile(r"[^\s<>()\[\]\\,;:\"@]+@[^\s<>()\[\]\\,;:\"@]+")


@lru_cache(maxsize=64)
def _quoted(address: str) -> str:
    return smtplib.quoteaddr(address)


def angle_address(address: str) -> str:
    """The address as MAIL FROM and RCPT TO carry it, as `smtplib.quoteaddr` makes it.

    `quoteaddr` parses the address again with the email package's address-list parser, which
    cost a 5,000-copy fan-out about a sixth of its CPU for addresses the channel has already
    parsed into plain addr-specs: those only get their angle brackets. Anything else (and the
    sender, the same for every copy: cached) goes through `quoteaddr`.
    """
    if _PLAIN_ADDRESS.fullmatch(address):
        return f"<{address}>"
    return _quoted(address)


def _abandon(smtp: smtplib.SMTP, code: int) -> None:
    """End a refused or abandoned transaction: RSET (the server discards what it got), or close
    on 421 (the server is closing the connection)."""
    if code == 421:
        smtp.close()
        return
    try:
        smtp.rset()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def _read_then_abandon(smtp: smtplib.SMTP) -> None:
    """Abandon a transaction whose last command's reply is still due: read that reply first,
    or it would be taken for the answer to RSET."""
    try:
        code, _ = smtp.getreply()
    except (smtplib.SMTPException, OSError):
        smtp.close()
        return
    _abandon(smtp, code)


def _quietly_close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def missing_smtp_settings(settings: Mapping[str, str]) -> list[str]:
    """The required settings that are absent or blank."""
    return [name for name in REQUIRED_SETTINGS if not settings.get(name, "").strip()]
