"""How hard the outbox dispatcher tries (`DispatchPolicy`) and what one round did
(`DispatchSummary`); the dispatcher itself is `engine.service.delivery`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta


@dataclass
class DispatchPolicy:
    """How hard to try: attempts, backoff, lease.

    `lease` is how long a claimed message stays with a dispatcher that stopped renewing it
    (that died): the takeover time. `heartbeat` is how often a sending dispatcher renews it
    (default: a quarter of the lease). `chunk` is how many recipients go at once to a channel
    that does not report each copy, their results committed before the next chunk: at most
    that many copies are sent twice when a dispatcher dies mid-list (a channel that reports
    each copy, e-mail, has each one committed before the next: at most one). Those commits do
    not wait for the disk, but every `durable_every` recipients one does: a killed dispatcher
    still resends only the copies in flight, a power cut up to `durable_every` copies (with
    the same Message-ID).
    """

    max_attempts: int = 8
    base_delay: timedelta = timedelta(seconds=30)
    max_delay: timedelta = timedelta(hours=1)
    lease: timedelta = timedelta(seconds=20)
    batch: int = 50
    chunk: int = 1
    durable_every: int = 500
    heartbeat: timedelta | None = None

    @property
    def beat_seconds(self) -> float:
        beat = self.heartbeat if self.heartbeat is not None else self.lease / 4
        return max(0.05, beat.total_seconds())


@dataclass
class DispatchSummary:
    """What one `deliver_due` call did."""

    sent: int = 0
    retrying: int = 0
    dead: int = 0
    messages: list[str] = field(default_factory=list)

    @property
    def handled(self) -> int:
        return self.sent + self.retrying + self.dead
