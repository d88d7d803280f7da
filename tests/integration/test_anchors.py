"""Anchors: the audit chain's head goes out on the plan's channel at an incident's end and when
`every` has passed, as a message that names the head and proves the log up to it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engine.bootstrap import App, build
from engine.scheduler.clocks import FakeClock
from engine.service.anchors import LAST_ANCHOR
from engine.settings import Settings
from engine.store import Anchor, verify
from engine.worker import Worker
from tests.app_helpers import DECLARE, EXAMPLE_DIRECTORY, OPERATOR, WORKFLOWS
from tests.conftest import TEST_AUDIT_KEY

START = datetime(2025, 3, 4, 8, 30, tzinfo=UTC)
AUDITOR = "granskning@internrevision.example.se"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def app(
    tmp_path: Path, database_url: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> Iterator[App]:
    """The SAMSA plan (anchors to the auditor list) on SQLite or PostgreSQL, with a fake clock;
    channels without settings write to the file outbox."""
    monkeypatch.setenv("DRIFTPLAN_AUDIT_KEY", TEST_AUDIT_KEY.hex())
    for name in ("DATABASE_URL", "SMTP_HOST", "PUBLIC_URL", "AUDIT_KEY_FILE"):
        monkeypatch.delenv(f"DRIFTPLAN_{name}", raising=False)
    url = None if database_url.startswith("sqlite") else database_url
    settings = Settings(data=tmp_path / "data", workflows=WORKFLOWS, database_url=url)
    application = build(settings, clock=clock)
    application.service.directory.import_file(EXAMPLE_DIRECTORY)
    try:
        yield application
    finally:
        application.close()


def declare(app: App) -> str:
    return app.service.declare(actor_id=OPERATOR, values=DECLARE).incident_id


def fire(app: App, incident_id: str, trigger: str, **values: str) -> None:
    app.service.fire(incident_id=incident_id, trigger=trigger, actor_id=OPERATOR, values=values)


def anchor_messages(app: App, incident_id: str) -> list[str]:
    """The bodies of the anchor messages an incident carries, oldest first."""
    with app.database.unit_of_work(read_only=True) as uow:
        found = [m for m in uow.messages.list(incident_id) if m.channel == "audit_anchor"]
    for message in found:
        assert [r.address for r in message.recipients] == [AUDITOR]
        assert message.status == "sent", message.last_error
    return [m.body_text for m in sorted(found, key=lambda m: m.created_at)]


def test_the_head_goes_out_when_an_incident_ends(app: App, clock: FakeClock) -> None:
    """The first round anchors at once; a closed incident is anchored in the next round, and
    the anchor then proves the log up to it."""
    worker = Worker(app)
    incident = declare(app)
    first = worker.run_once().anchor
    assert first is not None and first.ended == () and first.messages == 1
    assert worker.run_once().anchor is None  # nothing ended, a day has not passed

    clock.advance(minutes=20)
    fire(app, incident, "restore", resolved_at="now")
    fire(app, incident, "start_follow_up")
    assert worker.run_once().anchor is None  # restored is not the end yet
    fire(app, incident, "close", feedback_summary="-", evaluation_summary="-", lessons_learned="-")
    clock.advance(minutes=1)
    ended = worker.run_once().anchor
    assert ended is not None and ended.ended == (incident,)
    assert worker.run_once().anchor is None  # an end goes out once

    bodies = anchor_messages(app, incident)
    assert len(bodies) == 2
    assert bodies[1].startswith(f"driftplan audit anchor {ended.anchor}\n")
    assert f"driftplan audit verify --anchor {ended.anchor}" in bodies[1]
    assert f"avslutade incidenter: {incident}" in bodies[1]
    assert "Tid: 2025-03-04 09:51:00 (Europe/Stockholm), 2025-03-04 08:51:00 UTC" in bodies[1]
    report = verify(app.database, app.audit_key, anchor=Anchor.parse(ended.anchor))
    assert report.intact, report
    mails = list((app.settings.data / "outbox" / "audit_anchor").glob("*.eml"))
    assert len(mails) == 2, mails


def test_the_head_goes_out_when_every_has_passed(app: App, clock: FakeClock) -> None:
    """Without an incident ending, the next anchor waits for `every` (1d in the SAMSA plan)."""
    worker = Worker(app)
    incident = declare(app)
    assert worker.run_once().anchor is not None
    with app.database.unit_of_work(read_only=True) as uow:
        first = json.loads(uow.meta.get(LAST_ANCHOR) or "{}")
    fire(app, incident, "post_update", details="Felsökning pågår")
    clock.advance(hours=23)
    assert worker.run_once().anchor is None
    clock.advance(hours=1)
    daily = worker.run_once().anchor
    assert daily is not None and daily.ended == ()
    assert daily.seq > first["seq"]
    with app.database.unit_of_work(read_only=True) as uow:
        last = json.loads(uow.meta.get(LAST_ANCHOR) or "{}")
    assert last == {"seq": daily.seq, "hash": daily.hash, "at": clock.now().isoformat()}
    body = anchor_messages(app, incident)[-1]
    assert "Orsak: minst ett ankare var 1d" in body
    assert verify(app.database, app.audit_key, anchor=Anchor(daily.seq, daily.hash)).intact


def test_an_anchor_covers_the_chain_even_against_the_key(app: App, clock: FakeClock) -> None:
    """What the auditor keeps is what `audit verify --anchor` takes."""
    worker = Worker(app)
    declare(app)
    sent = worker.run_once().anchor
    assert sent is not None
    clock.advance(timedelta(days=2))
    assert verify(app.database, app.audit_key, anchor=Anchor.parse(sent.anchor)).intact
    wrong = Anchor(sent.seq, "0" * 64)
    lines = verify(app.database, app.audit_key, anchor=wrong).lines("sv")
    assert lines == [
        f"Ankare {sent.seq}: kedjan fram till länk {sent.seq} har skrivits om (hashen stämmer "
        "inte med ankaret)."
    ]
