"""Exercises ("övningar"): rehearse a plan from a script, on virtual time, with nobody told.

An exercise script (YAML) lists steps at virtual offsets from the start: who acts and what they
do (declare, fire a trigger, approve, reject, stay silent, restore, ...). The runner executes the
script against a throw-away installation with the real engine: the incident is declared with
`exercise=True` (every message says ÖVNING in subject and body), the timers run through the
real alarm clock and timer runner on a `ScaledClock`, and the outbox is delivered by the real
dispatcher — with an environment stripped of channel settings, so every channel writes to the
file outbox unless real recipients are explicitly allowed.

The script format is engine.exercise.script's. The event log is the record of the run: the
timeline and the summary are read from it, so what the exercise shows is what a real incident
would have logged.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.bootstrap import App, build
from engine.domain.model import Approval, Message
from engine.domain.outcome import CommandResult
from engine.errors import ConfigurationError, Conflict
from engine.exercise.script import Script, Step, fired_timer_names
from engine.scheduler.alarm import AlarmClock
from engine.scheduler.clocks import ScaledClock
from engine.settings import Settings

MAX_CONFLICT_RETRIES = 5  # a timer may commit on the incident between our read and write


def safe_environ(environ: Mapping[str, str], allow_real: bool) -> dict[str, str]:
    """The environment the exercise's dispatcher resolves channel settings from.

    Without permission for real recipients it is empty: no SMTP host, publish folder, webhook
    URL or secret (DRIFTPLAN_* or any `${NAME}` a plan refers to) reaches a channel, so e-mail,
    newsletter, calendar and webhook channels write to the file outbox, and the banner and news
    channels publish into the exercise's own data folder.
    """
    if allow_real:
        return dict(environ)
    return {}


@dataclass
class Observation:
    """What the runner reports to its observer: a step, or an event from the log."""

    kind: str  # "step", "event", "speed", "problem"
    at: datetime  # virtual time
    step: Step | None = None
    event: dict[str, Any] | None = None
    message: Message | None = None  # the outbox row a delivery event is about
    detail: str = ""


Observer = Callable[[Observation], None]


@dataclass
class RunResult:
    """What an exercise run leaves behind, for the summary and for tests."""

    incident_id: str
    declared_at: datetime
    ended_at: datetime
    wall_seconds: float
    events: list[dict[str, Any]]
    messages: list[Message]
    approvals: list[Approval]
    data_dir: Path
    problems: list[str]
    # (virtual instant, speed from then on), oldest first: scores convert delivery work back to
    # real seconds with it (engine.exercise.scores).
    speeds: list[tuple[datetime, float]] = field(default_factory=list)


class ExerciseRunner:
    """Runs one script against an installation in `data_dir`; see the module docstring."""

    def __init__(
        self,
        script: Script,
        *,
        data_dir: Path,
        workflows: Path,
        speed: float | None = None,
        allow_real_recipients: bool = False,
        observer: Observer | None = None,
        sweep_seconds: float = 0.05,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.script = script
        # --speed scales the whole script, keeping per-step speed changes in proportion.
        self.factor = (speed / script.speed) if speed else 1.0
        self.observer = observer or (lambda _: None)
        self.sweep_seconds = sweep_seconds
        self.allow_real = allow_real_recipients or script.allow_real_recipients
        start = script.start or datetime.now(UTC).replace(microsecond=0)
        # Paused until run(): building the installation must not use up virtual minutes.
        self.clock = ScaledClock(start, script.speed * self.factor, paused=True)
        self.speeds = [script.speed * self.factor]
        self.speed_log: list[tuple[datetime, float]] = [(start, script.speed * self.factor)]
        self.start = start
        # Never the installation's own database: the exercise gets its own SQLite file.
        settings = Settings(data=data_dir, workflows=workflows, database_url=None)
        visible = settings.environ if environ is None else environ
        self.app: App = build(
            settings, clock=self.clock, channel_environ=safe_environ(visible, self.allow_real)
        )
        self.data_dir = data_dir
        self.dispatcher = self.app.dispatcher
        self.runner = self.app.timers
        self.alarm: AlarmClock | None = None
        self.incident = ""
        self.approvals: dict[str, str] = {}  # "last" and trigger -> latest approval id
        self._seen = 0
        self._messages: dict[str, Message] = {}
        self.problems: list[str] = []
        self._failures: list[str] = []  # from the delivery thread, reported by the main one
        self._stop = threading.Event()

    # ------------------------------------------------------------------ running
    def run(self) -> RunResult:
        self.app.service.directory.import_file(self.script.directory)
        started = time.monotonic()
        start = self.start
        # Starting the scheduler and the delivery thread takes real time that at ×3000 would
        # be minutes of the script: the clock runs only once they are up.
        self._start_alarm()
        delivery = threading.Thread(target=self._deliver_loop, name="exercise-outbox")
        delivery.start()
        self.clock.resume()
        try:
            for step in self.script.steps:
                self._wait_until(start + step.offset)
                self._execute(step)
            self._settle()
        finally:
            self._stop.set()
            delivery.join()
            if self.alarm is not None:
                self.alarm.stop()
            self.dispatcher.close()
            self._report()
        self._check_expectations()
        return self._result(time.monotonic() - started)

    def _start_alarm(self) -> None:
        self.alarm = self.app.alarm_clock(
            sweep_seconds=self.sweep_seconds, to_real=self.clock.to_real
        )
        self.alarm.start()

    def _set_speed(self, speed: float) -> None:
        # Jobs already scheduled were placed on the old speed's wall-clock instants; a fresh
        # alarm clock re-arms every open timer at the new speed.
        assert self.alarm is not None
        self.clock.pause()  # stopping the scheduler takes real time that is not the script's
        self.alarm.stop()
        self.clock.set_speed(speed * self.factor)
        self.speed_log.append((self.clock.now(), speed * self.factor))
        self.clock.resume()
        self._start_alarm()
        self.speeds.append(speed * self.factor)
        self.observer(Observation("speed", self.clock.now(), detail=f"{speed * self.factor:g}"))

    def _wait_until(self, virtual: datetime) -> None:
        while (delay := self.clock.real_delay(virtual)) > 0:
            # Reading the log takes milliseconds, which at ×3000 are virtual seconds: only
            # while the step is not about to come, so that it starts on time.
            if delay > 0.05:
                self._report()
                delay = self.clock.real_delay(virtual)
            time.sleep(max(0.0, min(delay, 0.005)))

    def _deliver_loop(self) -> None:
        """The outbox, on its own thread, so that a slow delivery never makes a step late."""
        while not self._stop.is_set():
            try:
                self.dispatcher.deliver_due()
            except Exception as exc:  # reported; the exercise goes on
                self._failures.append(f"delivery round failed: {exc!r}")
            self._stop.wait(0.01)

    def _report(self) -> None:
        """Report new log events to the observer (on the main thread, in log order)."""
        if not self.incident:
            return
        events = self._log()
        for event in events[self._seen :]:
            message = None
            if event["kind"] == "delivery":
                message = self._message(event["data"]["message_id"])
            at = datetime.fromisoformat(event["at"])
            self.observer(Observation("event", at, event=event, message=message))
        self._seen = len(events)
        while self._failures:
            self._problem(self._failures.pop(0))

    def _log(self) -> list[dict[str, Any]]:
        """The incident's log (`Service.log` reads without taking SQLite's write lock)."""
        return self.app.service.log(self.incident)

    def _state(self) -> str:
        with self.app.database.unit_of_work(read_only=True) as uow:
            return str(uow.incidents.get(self.incident).state)

    def _message(self, message_id: str) -> Message:
        if message_id not in self._messages:
            with self.app.database.unit_of_work(read_only=True) as uow:
                self._messages[message_id] = uow.messages.get(message_id)
        return self._messages[message_id]

    def _execute(self, step: Step) -> None:
        if step.speed is not None:
            self._set_speed(step.speed)
        # The step happens at its scripted instant: the clock stands still while it is shown
        # and its command runs, which at high speed would otherwise cost virtual minutes. It
        # runs again before the alarm clock arms the new timers, whose wall-clock instants
        # assume a running clock.
        self.clock.pause()
        try:
            self.observer(Observation("step", self.clock.now(), step=step))
            result = self._act_retrying(step)
        finally:
            self.clock.resume()
        if result is not None and result.approval_id:
            self.approvals["last"] = result.approval_id
            if step.action == "fire":
                self.approvals[step.trigger] = result.approval_id
        assert self.alarm is not None
        self.alarm.sweep()  # arm the step's new timers now rather than at the next sweep
        self._report()
        if step.expect_state:
            state = self._state()
            if state != step.expect_state:
                self._problem(f"line {step.line}: expected state {step.expect_state}, got {state}")

    def _act_retrying(self, step: Step) -> CommandResult | None:
        for attempt in range(MAX_CONFLICT_RETRIES):
            try:
                return self._act(step)
            except Conflict:
                # A timer committed on the incident meanwhile; the command is one transaction,
                # so trying again is safe.
                if attempt == MAX_CONFLICT_RETRIES - 1:
                    raise
        return None

    def _act(self, step: Step) -> CommandResult | None:
        service = self.app.service
        if step.action in ("silence", "wait"):
            return None
        if step.action == "declare":
            result = service.declare(
                actor_id=step.actor,
                values=step.values,
                exercise=True,
                workflow=self.script.plan,
                trigger=step.trigger or None,
            )
            self.incident = result.incident_id
            return result
        if not self.incident:
            raise ConfigurationError(
                f"{self.script.source}:{step.line}: the first acting step must be `do: declare`"
            )
        if step.action in ("approve", "reject"):
            approval = self.approvals.get(step.approval)
            if approval is None:
                raise ConfigurationError(
                    f"{self.script.source}:{step.line}: no approval request '{step.approval}' "
                    f"yet; known: {', '.join(sorted(self.approvals)) or '(none)'}"
                )
            return service.decide(
                approval_id=approval,
                actor_id=step.actor,
                approve=step.action == "approve",
                comment=step.note,
            )
        trigger = "restore" if step.action == "restore" else step.trigger
        values = dict(step.values)
        if step.action == "restore":
            values.setdefault("resolved_at", "now")
        return service.fire(
            incident_id=self.incident, trigger=trigger, actor_id=step.actor, values=values
        )

    def _settle(self, timeout: float = 10.0) -> None:
        """After the last step: let due timers fire and the outbox drain, then stop."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._report()
            now = self.clock.now()
            with self.app.database.unit_of_work(read_only=True) as uow:
                due = uow.timers.due(now)
                waiting = [
                    m
                    for m in uow.messages.list(self.incident)
                    if m.status in ("pending", "retrying")
                ]
            if not due and not waiting:
                break
            time.sleep(0.02)
        self._report()

    def _problem(self, text: str) -> None:
        self.problems.append(text)
        self.observer(Observation("problem", self.clock.now(), detail=text))

    def _check_expectations(self) -> None:
        if not self.incident:
            self._problem("the script declared no incident")
            return
        state = self._state()
        if self.script.expect_state and state != self.script.expect_state:
            self._problem(
                f"expected the incident to end in {self.script.expect_state}, it is in {state}"
            )
        names = fired_timer_names(self._log())
        for wanted in self.script.expect_timers:
            if wanted not in names:
                self._problem(f"expected timer {wanted} to fire; fired: {sorted(names)}")

    def _result(self, wall: float) -> RunResult:
        events = self._log() if self.incident else []
        with self.app.database.unit_of_work(read_only=True) as uow:
            messages = uow.messages.list(self.incident) if self.incident else []
            approvals = uow.approvals.list(self.incident) if self.incident else []
        declared = next(
            (datetime.fromisoformat(e["at"]) for e in events if e["kind"] == "declare"),
            self.clock.now(),
        )
        return RunResult(
            self.incident,
            declared,
            self.clock.now(),
            wall,
            events,
            messages,
            approvals,
            self.data_dir,
            list(self.problems),
            list(self.speed_log),
        )

    def close(self) -> None:
        self.app.database.dispose()
