"""Each e-mail copy is recorded before the next one is delivered, against a real SMTP server.

The e-mail channel gets the whole list and reports each copy to the dispatcher's gate, which
records it; the channel does so while the server answers the next copy's MAIL command (the
record and the round trip overlap), and in any case before that copy's DATA. A server that looks
into the database whenever it accepts a copy must therefore always find every earlier copy
recorded: that is what bounds a crash to one copy sent twice. And a dispatcher that loses its
lease mid-list abandons the copy it was about to send (RSET: the server never gets its DATA) and
leaves the connection usable for the next message.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from channels.smtp_email import EmailChannel
from engine.bootstrap import App
from engine.domain.model import RecipientStatus
from engine.ports import OutgoingMessage, Recipient, RecipientResult
from engine.service.delivery_attempt import LeaseLost
from engine.store import Database
from tests.app_helpers import DECLARE, OPERATOR, FakeClock, make_app, make_dispatcher
from tests.app_helpers import write_directory as directory_with
from tests.channel_helpers import SmtpServer, free_port, make_message

ADDRESSES = [f"s{i:03d}@kommun.example.se" for i in range(60)]


class RecordCheckingHandler:
    """Accepts every copy; at each DATA notes how many copies the journal held by then."""

    def __init__(self) -> None:
        self.database: Database | None = None
        self.message_id = ""
        self.accepted: list[str] = []
        self.recorded_at_data: list[int] = []
        self.mail_commands = 0
        self._lock = threading.Lock()

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        self.mail_commands += 1
        envelope.mail_from = address
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.database is not None and self.message_id:
            with self.database.unit_of_work(read_only=True) as uow:
                recorded = [r.address for r in uow.messages.journal(self.message_id)]
            with self._lock:
                # Every copy accepted before this one is recorded (the journal is emptied
                # onto the message row only when the attempt ends).
                self.recorded_at_data.append(len(set(self.accepted) - set(recorded)))
        self.accepted.extend(rcpt.lower() for rcpt in envelope.rcpt_tos)
        return "250 OK"


@pytest.fixture
def server() -> Iterator[tuple[RecordCheckingHandler, dict[str, str]]]:
    handler = RecordCheckingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield (
        handler,
        {
            "DRIFTPLAN_SMTP_HOST": "127.0.0.1",
            "DRIFTPLAN_SMTP_PORT": str(port),
            "DRIFTPLAN_MAIL_FROM": "SAMSA driftinformation <drift@gits.example.se>",
        },
    )
    controller.stop()


def declared(tmp_path: Path) -> tuple[App, str, str]:
    """An application with a declared incident: it, the incident, the support e-mail's id."""
    directory = directory_with(tmp_path, ADDRESSES)
    application = make_app(tmp_path, clock=FakeClock(), directory=directory)
    incident_id = application.service.declare(actor_id=OPERATOR, values=DECLARE).incident_id
    [mail] = [m for m in application.service.messages(incident_id) if m.channel == "support_email"]
    return application, incident_id, mail.id


def test_every_earlier_copy_is_recorded_when_the_server_accepts_the_next(
    tmp_path: Path, server: tuple[RecordCheckingHandler, dict[str, str]]
) -> None:
    handler, environ = server
    application, incident_id, mail_id = declared(tmp_path)
    handler.database, handler.message_id = application.database, mail_id
    dispatcher = make_dispatcher(application, environ)
    try:
        dispatcher.deliver_due()
    finally:
        dispatcher.close()
    assert sorted(a for a in handler.accepted if a in ADDRESSES) == ADDRESSES
    assert len(handler.recorded_at_data) >= len(ADDRESSES)
    assert set(handler.recorded_at_data) == {0}  # no accepted copy was ever unrecorded
    [mail] = [m for m in application.service.messages(incident_id) if m.id == mail_id]
    assert {r.address for r in mail.results if r.status == RecipientStatus.SENT} == set(ADDRESSES)
    with application.database.unit_of_work(read_only=True) as uow:
        assert uow.messages.journal(mail_id) == []  # folded onto the row at the end


