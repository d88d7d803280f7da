"""A dispatcher whose lease ran out while it worked on a batch does not send twice."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from app_helpers import DECLARE, OPERATOR, FakeClock, make_app, make_dispatcher

from engine.ports import DeliveryReport, OutgoingMessage
from engine.service.delivery import DispatchPolicy

LEASE = timedelta(seconds=10)


class CountingChannel:
    """Counts deliveries per message instead of sending (a fake of our own Channel port)."""

    kind = "counting"

    def __init__(self, sent: Counter[str]) -> None:
        self.sent = sent

    def deliver(self, message: OutgoingMessage) -> DeliveryReport:
        self.sent[message.message_id] += 1
        return DeliveryReport(results=(), target="memory", live=False)

    def close(self) -> None:
        return None


def test_a_batch_whose_lease_expired_midway_is_not_delivered_twice(tmp_path: Path) -> None:
    """Dispatcher A claims a batch, stalls past its lease after one message, B takes over the
    rest; A then leaves every message it no longer holds, and each is delivered exactly once."""
    clock = FakeClock()
    application = make_app(tmp_path, clock=clock)
    application.service.declare(actor_id=OPERATOR, values=DECLARE)
    sent: Counter[str] = Counter()
    policy = DispatchPolicy(lease=LEASE, batch=50)
    first = make_dispatcher(application, {}, policy=policy)
    second = make_dispatcher(application, {}, policy=policy)
    for dispatcher in (first, second):
        dispatcher.channel_for = lambda *_args, **_kw: (CountingChannel(sent), {})  # type: ignore[method-assign]

    original = first._deliver_one
    calls = {"n": 0}

    def stall_after_first(message: Any, summary: Any) -> None:
        original(message, summary)
        calls["n"] += 1
        if calls["n"] == 1:
            clock.advance(LEASE + timedelta(seconds=1))  # A stalls; its leases expire
            second.deliver_due()  # B claims and delivers what is left

    first._deliver_one = stall_after_first  # type: ignore[method-assign]
    first.deliver_due()
    assert sent, "messages were delivered"
    assert set(sent.values()) == {1}, sent
