"""The worker: the process that keeps an installation moving when nobody types a command.

It has three duties. Timers (reminders, escalations, approval deadlines) fire when due: the
APScheduler alarm clock behind the installation's leader lock (`App.alarm_clock`) does that, so
of several workers only the leader fires them. And the outbox is delivered: every worker claims
due messages under a lease (two workers do not deliver the same message at once) and hands them
to the channels, at once when a commit wakes it (`App.wakeups`: in this process directly, from
other processes through the database, see `engine.store.wakeups`) and otherwise every
`interval` seconds as a safety net. And the head of the audit chain is anchored off the
machine when an incident ended or a day has passed (`engine.service.anchors`; by the leader
only, so that several workers send one anchor). `run_once` does one round of all three, for
cron and tests; `run` keeps going until it is told to stop.

Delivery comes before the anchor in every round: a commit (a declaration, say) both moves the
audit chain's head and queues its banner and e-mails, and the anchor it makes due is not urgent
while the banner is, so the banner does not wait for the anchor's reads and write. The anchor's
own message then goes out at once: its commit rings the outbox bell like any other
(`engine.store.wakeups`), and `run_once` delivers again after writing one.

Everything it uses comes wired from `engine.bootstrap`; `driftplan worker` only parses options,
installs signal handlers and prints.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.bootstrap import App
    from engine.scheduler.alarm import AlarmClock
    from engine.service.anchors import AnchorSent
    from engine.service.delivery import DispatchSummary

log = logging.getLogger(__name__)

# How often a wait for a wake-up looks at `stop`: the longest a stop request waits.
STOP_CHECK_SECONDS = 0.25


@dataclass(frozen=True)
class Round:
    """What one `Worker.run_once` did: timers fired, what the outbox delivery did, and the
    anchor written (None when none was due)."""

    timers_fired: int
    delivery: DispatchSummary
    anchor: AnchorSent | None = None


class Worker:
    """Runs an installation's timers and outbox delivery."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.alarm: AlarmClock | None = None  # set while `run` runs (the web's health asks it)

    @property
    def leader(self) -> bool:
        """Whether this process fires the installation's timers now."""
        return self.alarm is not None and self.alarm.leader

    def run_once(self) -> Round:
        """Fire every due timer, deliver every due message, then write an anchor if one is due
        and deliver it too, once. `Round.delivery` counts both deliveries."""
        fired = sum(1 for result in self.app.timers.fire_due() if result.fired)
        delivery = self.app.dispatcher.deliver_due()
        anchor = self.app.anchors.run()
        if anchor is not None:
            more = self.app.dispatcher.deliver_due()
            delivery = replace(
                delivery,
                sent=delivery.sent + more.sent,
                retrying=delivery.retrying + more.retrying,
                dead=delivery.dead + more.dead,
                messages=[*delivery.messages, *more.messages],
            )
        return Round(fired, delivery, anchor)

    def _anchor(self) -> None:
        # A failing anchor must not stop delivery; the next round tries again.
        try:
            self.app.anchors.run()
        except Exception:
            log.exception("writing the audit anchor failed")

    def run(
        self,
        stop: threading.Event,
        *,
        interval: float,
        sweep: float,
        on_start: Callable[[], None] | None = None,
        on_stop: Callable[[], None] | None = None,
    ) -> None:
        """Run until `stop` is set: the alarm clock fires timers (sweeping every `sweep` seconds
        for leadership and timers armed elsewhere, and whenever a commit may have armed some)
        while this thread delivers the outbox whenever a commit queued messages, and every
        `interval` seconds in any case, and then, as the leader, writes an anchor if one is
        due (whose commit rings the bell again, so it is delivered without waiting for the
        poll). Afterwards the alarm clock is stopped and the dispatcher's channel connections
        closed.

        `on_start` is called once the alarm clock runs; `on_stop` after everything is shut
        down, also when delivery raised (it is not called if the alarm clock never started).
        """
        wakeups = self.app.wakeups
        alarm = self.app.alarm_clock(sweep_seconds=sweep)
        with wakeups.listening():
            unsubscribe = wakeups.on_timers(alarm.poke)
            alarm.start()
            self.alarm = alarm
            if on_start is not None:
                on_start()
            try:
                while not stop.is_set():
                    self.app.dispatcher.deliver_due()
                    if alarm.leader:
                        self._anchor()
                    self._wait(stop, interval)
            finally:
                unsubscribe()
                alarm.stop()
                self.alarm = None
                self.app.dispatcher.close()
                if on_stop is not None:
                    on_stop()

    def _wait(self, stop: threading.Event, interval: float) -> None:
        """Until a commit queues messages, `interval` passes, or `stop` is set."""
        deadline = time.monotonic() + interval
        while not stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0 or self.app.wakeups.wait_outbox(min(left, STOP_CHECK_SECONDS)):
                return