def test_a_lost_lease_abandons_the_next_copy_before_data_and_keeps_the_connection(
    tmp_path: Path, server: tuple[RecordCheckingHandler, dict[str, str]]
) -> None:
    """The gate refuses the 11th copy: the server saw its MAIL but never its DATA, nothing more
    of the list went, and the same channel then delivers another message normally."""
    handler, environ = server
    application, _, mail_id = declared(tmp_path)
    dispatcher = make_dispatcher(application, environ)
    real = dispatcher.channel_for

    class Refusing:
        """Wraps the e-mail channel's gate so that it refuses after ten copies."""

        def __init__(self, gate: Any) -> None:
            self.gate, self.copies = gate, 0

        def before_copy(self) -> None:
            if self.copies >= 10:
                raise LeaseLost
            self.gate.before_copy()

        def copied(self, result: RecipientResult) -> None:
            self.copies += 1
            self.gate.copied(result)

    channels: dict[str, Any] = {}

    def channel_for(sha: str, snapshot: Any, name: str) -> Any:
        channel, settings = real(sha, snapshot, name)
        if name == "support_email":
            channels["mail"] = channel
            deliver = channel.deliver

            def refusing(message: OutgoingMessage) -> Any:
                if message.gate is None:
                    return deliver(message)
                return deliver(replace(message, gate=Refusing(message.gate)))

            channel.deliver = refusing
        return channel, settings

    dispatcher.channel_for = channel_for  # type: ignore[method-assign]
    try:
        dispatcher.deliver_due()
        sent = [a for a in handler.accepted if a in ADDRESSES]
        assert sent == ADDRESSES[:10]
        assert handler.mail_commands >= 11  # the 11th copy got as far as MAIL, not DATA
        with application.database.unit_of_work(read_only=True) as uow:
            assert [r.address for r in uow.messages.journal(mail_id)] == ADDRESSES[:10]
        # The connection is clean: the next message on it goes through.
        mail = channels["mail"]
        before = len(handler.accepted)
        report = mail.deliver(
            OutgoingMessage(
                message_id="after@driftplan",
                incident_id="x",
                channel="support_email",
                kind="email",
                audience="support_it",
                subject="Test",
                body_text="Test",
                body_html="",
                language="sv",
                created_at=datetime(2026, 11, 30, tzinfo=UTC),
                recipients=[Recipient("after@kommun.example.se", "After")],
            )
        )
        assert [r.status for r in report.results] == [RecipientStatus.SENT]
        assert handler.accepted[before:] == ["after@kommun.example.se"]
    finally:
        dispatcher.close()


class ComposeLogging(EmailChannel):
    """An e-mail channel whose copies differ per recipient (as newsletter and calendar copies
    do), noting when each is built; one recipient cannot have a copy."""

    def __init__(self, settings: dict[str, str], log: list[str], *, data_dir: str) -> None:
        super().__init__(settings, data_dir=data_dir)
        self.log = log

    def compose(self, message: OutgoingMessage, recipient: Recipient, to: Any) -> Any:
        if recipient.address.startswith("nej"):
            raise ValueError("no copy for this one")
        self.log.append(f"built {recipient.address}")
        return super().compose(message, recipient, to)


def test_copies_built_per_recipient_are_built_as_they_are_sent(tmp_path: Path) -> None:
    """Each per-recipient copy is built just before it goes, not all before the first one
    (a 5,000-subscriber newsletter waited for 5,000 builds); one that cannot be built is a
    permanent result for that recipient only."""
    log: list[str] = []
    server = SmtpServer().start()
    original = server.handler.handle_DATA

    async def noting(srv: Any, session: Any, envelope: Any) -> str:
        log.extend(f"sent {rcpt}" for rcpt in envelope.rcpt_tos)
        return await original(srv, session, envelope)

    server.handler.handle_DATA = noting  # type: ignore[method-assign]
    people = [Recipient(a, "") for a in ("a@x.se", "nej@x.se", "b@x.se", "c@x.se")]
    channel = ComposeLogging(server.settings(), log, data_dir=str(tmp_path))
    try:
        report = channel.deliver(make_message(recipients=people))
    finally:
        channel.close()
        server.stop()
    assert log == [f"{step} {who}@x.se" for who in "abc" for step in ("built", "sent")]
    assert [(r.address, r.status) for r in report.results] == [
        ("a@x.se", RecipientStatus.SENT),
        ("nej@x.se", RecipientStatus.PERMANENT),
        ("b@x.se", RecipientStatus.SENT),
        ("c@x.se", RecipientStatus.SENT),
    ]


