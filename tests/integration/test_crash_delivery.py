"""Delivery and timers survive SIGKILL: real worker processes, a real SMTP sink, both databases.

The worker (`python -m tests.crash_worker`: the `driftplan worker` loop with a short lease) sends
one message to a list while an SMTP sink in its own process (`tests.crash_sink`) takes each copy
slowly and logs it. The test kills the worker at seeded random points while it delivers,
restarts it each time, and then counts what arrived: every recipient got the message, no more
extra copies than kills (only the copy in flight at a kill can go twice, with the same
Message-ID), and each kill was taken over within the lease (the production lease is 20 s, so
well within 30 s). Two workers against a server slower than the lease send nothing twice
(the heartbeat keeps the lease). And a worker killed while it fires timers fires none twice.

Bounded for `make test` (5 kills, 100 recipients); `make test-all` runs 50 kills on 500:
DRIFTPLAN_CRASH_KILLS, DRIFTPLAN_CRASH_RECIPIENTS and DRIFTPLAN_CRASH_SEED set them.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from engine.bootstrap import App, build
from engine.settings import Settings
from tests.channel_helpers import free_port
from tests.conftest import TEST_AUDIT_KEY
from tests.integration.test_timer_restart import (
    AFTER_SECONDS,
    assert_each_due_timer_fired_once,
    kill,
    make_drill,
    stop,
    wait_for,
)

pytestmark = pytest.mark.crash

REPO = Path(__file__).resolve().parents[2]
SEED = int(os.environ.get("DRIFTPLAN_CRASH_SEED", "20250601"))
KILLS = int(os.environ.get("DRIFTPLAN_CRASH_KILLS", "5"))
RECIPIENTS = int(os.environ.get("DRIFTPLAN_CRASH_RECIPIENTS", "100"))
LEASE = 1.5  # seconds, in the test worker (production: 20 s)
TAKEOVER_LIMIT = 30.0  # what the README promises with the production lease
PLAN = """\
document: {name: crash, version: 1, title: {sv: Kraschprov, en: Crash drill},
           language: sv, timezone: Europe/Stockholm}
service: {name: Demo, description: {sv: Demo används dygnet runt., en: Demo is used 24/7.}}
roles:
  operator: {title: {sv: Operatör, en: Operator}}
fields:
  scope: {type: text, required: true}
audiences:
  crowd: {title: {sv: Alla, en: Everyone}, lists: [crowd]}
channels:
  crowd_email: {kind: email, audience: crowd}
templates:
  notice:
    subject: {sv: "Störning: {{ scope }}"}
    body: {sv: "Störning: {{ scope }}"}
    requires: [scope]
states:
  running:
    title: {sv: Pågår}
    on_enter: [{notify: {template: notice, channels: [crowd_email]}}]
  closed: {title: {sv: Avslutad}, final: true}
transitions:
  - {trigger: declare, initial: true, dest: running, allowed: [operator], requires: [scope]}
  - {trigger: close, source: running, dest: closed, allowed: [operator]}
"""


@dataclass
class Copy:
    """One copy the sink accepted."""

    at: float
    rcpt: str
    message_id: str
    client_port: int


@dataclass
class Sink:
    """The SMTP sink process and what it logged."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def copies(self) -> list[Copy]:
        if not self.log.exists():
            return []
        lines = self.log.read_text(encoding="utf-8").splitlines()
        fields = (line.split("\t") for line in lines)
        return [Copy(float(at), rcpt, mid, int(port)) for at, rcpt, mid, port in fields]

    def count(self) -> int:
        return len(self.copies())


@dataclass
class Installation:
    """A data folder with the crash plan, `size` recipients on its list, and the sink's settings."""

    app: App
    env: dict[str, str]
    addresses: list[str]
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def declare(self) -> str:
        return self.app.service.declare(actor_id="op", values={"scope": "Prov"}).incident_id

    def worker(self) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.crash_worker"],
            cwd=REPO,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.workers.append(process)
        return process

    def messages(self, incident: str) -> list[Any]:
        return self.app.service.messages(incident)

    def events(self, incident: str, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.app.service.log(incident) if e["kind"] == kind]

    def delivered(self, incidents: list[str]) -> bool:
        return all(m.status == "sent" for i in incidents for m in self.messages(i))


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[Sink]:
    yield from _sink(tmp_path, delay=0.01)


@pytest.fixture
def slow_sink(tmp_path: Path) -> Iterator[Sink]:
    yield from _sink(tmp_path, delay=LEASE * 1.3)  # one copy takes longer than the lease


def _sink(tmp_path: Path, delay: float) -> Iterator[Sink]:
    port, log = free_port(), tmp_path / "sink.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.crash_sink", str(port), str(delay), str(log)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == b"ready"
    yield Sink(process, port, log)
    kill(process)


