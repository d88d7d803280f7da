"""The use cases on the in-memory store: no SQLite, the real SAMSA plan, a fake clock.

`Service` and `TimerRunner` are wired by hand as engine.bootstrap wires them, with
tests/fakes' `MemoryStore` in place of the database, the repository's workflows/ folder and
the example directory. The assertions read what the store holds once a use case has returned.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engine.domain.model import ApprovalStatus, Event, Incident, Message, Timer
from engine.errors import Conflict, NotAuthorized
from engine.ports import Store
from engine.scheduler.clocks import FakeClock
from engine.service.facade import Service
from engine.service.plans import PlanLibrary
from engine.service.recorder import Recorder
from engine.service.timers import TimerRunner
from engine.service.workspace import Workspace
from tests.fakes import MemoryStore, Tables

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2025, 3, 4, 8, 30, tzinfo=UTC)
OPERATOR = "anna.andersson"
DECLARE = {
    "started_at": "2025-03-04T09:15",
    "scope": "Ingen åtkomst till SAMSA i Fyrbodal",
    "expected_resolution": "okänd",
    "affected_subregions": "fyrbodal",
}
OUTAGE_CHANNELS = ["login_page", "support_email", "website_news", "newsletter", "it_nytt"]


@dataclass
class Installation:
    """The use cases wired on one in-memory store, and questions about what it holds."""

    store: MemoryStore
    clock: FakeClock
    service: Service
    timers: TimerRunner

    def declare(self) -> str:
        return self.service.declare(actor_id=OPERATOR, values=DECLARE).incident_id

    def incident(self, incident_id: str) -> Incident:
        return self.store.committed().incidents[incident_id]

    def events(self, incident_id: str) -> list[Event]:
        return list(self.store.committed().events.get(incident_id, ()))

    def messages(self, incident_id: str, cause: str = "") -> list[Message]:
        """The incident's outbox rows in the order a dispatcher claims them."""
        rows = self.store.committed().messages.values()
        mine = [m for m in rows if m.incident_id == incident_id and m.cause.startswith(cause)]
        return sorted(mine, key=lambda m: (m.created_at, m.id))

    def open_timers(self, incident_id: str) -> dict[str, Timer]:
        rows = self.store.committed().timers.values()
        return {
            t.key: t
            for t in rows
            if t.incident_id == incident_id and t.fired_at is None and t.cancelled_at is None
        }


@pytest.fixture(scope="module")
def plans() -> PlanLibrary:
    """The repository's plans (shared: the library only caches parsed definitions)."""
    return PlanLibrary(ROOT / "workflows")


def wire(store: MemoryStore, plans: PlanLibrary) -> Installation:
    """The use cases on `store`, as engine.bootstrap.build wires them on the database."""
    port: Store = store  # the service takes the fake where it takes the database
    clock = FakeClock(T0)
    workspace = Workspace(store=port, plans=plans, clock=clock)
    recorder = Recorder()
    service = Service(workspace, recorder)
    return Installation(store, clock, service, TimerRunner(workspace, recorder, service.gates))


@pytest.fixture(scope="module")
def directory(plans: PlanLibrary) -> Tables:
    """The committed state after importing the example directory (imported once: parsing
    it checks it against the plans, which is most of a test's time)."""
    seed = wire(MemoryStore(), plans)
    assert seed.service.directory.import_file(ROOT / "examples" / "directory.yaml") == {
        "people": 12,
        "lists": 5,  # support_it, working_groups, involved_parties, suppliers, auditor
    }
    return seed.store.committed()


@pytest.fixture
def app(plans: PlanLibrary, directory: Tables) -> Installation:
    """A fresh in-memory installation at T0 holding the example directory."""
    return wire(MemoryStore(directory), plans)


def test_declare_writes_each_outage_notice_to_the_outbox(app: Installation) -> None:
    """Declaring puts one pending outbox row per channel of the outage state, logs the
    declaration and arms the hourly update reminder."""
    incident_id = app.declare()

    messages = app.messages(incident_id)
    assert [m.channel for m in messages] == OUTAGE_CHANNELS
    assert [m.kind for m in messages] == ["banner", "email", "news", "newsletter", "webhook"]
    assert {m.status for m in messages} == {"pending"}
    assert all(m.cause.startswith("declare:declare") for m in messages)
    [mail] = [m for m in messages if m.channel == "support_email"]
    assert len(mail.recipients) == 6  # the support_it list of the example directory
    assert [(e.seq, e.kind, e.to_state) for e in app.events(incident_id)] == [
        (1, "declare", "outage")
    ]
    timers = app.open_timers(incident_id)
    assert list(timers) == ["state:outage:update_due"]  # no ETA yet, so no eta_passed
    assert timers["state:outage:update_due"].due_at == T0 + timedelta(minutes=60)