class MailCountingGate:
    """A gate that notes, for each copy reported, how many MAIL commands the server had
    received by then; it waits (up to a few seconds) for the next copy's MAIL so that a
    channel reporting before it sends that MAIL fails the test instead of racing it."""

    def __init__(self, handler: RecordCheckingHandler, total: int, fail_at: int = 0) -> None:
        self.handler, self.total, self.fail_at = handler, total, fail_at
        self.reported: list[tuple[str, int, int]] = []  # address, MAILs and DATAs by then

    def before_copy(self) -> None:
        pass

    def copied(self, result: RecipientResult) -> None:
        number = len(self.reported) + 1
        if number < self.total:  # a next copy follows: its MAIL is on its way
            deadline = time.monotonic() + 3
            while self.handler.mail_commands <= number and time.monotonic() < deadline:
                time.sleep(0.001)
        seen = (self.handler.mail_commands, len(self.handler.accepted))
        self.reported.append((result.address, *seen))
        if number == self.fail_at:
            raise LeaseLost


def test_each_copy_is_recorded_while_the_server_answers_the_next_copys_mail(
    server: tuple[RecordCheckingHandler, dict[str, str]], tmp_path: Path
) -> None:
    """Copy k is reported after copy k+1's MAIL reached the server (so the record overlaps
    that round trip) and before copy k+1's DATA; the last one once the list is done."""
    handler, environ = server
    people = [Recipient(f"p{i}@x.se", "") for i in range(5)]
    gate = MailCountingGate(handler, total=len(people))
    channel = EmailChannel(_smtp_settings(environ), data_dir=str(tmp_path))
    try:
        report = channel.deliver(make_message(recipients=people, gate=gate))
    finally:
        channel.close()
    assert [r.status for r in report.results] == [RecipientStatus.SENT] * 5
    # Copy k (from 1) is reported when the server has k+1 MAILs but only k copies.
    assert gate.reported == [(f"p{i}@x.se", i + 2, i + 1) for i in range(4)] + [("p4@x.se", 5, 5)]
    assert handler.accepted == [f"p{i}@x.se" for i in range(5)]


def test_a_record_failing_while_mail_is_answered_abandons_that_copy_cleanly(
    server: tuple[RecordCheckingHandler, dict[str, str]], tmp_path: Path
) -> None:
    """The gate refuses while copy 3's MAIL is outstanding (the lease went): the reply is
    read, the transaction reset, copy 3 never gets DATA, and the connection serves the next
    message."""
    handler, environ = server
    people = [Recipient(f"p{i}@x.se", "") for i in range(5)]
    gate = MailCountingGate(handler, total=len(people), fail_at=2)
    channel = EmailChannel(_smtp_settings(environ), data_dir=str(tmp_path))
    try:
        with pytest.raises(LeaseLost):
            channel.deliver(make_message(recipients=people, gate=gate))
        assert handler.accepted == ["p0@x.se", "p1@x.se"]
        assert handler.mail_commands == 3
        report = channel.deliver(make_message(recipients=[Recipient("after@x.se", "")]))
    finally:
        channel.close()
    assert [r.status for r in report.results] == [RecipientStatus.SENT]
    assert handler.accepted[-1] == "after@x.se"


def _smtp_settings(environ: dict[str, str]) -> dict[str, str]:
    return {
        "host": environ["DRIFTPLAN_SMTP_HOST"],
        "port": environ["DRIFTPLAN_SMTP_PORT"],
        "mail_from": "drift@gits.example.se",
        "security": "none",
        "channel": "support_email",
    }
