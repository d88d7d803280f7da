"""The hash-chained event log: verification names the first tampered event, and the audit key."""

from __future__ import annotations

import stat
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.domain.model import Incident
from engine.errors import ConfigurationError, NotFound
from engine.store import Database, audit_key, verify
from engine.store import tables as t

KEY = bytes(range(32))
T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
SHA = "d" * 64


def add_logged_incident(db: Database, incident_id: str = "INC-1", events: int = 5) -> None:
    incident = Incident(
        incident_id, "samsa_outage", "1", SHA, "outage", 1, 1, {}, [], [], T0, T0, "anna"
    )
    with db.unit_of_work() as uow:
        uow.definitions.save("samsa_outage", 1, SHA, {})
        uow.incidents.add(incident)
        for n in range(1, events + 1):
            uow.events.append(
                incident,
                actor="anna",
                kind="update",
                at=T0 + timedelta(minutes=n),
                data={"n": n, "text": "Lägesbild"},
            )
        uow.commit()


def tamper(db: Database, *statements: sa.Executable) -> None:
    """Change the database behind driftplan's back, as someone with SQL access could."""
    with db.engine.begin() as conn:
        for statement in statements:
            conn.execute(statement)


def event(seq: int, incident_id: str = "INC-1") -> sa.ColumnElement[bool]:
    return sa.and_(t.events.c.incident_id == incident_id, t.events.c.seq == seq)


def reasons(db: Database) -> list[str]:
    return [str(finding) for finding in verify(db, KEY).findings]


def test_an_untouched_log_is_intact(db: Database) -> None:
    """With nothing changed, verify reports the log intact and counts what it checked."""
    add_logged_incident(db)
    add_logged_incident(db, "INC-2", events=0)
    report = verify(db, KEY)
    assert report.intact
    assert (report.incidents_checked, report.events_checked) == (2, 5)
    assert str(report) == "The event log is intact: 5 events in 2 incidents verify."


def test_an_edited_event_is_named(db: Database) -> None:
    """Changing an event's data with SQL is reported as that event being edited."""
    add_logged_incident(db)
    tamper(db, sa.update(t.events).where(event(3)).values(data={"n": 3, "text": "Allt lugnt"}))
    assert reasons(db) == ["Incident INC-1: event 3 was edited."]


def test_a_deleted_middle_event_is_named(db: Database) -> None:
    """Deleting an event in the middle is reported as that event missing."""
    add_logged_incident(db)
    tamper(db, sa.delete(t.events).where(event(2)))
    assert reasons(db) == ["Incident INC-1: event 2 is missing."]


def test_swapped_events_are_named(db: Database) -> None:
    """Swapping two events' sequence numbers is reported as those events out of order."""
    add_logged_incident(db)
    tamper(
        db,
        sa.update(t.events).where(event(2)).values(seq=-1),
        sa.update(t.events).where(event(3)).values(seq=2),
        sa.update(t.events).where(event(-1)).values(seq=3),
    )
    assert reasons(db) == ["Incident INC-1: events 2 and 3 are out of order."]


def test_a_deleted_last_event_is_truncation(db: Database) -> None:
    """Deleting the newest event, which leaves a chain valid on its own, is still detected."""
    add_logged_incident(db)
    tamper(db, sa.delete(t.events).where(event(5)))
    assert reasons(db) == [
        "Incident INC-1: the log was truncated after event 4 (the incident records 5 events)."
    ]


def test_only_the_first_break_per_incident_is_reported(db: Database) -> None:
    """Each tampered incident gets one finding, its first bad event; clean ones get none."""
    add_logged_incident(db, "INC-1")
    add_logged_incident(db, "INC-2")
    add_logged_incident(db, "INC-3")
    tamper(
        db,
        sa.update(t.events).where(event(4, "INC-1")).values(actor="mallory"),
        sa.update(t.events).where(event(2, "INC-1")).values(kind="decision"),
        sa.update(t.events).where(event(5, "INC-3")).values(at=T0),
    )
    report = verify(db, KEY)
    assert [(f.incident_id, f.seq) for f in report.findings] == [("INC-1", 2), ("INC-3", 5)]
    assert "tampered" in str(report)
    assert verify(db, KEY, incident_id="INC-2").intact


def test_a_different_key_does_not_verify(db: Database) -> None:
    """Verifying with another key fails at event 1: the chain is keyed, not a plain hash."""
    add_logged_incident(db)
    findings = verify(db, b"another key of sufficient size!!").findings
    assert [(f.seq, f.reason) for f in findings] == [(1, "event 1 was edited")]


def test_verifying_an_unknown_incident_is_not_found(db: Database) -> None:
    """verify(incident_id=...) for an incident that does not exist raises NotFound."""
    with pytest.raises(NotFound, match="Incident 'INC-9'"):
        verify(db, KEY, incident_id="INC-9")


def test_audit_key_from_environment_hex_or_text(tmp_path: Path) -> None:
    """DRIFTPLAN_AUDIT_KEY is used as hex when it is hex, else as UTF-8 text; no file is made."""
    assert audit_key(tmp_path, {"DRIFTPLAN_AUDIT_KEY": "00ff" * 8}) == bytes.fromhex("00ff" * 8)
    text = "en lång hemlig mening för loggen"
    assert audit_key(tmp_path, {"DRIFTPLAN_AUDIT_KEY": text}) == text.encode()
    assert not (tmp_path / "audit.key").exists()
    with pytest.raises(ConfigurationError, match="too short"):
        audit_key(tmp_path, {"DRIFTPLAN_AUDIT_KEY": "secret"})


def test_audit_key_file_is_generated_private_and_reused(tmp_path: Path) -> None:
    """Without the variable a 32-byte key file is created with mode 0600 and then reused."""
    data_dir = tmp_path / "data"
    key = audit_key(data_dir, {})
    path = data_dir / "audit.key"
    assert len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert audit_key(data_dir, {}) == key
    assert sorted(p.name for p in data_dir.iterdir()) == ["audit.key"]


def test_processes_starting_together_agree_on_one_key(tmp_path: Path) -> None:
    """Concurrent first calls all return the same generated key."""
    keys: list[bytes] = []
    barrier = threading.Barrier(8)

    def first_start() -> None:
        barrier.wait(timeout=10)
        keys.append(audit_key(tmp_path, {}))

    threads = [threading.Thread(target=first_start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(keys) == 8 and len(set(keys)) == 1


def test_a_damaged_key_file_is_a_configuration_error(tmp_path: Path) -> None:
    """A key file that is not a hex key stops startup with an explanation."""
    (tmp_path / "audit.key").write_text("not a key\n")
    with pytest.raises(ConfigurationError, match="damaged"):
        audit_key(tmp_path, {})