def test_gated_trigger_waits_for_the_approver(app: Installation) -> None:
    """Total reserve fired by an operator comes back pending and only asks the council; the
    chair's approval applies it with its notices and ends the request's reminders."""
    incident_id = app.declare()

    pending = app.service.fire(
        incident_id=incident_id, trigger="enter_total_reserve", actor_id=OPERATOR
    )

    assert (pending.result, pending.state) == ("pending_approval", "outage")
    assert pending.approval_id is not None
    assert app.incident(incident_id).state == "outage"
    [request] = app.messages(incident_id, "approval_requested")
    assert request.channel == "crisis_email"
    assert sorted(r.person_id for r in request.recipients) == ["margareta.lund", "olof.strand"]
    assert not app.messages(incident_id, "transition")
    assert any(key.startswith("approval:") for key in app.open_timers(incident_id))

    decided = app.service.decide(
        approval_id=pending.approval_id, actor_id="margareta.lund", approve=True
    )

    assert (decided.result, decided.state) == ("approved", "total_reserve")
    incident = app.incident(incident_id)
    assert incident.state == "total_reserve" and "crisis" in incident.flags
    notices = app.messages(incident_id, "transition:enter_total_reserve")
    assert [m.channel for m in notices] == [*OUTAGE_CHANNELS, "crisis_email"]
    assert app.store.committed().approvals[pending.approval_id].status == ApprovalStatus.APPROVED
    assert not any(key.startswith("approval:") for key in app.open_timers(incident_id))
    kinds = [e.kind for e in app.events(incident_id)]
    # A total reserve routine is a crisis: the council alert follows the decision at once.
    assert kinds == ["declare", "approval_requested", "decision", "transition", "rule"]


def test_each_subregion_of_a_partial_reserve_needs_its_own_decider(app: Installation) -> None:
    """A partial reserve for Fyrbodal and Skaraborg takes effect for Fyrbodal when its decider
    agrees, refuses (and logs) a decider of another sub-region, and adds Skaraborg when its
    decider agrees."""
    incident_id = app.declare()
    pending = app.service.fire(
        incident_id=incident_id,
        trigger="enter_partial_reserve",
        actor_id=OPERATOR,
        values={"reserve_subregions": ["fyrbodal", "skaraborg"]},
    )
    assert pending.result == "pending_approval" and pending.approval_id is not None
    approval_id = pending.approval_id
    [request] = app.messages(incident_id, "approval_requested")
    assert sorted(r.person_id for r in request.recipients) == ["eva.holm", "johan.berg"]

    first = app.service.decide(approval_id=approval_id, actor_id="johan.berg", approve=True)
    assert (first.result, first.state) == ("approved", "partial_reserve")
    assert app.incident(incident_id).data["reserve_subregions"] == ["fyrbodal"]
    with pytest.raises(NotAuthorized):
        app.service.decide(approval_id=approval_id, actor_id="per.ek", approve=True)
    refused = app.events(incident_id)[-1]
    assert (refused.kind, refused.actor) == ("refused", "per.ek")
    assert refused.trigger == f"decide:{approval_id}"

    second = app.service.decide(approval_id=approval_id, actor_id="eva.holm", approve=True)

    assert (second.result, second.state) == ("approved", "partial_reserve")
    assert app.incident(incident_id).data["reserve_subregions"] == ["fyrbodal", "skaraborg"]
    committed = app.store.committed().approvals[approval_id]
    assert committed.status == ApprovalStatus.APPROVED
    assert [(s.subregions, s.decided_by) for s in committed.slots] == [
        (("fyrbodal",), "johan.berg"),
        (("skaraborg",), "eva.holm"),
    ]


def test_refusal_is_written_to_the_incident_log(app: Installation) -> None:
    """A status update by a sub-regional decider, whom the plan does not allow to post one,
    raises NotAuthorized, leaves the incident as it was and is logged as a `refused` event."""
    incident_id = app.declare()
    before = app.incident(incident_id)

    with pytest.raises(NotAuthorized):
        app.service.fire(
            incident_id=incident_id,
            trigger="post_update",
            actor_id="johan.berg",
            values={"scope": "Allt fungerar"},
        )

    after = app.incident(incident_id)
    assert (after.data, after.row_version) == (before.data, before.row_version)
    assert not app.messages(incident_id, "update")
    refused = app.events(incident_id)[-1]
    assert (refused.seq, refused.kind, refused.actor, refused.trigger) == (
        2,
        "refused",
        "johan.berg",
        "post_update",
    )
    assert refused.data["error"] == "NotAuthorized"
    assert after.last_event_seq == 2  # the chain head moved with the refusal