def install(tmp_path: Path, database_url: str, sink: Sink, size: int) -> Installation:
    workflows, data = tmp_path / "workflows", tmp_path / "data"
    workflows.mkdir()
    (workflows / "crash.yaml").write_text(PLAN, encoding="utf-8")
    addresses = [f"r{i:04d}@example.se" for i in range(size)]
    crowd = "".join(f"    - {{address: {a}, name: R {i}}}\n" for i, a in enumerate(addresses))
    directory = tmp_path / "directory.yaml"
    directory.write_text(
        "people:\n  - {id: op, name: Op, email: op@example.se, roles: [operator]}\n"
        f"lists:\n  crowd:\n{crowd}",
        encoding="utf-8",
    )
    url = None if database_url.startswith("sqlite") else database_url
    os.environ["DRIFTPLAN_AUDIT_KEY"] = TEST_AUDIT_KEY.hex()
    app = build(Settings(data=data, workflows=workflows, database_url=url))
    app.service.directory.import_file(directory)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTPLAN_")}
    env |= {
        "DRIFTPLAN_DATA": str(data),
        "DRIFTPLAN_WORKFLOWS": str(workflows),
        "DRIFTPLAN_AUDIT_KEY": TEST_AUDIT_KEY.hex(),
        "DRIFTPLAN_SMTP_HOST": "127.0.0.1",
        "DRIFTPLAN_SMTP_PORT": str(sink.port),
        "DRIFTPLAN_MAIL_FROM": "Drift <drift@example.se>",
        "CRASH_LEASE": str(LEASE),
        "PYTHONPATH": str(REPO),
    }
    if url:
        env["DRIFTPLAN_DATABASE_URL"] = url
    return Installation(app, env, addresses)


@pytest.fixture
def installations() -> Iterator[list[Installation]]:
    made: list[Installation] = []
    yield made
    for installation in made:
        for process in installation.workers:
            kill(process)
        installation.app.database.dispose()


def _kind(database_url: str) -> str:
    return "sqlite" if database_url.startswith("sqlite") else "postgresql"


def _when(event: dict[str, Any]) -> float:
    return datetime.fromisoformat(event["at"]).timestamp()


