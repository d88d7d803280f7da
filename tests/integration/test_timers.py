"""Timers of the SAMSA plan on a fake clock: every kind, resets, cancellation, lateness.

The service is built through the composition root on a SQLite file with the example directory,
and time only moves when a test moves it; `TimerRunner.fire_due` is what a worker's sweep does.
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from engine.bootstrap import App, build
from engine.domain.model import Timer
from engine.errors import ApprovalError
from engine.scheduler.alarm import AlarmClock, LeaderLock
from engine.scheduler.clocks import FakeClock, ScaledClock
from engine.service.timers import TimerRunner, next_due
from engine.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
OPERATOR = "anna.andersson"


@dataclass
class World:
    """The app on a fake clock, its timer runner and one declared incident."""

    app: App
    clock: FakeClock
    runner: TimerRunner
    incident: str = ""

    def declare(self, **values: Any) -> str:
        base = {
            "started_at": "now",
            "scope": "Ingen åtkomst till SAMSA i Fyrbodal",
            "expected_resolution": "okänd",
            "affected_subregions": "fyrbodal",
        }
        result = self.app.service.declare(
            actor_id=OPERATOR, values={**base, **values}, exercise=True
        )
        self.incident = result.incident_id
        return result.incident_id

    def fire(self, trigger: str, actor: str = OPERATOR, **values: Any) -> Any:
        return self.app.service.fire(
            incident_id=self.incident, trigger=trigger, actor_id=actor, values=values
        )

    def decide(self, approval_id: str, actor: str) -> Any:
        return self.app.service.decide(approval_id=approval_id, actor_id=actor, approve=True)

    def at(self, **offset: float) -> list[Any]:
        """Move the clock to T0 + offset and run one sweep; returns the timers that fired."""
        self.clock.set(T0 + timedelta(**offset))
        return [r for r in self.runner.fire_due() if r.fired]

    def open_timers(self) -> dict[str, datetime]:
        with self.app.database.unit_of_work(read_only=True) as uow:
            return {t.key: t.due_at for t in uow.timers.list_open(self.incident)}

    def events(self, *kinds: str) -> list[dict[str, Any]]:
        return [e for e in self.app.service.log(self.incident) if not kinds or e["kind"] in kinds]

    def timer_events(self, key_part: str) -> list[dict[str, Any]]:
        return [e for e in self.events("timer", "reminder") if key_part in e["data"]["timer"]]

    def messages(self, cause_part: str) -> list[Any]:
        with self.app.database.unit_of_work(read_only=True) as uow:
            return [m for m in uow.messages.list(self.incident) if cause_part in m.cause]

    def state(self) -> str:
        return str(self.app.service.show(self.incident)["state"])


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """A fresh installation on a fake clock at T0, with the example directory imported."""
    clock = FakeClock(T0)
    app = build(Settings(data=tmp_path, workflows=ROOT / "workflows"), clock=clock)
    app.service.directory.import_file(ROOT / "examples" / "directory.yaml")
    yield World(app, clock, app.timers)
    app.database.dispose()


def test_every_timer_fires_when_due_and_rearms_an_interval_later(world: World) -> None:
    """update_due (every 60m) stays quiet before the hour, fires at it, and re-arms for +2h."""
    world.declare()
    assert world.at(minutes=59) == []
    fired = world.at(minutes=60)
    assert len(fired) == 1 and fired[0].late_seconds == 0
    assert world.open_timers()["state:outage:update_due"] == T0 + timedelta(hours=2)
    [reminder] = world.messages("timer:state:outage:update_due")
    assert reminder.channel == "staff_email" and reminder.subject.startswith("ÖVNING")


def test_post_update_postpones_the_next_update_due(world: World) -> None:
    """A status update at 40m moves update_due from 60m to 100m (reset_on: post_update)."""
    world.declare()
    world.clock.set(T0 + timedelta(minutes=40))
    world.fire("post_update")
    assert world.at(minutes=61) == []
    assert world.open_timers()["state:outage:update_due"] == T0 + timedelta(minutes=100)
    assert len(world.at(minutes=100)) == 1
    assert len(world.timer_events("update_due")) == 1


def test_eta_timer_is_not_armed_while_unknown_and_fires_at_the_time_set(world: World) -> None:
    """eta_passed waits for a real expected_resolution, then fires exactly then."""
    world.declare(expected_resolution="okänd")
    assert "state:outage:eta_passed" not in world.open_timers()
    eta = T0 + timedelta(minutes=45)
    world.clock.set(T0 + timedelta(minutes=10))
    world.fire("post_update", expected_resolution=eta.isoformat())
    assert world.open_timers()["state:outage:eta_passed"] == eta
    assert world.at(minutes=44) == []
    world.at(minutes=45)
    assert len(world.timer_events("eta_passed")) == 1
    assert world.messages("timer:state:outage:eta_passed")


def test_eta_timer_is_armed_at_declaration_when_the_time_is_known(world: World) -> None:
    """A declaration with an expected resolution arms eta_passed for that instant."""
    eta = T0 + timedelta(hours=3)
    world.declare(expected_resolution=eta.isoformat())
    assert world.open_timers()["state:outage:eta_passed"] == eta


def test_subregional_gate_reminds_after_10m_and_expires_after_2h(world: World) -> None:
    """An undecided sub-regional request reminds its decider at 10m and expires at 2h."""
    world.declare()
    approval = world.fire("enter_partial_reserve", reserve_subregions="fyrbodal").approval_id
    assert world.at(minutes=9) == []
    world.at(minutes=10)
    [reminder] = world.messages(f"timer:approval:{approval}:remind:0")
    assert [r.person_id for r in reminder.recipients] == ["johan.berg"]
    world.at(hours=2)
    assert [e["data"]["approval_id"] for e in world.events("approval_expired")] == [approval]
    with pytest.raises(ApprovalError, match="already expired"):
        world.decide(approval, "johan.berg")
    assert world.state() == "outage"


def test_silent_chair_gets_a_reminder_at_15m_and_operators_an_alert_at_30m(world: World) -> None:
    """enter_total_reserve: reminder to the council at 15m, overdue alert to operators at 30m."""
    world.declare()
    approval = world.fire("enter_total_reserve").approval_id
    world.at(minutes=15)
    [reminder] = world.messages(f"approval:{approval}:remind:0")
    assert reminder.channel == "crisis_email"
    assert {r.person_id for r in reminder.recipients} == {"margareta.lund", "olof.strand"}
    world.at(minutes=30)
    [overdue] = world.messages(f"approval:{approval}:remind:1")
    assert {r.person_id for r in overdue.recipients} == {"anna.andersson", "erik.johansson"}
    assert len(world.events("reminder")) == 2


def test_a_decision_cancels_the_remaining_reminders(world: World) -> None:
    """Once the vice chair decides, no reminder or expiry of that request fires."""
    world.declare()
    approval = world.fire("enter_total_reserve").approval_id
    world.clock.set(T0 + timedelta(minutes=5))
    world.decide(approval, "olof.strand")
    assert world.state() == "total_reserve"
    assert not [k for k in world.open_timers() if k.startswith("approval:")]
    world.at(hours=5)
    assert world.events("reminder", "approval_expired") == []


def test_restored_starts_follow_up_after_2h_and_follow_up_timers_fire(world: World) -> None:
    """restore -> auto_follow_up fires start_follow_up at 2h; then 1d, 7d and 14d timers fire."""
    world.declare()
    world.fire("restore", resolved_at="now")
    assert world.at(minutes=119) == [] and world.state() == "restored"
    world.at(hours=2)
    assert world.state() == "follow_up"
    [transition] = [e for e in world.events("transition") if e["trigger"] == "start_follow_up"]
    assert transition["actor"] == "system" and transition["data"]["by"] == "timer"
    start = T0 + timedelta(hours=2)
    assert world.open_timers() == {
        "state:follow_up:feedback_request": start + timedelta(days=1),
        "state:follow_up:evaluation_invite": start + timedelta(days=7),
        "state:follow_up:lessons_due": start + timedelta(days=14),
    }
    for days in (1, 7, 14):
        assert len(world.at(hours=2, days=days)) == 1
    keys = [e["data"]["timer"] for e in world.events("timer")]
    assert keys == [
        "state:restored:auto_follow_up",
        "state:follow_up:feedback_request",
        "state:follow_up:evaluation_invite",
        "state:follow_up:lessons_due",
    ]
    [invite] = world.messages("timer:state:follow_up:evaluation_invite")
    assert invite.meeting is not None and invite.channel == "meeting_invite"


def test_leaving_a_state_cancels_its_timers(world: World) -> None:
    """After outage -> partial_reserve, outage's update_due never fires; the new state's does."""
    world.declare()
    world.clock.set(T0 + timedelta(minutes=30))
    world.fire("enter_partial_reserve", actor="johan.berg", reserve_subregions="fyrbodal")
    assert world.state() == "partial_reserve"
    assert world.open_timers() == {"state:partial_reserve:update_due": T0 + timedelta(minutes=90)}
    assert world.at(minutes=61) == []
    world.at(minutes=90)
    assert [e["data"]["timer"] for e in world.events("timer")] == [
        "state:partial_reserve:update_due"
    ]


def test_a_timer_of_a_past_state_epoch_is_dropped(world: World) -> None:
    """A timer row armed for an earlier epoch of the state is cancelled, not fired."""
    world.declare()
    stale = Timer(
        id=uuid.uuid4().hex,
        incident_id=world.incident,
        key="state:outage:update_due",
        due_at=T0 + timedelta(minutes=1),
        state_epoch=0,
        payload={"kind": "state", "state": "outage", "timer": "update_due"},
    )
    with world.app.database.unit_of_work() as uow:
        uow.timers.add(stale)
        uow.commit()
    world.clock.set(T0 + timedelta(minutes=2))
    result = world.runner.fire(stale.id)
    assert not result.fired and "left the timer's state" in result.reason
    with world.app.database.unit_of_work(read_only=True) as uow:
        row = uow.timers.get(stale.id)
    assert row.cancelled_at is not None and row.fired_at is None
    assert world.events("timer") == []
    assert world.open_timers()["state:outage:update_due"] == T0 + timedelta(hours=1)


def test_a_late_timer_fires_once_and_the_log_says_how_late(world: World) -> None:
    """Woken 20 minutes after its due time, a reminder fires once with late_seconds=1200."""
    world.declare()
    world.fire("enter_total_reserve")
    world.clock.set(T0 + timedelta(minutes=35))
    [timer_id] = [t for t, k in _open_ids(world).items() if k.endswith(":remind:0")]
    first, second = world.runner.fire(timer_id), world.runner.fire(timer_id)
    assert first.fired and first.late_seconds == 1200
    assert not second.fired
    [event] = [e for e in world.events("reminder") if e["data"]["timer"].endswith(":remind:0")]
    assert event["data"]["late_seconds"] == 1200
    with world.app.database.unit_of_work(read_only=True) as uow:
        assert uow.timers.get(timer_id).late_by_seconds == 1200


def test_a_repeating_timer_missed_five_times_fires_once_and_rearms_after_now(
    world: World,
) -> None:
    """Five missed hours of update_due coalesce into one firing; the next is after now."""
    world.declare()
    world.at(hours=5, minutes=30)
    [event] = world.timer_events("update_due")
    assert event["data"]["late_seconds"] == 4.5 * 3600
    assert world.open_timers()["state:outage:update_due"] == T0 + timedelta(hours=6)
    assert len(world.messages("timer:state:outage:update_due")) == 1


@pytest.mark.parametrize("minutes", [0, 1, 59, 60, 61, 299, 300, 301])
def test_next_due_is_strictly_after_now_and_on_the_grid(minutes: int) -> None:
    """next_due returns the first repetition after `now`, on the timer's original grid."""
    every = timedelta(minutes=60)
    now = T0 + timedelta(minutes=minutes)
    due = next_due(T0, every, now)
    assert now < due <= now + every
    assert (due - T0) % every == timedelta(0)


