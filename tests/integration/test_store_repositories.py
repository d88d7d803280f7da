"""Round trips through every repository of the unit of work, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from engine.domain.model import (
    Approval,
    ApprovalDecision,
    ApprovalSlot,
    ApprovalStatus,
    DeliveryResult,
    Incident,
    Message,
    MessageStatus,
    Person,
    RecipientStatus,
    StoredRecipient,
    Subscriber,
    SubscriberStatus,
    Timer,
)
from engine.errors import ConfigurationError, Conflict, NotFound
from engine.ports import Recipient
from engine.store import Database

T0 = datetime(2025, 3, 1, 8, 30, 15, 123456, tzinfo=UTC)
SHA = "a" * 64


def make_incident(incident_id: str = "INC-1", **changes: object) -> Incident:
    values: dict[str, object] = {
        "id": incident_id,
        "workflow": "samsa_outage",
        "workflow_version": "1",
        "definition_sha256": SHA,
        "state": "outage",
        "state_epoch": 1,
        "row_version": 1,
        "data": {"scope": "Hela SAMSA", "started_at": "2025-03-01T08:00:00+00:00"},
        "flags": ["council_informed"],
        "fired_rules": [],
        "created_at": T0,
        "updated_at": T0,
        "created_by": "anna",
    }
    return Incident(**(values | changes))  # type: ignore[arg-type]


def add_incident(db: Database, incident_id: str = "INC-1", **changes: object) -> Incident:
    incident = make_incident(incident_id, **changes)
    with db.unit_of_work() as uow:
        uow.definitions.save("samsa_outage", 1, SHA, {"document": {"name": "samsa_outage"}})
        uow.incidents.add(incident)
        uow.commit()
    return incident


def make_message(message_id: str, **changes: object) -> Message:
    values: dict[str, object] = {
        "id": message_id,
        "incident_id": "INC-1",
        "channel": "support_email",
        "kind": "email",
        "audience": "support_it",
        "language": "sv",
        "subject": "Driftstörning i SAMSA",
        "body_text": "SAMSA är otillgängligt.",
        "body_html": "<p>SAMSA är otillgängligt.</p>",
        "recipients": [StoredRecipient("it@example.se", "IT")],
        "status": MessageStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": T0,
        "created_at": T0,
        "cause": "event:1",
    }
    return Message(**(values | changes))  # type: ignore[arg-type]


def test_incident_round_trip_keeps_every_field_and_aware_times(db: Database) -> None:
    """An added incident reads back equal, with timezone-aware UTC datetimes."""
    stockholm = timezone(timedelta(hours=1))
    incident = add_incident(db, created_at=T0.astimezone(stockholm), exercise=True)
    with db.unit_of_work(read_only=True) as uow:
        loaded = uow.incidents.get("INC-1")
    assert loaded == incident
    assert loaded.created_at.tzinfo is not None
    assert loaded.created_at.utcoffset() == timedelta(0)
    assert loaded.created_at == T0


def test_missing_incident_is_not_found_by_name(db: Database) -> None:
    """Getting an unknown incident raises NotFound naming exactly that incident."""
    with db.unit_of_work() as uow, pytest.raises(NotFound) as caught:
        uow.incidents.get("INC-404")
    assert str(caught.value) == "Incident 'INC-404' does not exist."


def test_duplicate_incident_is_a_conflict_and_the_transaction_goes_on(db: Database) -> None:
    """Adding an incident id twice raises Conflict; the unit of work stays usable."""
    add_incident(db)
    with db.unit_of_work() as uow:
        with pytest.raises(Conflict, match="already exists"):
            uow.incidents.add(make_incident())
        uow.meta.set("after", "still works")
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.meta.get("after") == "still works"


def test_update_bumps_row_version_and_list_hides_closed(db: Database) -> None:
    """update() saves changes and increments row_version; list() skips closed incidents."""
    incident = add_incident(db)
    add_incident(db, "INC-2", created_at=T0 + timedelta(hours=1))
    with db.unit_of_work() as uow:
        incident.state, incident.closed = "resolved", True
        uow.incidents.update(incident)
        uow.commit()
    assert incident.row_version == 2
    with db.unit_of_work() as uow:
        assert uow.incidents.get("INC-1").state == "resolved"
        assert [i.id for i in uow.incidents.list()] == ["INC-2"]
        assert [i.id for i in uow.incidents.list(include_closed=True)] == ["INC-2", "INC-1"]


def test_leaving_without_commit_rolls_back(db: Database) -> None:
    """A unit of work that is not committed leaves no trace."""
    with db.unit_of_work() as uow:
        uow.definitions.save("samsa_outage", 1, SHA, {})
        uow.incidents.add(make_incident())
    with db.unit_of_work() as uow:
        assert uow.incidents.list(include_closed=True) == []
        assert uow.definitions.get(SHA) is None


def test_definitions_are_saved_once_by_hash(db: Database) -> None:
    """Saving the same definition hash twice keeps the first snapshot and does not fail."""
    with db.unit_of_work() as uow:
        uow.definitions.save("samsa_outage", 1, SHA, {"v": 1})
        uow.definitions.save("samsa_outage", 1, SHA, {"v": 1})
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.definitions.get(SHA) == {"v": 1}
        assert uow.definitions.get("b" * 64) is None


def test_events_append_in_sequence_and_read_back_equal(db: Database) -> None:
    """Appended events get seq 1, 2, ... chained by prev_hash, and list() returns them equal."""
    incident = add_incident(db)
    with db.unit_of_work() as uow:
        first = uow.events.append(incident, actor="anna", kind="declare", at=T0, to_state="outage")
        second = uow.events.append(
            incident,
            actor="anna",
            kind="update",
            at=T0 + timedelta(minutes=5),
            data={"when": T0, "text": "Läget är oförändrat"},
        )
        uow.commit()
    assert (first.seq, second.seq) == (1, 2)
    assert first.prev_hash == "" and second.prev_hash == first.hash
    assert second.data == {"when": T0.isoformat(), "text": "Läget är oförändrat"}
    with db.unit_of_work() as uow:
        assert uow.events.list("INC-1") == [first, second]


def test_events_cannot_be_signed_without_a_key(database_url: str) -> None:
    """A Database opened without an audit key refuses to append events, with a clear error."""
    db = Database(database_url)
    db.migrate()
    try:
        incident = add_incident(db)
        with db.unit_of_work() as uow, pytest.raises(ConfigurationError, match="audit key"):
            uow.events.append(incident, actor="anna", kind="declare", at=T0)
    finally:
        db.dispose()


def test_naive_datetimes_are_refused(db: Database) -> None:
    """Storing a naive datetime is a ValueError rather than a silently wrong time."""
    incident = add_incident(db)
    with db.unit_of_work() as uow, pytest.raises(ValueError, match="timezone-aware"):
        uow.events.append(incident, actor="anna", kind="declare", at=datetime(2025, 1, 1))


def test_approval_round_trip_update_and_status_filter(db: Database) -> None:
    """Approvals read back equal, update saves decisions, list filters by status."""
    add_incident(db)
    approval = Approval(
        id="APR-1",
        incident_id="INC-1",
        trigger="enter_total_reserve",
        requested_by="anna",
        requested_at=T0,
        payload={"scope": "Hela"},
        slots=[ApprovalSlot(("council_chair", "council_vice_chair"))],
        status="pending",
        expires_at=T0 + timedelta(hours=2),
        state_epoch=1,
    )
    with db.unit_of_work() as uow:
        uow.approvals.add(approval)
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.approvals.get("APR-1") == approval
        approval.status, approval.decided_at = "approved", T0 + timedelta(minutes=3)
        decided = ApprovalDecision(
            T0.isoformat(), ApprovalStatus.APPROVED, "bo", comment="Ja", slots=(0,)
        )
        approval.slots = [approval.slots[0].filled(decided)]
        approval.decisions = [decided]
        uow.approvals.update(approval)
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.approvals.get("APR-1") == approval
        assert uow.approvals.list("INC-1", status="approved") == [approval]
        assert uow.approvals.list("INC-1", status="pending") == []
        with pytest.raises(NotFound, match="Approval 'APR-2'"):
            uow.approvals.get("APR-2")


def test_message_round_trip_update_and_dead_letters(db: Database) -> None:
    """Messages read back equal (meeting times as ISO text), update saves, list_dead finds dead."""
    add_incident(db)
    meeting = {"title": "Krismöte", "starts_at": T0}
    message = make_message("M-1", meeting=meeting, clear=True)
    with db.unit_of_work() as uow:
        uow.messages.add(message)
        uow.messages.add(make_message("M-2"))
        uow.commit()
    with db.unit_of_work() as uow:
        loaded = uow.messages.get("M-1")
        assert loaded.meeting == {"title": "Krismöte", "starts_at": T0.isoformat()}
        loaded.meeting = meeting
        assert loaded == message
        assert uow.messages.get("M-2").meeting is None
        loaded.status, loaded.attempts, loaded.last_error = "dead", 3, "550 no such user"
        loaded.results = [
            DeliveryResult("it@example.se", RecipientStatus.PERMANENT, "550", T0.isoformat(), 3)
        ]
        uow.messages.update(loaded)
        uow.commit()
    with db.unit_of_work() as uow:
        assert [m.id for m in uow.messages.list_dead()] == ["M-1"]
        assert [m.id for m in uow.messages.list("INC-1")] == ["M-1", "M-2"]
        assert uow.messages.get("M-1").results == loaded.results


def test_timers_open_due_fire_and_cancel(db: Database) -> None:
    """Timers are open until fired or cancelled; due() returns those whose time has come."""
    add_incident(db)

    def timer(timer_id: str, key: str, minutes: int, epoch: int = 1) -> Timer:
        return Timer(timer_id, "INC-1", key, T0 + timedelta(minutes=minutes), epoch, {"n": 1})

    with db.unit_of_work() as uow:
        uow.timers.add(timer("T1", "state:outage:update_due", 60))
        uow.timers.add(timer("T2", "state:outage:eta_passed", 30))
        uow.timers.add(timer("T3", "approval:A1:remind:0", 15))
        uow.timers.add(timer("T4", "state:outage:update_due", 60, epoch=2))
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.timers.get("T2") == timer("T2", "state:outage:eta_passed", 30)
        assert [t.id for t in uow.timers.list_open("INC-1")] == ["T3", "T2", "T1", "T4"]
        assert [t.id for t in uow.timers.due(T0 + timedelta(minutes=30))] == ["T3", "T2"]
        assert uow.timers.fire("T3", T0 + timedelta(minutes=16)) is True
        assert uow.timers.cancel("INC-1", state_epoch=1, key_prefix="state:", now=T0) == 2
        uow.commit()
    with db.unit_of_work() as uow:
        assert [t.id for t in uow.timers.list_open()] == ["T4"]
        fired = uow.timers.get("T3")
        assert fired.fired_at == T0 + timedelta(minutes=16)
        assert fired.late_by_seconds == 60.0
        assert uow.timers.get("T1").cancelled_at == T0


def test_arming_the_same_timer_twice_conflicts_unless_cancelled(db: Database) -> None:
    """An open timer with the same key, epoch and due time is refused; a cancelled one is not."""
    add_incident(db)
    due = T0 + timedelta(hours=1)
    with db.unit_of_work() as uow:
        uow.timers.add(Timer("T1", "INC-1", "state:outage:eta_passed", due, 1, {}))
        with pytest.raises(Conflict, match="already armed"):
            uow.timers.add(Timer("T2", "INC-1", "state:outage:eta_passed", due, 1, {}))
        uow.timers.cancel("INC-1", key_prefix="state:outage:eta", now=T0)
        uow.timers.add(Timer("T3", "INC-1", "state:outage:eta_passed", due, 1, {}))
        uow.commit()
    with db.unit_of_work() as uow:
        assert [t.id for t in uow.timers.list_open()] == ["T3"]


def test_key_prefix_is_literal_not_a_pattern(db: Database) -> None:
    """cancel(key_prefix=...) treats % and _ literally."""
    add_incident(db)
    with db.unit_of_work() as uow:
        uow.timers.add(Timer("T1", "INC-1", "approvalXA1", T0, 1, {}))
        uow.timers.add(Timer("T2", "INC-1", "approval_A1", T0, 1, {}))
        assert uow.timers.cancel("INC-1", key_prefix="approval_", now=T0) == 1
        assert [t.id for t in uow.timers.list_open()] == ["T1"]


def test_directory_replace_and_lookups(db: Database) -> None:
    """replace() makes the directory exactly the imported people and lists."""
    anna = Person("anna", "Anna Berg", "anna@vgregion.se", "+4670111", ["operator"], None)
    bo = Person("bo", "Bo Ek", "bo@vgregion.se", "", ["subregional_decider"], "fyrbodal")
    members = [Recipient("it@example.se", "IT-support"), Recipient(anna.email, anna.name, "anna")]
    with db.unit_of_work() as uow:
        uow.directory.replace([Person("old", "Old")], {"old_list": []})
        uow.directory.replace([anna, bo], {"support_it": members})
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.directory.people() == [anna, bo]
        assert uow.directory.person("bo") == bo
        assert uow.directory.lists() == {"support_it": members}
        assert uow.directory.list_members("support_it") == members
        with pytest.raises(NotFound, match="Person 'old'"):
            uow.directory.person("old")
        with pytest.raises(NotFound, match="Known lists: support_it"):
            uow.directory.list_members("old_list")


def test_subscribers_opt_in_confirm_unsubscribe_and_resubscribe(db: Database) -> None:
    """Subscribers go pending -> confirmed -> unsubscribed, and can start over as pending."""
    sub = Subscriber(
        "S1", "subscribers", "Eva@Example.se", "Eva", SubscriberStatus.PENDING, "tok1", T0
    )
    with db.unit_of_work() as uow:
        stored = uow.subscribers.add(sub)
        assert stored.email == "eva@example.se"
        again = Subscriber("S2", "subscribers", "eva@example.se", "Eva", "pending", "tok2", T0)
        assert uow.subscribers.add(again).token == "tok1"
        confirmed = uow.subscribers.confirm("tok1", T0 + timedelta(minutes=1))
        assert confirmed.status == SubscriberStatus.CONFIRMED
        assert confirmed.confirmed_at == T0 + timedelta(minutes=1)
        assert uow.subscribers.list("subscribers", SubscriberStatus.CONFIRMED) == [confirmed]
        assert (
            uow.subscribers.unsubscribe(stored.unsubscribe_token).status
            == SubscriberStatus.UNSUBSCRIBED
        )
        assert uow.subscribers.list("subscribers", SubscriberStatus.CONFIRMED) == []
        restarted = uow.subscribers.add(again)
        assert (restarted.id, restarted.status, restarted.token) == ("S1", "pending", "tok2")
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.subscribers.get("S1").confirmed_at is None
        with pytest.raises(NotFound, match="not valid"):
            uow.subscribers.confirm("tok1", T0)


def test_meta_get_set_and_setdefault(db: Database) -> None:
    """meta stores named values; setdefault keeps the first value."""
    with db.unit_of_work() as uow:
        assert uow.meta.get("secret") is None
        assert uow.meta.setdefault("secret", "first") == "first"
        assert uow.meta.setdefault("secret", "second") == "first"
        uow.meta.set("marker", "a")
        uow.meta.set("marker", "b")
        uow.commit()
    with db.unit_of_work() as uow:
        assert (uow.meta.get("secret"), uow.meta.get("marker")) == ("first", "b")