def test_a_worker_killed_mid_list_resumes_it_without_duplicates_or_losses(
    tmp_path: Path, database_url: str, sink: Sink, installations: list[Installation]
) -> None:
    rng = random.Random(SEED)
    place = install(tmp_path, database_url, sink, RECIPIENTS)
    installations.append(place)
    incident = place.declare()
    step = max(2, RECIPIENTS // (KILLS + 5))  # spread the kills over the list
    kills: list[float] = []
    worker = place.worker()

    def sending(kills_so_far: int) -> bool:
        """The current worker has begun its attempt (or the list is done)."""
        begun = len(place.events(incident, "delivery_attempt")) > kills_so_far
        return begun or place.delivered([incident])

    while len(kills) < KILLS and not place.delivered([incident]):
        wait_for(lambda: sending(len(kills)), 60, "the restarted worker to take over")
        target = sink.count() + rng.randint(1, step)

        def progressed(target: int = target) -> bool:
            return sink.count() >= target or place.delivered([incident])

        wait_for(progressed, 60, "delivery")
        time.sleep(rng.uniform(0, 0.03))  # anywhere: waiting for the 250, committing, ...
        if place.delivered([incident]):
            break
        kills.append(time.time())
        kill(worker)
        worker = place.worker()
    wait_for(lambda: place.delivered([incident]), 120, "the list to be delivered")
    kill(worker)

    copies = sink.copies()
    per_recipient = Counter(c.rcpt for c in copies)
    twice = sorted(r for r, n in per_recipient.items() if n > 1)
    extra = sum(n - 1 for n in per_recipient.values())
    missed = sorted(set(place.addresses) - set(per_recipient))
    attempts = place.events(incident, "delivery_attempt")
    # A kill can land just after the list was done (between the test's look and the signal):
    # only the last one, and nothing is taken over then.
    takeovers = [
        min(_when(a) for a in attempts if _when(a) > killed) - killed
        for killed in kills
        if any(_when(a) > killed for a in attempts)
    ]
    print(
        f"\ncrash delivery ({_kind(database_url)}): seed {SEED}, {len(kills)} kills "
        f"({len(takeovers)} mid-list), "
        f"{RECIPIENTS} recipients, {len(copies)} copies, {len(twice)} recipients with two "
        f"copies ({extra} extra), {len(missed)} missed, {len(attempts)} attempts, takeover "
        f"max {max(takeovers, default=0):.2f} s / mean "
        f"{sum(takeovers) / max(1, len(takeovers)):.2f} s (lease {LEASE} s)"
    )
    assert len(takeovers) >= min(KILLS, 3), "the scenario must kill the worker mid-list"
    assert len(takeovers) >= len(kills) - 1
    assert missed == []
    assert extra <= len(kills), twice
    assert {c.message_id for c in copies} == {f"{place.messages(incident)[0].id}@example.se"}
    assert max(takeovers) <= min(TAKEOVER_LIMIT, LEASE + 10)
    # Every attempt is in the history; each that followed a kill says the one before it
    # never finished, and the results tell which attempt served each recipient.
    assert len(attempts) == len(takeovers) + 1
    unfinished = [a["data"]["unfinished_attempt"] for a in attempts]
    assert unfinished[0] is None
    assert unfinished[1:] == [a["data"]["attempt"] - 1 for a in attempts[1:]]
    [message] = place.messages(incident)
    assert message.attempts == len(attempts)
    assert {r.address for r in message.results} == set(place.addresses)
    assert len({r.attempt for r in message.results}) > 1
    [finished] = place.events(incident, "delivery")
    assert finished["data"]["attempt"] == len(attempts)
    assert finished["data"]["status"] == "sent"


def test_two_workers_and_a_server_slower_than_the_lease_send_nothing_twice(
    tmp_path: Path, database_url: str, slow_sink: Sink, installations: list[Installation]
) -> None:
    place = install(tmp_path, database_url, slow_sink, 2)
    installations.append(place)
    incidents = [place.declare() for _ in range(3)]
    first, second = place.worker(), place.worker()
    wait_for(lambda: place.delivered(incidents), 90, "every message to be delivered")
    kill(first)
    kill(second)

    copies = slow_sink.copies()
    per_copy = Counter((c.rcpt, c.message_id) for c in copies)
    duplicates = sum(n - 1 for n in per_copy.values())
    takeovers = sum(
        1
        for i in incidents
        for a in place.events(i, "delivery_attempt")
        if a["data"]["unfinished_attempt"] is not None
    )
    print(
        f"\ntwo dispatchers ({_kind(database_url)}): {len(copies)} copies of "
        f"{len(per_copy)}, {duplicates} duplicates, {takeovers} takeovers mid-message"
    )
    assert duplicates == 0
    assert len(per_copy) == 2 * len(incidents)
    assert takeovers == 0
    # Both took part: the second took over the messages further down the first one's batch.
    assert len({c.client_port for c in copies}) >= 2


def test_a_worker_killed_while_it_fires_timers_fires_none_twice(
    tmp_path: Path, database_url: str
) -> None:
    rng = random.Random(SEED)
    drill = make_drill(tmp_path, None if database_url.startswith("sqlite") else database_url)
    try:
        drill.declare()
        start = time.monotonic()
        kills = 0
        duration = max(*AFTER_SECONDS, KILLS * 1.2)
        while time.monotonic() - start < duration:
            worker = drill.worker()
            time.sleep(rng.uniform(1.0, 2.0))  # up: some timers fire on time
            kill(worker)
            kills += 1
            time.sleep(rng.uniform(0.2, 0.8))  # down: what falls due now fires late
        worker = drill.worker()
        try:
            wait_for(
                lambda: drill.fired_after_timers() == len(AFTER_SECONDS),
                15,
                "every one-shot timer to fire after the last restart",
            )
        finally:
            settled = datetime.now(UTC) - timedelta(seconds=1)
            err = stop(worker)
        assert "Traceback" not in err, err
        fired = Counter((e["data"]["timer"], e["data"]["due_at"]) for e in drill.timer_events())
        twice = sum(1 for n in fired.values() if n > 1)
        print(
            f"\ntimers ({_kind(database_url)}): seed {SEED}, {kills} kills, "
            f"{sum(fired.values())} firings, {twice} fired twice"
        )
        assert_each_due_timer_fired_once(drill, until=settled)
    finally:
        drill.app.database.dispose()


@pytest.mark.full_run  # about 30 s per database: `make test-all` runs it, `make test` does not
def test_the_driftplan_worker_takes_over_a_killed_one_within_30_seconds(
    tmp_path: Path, database_url: str, sink: Sink, installations: list[Installation]
) -> None:
    """The console script with the production lease (20 s): one kill, taken over in < 30 s."""
    place = install(tmp_path, database_url, sink, RECIPIENTS)
    installations.append(place)
    incident = place.declare()
    command = [str(Path(sys.executable).with_name("driftplan")), "worker", "--interval", "0.5"]

    def worker() -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            command, env=place.env, stdout=subprocess.DEVNULL, start_new_session=True
        )
        place.workers.append(process)
        return process

    first = worker()
    wait_for(lambda: sink.count() >= RECIPIENTS // 5, 60, "delivery to begin")
    killed = time.time()
    kill(first)
    second = worker()
    wait_for(lambda: place.delivered([incident]), 120, "the list to be delivered")
    kill(second)
    per_recipient = Counter(c.rcpt for c in sink.copies())
    attempts = place.events(incident, "delivery_attempt")
    takeover = min(_when(a) for a in attempts if _when(a) > killed) - killed
    print(
        f"\nproduction lease ({_kind(database_url)}): takeover {takeover:.1f} s, "
        f"{sum(n - 1 for n in per_recipient.values())} extra copies"
    )
    assert set(per_recipient) == set(place.addresses)
    assert sum(n - 1 for n in per_recipient.values()) <= 1
    assert takeover <= TAKEOVER_LIMIT