def test_fake_clock_moves_only_when_told() -> None:
    """FakeClock keeps its time until set or advanced, and refuses naive or backward steps."""
    clock = FakeClock(T0)
    assert clock.now() == clock.now() == T0
    assert clock.advance(90) == T0 + timedelta(seconds=90)
    assert clock.advance(minutes=1) == T0 + timedelta(seconds=150)
    with pytest.raises(ValueError, match="forward"):
        clock.advance(-1)
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.set(datetime(2025, 1, 1))


def test_scaled_clock_maps_virtual_time_to_real_and_back() -> None:
    """At speed 60 a virtual hour takes a real minute, and a speed change keeps time continuous."""
    ticks = [100.0]
    wall = datetime(2030, 1, 1, tzinfo=UTC)
    clock = ScaledClock(T0, 60, monotonic=lambda: ticks[0], wall=lambda: wall)
    assert clock.now() == T0
    woken = clock.to_real(T0 + timedelta(hours=1))
    assert wall + timedelta(minutes=1) < woken <= wall + timedelta(minutes=1, milliseconds=1)
    ticks[0] += 30
    assert clock.now() == T0 + timedelta(minutes=30)
    clock.set_speed(600)
    assert clock.now() == T0 + timedelta(minutes=30)
    assert clock.real_delay(T0 + timedelta(minutes=40)) == 1.0
    ticks[0] += 2
    assert clock.now() == T0 + timedelta(minutes=50)
    with pytest.raises(ValueError, match="positive"):
        ScaledClock(T0, 0)


