"""Deputy escalation, stamps, typed times and "partly approved", through the real application
on SQLite and on PostgreSQL with a fake clock.

The escalating plan is the SAMSA plan with `escalate_to_deputy_after: 20m` on the council's
gate (the SAMSA plan itself keeps the default: chair and vice chair asked at once).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from engine.bootstrap import App, build
from engine.domain.model import Message
from engine.settings import Settings
from tests.app_helpers import DECLARE, EXAMPLE_DIRECTORY, OPERATOR, START, WORKFLOWS, FakeClock
from tests.conftest import TEST_AUDIT_KEY

CHAIR, VICE_CHAIR = "margareta.lund", "olof.strand"
CHAIR_MAIL = "margareta.lund@ledningsrad.example.se"
VICE_MAIL = "olof.strand@ledningsrad.example.se"
COUNCIL_GATE = "      recordable_by: [operator]\n      expires: 4h\n"


def escalating_plan(folder: Path) -> Path:
    """A plans folder holding the SAMSA plan whose council gate asks the vice chair after 20m."""
    folder.mkdir()
    shutil.copytree(WORKFLOWS / "templates", folder / "templates")
    text = (WORKFLOWS / "samsa_outage.yaml").read_text("utf-8")
    assert text.count(COUNCIL_GATE) == 1
    text = text.replace(COUNCIL_GATE, COUNCIL_GATE + "      escalate_to_deputy_after: 20m\n")
    (folder / "samsa_outage.yaml").write_text(text, "utf-8")
    return folder


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


def install(
    tmp_path: Path, url: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch, plans: Path
) -> Iterator[App]:
    monkeypatch.setenv("DRIFTPLAN_AUDIT_KEY", TEST_AUDIT_KEY.hex())
    for name in ("DATABASE_URL", "PUBLIC_URL", "AUDIT_KEY_FILE"):
        monkeypatch.delenv(f"DRIFTPLAN_{name}", raising=False)
    settings = Settings(
        data=tmp_path / "data",
        workflows=plans,
        database_url=None if url.startswith("sqlite") else url,
        public_url="https://driftplan.example.se",
    )
    application = build(settings, clock=clock)
    application.service.directory.import_file(EXAMPLE_DIRECTORY)
    try:
        yield application
    finally:
        application.close()


@pytest.fixture
def escalating(
    tmp_path: Path, migrated_database_url: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> Iterator[App]:
    """The escalating plan on each database."""
    yield from install(
        tmp_path, migrated_database_url, clock, monkeypatch, escalating_plan(tmp_path / "plans")
    )


@pytest.fixture
def samsa(
    tmp_path: Path, migrated_database_url: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> Iterator[App]:
    """The SAMSA plan as shipped, on each database."""
    yield from install(tmp_path, migrated_database_url, clock, monkeypatch, WORKFLOWS)


def ask_total_reserve(app: App) -> tuple[str, str]:
    """Declare an incident and ask for total reserve; returns (incident id, approval id)."""
    incident_id = app.service.declare(actor_id=OPERATOR, values=DECLARE).incident_id
    asked = app.service.fire(
        incident_id=incident_id, trigger="enter_total_reserve", actor_id=OPERATOR
    )
    assert asked.approval_id is not None
    return incident_id, asked.approval_id


def to(app: App, incident_id: str, cause: str) -> list[set[str]]:
    """The recipients' addresses of each message whose cause starts with `cause`."""
    found: list[Message] = [
        m for m in app.service.messages(incident_id) if m.cause.startswith(cause)
    ]
    return [{r.address for r in m.recipients} for m in found]


def at(app: App, clock: FakeClock, minutes: int) -> None:
    """Move the clock to `minutes` after the start and fire what is due."""
    clock.set(START + timedelta(minutes=minutes))
    app.timers.fire_due()


def test_the_chair_is_asked_first_and_the_vice_chair_after_twenty_minutes(
    escalating: App, clock: FakeClock
) -> None:
    """Only the chair gets the request and the 15-minute reminder; at 20 minutes the vice
    chair gets the request with their own decision link, and can decide by it."""
    incident_id, approval_id = ask_total_reserve(escalating)
    assert to(escalating, incident_id, f"approval_requested:{approval_id}") == [{CHAIR_MAIL}]

    at(escalating, clock, 15)
    assert to(escalating, incident_id, f"timer:approval:{approval_id}:remind:0") == [{CHAIR_MAIL}]
    at(escalating, clock, 19)
    assert to(escalating, incident_id, f"approval_escalated:{approval_id}") == []

    at(escalating, clock, 20)
    assert to(escalating, incident_id, f"approval_escalated:{approval_id}") == [{VICE_MAIL}]
    [escalated] = [m for m in escalating.service.messages(incident_id) if "escalated" in m.cause]
    assert "https://driftplan.example.se/" in escalated.body_text
    [event] = [e for e in escalating.service.log(incident_id) if e["kind"] == "approval_escalated"]
    assert event["data"] == {"approval_id": approval_id, "deputies": [VICE_CHAIR]}

    at(escalating, clock, 30)  # the operators' overdue notice names both, with their numbers
    [overdue] = [
        m.body_text
        for m in escalating.service.messages(incident_id)
        if m.cause.startswith(f"timer:approval:{approval_id}:remind:1")
    ]
    assert "Margareta Lund (+46 70 000 00 31)" in overdue
    assert "Olof Strand (+46 70 000 00 32)" in overdue
    decided = escalating.service.decide(approval_id=approval_id, actor_id=VICE_CHAIR, approve=True)
    assert (decided.result, decided.state) == ("approved", "total_reserve")


