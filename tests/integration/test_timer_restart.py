"""A worker killed with SIGKILL at random moments loses no timer and fires none twice.

Real `driftplan worker` processes run a small plan whose timers fall due within seconds, on a
SQLite file. The test kills the worker at seeded random points, leaves it down for a while (so
some timers fall due with nobody awake), restarts it, and finally reads the event log: one
`timer` event per timer row and due time, every due row fired, the ones that fell due while
nothing ran marked late.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from engine.bootstrap import App, build
from engine.settings import Settings
from engine.store.tables import timers

DRIVER = Path(sys.executable).with_name("driftplan")
AFTER_SECONDS = range(1, 11)  # one-shot timers due 1 s, 2 s, ..., 10 s after declaration
DRILL_PLAN = """\
document: {name: drill, version: 1, title: {sv: Timerövning, en: Timer drill},
           language: sv, timezone: Europe/Stockholm}
service: {name: Demo, description: {sv: Demo används dygnet runt., en: Demo is used 24/7.}}
roles:
  operator: {title: {sv: Operatör, en: Operator}}
fields:
  scope: {type: text, required: true}
audiences:
  operators: {title: {sv: Operatörer, en: Operators}, roles: [operator]}
channels:
  staff_email: {kind: email, audience: operators}
templates:
  tick:
    subject: {sv: "Påminnelse: {{ scope }}"}
    body: {sv: "Påminnelse: {{ scope }}"}
    requires: [scope]
states:
  running:
    title: {sv: Pågår}
    timers:
{timers}
      - {id: tick, every: 2s, notify: {template: tick, channels: [staff_email]}}
  closed: {title: {sv: Avslutad}, final: true}
transitions:
  - {trigger: declare, initial: true, dest: running, allowed: [operator], requires: [scope]}
  - {trigger: close, source: running, dest: closed, allowed: [operator]}
""".replace(
    "{timers}",
    "\n".join(
        f"      - {{id: after_{n:02d}, after: {n}s, notify: {{template: tick, "
        f"channels: [staff_email]}}}}"
        for n in AFTER_SECONDS
    ),
)
DIRECTORY = "people:\n  - {id: op, name: Op, email: op@example.se, roles: [operator]}\n"


@dataclass
class Drill:
    """An installation running the drill plan, with one incident whose timers are armed."""

    app: App
    env: dict[str, str]
    incident: str = ""

    def declare(self) -> str:
        result = self.app.service.declare(actor_id="op", values={"scope": "Övning"})
        self.incident = result.incident_id
        return self.incident

    def rows(self) -> list[Any]:
        """Every timer row of the incident (open, fired and cancelled)."""
        with self.app.database.unit_of_work(read_only=True) as uow:
            query = sa.select(timers.c.id).where(timers.c.incident_id == self.incident)
            return [uow.timers.get(i) for i in uow.execute(query).scalars()]

    def timer_events(self) -> list[dict[str, Any]]:
        return [e for e in self.app.service.log(self.incident) if e["kind"] == "timer"]

    def fired_after_timers(self) -> int:
        return sum(
            1
            for r in self.rows()
            if r.key.startswith("state:running:after_") and r.fired_at is not None
        )

    def worker(self) -> subprocess.Popen[bytes]:
        """Start `driftplan worker` on this installation (its own process group)."""
        return subprocess.Popen(
            [str(DRIVER), "worker", "--interval", "0.05"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )


def make_drill(tmp_path: Path, database_url: str | None = None) -> Drill:
    """Write the drill plan and directory into tmp_path and build an app on them."""
    workflows = tmp_path / "workflows"
    workflows.mkdir()
    (workflows / "drill.yaml").write_text(DRILL_PLAN, encoding="utf-8")
    directory = tmp_path / "directory.yaml"
    directory.write_text(DIRECTORY, encoding="utf-8")
    data = tmp_path / "data"
    settings = Settings(data=data, workflows=workflows, database_url=database_url)
    app = build(settings)
    app.service.directory.import_file(directory)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTPLAN_")}
    env |= {"DRIFTPLAN_DATA": str(data), "DRIFTPLAN_WORKFLOWS": str(workflows)}
    if database_url:
        env["DRIFTPLAN_DATABASE_URL"] = database_url
    return Drill(app, env)


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `condition` until it holds; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the worker (and anything it started): no clean-up code runs."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def stop(process: subprocess.Popen[bytes]) -> str:
    """SIGTERM the worker, wait for its clean exit, and return its stderr."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=15)
    return err.decode(errors="replace")


def assert_each_due_timer_fired_once(drill: Drill, until: datetime) -> None:
    """One `timer` event per fired row (key + due), none twice, no due row left open."""
    rows = drill.rows()
    events = drill.timer_events()
    seen = Counter((e["data"]["timer"], e["data"]["due_at"]) for e in events)
    assert [k for k, n in seen.items() if n > 1] == [], "a timer fired twice"
    fired = {(r.key, r.due_at.isoformat()): r for r in rows if r.fired_at is not None}
    assert set(seen) == set(fired)
    still_open = [
        r.key for r in rows if r.fired_at is None and r.cancelled_at is None and r.due_at <= until
    ]
    assert still_open == [], f"due timers never fired: {still_open}"
    for event in events:
        row = fired[(event["data"]["timer"], event["data"]["due_at"])]
        assert event["data"]["late_seconds"] == pytest.approx(row.late_by_seconds, abs=0.01)
    after = Counter(e["data"]["timer"] for e in events if "after_" in e["data"]["timer"])
    assert after == {f"state:running:after_{n:02d}": 1 for n in AFTER_SECONDS}


@pytest.fixture
def drill(tmp_path: Path) -> Iterator[Drill]:
    """The drill installation on a SQLite file."""
    made = make_drill(tmp_path)
    yield made
    made.app.database.dispose()


@pytest.mark.slow
@pytest.mark.parametrize("seed", [20250303])
def test_sigkilled_worker_restarts_without_losing_or_repeating_timers(
    drill: Drill, seed: int
) -> None:
    """Killed at seeded random moments and restarted, the worker fires every due timer once."""
    rng = random.Random(seed)
    drill.declare()
    start = time.monotonic()
    downtime: list[tuple[float, float]] = []
    while time.monotonic() - start < max(AFTER_SECONDS):
        worker = drill.worker()
        time.sleep(rng.uniform(1.0, 2.5))  # up for a while: some timers fire on time
        kill(worker)
        down = time.monotonic()
        time.sleep(rng.uniform(0.5, 1.5))  # down: whatever falls due now must fire late
        downtime.append((down - start, time.monotonic() - start))
    worker = drill.worker()
    try:
        wait_for(
            lambda: drill.fired_after_timers() == len(AFTER_SECONDS),
            15,
            "every one-shot timer to fire after the last restart",
        )
    finally:
        # The worker was up till now; a round due in the last second may still be in flight.
        settled = datetime.now(UTC) - timedelta(seconds=1)
        err = stop(worker)
    assert "Traceback" not in err, err
    assert len(downtime) >= 3, "the scenario must kill the worker several times"
    assert_each_due_timer_fired_once(drill, until=settled)
    late = [e for e in drill.timer_events() if e["data"]["late_seconds"] > 0.4]
    assert late, f"nothing fell due while the worker was down ({downtime})"