def _open_ids(world: World) -> dict[str, str]:
    with world.app.database.unit_of_work(read_only=True) as uow:
        return {t.id: t.key for t in uow.timers.list_open(world.incident)}


def test_status_update_after_the_eta_passed_is_accepted_and_does_not_remind_again(
    world: World,
) -> None:
    """Once eta_passed has fired, a status update that keeps the ETA succeeds, without a repeat."""
    world.declare(expected_resolution=(T0 + timedelta(minutes=45)).isoformat())
    world.at(minutes=46)
    world.clock.set(T0 + timedelta(minutes=50))
    world.fire("post_update")
    world.at(minutes=51)
    assert len(world.timer_events("eta_passed")) == 1


def test_a_paused_scaled_clock_stands_still_and_resumes_where_it_stood() -> None:
    """Paused, virtual time does not move; resumed, it continues without a jump."""
    ticks = [0.0]
    clock = ScaledClock(T0, 60, paused=True, monotonic=lambda: ticks[0])
    ticks[0] += 10
    assert clock.now() == T0
    clock.resume()
    ticks[0] += 1
    assert clock.now() == T0 + timedelta(minutes=1)
    clock.pause()
    ticks[0] += 5
    clock.set_speed(120)
    assert clock.now() == T0 + timedelta(minutes=1)
    clock.resume()
    ticks[0] += 1
    assert clock.now() == T0 + timedelta(minutes=3)


