"""The whole delivery path: a declaration through the Service, the outbox Dispatcher, and a real
SMTP server (aiosmtpd on 127.0.0.1) that can answer 451/550 and drop connections.

The server counts what it *accepted* (a 250 reply to DATA) per Message-ID and recipient, which is
what "every recipient got the message exactly once" means to the people on the list.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiosmtpd.controller import Controller
from typer.testing import CliRunner

from engine.bootstrap import App
from engine.cli.app import app as cli
from engine.domain.model import Message, MessageStatus
from engine.errors import Conflict, NotAuthorized
from engine.service.delivery import Dispatcher, DispatchPolicy
from tests.app_helpers import (
    DECLARE,
    OPERATOR,
    SCOPE,
    WORKFLOWS,
    FakeClock,
    make_app,
    make_dispatcher,
    write_directory,
)
from tests.channel_helpers import free_port, parse_mail

INBOUND = "info.samsa@vgregion.se"
NOBODY = "nobody@kommun9.example.se"
# Past the longest backoff the test policies allow, so every retry is due after one advance.
POLICY = DispatchPolicy(
    max_attempts=40, base_delay=timedelta(seconds=30), max_delay=timedelta(minutes=5)
)
STEP = POLICY.max_delay + timedelta(seconds=1)


@dataclass
class Accepted:
    """One copy the server accepted."""

    message_id: str
    rcpt: str
    mail: EmailMessage


@dataclass
class FaultyHandler:
    """An aiosmtpd handler that refuses, delays (451) and drops, from a seeded random stream.

    Faults happen only *before* the server accepts a copy (at RCPT, or at DATA before the 250):
    delivery is at-least-once, so a connection dropped after the server said 250 to DATA but
    before the client read it would legitimately produce a duplicate that this test must not
    count as a bug.
    """

    seed: int = 0
    temporary_rate: float = 0.0  # share of RCPT and of DATA commands answered 451
    drop_rate: float = 0.0  # share of RCPT and of DATA commands where the connection is closed
    refuse: dict[str, str] = field(default_factory=dict)  # address -> reply, always
    accepted: list[Accepted] = field(default_factory=list)
    rcpt_attempts: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def _fault(self, server: Any, command: str) -> str | None:
        roll = self._rng.random()
        if roll < self.drop_rate:
            self.faults[f"{command} drop"] += 1
            server.transport.close()
            return "421 4.3.2 Closing connection"
        if roll < self.drop_rate + self.temporary_rate:
            self.faults[f"{command} 451"] += 1
            return "451 4.3.0 Try again later"
        return None

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        self.rcpt_attempts[address.lower()] += 1
        refused = self.refuse.get(address.lower())
        if refused:
            return refused
        fault = self._fault(server, "RCPT")
        if fault:
            return fault
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        fault = self._fault(server, "DATA")
        if fault:
            return fault
        mail = parse_mail(envelope.content)
        for rcpt in envelope.rcpt_tos:
            self.accepted.append(Accepted(str(mail["Message-ID"]), rcpt.lower(), mail))
        return "250 Message accepted for delivery"

    def copies(self) -> Counter[tuple[str, str]]:
        """How often each (Message-ID, recipient) was accepted."""
        return Counter((a.message_id, a.rcpt) for a in self.accepted)


@pytest.fixture
def smtp() -> Iterator[tuple[FaultyHandler, dict[str, str]]]:
    """A real SMTP server with a (by default well-behaved) faulty handler, and its environment."""
    handler = FaultyHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    environ = {
        "DRIFTPLAN_SMTP_HOST": "127.0.0.1",
        "DRIFTPLAN_SMTP_PORT": str(port),
        "DRIFTPLAN_MAIL_FROM": "SAMSA driftinformation <drift@gits.example.se>",
    }
    yield handler, environ
    controller.stop()


def _messages(application: App, incident_id: str) -> dict[str, Message]:
    with application.database.unit_of_work(read_only=True) as uow:
        return {m.channel: m for m in uow.messages.list(incident_id)}


def _due(application: App) -> int:
    with application.database.unit_of_work(read_only=True) as uow:
        incidents = uow.incidents.list(True)
        return sum(
            1
            for incident in incidents
            for m in uow.messages.list(incident.id)
            if m.status in (MessageStatus.PENDING, MessageStatus.RETRYING)
        )


def _drain(application: App, dispatcher: Dispatcher, clock: FakeClock, rounds: int = 80) -> int:
    """Deliver, move the clock past every backoff, repeat until nothing is due; returns rounds."""
    for done in range(1, rounds + 1):
        dispatcher.deliver_due()
        if _due(application) == 0:
            return done
        clock.advance(STEP)
    raise AssertionError(f"still {_due(application)} messages due after {rounds} rounds")


def test_declaration_reaches_the_support_list_with_the_grundmall(
    tmp_path: Path, smtp: tuple[FaultyHandler, dict[str, str]]
) -> None:
    """Declaring sends every support_it member one copy with Reply-To, a stable Message-ID and
    the required content, and records per-recipient results and a delivery event."""
    handler, environ = smtp
    application = make_app(tmp_path)
    result = application.service.declare(actor_id=OPERATOR, values=DECLARE)
    dispatcher = make_dispatcher(application, environ, policy=POLICY)
    summary = dispatcher.deliver_due()
    dispatcher.close()

    message = _messages(application, result.incident_id)["support_email"]
    assert message.status == MessageStatus.SENT and summary.dead == 0
    members = {r.address for r in message.recipients}
    assert len(members) == 6
    assert {a.rcpt for a in handler.accepted} == members
    assert all(count == 1 for count in handler.copies().values())
    for copy in handler.accepted:
        mail = copy.mail
        assert str(mail["Reply-To"]) == INBOUND
        assert copy.message_id == f"<{message.id}@gits.example.se>"
        assert SCOPE in str(mail["Subject"])
        text = mail.get_body(preferencelist=("plain",))
        assert text is not None
        body = text.get_content()
        assert "dygnet runt" in body  # the service description (grundmall)
        assert "Störningen startade: 4 mars 2025 kl. 09.15" in body
        assert f"Omfattning: {SCOPE}" in body
        assert "Beräknas vara löst: okänd" in body
    assert {(r.address, r.status) for r in message.results} == {(a, "sent") for a in members}
    deliveries = [
        e
        for e in application.service.log(result.incident_id)
        if e["kind"] == "delivery" and e["data"]["message_id"] == message.id
    ]
    assert len(deliveries) == 1
    event = deliveries[0]["data"]
    assert (event["channel"], event["status"], event["live"]) == (
        "support_email",
        MessageStatus.SENT,
        True,
    )
    assert {r["address"] for r in event["results"]} == members


def test_flaky_server_every_recipient_once_and_a_refused_one_dead(
    tmp_path: Path, smtp: tuple[FaultyHandler, dict[str, str]]
) -> None:
    """With 451s and dropped connections on ~30% of commands, retries reach every recipient
    exactly once; the 550 recipient alone fails permanently and makes the message a dead letter."""
    handler, environ = smtp
    handler.seed, handler.temporary_rate, handler.drop_rate = 20250304, 0.3, 0.07
    handler.__post_init__()
    handler.refuse[NOBODY] = "550 5.1.1 No such user"
    good = [f"support{i}@kommun{i}.example.se" for i in range(30)]
    clock = FakeClock()
    application = make_app(
        tmp_path, clock=clock, directory=write_directory(tmp_path, [*good[:15], NOBODY, *good[15:]])
    )
    result = application.service.declare(actor_id=OPERATOR, values=DECLARE)
    dispatcher = make_dispatcher(application, environ, policy=POLICY)
    rounds = _drain(application, dispatcher, clock)
    dispatcher.close()

    message = _messages(application, result.incident_id)["support_email"]
    msgid = f"<{message.id}@gits.example.se>"
    assert handler.faults["RCPT 451"] and handler.faults["DATA 451"]
    assert handler.faults["RCPT drop"] and handler.faults["DATA drop"]
    assert rounds > 1 and message.attempts > 1
    assert handler.copies() == Counter({(msgid, a): 1 for a in good})
    assert message.status == MessageStatus.DEAD
    statuses = {r.address: r.status for r in message.results}
    assert statuses == {**dict.fromkeys(good, "sent"), NOBODY: "permanent"}
    assert "550" in next(r.detail for r in message.results if r.address == NOBODY)
    others = _messages(application, result.incident_id)
    assert {c: m.status for c, m in others.items() if c != "support_email"} == dict.fromkeys(
        ("login_page", "website_news", "it_nytt", "newsletter"), MessageStatus.SENT
    )

    # The operator fixes the address on the server side and retries the dead letter.
    handler.refuse.clear()
    handler.temporary_rate = handler.drop_rate = 0.0
    env = {"DRIFTPLAN_DATA": str(application.settings.data), "DRIFTPLAN_WORKFLOWS": str(WORKFLOWS)}
    runner = CliRunner()
    dead = runner.invoke(cli, ["outbox", "dead", "--json"], env=env)
    assert dead.exit_code == 0 and message.id in dead.stdout
    retried = runner.invoke(cli, ["outbox", "retry", message.id, "--as", OPERATOR], env=env)
    assert retried.exit_code == 0, retried.stdout + retried.stderr
    requeued = _messages(application, result.incident_id)["support_email"]
    assert requeued.status == MessageStatus.PENDING
    assert {r.address for r in requeued.results} == set(good)  # only the sent are kept
    clock.set(datetime.now(UTC) + timedelta(seconds=1))  # the CLI queued it at wall-clock time
    before = len(handler.accepted)
    dispatcher = make_dispatcher(application, environ, policy=POLICY)
    dispatcher.deliver_due()
    dispatcher.close()

    assert [(a.message_id, a.rcpt) for a in handler.accepted[before:]] == [(msgid, NOBODY)]
    final = _messages(application, result.incident_id)["support_email"]
    assert final.status == MessageStatus.SENT
    requeued_events = [
        e for e in application.service.log(result.incident_id) if e["kind"] == "delivery_requeued"
    ]
    assert [e["actor"] for e in requeued_events] == [OPERATOR]


def test_requeue_refuses_a_message_that_is_not_dead(
    tmp_path: Path, smtp: tuple[FaultyHandler, dict[str, str]]
) -> None:
    """Only dead letters can be retried: a sent message is a Conflict and stays sent."""
    _, environ = smtp
    application = make_app(tmp_path)
    result = application.service.declare(actor_id=OPERATOR, values=DECLARE)
    make_dispatcher(application, environ).deliver_due()
    message = _messages(application, result.incident_id)["support_email"]
    with pytest.raises(Conflict, match="not a dead letter"):
        application.service.outbox.retry(message.id, OPERATOR)
    assert _messages(application, result.incident_id)["support_email"].status == MessageStatus.SENT


@pytest.mark.parametrize(
    ("person", "allowed"),
    [
        ("anna.andersson", True),  # operator: fires triggers
        ("karin.lindqvist", True),  # admin: fires none, but `may: [retry_deliveries]`
        ("eva.ek", False),  # in the directory, but without a role
    ],
)
def test_only_people_the_plan_lets_act_may_send_a_dead_letter_again(
    tmp_path: Path, person: str, allowed: bool
) -> None:
    """Retrying a dead letter is authorised like a command and logged under the person; a
    refusal names the roles that may, leaves the letter dead and is logged too."""
    directory = write_directory(tmp_path, ["it@kommun1.example.se"])
    raw = yaml.safe_load(directory.read_text("utf-8"))
    raw["people"].append({"id": "eva.ek", "name": "Eva Ek", "email": "eva.ek@example.se"})
    directory.write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    application = make_app(tmp_path, directory=directory)
    incident = application.service.declare(actor_id=OPERATOR, values=DECLARE).incident_id
    with application.database.unit_of_work() as uow:
        message = next(m for m in uow.messages.list(incident) if m.channel == "support_email")
        message.status = MessageStatus.DEAD
        uow.messages.update(message)
        uow.commit()
    if allowed:
        application.service.outbox.retry(message.id, person)
        expected = MessageStatus.PENDING
    else:
        with pytest.raises(NotAuthorized) as refused:
            application.service.outbox.retry(message.id, person)
        assert "admin" in refused.value.allowed and "operator" in refused.value.allowed
        assert "Eva Ek får inte skicka meddelande" in refused.value.text("sv")
        expected = MessageStatus.DEAD
    assert _messages(application, incident)["support_email"].status == expected
    last = application.service.log(incident)[-1]
    assert (last["kind"], last["actor"]) == (
        ("delivery_requeued", person) if allowed else ("refused", person)
    )


def test_two_dispatchers_never_deliver_one_message_twice(
    tmp_path: Path, smtp: tuple[FaultyHandler, dict[str, str]]
) -> None:
    """Two dispatchers racing on one SQLite file deliver each copy once and record each once."""
    handler, environ = smtp
    clock = FakeClock()
    application = make_app(tmp_path, clock=clock)
    incidents = [
        application.service.declare(actor_id=OPERATOR, values=DECLARE).incident_id for _ in range(8)
    ]
    policy = DispatchPolicy(batch=2)
    dispatchers = [make_dispatcher(application, environ, policy=policy) for _ in range(2)]
    start = threading.Barrier(2)
    handled = [0, 0]
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            start.wait()
            while True:
                try:
                    summary = dispatchers[index].deliver_due()
                except Conflict:  # the database was busy: a later round gets it
                    continue
                handled[index] += summary.handled
                if not summary.handled:
                    return
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for dispatcher in dispatchers:
        dispatcher.close()

    assert not errors, errors
    assert sum(handled) == 8 * 5
    copies = handler.copies()
    assert len(copies) == 8 * 6 and set(copies.values()) == {1}
    for incident_id in incidents:
        log = application.service.log(incident_id)
        per_message = Counter(e["data"]["message_id"] for e in log if e["kind"] == "delivery")
        assert len(per_message) == 5 and set(per_message.values()) == {1}
        assert all(
            m.status == MessageStatus.SENT for m in _messages(application, incident_id).values()
        )


def test_a_permanently_refused_recipient_is_not_tried_again(
    tmp_path: Path, smtp: tuple[FaultyHandler, dict[str, str]]
) -> None:
    """When a message is retried for a 451 recipient, the 550 recipient is not contacted again."""
    handler, environ = smtp
    later = "later@kommun8.example.se"
    handler.refuse.update({NOBODY: "550 5.1.1 No such user", later: "451 4.3.0 Later"})
    clock = FakeClock()
    application = make_app(
        tmp_path, clock=clock, directory=write_directory(tmp_path, [later, NOBODY])
    )
    application.service.declare(actor_id=OPERATOR, values=DECLARE)
    dispatcher = make_dispatcher(application, environ, policy=POLICY)
    dispatcher.deliver_due()
    del handler.refuse[later]
    clock.advance(STEP)
    dispatcher.deliver_due()
    dispatcher.close()
    assert handler.rcpt_attempts[later] == 2
    assert handler.rcpt_attempts[NOBODY] == 1


def test_news_for_the_subscribers_audience_is_sent_once_published(
    tmp_path: Path, smtp: tuple[FaultyHandler, dict[str, str]]
) -> None:
    """The website news item (audience: subscribers) is sent once published, even when there
    are confirmed subscribers; it is a page, not a mail to them."""
    _, environ = smtp
    application = make_app(tmp_path)
    token = application.service.subscriptions.subscribe(
        audience="subscribers", email="a@example.se", now=application.clock.now()
    ).token
    application.service.subscriptions.confirm(token, application.clock.now())
    result = application.service.declare(actor_id=OPERATOR, values=DECLARE)
    dispatcher = make_dispatcher(application, environ, policy=POLICY)
    dispatcher.deliver_due()
    dispatcher.close()
    messages = _messages(application, result.incident_id)
    assert messages["newsletter"].status == MessageStatus.SENT
    assert messages["website_news"].status == MessageStatus.SENT
