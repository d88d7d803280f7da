"""A commit in one process wakes the worker in another: the poll is only a safety net.

`driftplan worker` (and `serve`) run with the outbox poll and the timer sweep set to an hour, so
anything they do within seconds of a command can only come from the wake-up: PostgreSQL's
LISTEN/NOTIFY or, on SQLite, the doorbell the CLI process pokes (with `data_version` once a
second behind it; `tests/integration/test_doorbell.py` shows the poke alone suffices), the unit
of work's own bell for a request `serve` answers. Both databases run: the `workspace` fixture.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from engine.store import tables
from tests.e2e.conftest import DECLARE_SETS, DECLARE_VALUES, DIRECTORY, Workspace
from tests.e2e.test_serve import Served, free_port
from tests.e2e.test_serve import wait_for as serve_wait_for

HOUR = "3600"
START_TIMEOUT = 90  # interpreter start and migrations on a busy two-core machine
WAKE_TIMEOUT = 30  # far below the hour of the polls, generous for a loaded machine
OPERATOR = "anna.andersson"


class Running:
    """A `driftplan worker` child whose polls are an hour apart."""

    def __init__(self, ws: Workspace) -> None:
        self.out = ws.root / "worker.out"
        self.err = ws.root / "worker.err"
        with self.out.open("wb") as out, self.err.open("wb") as err:
            self.process = subprocess.Popen(
                ws.command("worker", "--interval", HOUR, "--sweep", HOUR),
                cwd=ws.root,
                env=ws.env,
                stdout=out,
                stderr=err,
            )

    def describe(self) -> str:
        return (
            f"exit {self.process.poll()}\nstdout: {self.out.read_text()}\n"
            f"stderr: {self.err.read_text()}"
        )

    def started(self) -> None:
        wait_for(lambda: "worker running" in self.out.read_text(), START_TIMEOUT, self)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def wait_for(check: Callable[[], bool], timeout: float, worker: Running) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert worker.process.poll() is None, f"the worker exited\n{worker.describe()}"
        assert time.monotonic() < deadline, f"nothing within {timeout} s\n{worker.describe()}"
        time.sleep(0.05)


@pytest.fixture
def worker(workspace: Workspace) -> Iterator[tuple[Workspace, Running]]:
    """An installation with the example directory and a started worker polling hourly."""
    workspace.app  # noqa: B018  (imports the directory, migrates)
    running = Running(workspace)
    try:
        running.started()
        yield workspace, running
    finally:
        running.stop()


def banner_of(ws: Workspace) -> Path:
    return ws.data / "public" / "banner.json"


def sets(*pairs: str) -> list[str]:
    return [arg for pair in pairs for arg in ("--set", pair)]


@pytest.mark.slow
def test_a_cli_declaration_is_delivered_by_a_worker_polling_hourly(
    worker: tuple[Workspace, Running],
) -> None:
    """A declaration committed by a CLI process wakes the worker, which publishes the banner
    and marks it sent within seconds although its outbox poll is an hour away."""
    ws, running = worker
    banner = banner_of(ws)
    assert not banner.exists()
    incident = ws.json("incident", "declare", "--as", OPERATOR, *sets(*DECLARE_SETS))["id"]

    wait_for(banner.exists, WAKE_TIMEOUT, running)
    assert json.loads(banner.read_text("utf-8"))["incident_id"] == incident

    def banner_sent() -> bool:
        messages = ws.json("incident", "messages", incident)
        return any(m["channel"] == "login_page" and m["status"] == "sent" for m in messages)

    wait_for(banner_sent, WAKE_TIMEOUT, running)
    assert running.process.poll() is None, running.describe()


@pytest.mark.slow
def test_a_timer_armed_by_a_cli_process_fires_although_the_sweep_is_an_hour_away(
    worker: tuple[Workspace, Running],
) -> None:
    """A timer another process arms (the expected resolution a few seconds ahead) is picked
    up by the worker's wake-up sweep and fires on time, not at the hourly sweep."""
    ws, running = worker
    soon = (datetime.now(UTC) + timedelta(seconds=4)).isoformat(timespec="seconds")
    values = [pair for pair in DECLARE_SETS if not pair.startswith("expected_resolution=")]
    incident = ws.json(
        "incident",
        "declare",
        "--as",
        OPERATOR,
        *sets(*values, f"expected_resolution={soon}"),
    )["id"]
    timers = tables.timers
    fired = sa.select(sa.func.count()).where(
        timers.c.incident_id == incident, timers.c.fired_at.is_not(None)
    )

    def eta_fired() -> bool:
        with ws.app.database.engine.connect() as connection:
            return bool(connection.execute(fired).scalar_one())

    wait_for(eta_fired, WAKE_TIMEOUT, running)
    events = ws.json("incident", "log", incident)
    assert any(event["kind"] == "timer" for event in events), events


@pytest.mark.slow
def test_a_declaration_over_the_api_wakes_the_worker_serve_runs(workspace: Workspace) -> None:
    """`serve` with its polls an hour apart publishes the banner within seconds of a
    declaration made over its API: the request's commit wakes the worker thread beside it."""
    ws = workspace
    ws.run("directory", "import", str(DIRECTORY))
    token = ws.json("users", "token", OPERATOR)["token"]
    ws.env.update(DRIFTPLAN_POLL_SECONDS=HOUR, DRIFTPLAN_SWEEP_SECONDS=HOUR)
    server = Served(ws, free_port())
    try:
        server.health()
        banner = banner_of(ws)
        assert not banner.exists()
        with httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as client:
            declared = client.post("/api/v1/incidents", json={"data": DECLARE_VALUES})
            assert declared.status_code == 201, declared.text
        serve_wait_for(banner.exists, WAKE_TIMEOUT, "banner.json did not appear", server)
        document = json.loads(banner.read_text("utf-8"))
        assert document["incident_id"] == declared.json()["id"]
    finally:
        server.kill()
