"""What an anchor reads: after a command moved the audit chain's head, `Anchors.run` reads one
incident per plan version and the incidents that ended since the last anchor, not every stored
incident (issue #13: the worker anchors after every command); and the store's and the fake's
`newest_by_version` answer alike, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from engine.bootstrap import App, build
from engine.domain.model import Incident
from engine.ports import Store
from engine.scheduler.clocks import FakeClock
from engine.service import anchors
from engine.settings import Settings
from engine.store import Database
from engine.store.repositories import IncidentRepository
from tests.app_helpers import DECLARE, EXAMPLE_DIRECTORY, OPERATOR, WORKFLOWS
from tests.conftest import TEST_AUDIT_KEY
from tests.fakes import MemoryStore

START = datetime(2025, 3, 4, 8, 30, tzinfo=UTC)
OPEN, ARCHIVED, ENDED = 200, 197, 3  # the stored copies: open, closed long ago, just closed


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def app(
    tmp_path: Path, database_url: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> Iterator[App]:
    """The SAMSA plan (it anchors) on SQLite or PostgreSQL, with a fake clock."""
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


class Reads:
    """Counts the incidents the store's incident repository hands out, by method."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.rows: dict[str, int] = {}
        for name in ("get", "list", "page", "newest_by_version"):
            monkeypatch.setattr(IncidentRepository, name, self._counting(name))

    def _counting(self, name: str) -> Callable[..., Any]:
        original = getattr(IncidentRepository, name)

        def counted(repository: IncidentRepository, *args: Any, **kwargs: Any) -> Any:
            result = original(repository, *args, **kwargs)
            found = result if isinstance(result, list) else getattr(result, "items", [result])
            self.rows[name] = self.rows.get(name, 0) + len(found)
            return result

        return counted

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def _store_copies(app: App, real: Incident) -> list[str]:
    """Store copies of `real` (same plan version): open ones updated just now, ones closed a
    month ago, and ones closed a minute ago (ended, not yet anchored; returned, newest first).
    All were created before `real`, so `real` stays its plan's newest incident."""
    now = app.clock.now()
    ended = []
    with app.database.unit_of_work() as uow:
        for n in range(OPEN + ARCHIVED + ENDED):
            closed = n >= OPEN
            recent = n >= OPEN + ARCHIVED
            created = START - timedelta(days=40, minutes=n)
            updated = (
                now - timedelta(minutes=1) if recent or not closed else START - timedelta(days=30)
            )
            copy = replace(
                real,
                id=f"copy-{n:04d}",
                state="closed" if closed else real.state,
                closed=closed,
                created_at=created,
                updated_at=updated,
            )
            uow.incidents.add(copy)
            if recent:
                ended.append(copy.id)
        uow.commit()
    return ended  # created one minute apart, the lower numbers later: newest first


@pytest.mark.parametrize("page", [anchors.PAGE, 2])
def test_an_anchor_after_a_command_reads_the_ended_incidents_not_all(
    app: App, clock: FakeClock, monkeypatch: pytest.MonkeyPatch, page: int
) -> None:
    """With 400 incidents stored, an anchor after a new event reads one incident per plan
    version, its carrier's lock and the three that ended, and still anchors exactly those
    three on the newest one (also when they take two pages)."""
    monkeypatch.setattr(anchors, "PAGE", page)
    incident_id = app.service.declare(actor_id=OPERATOR, values=DECLARE).incident_id
    first = app.anchors.run()
    assert first is not None and first.ended == ()
    with app.database.unit_of_work(read_only=True) as uow:
        real = uow.incidents.get(incident_id)
    clock.advance(minutes=5)
    ended = _store_copies(app, real)
    app.service.fire(
        incident_id=incident_id,
        trigger="post_update",
        actor_id=OPERATOR,
        values={"details": "Felsökning pågår"},
    )

    reads = Reads(monkeypatch)
    sent = app.anchors.run()
    assert sent is not None and sent.ended == tuple(sorted(ended)) and sent.messages == 1
    assert "list" not in reads.rows
    # One plan version, its newest incident locked, the ended ones: 1 + 1 + 3 of 401 stored.
    assert reads.rows == {"newest_by_version": 1, "get": 1, "page": ENDED}, reads.rows
    with app.database.unit_of_work(read_only=True) as uow:
        carried = [m for m in uow.messages.list(ended[0]) if m.channel == "audit_anchor"]
    assert len(carried) == 1  # the newest ended incident carries the anchor, as before

    reads.rows.clear()
    assert app.anchors.run() is None  # the head did not move: nothing is read
    assert reads.total == 0


T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
SHAS = {"a1": "a" * 64, "a2": "b" * 64, "b1": "c" * 64}


def _incident(number: int, version: str, *, hours: int) -> Incident:
    return Incident(
        id=f"20261130-{number}",
        workflow="samsa_outage" if version.startswith("a") else "network_outage",
        workflow_version=version[1],
        definition_sha256=SHAS[version],
        state="outage",
        state_epoch=1,
        row_version=1,
        data={},
        flags=[],
        fired_rules=[],
        created_at=T0 + timedelta(hours=hours),
        updated_at=T0 + timedelta(hours=hours),
        created_by="anna",
        closed=number % 2 == 0,
    )


# Version a1: 1..3 (3 newest, created at hour 5); a2: 4 and 5 (created at the same hour: the
# lower id counts as the newer, as in `list`); b1: 6 and 7 (6 newest).
INCIDENTS = [
    _incident(1, "a1", hours=1),
    _incident(2, "a1", hours=2),
    _incident(3, "a1", hours=5),
    _incident(5, "a2", hours=3),
    _incident(4, "a2", hours=3),
    _incident(6, "b1", hours=4),
    _incident(7, "b1", hours=0),
]


def _newest(store: Store) -> list[str]:
    with store.unit_of_work() as uow:
        for version, sha in SHAS.items():
            uow.definitions.save(version, 1, sha, {"document": {"name": version}})
        for incident in INCIDENTS:
            uow.incidents.add(replace(incident))
        uow.commit()
    with store.unit_of_work(read_only=True) as uow:
        every = [i.id for i in uow.incidents.list(include_closed=True)]
        newest = [i.id for i in uow.incidents.newest_by_version()]
    assert newest == [i for i in every if i in newest]  # in `list`'s order
    return [i.removeprefix("20261130-") for i in newest]


def test_newest_by_version_is_one_incident_per_plan_version(db: Database) -> None:
    """The newest incident of each workflow and plan version, newest first, ties by id; the
    fake store answers alike."""
    assert _newest(db) == ["3", "6", "4"]
    assert _newest(MemoryStore()) == ["3", "6", "4"]