@pytest.mark.parametrize("loser_writes_first", [False, True], ids=["stale-write", "late-commit"])
def test_lost_race_is_a_conflict_and_keeps_nothing_of_the_loser(
    app: Installation, loser_writes_first: bool
) -> None:
    """Two units of work change the same incident; the status update that commits first wins,
    and the other gets Conflict (when it writes, or when it commits) and leaves no trace."""
    incident_id = app.declare()

    def winner() -> None:
        app.service.fire(
            incident_id=incident_id,
            trigger="post_update",
            actor_id=OPERATOR,
            values={"scope": "winner"},
        )

    with app.store.unit_of_work() as loser:
        incident = loser.incidents.get(incident_id, for_update=True)
        if not loser_writes_first:
            winner()
        incident.data["scope"] = "loser"
        loser.events.append(
            incident, actor="cerner.support", kind="update", at=T0, saved_with_incident=True
        )
        loser.timers.add(Timer("loser-timer", incident_id, "loser", T0, 1, {}))
        if loser_writes_first:
            loser.incidents.update(incident)
            winner()
            with pytest.raises(Conflict):
                loser.commit()
        else:
            with pytest.raises(Conflict, match="changed by someone else"):
                loser.incidents.update(incident)

    committed = app.incident(incident_id)
    assert committed.data["scope"] == "winner"
    assert committed.row_version == 3  # declared (1 -> 2), then the winner's update
    assert [(e.seq, e.actor) for e in app.events(incident_id)] == [(1, OPERATOR), (2, OPERATOR)]
    assert "loser-timer" not in app.store.committed().timers


def test_due_timer_fires_once(app: Installation) -> None:
    """The update reminder does nothing before it is due; when due, firing it twice (or
    sweeping after) writes one reminder and one log entry and re-arms it once."""
    incident_id = app.declare()
    timer = app.open_timers(incident_id)["state:outage:update_due"]

    app.clock.set(T0 + timedelta(minutes=59))
    assert app.timers.fire(timer.id).fired is False
    app.clock.set(T0 + timedelta(minutes=60))
    first, second = app.timers.fire(timer.id), app.timers.fire(timer.id)

    assert (first.fired, first.messages) == (True, 1)
    assert (second.fired, second.reason) == (False, "already fired or cancelled")
    assert app.timers.fire_due() == []
    [reminder] = app.messages(incident_id, "timer:state:outage:update_due")
    assert reminder.channel == "staff_email"
    assert [e.kind for e in app.events(incident_id)] == ["declare", "timer"]
    rearmed = app.open_timers(incident_id)["state:outage:update_due"]
    assert rearmed.due_at == T0 + timedelta(hours=2)
    assert app.store.committed().timers[timer.id].fired_at == T0 + timedelta(minutes=60)


def test_two_wakeups_in_flight_fire_a_timer_once(app: Installation) -> None:
    """Two units of work that both mark the same timer fired: the first commit wins, the
    second is a Conflict, and a third wake-up finds it fired."""
    incident_id = app.declare()
    timer = app.open_timers(incident_id)["state:outage:update_due"]
    due = timer.due_at

    with app.store.unit_of_work() as one, app.store.unit_of_work() as two:
        assert one.timers.fire(timer.id, due) is True
        assert two.timers.fire(timer.id, due + timedelta(seconds=5)) is True
        one.commit()
        with pytest.raises(Conflict):
            two.commit()
    with app.store.unit_of_work() as three:
        assert three.timers.fire(timer.id, due + timedelta(seconds=9)) is False

    fired = app.store.committed().timers[timer.id]
    assert (fired.fired_at, fired.late_by_seconds) == (due, 0.0)


def test_preview_writes_nothing(app: Installation) -> None:
    """Previewing a declaration and a restore returns their messages, while every table of
    the store stays exactly as it was."""
    incident_id = app.declare()
    before = app.store.committed()

    declaration = app.service.preview(actor_id=OPERATOR, values=DECLARE)
    restore = app.service.preview(
        actor_id=OPERATOR,
        incident_id=incident_id,
        trigger="restore",
        values={"resolved_at": "2025-03-04T11:00"},
    )

    assert (declaration["state"], restore["state"]) == ("outage", "restored")
    assert [m["channel"] for m in declaration["messages"]] == OUTAGE_CHANNELS
    assert [m["channel"] for m in restore["messages"]] == OUTAGE_CHANNELS
    assert app.store.committed() == before


def test_uncommitted_changes_are_invisible_and_discarded(app: Installation) -> None:
    """What a unit of work writes is seen by others only after its commit; leaving the block
    without commit throws it away."""
    incident_id = app.declare()
    timer = Timer("t-1", incident_id, "extra", T0 + timedelta(hours=5), 1, {})

    with app.store.unit_of_work() as writer, app.store.unit_of_work() as reader:
        writer.timers.add(timer)
        assert writer.timers.get("t-1").key == "extra"
        assert [t.key for t in reader.timers.list_open(incident_id)] == ["state:outage:update_due"]
    assert "t-1" not in app.store.committed().timers

    with app.store.unit_of_work() as writer:
        writer.timers.add(timer)
        writer.commit()
    with app.store.unit_of_work(read_only=True) as reader:
        assert reader.timers.get("t-1").due_at == T0 + timedelta(hours=5)
