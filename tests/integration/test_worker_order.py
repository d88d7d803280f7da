"""The worker delivers before it anchors: a declaration's banner and e-mails go out before the
anchor its events make due is written (issue #13), and that anchor is then delivered at once,
in `run_once`'s round and, in `run`, through the bell its commit rings (the poll is an hour)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from engine.bootstrap import App, build
from engine.domain.model import MessageStatus
from engine.scheduler.clocks import FakeClock
from engine.service.anchors import AnchorSent
from engine.settings import Settings
from engine.worker import Worker
from tests.app_helpers import DECLARE, EXAMPLE_DIRECTORY, OPERATOR, START, WORKFLOWS
from tests.conftest import TEST_AUDIT_KEY

HOUR = 3600.0
TIMEOUT = 30.0  # far below the hour of the polls, generous for a loaded machine


@pytest.fixture
def app(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    """The SAMSA plan (it anchors) on SQLite or PostgreSQL; channels without settings write
    to the file outbox, so every message is delivered."""
    monkeypatch.setenv("DRIFTPLAN_AUDIT_KEY", TEST_AUDIT_KEY.hex())
    for name in ("DATABASE_URL", "SMTP_HOST", "PUBLIC_URL", "AUDIT_KEY_FILE"):
        monkeypatch.delenv(f"DRIFTPLAN_{name}", raising=False)
    url = None if database_url.startswith("sqlite") else database_url
    settings = Settings(data=tmp_path / "data", workflows=WORKFLOWS, database_url=url)
    application = build(settings, clock=FakeClock(START))
    application.service.directory.import_file(EXAMPLE_DIRECTORY)
    try:
        yield application
    finally:
        application.close()


def statuses(app: App) -> dict[str, list[str]]:
    """The statuses of every incident's messages, anchors apart from the rest."""
    found: dict[str, list[str]] = {"anchor": [], "other": []}
    with app.database.unit_of_work(read_only=True) as uow:
        for incident in uow.incidents.list(include_closed=True):
            for message in uow.messages.list(incident.id):
                kind = "anchor" if message.channel == "audit_anchor" else "other"
                found[kind].append(message.status)
    return found


class Anchoring:
    """Wraps `app.anchors.run`: what the outbox held when each anchor was written."""

    def __init__(self, app: App, monkeypatch: pytest.MonkeyPatch) -> None:
        self.before: list[dict[str, list[str]]] = []
        self.calls = 0
        original = app.anchors.run

        def run() -> AnchorSent | None:
            held = statuses(app)
            sent = original()
            self.calls += 1
            if sent is not None:
                self.before.append(held)
            return sent

        monkeypatch.setattr(app.anchors, "run", run)


def test_a_round_delivers_the_declaration_then_anchors_and_delivers_the_anchor(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    anchoring = Anchoring(app, monkeypatch)
    app.service.declare(actor_id=OPERATOR, values=DECLARE)
    queued = statuses(app)["other"]
    assert queued and set(queued) == {MessageStatus.PENDING}

    round_ = Worker(app).run_once()

    assert round_.anchor is not None and round_.anchor.messages == 1
    [held] = anchoring.before
    assert held["anchor"] == [] and held["other"] == [MessageStatus.SENT] * len(queued)
    assert statuses(app)["anchor"] == [MessageStatus.SENT]  # delivered in the same round
    assert round_.delivery.sent == len(queued) + 1  # both deliveries are counted
    assert len(round_.delivery.messages) == len(queued) + 1


def wait_for(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_run_delivers_a_declaration_before_anchoring_and_the_anchor_at_once(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the poll an hour apart, a declaration wakes the worker, which delivers it, then
    anchors; the anchor's own commit wakes it again to deliver the anchor."""
    anchoring = Anchoring(app, monkeypatch)
    worker = Worker(app)
    stop = threading.Event()
    thread = threading.Thread(
        target=worker.run, args=(stop,), kwargs={"interval": HOUR, "sweep": HOUR}, daemon=True
    )
    thread.start()
    try:
        wait_for(lambda: worker.leader, "the worker to lead")
        # Let the start-up rounds settle: an anchor round that began before the declaration
        # committed could read its head, which is not what this test is about.
        settled = -1
        while settled != anchoring.calls:
            settled = anchoring.calls
            time.sleep(0.5)
        app.service.declare(actor_id=OPERATOR, values=DECLARE)
        wait_for(lambda: statuses(app)["anchor"] == [MessageStatus.SENT], "the anchor sent")
    finally:
        stop.set()
        thread.join(TIMEOUT)
    assert not thread.is_alive()
    [held] = anchoring.before
    assert held["anchor"] == [] and held["other"]
    assert set(held["other"]) == {MessageStatus.SENT}