def test_a_deputy_who_acts_before_the_escalation_decides_anyway(
    escalating: App, clock: FakeClock
) -> None:
    """The escalation is about whom the gate asks: a vice chair who decides at once is heard,
    and nobody is asked afterwards."""
    incident_id, approval_id = ask_total_reserve(escalating)
    at(escalating, clock, 5)

    decided = escalating.service.decide(approval_id=approval_id, actor_id=VICE_CHAIR, approve=True)

    assert (decided.result, decided.state) == ("approved", "total_reserve")
    at(escalating, clock, 25)
    assert to(escalating, incident_id, f"approval_escalated:{approval_id}") == []
    assert "approval_escalated" not in [e["kind"] for e in escalating.service.log(incident_id)]


def test_without_the_option_chair_and_vice_chair_are_asked_at_once(samsa: App) -> None:
    """The SAMSA plan keeps the default: both get the request (each their own link) at once."""
    incident_id, approval_id = ask_total_reserve(samsa)
    asked = to(samsa, incident_id, f"approval_requested:{approval_id}")
    assert sorted(asked, key=sorted) == [{CHAIR_MAIL}, {VICE_MAIL}]
    with samsa.database.unit_of_work(read_only=True) as uow:
        keys = [t.key for t in uow.timers.list_open(incident_id)]
    assert not any(key.endswith(":escalate") for key in keys)


def test_restore_without_resolved_at_records_the_clocks_now(samsa: App, clock: FakeClock) -> None:
    """`restore` given no `resolved_at` stores the moment it happened, by the installation's
    clock; one given is kept."""
    first = samsa.service.declare(actor_id=OPERATOR, values=DECLARE).incident_id
    second = samsa.service.declare(actor_id=OPERATOR, values=DECLARE).incident_id
    clock.advance(timedelta(minutes=42))

    samsa.service.fire(incident_id=first, trigger="restore", actor_id=OPERATOR)
    samsa.service.fire(
        incident_id=second, trigger="restore", actor_id=OPERATOR, values={"resolved_at": "09:50"}
    )

    assert samsa.service.show(first)["data"]["resolved_at"] == clock.now().isoformat()
    # 09:50 Stockholm time (CET) on the clock's day, not on the machine's.
    assert samsa.service.show(second)["data"]["resolved_at"] == "2025-03-04T08:50:00+00:00"


def test_typed_times_use_the_clock_and_the_plans_timezone(samsa: App) -> None:
    """`08:00` is today in Stockholm and `+2h` two hours after the clock's now (08:30 UTC)."""
    values = {**DECLARE, "started_at": "08:00", "expected_resolution": "+2h"}
    incident_id = samsa.service.declare(actor_id=OPERATOR, values=values).incident_id
    data = samsa.service.show(incident_id)["data"]
    assert data["started_at"] == "2025-03-04T07:00:00+00:00"
    assert data["expected_resolution"] == "2025-03-04T10:30:00+00:00"


def test_a_request_some_subregions_approved_reads_partly_approved(samsa: App) -> None:
    """Fyrbodal approved, Skaraborg not yet: the pending list says "partly_approved" and
    "delvis godkänd"; before any decision it says pending."""
    incident_id = samsa.service.declare(actor_id=OPERATOR, values=DECLARE).incident_id
    asked = samsa.service.fire(
        incident_id=incident_id,
        trigger="enter_partial_reserve",
        actor_id=OPERATOR,
        values={"reserve_subregions": "fyrbodal,skaraborg"},
    )
    [before] = samsa.service.approvals.pending(OPERATOR, mine=False)
    assert (before["status"], before["status_title"]) == ("pending", "väntar på beslut")

    samsa.service.decide(approval_id=str(asked.approval_id), actor_id="johan.berg", approve=True)

    [after] = samsa.service.approvals.pending(OPERATOR, mine=False)
    assert (after["id"], after["pending"]) == (asked.approval_id, True)
    assert (after["status"], after["status_title"]) == ("partly_approved", "delvis godkänd")
