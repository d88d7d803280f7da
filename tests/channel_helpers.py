"""Shared helpers of the channel tests: message builders and real loopback servers.

`SmtpServer` is a real aiosmtpd server on 127.0.0.1 that records what it accepts and can refuse
chosen recipients with a chosen reply; `WebhookReceiver` is a real HTTP server (stdlib) that checks
driftplan's signature the way a receiver would. Nothing here mocks smtplib or httpx.
"""

from __future__ import annotations

import email
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from channels.webhook import verify_signature
from engine.ports import Meeting, OutgoingMessage, Recipient

CREATED = datetime(2025, 3, 4, 8, 30, tzinfo=UTC)


def make_message(**overrides: Any) -> OutgoingMessage:
    """A realistic SAMSA outage message; keyword arguments replace any field."""
    base = OutgoingMessage(
        message_id="m-0001@driftplan.test",
        incident_id="INC-42",
        channel="support_email",
        kind="email",
        audience="support_it",
        subject="Driftstörning i SAMSA",
        body_text="SAMSA är inte tillgängligt sedan 08:15.\n\nNästa uppdatering senast 09:30.",
        body_html="",
        language="sv",
        created_at=CREATED,
        recipients=(Recipient("anna@example.se", "Anna Andersson"),),
        reply_to="samsa-drift@example.se",
        incident_state="outage",
        incident_title="SAMSA otillgängligt",
    )
    return replace(base, **overrides)


def make_meeting(**overrides: Any) -> Meeting:
    """A crisis meeting in one hour, 45 minutes long."""
    base = Meeting(
        title="Krismöte SAMSA",
        starts_at=CREATED + timedelta(hours=1),
        duration=timedelta(minutes=45),
        location="https://meet.example.se/samsa-kris",
        organizer="Driftledningen",
    )
    return replace(base, **overrides)


def free_port() -> int:
    """A currently free TCP port on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def parse_mail(data: bytes) -> EmailMessage:
    """Parse raw mail bytes the way a modern mail client would."""
    parsed = email.message_from_bytes(data, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


@dataclass
class Received:
    """One message as the SMTP server received it."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    peer: Any

    @property
    def message(self) -> EmailMessage:
        return parse_mail(self.data)


@dataclass
class _Handler:
    # lower-case address -> SMTP reply, or "DROP" to close the connection at RCPT TO
    replies: dict[str, str] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        reply = self.replies.get(address.lower())
        if reply == "DROP":
            server.transport.close()  # the connection dies mid-transaction
            return "421 4.3.2 Closing connection"
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content, session.peer)
        )
        return "250 Message accepted for delivery"


class SmtpServer:
    """A real SMTP server on 127.0.0.1; `replies` maps recipients to refusal replies."""

    def __init__(self, *, idle_timeout: float = 30.0) -> None:
        self.port = free_port()
        self.handler = _Handler()
        self._controller = Controller(
            self.handler, hostname="127.0.0.1", port=self.port, timeout=idle_timeout
        )

    def start(self) -> SmtpServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    @property
    def connections(self) -> int:
        """Distinct client connections that delivered at least one message."""
        return len({r.peer for r in self.received})

    def settings(self, **extra: str) -> dict[str, str]:
        """Resolved channel settings pointing at this server."""
        return {
            "host": "127.0.0.1",
            "port": str(self.port),
            "security": "none",
            "mail_from": "SAMSA driftinformation <drift@samsa.example.se>",
            "timeout": "5",
            **extra,
        }


@dataclass
class Hook:
    """One request as the webhook receiver saw it."""

    path: str
    headers: dict[str, str]
    body: bytes
    valid: bool

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class WebhookReceiver:
    """A real HTTP receiver: verifies signatures with `secret`; `/status/<n>` answers n."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.requests: list[Hook] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                valid = verify_signature(
                    receiver.secret,
                    self.headers.get("X-Driftplan-Timestamp", ""),
                    body,
                    self.headers.get("X-Driftplan-Signature", ""),
                    now=datetime.now(UTC).timestamp(),
                )
                receiver.requests.append(Hook(self.path, dict(self.headers.items()), body, valid))
                status = 401 if not valid else 204
                if valid and self.path.startswith("/status/"):
                    status = int(self.path.rsplit("/", 1)[1])
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                """Keep test output quiet."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # A short poll interval keeps shutdown() (and so each test) fast.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def walk_types(message: EmailMessage) -> Iterator[str]:
    """Content types of all parts, depth first."""
    for part in message.walk():
        yield part.get_content_type()
