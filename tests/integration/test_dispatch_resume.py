"""A dispatcher that dies mid-list leaves exactly who was served; the next one serves the rest.

In-process and deterministic (the crash suite, tests/integration/test_crash_delivery.py, does
the same with real processes and SIGKILL): a channel that "dies" after N copies by raising an
exception the dispatcher does not catch, a clock moved past the lease, a second dispatcher.
Both ways a channel can be handed a list: a recipient per call (`MailChannel`), and the whole
list to a channel that reports each copy through the dispatcher's gate (`GatedMailChannel`,
as the e-mail channel does).
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from engine.domain.model import RecipientStatus
from engine.ports import DeliveryReport, OutgoingMessage, RecipientResult
from engine.service.delivery import DispatchPolicy
from tests.app_helpers import (
    DECLARE,
    OPERATOR,
    FakeClock,
    make_app,
    make_dispatcher,
    write_directory,
)

POLICY = DispatchPolicy(lease=timedelta(seconds=20))


class Died(BaseException):
    """The process is gone: nothing after this line of the dispatcher runs."""


class MailChannel:
    """Takes one copy per recipient; with `die_after`, dies on the copy after that many."""

    kind = "email"
    needs_recipients = True

    def __init__(self, copies: Counter[str], calls: list[int], die_after: int | None) -> None:
        self.copies, self.calls, self.die_after = copies, calls, die_after

    def deliver(self, message: OutgoingMessage) -> DeliveryReport:
        self.calls.append(len(message.recipients))
        results = []
        for recipient in message.recipients:
            if self.die_after is not None and sum(self.copies.values()) >= self.die_after:
                self.copies[recipient.address] += 1  # the copy in flight: sent, not recorded
                raise Died
            self.copies[recipient.address] += 1
            results.append(RecipientResult(recipient.address, RecipientStatus.SENT, "250"))
        return DeliveryReport(results=results, target="smtp://test")

    def close(self) -> None:
        pass


class GatedMailChannel(MailChannel):
    """The same, handed the whole list: asks the gate before each copy, reports each after."""

    reports_each_copy = True

    def deliver(self, message: OutgoingMessage) -> DeliveryReport:
        gate = message.gate
        assert gate is not None
        self.calls.append(len(message.recipients))
        results = []
        for recipient in message.recipients:
            gate.before_copy()  # the previous copy is recorded by now
            if self.die_after is not None and sum(self.copies.values()) >= self.die_after:
                self.copies[recipient.address] += 1
                raise Died
            self.copies[recipient.address] += 1
            results.append(RecipientResult(recipient.address, RecipientStatus.SENT, "250"))
            gate.copied(results[-1])
        return DeliveryReport(results=results, target="smtp://test")


class Quiet:
    kind = "banner"

    def deliver(self, message: OutgoingMessage) -> DeliveryReport:
        return DeliveryReport(target="file:test")

    def close(self) -> None:
        pass


@pytest.mark.parametrize("gated", [False, True], ids=["per-call", "gated"])
@pytest.mark.parametrize("size, die_after", [(40, 17), (250, 170)])
def test_a_dispatcher_that_died_mid_list_is_resumed_by_the_next(
    tmp_path: Path, size: int, die_after: int, gated: bool
) -> None:
    clock = FakeClock()
    addresses = [f"s{i:03d}@x.se" for i in range(size)]
    application = make_app(tmp_path, clock=clock, directory=write_directory(tmp_path, addresses))
    incident = application.service.declare(actor_id=OPERATOR, values=DECLARE).incident_id
    copies: Counter[str] = Counter()
    calls: list[int] = []

    def wire(die_after: int | None) -> Any:
        dispatcher = make_dispatcher(application, {}, policy=POLICY)
        mail = (GatedMailChannel if gated else MailChannel)(copies, calls, die_after)

        def channel_for(sha: str, snapshot: Any, name: str) -> Any:
            return (mail if name == "support_email" else Quiet()), {"channel": name}

        dispatcher.channel_for = channel_for  # type: ignore[method-assign]
        return dispatcher

    with pytest.raises(Died):
        wire(die_after).deliver_due()
    [mail] = [m for m in application.service.messages(incident) if m.channel == "support_email"]
    with application.database.unit_of_work(read_only=True) as uow:
        journal = uow.messages.journal(mail.id)
    # Every copy but the one in flight is recorded, in order, in the journal (the message row
    # gets the results when the attempt ends).
    assert mail.results == []
    assert [r.address for r in journal] == addresses[:die_after]

    assert wire(None).deliver_due().handled == 0  # the lease still holds
    clock.advance(POLICY.lease + timedelta(seconds=1))
    wire(None).deliver_due()

    assert set(copies) == set(addresses)
    assert [a for a, n in copies.items() if n > 1] == [addresses[die_after]]  # in flight
    # One recipient per call, or the whole list and then the rest.
    assert calls == [size, size - die_after] if gated else set(calls) == {1}
    [mail] = [m for m in application.service.messages(incident) if m.channel == "support_email"]
    assert (mail.status, mail.attempts) == ("sent", 2)
    assert Counter(r.attempt for r in mail.results) == {1: die_after, 2: size - die_after}
    log = application.service.log(incident)
    began = [e["data"] for e in log if e["kind"] == "delivery_attempt" and mail.id in str(e)]
    assert [(e["attempt"], e["unfinished_attempt"], e["recipients"]) for e in began] == [
        (1, None, size),
        (2, 1, size - die_after),
    ]
    [ended] = [
        e["data"] for e in log if e["kind"] == "delivery" and e["data"]["message_id"] == mail.id
    ]
    assert (ended["attempt"], len(ended["results"])) == (2, size - die_after)
    with application.database.unit_of_work(read_only=True) as uow:
        assert uow.messages.journal(mail.id) == []