def test_a_job_woken_before_its_timer_is_due_fires_it_once_it_is_due(
    world: World, tmp_path: Path
) -> None:
    """A wake-up that comes too early re-arms itself instead of waiting for the next sweep."""
    world.declare()
    early = lambda due: datetime.now(UTC) + timedelta(seconds=0.2)  # noqa: E731
    alarm = AlarmClock(
        world.runner,
        lock=LeaderLock(world.app.database, tmp_path / "lock"),
        sweep_seconds=3600,
        to_real=early,
    )
    alarm.start()
    try:
        time.sleep(0.5)  # the job has woken once, while the fake clock is still at T0
        world.clock.set(T0 + timedelta(hours=1))
        deadline = time.monotonic() + 3
        while not world.timer_events("update_due") and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        alarm.stop()
    assert len(world.timer_events("update_due")) == 1


def test_a_timer_the_plan_cannot_act_on_is_logged_once_not_retried(tmp_path: Path) -> None:
    """A reminder whose template needs content the incident lacks fails once, visibly in the
    log as `timer_failed`, instead of failing again on every sweep."""

    plans = tmp_path / "workflows"
    shutil.copytree(ROOT / "workflows", plans)
    plan = plans / "samsa_outage.yaml"
    text = plan.read_text(encoding="utf-8")
    # update_due's template now also demands `details`, which the declaration leaves empty.
    plan.write_text(
        text.replace(
            "requires: [scope, expected_resolution]\n",
            "requires: [scope, expected_resolution, details]\n",
            1,
        ),
        encoding="utf-8",
    )
    for language in ("sv", "en"):
        template = plans / "templates" / language / "update_due.txt"
        template.write_text(
            template.read_text(encoding="utf-8") + "\n{{ details }}\n", encoding="utf-8"
        )
    clock = FakeClock(T0)
    app = build(Settings(data=tmp_path / "data", workflows=plans), clock=clock)
    app.service.directory.import_file(ROOT / "examples" / "directory.yaml")
    w = World(app, clock, app.timers)
    try:
        w.declare()
        assert w.at(minutes=61) == []
        failed = w.events("timer_failed")
        assert len(failed) == 1 and "details" in failed[0]["data"]["error"]
        assert "state:outage:update_due" not in w.open_timers()
        w.at(minutes=62)
        assert len(w.events("timer_failed")) == 1
    finally:
        app.database.dispose()


REPEATING_PLAN = """\
document: {name: tick, version: 1, title: {sv: Tick}, language: sv, timezone: Europe/Stockholm}
service: {name: Demo, description: {sv: Demo används dygnet runt.}}
roles: {operator: {title: {sv: Operatör}}}
fields: {scope: {type: text, required: true}}
audiences: {operators: {title: {sv: Operatörer}, roles: [operator]}}
channels: {staff_email: {kind: email, audience: operators}}
templates:
  tick: {subject: {sv: "Tick {{ scope }}"}, body: {sv: "{{ scope }}"}, requires: [scope]}
states:
  running:
    title: {sv: Pågår}
    timers:
      - {id: tick, every: 1s, notify: {template: tick, channels: [staff_email]}}
  closed: {title: {sv: Avslutad}, final: true}
transitions:
  - {trigger: declare, initial: true, dest: running, allowed: [operator], requires: [scope]}
  - {trigger: close, source: running, dest: closed, allowed: [operator]}
"""


def test_each_round_of_a_repeating_timer_is_woken_on_time_without_waiting_for_a_sweep(
    tmp_path: Path,
) -> None:
    """The round a firing arms gets its wake-up at once: with the sweep an hour away, a timer
    repeating every second still fires about once a second, each round nearly on time."""
    plans = tmp_path / "workflows"
    plans.mkdir()
    (plans / "tick.yaml").write_text(REPEATING_PLAN, encoding="utf-8")
    directory = tmp_path / "directory.yaml"
    directory.write_text(
        "people:\n  - {id: op, name: Op, email: op@example.se, roles: [operator]}\n",
        encoding="utf-8",
    )
    app = build(Settings(data=tmp_path / "data", workflows=plans))
    app.service.directory.import_file(directory)
    incident = app.service.declare(actor_id="op", values={"scope": "Övning"}).incident_id
    alarm = AlarmClock(app.timers, lock=LeaderLock(app.database, tmp_path), sweep_seconds=3600)

    def ticks() -> list[dict[str, Any]]:
        return [e for e in app.service.log(incident) if e["kind"] == "timer"]

    alarm.start()
    try:
        deadline = time.monotonic() + 8
        while len(ticks()) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        alarm.stop()
        app.database.dispose()
    fired = ticks()
    assert len(fired) >= 3, f"only {len(fired)} rounds fired with the sweep an hour away"
    assert max(e["data"]["late_seconds"] for e in fired) < 1.0
