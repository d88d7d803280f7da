"""The installation's chain, incident seals and anchors: every attack on the log is named.

Two incidents' events are interleaved in one chain across the installation (links 1..10:
A1 B1 A2 B2 A3 B3 A4 B4 A5 B5); each test changes the database behind driftplan's back as
someone with SQL access (and, for the forgery, the audit key) could, and checks what
`verify` reports: the first bad event of each incident, the first bad link of the chain, the
incident rows that disagree with their log, and an anchor that no longer matches.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from engine.domain.model import Incident, Message, MessageStatus, Timer
from engine.errors import ConfigurationError
from engine.store import Anchor, Database, verify
from engine.store import tables as t
from engine.store.database import MIGRATIONS
from engine.store.hashing import event_hash, head_mac, incident_seal, link_hash, link_mac
from tests.conftest import TEST_AUDIT_KEY as KEY

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
SHA = "d" * 64


def declare(db: Database, incident_id: str, at: datetime) -> None:
    incident = Incident(
        incident_id,
        "samsa_outage",
        "1",
        SHA,
        "outage",
        1,
        1,
        {"scope": "Fyrbodal"},
        [],
        [],
        at,
        at,
        "anna",
    )
    with db.unit_of_work() as uow:
        uow.definitions.save("samsa_outage", 1, SHA, {})
        uow.incidents.add(incident)
        uow.events.append(
            incident,
            actor="anna",
            kind="declare",
            at=at,
            trigger="declare",
            from_state=None,
            to_state="outage",
            data={"changes": {"scope": "Fyrbodal"}},
            saved_with_incident=True,
        )
        uow.incidents.update(incident)
        uow.commit()


def step(db: Database, incident_id: str, at: datetime, to_state: str | None = None) -> None:
    """One command: an update, or a transition to `to_state`."""
    with db.unit_of_work() as uow:
        incident = uow.incidents.get(incident_id, for_update=True)
        source = incident.state
        incident.state = to_state or source
        incident.data = {**incident.data, "details": f"Läge {at:%H:%M}"}
        incident.updated_at = at
        uow.events.append(
            incident,
            actor="anna",
            kind="transition" if to_state else "update",
            at=at,
            trigger="restore" if to_state else "post_update",
            from_state=source,
            to_state=incident.state,
            data={"changes": {"details": f"Läge {at:%H:%M}"}},
            saved_with_incident=True,
        )
        uow.incidents.update(incident)
        uow.commit()


def deliver(db: Database, incident_id: str, at: datetime) -> None:
    """What the dispatcher does: an event appended without saving the incident, beside a
    message and a timer of the incident."""
    with db.unit_of_work() as uow:
        incident = uow.incidents.get(incident_id)
        uow.messages.add(
            Message(
                f"M-{incident_id}",
                incident_id,
                "support_email",
                "email",
                "support_it",
                "sv",
                "Driftstörning",
                "Text",
                "",
                [],
                MessageStatus.SENT,
                1,
                None,
                at,
                "declare",
            )
        )
        uow.timers.add(Timer(f"T-{incident_id}", incident_id, "state:outage:update_due", at, 1, {}))
        uow.events.append(
            incident,
            actor="dispatcher",
            kind="delivery",
            at=at,
            from_state=incident.state,
            to_state=incident.state,
            data={"message_id": f"M-{incident_id}"},
        )
        uow.commit()


@pytest.fixture
def log(db: Database) -> Database:
    """INC-A: declare, three updates, a transition to restored. INC-B: declare, three updates
    and a delivery (with a message and a timer). Interleaved: links 1..10."""
    declare(db, "INC-A", T0)
    declare(db, "INC-B", T0 + timedelta(minutes=1))
    for n in range(1, 4):
        step(db, "INC-A", T0 + timedelta(minutes=10 * n))
        step(db, "INC-B", T0 + timedelta(minutes=10 * n + 1))
    step(db, "INC-A", T0 + timedelta(minutes=50), to_state="restored")
    deliver(db, "INC-B", T0 + timedelta(minutes=51))
    return db


def tamper(db: Database, *statements: sa.Executable) -> None:
    """Change the database behind driftplan's back, as someone with database access could."""
    with db.engine.begin() as conn:
        for statement in statements:
            conn.execute(statement)


def event(incident_id: str, seq: int) -> sa.ColumnElement[bool]:
    return sa.and_(t.events.c.incident_id == incident_id, t.events.c.seq == seq)


def lines(db: Database, anchor: Anchor | None = None) -> list[str]:
    return verify(db, KEY, anchor=anchor).lines("en")


def head_anchor(db: Database) -> Anchor:
    head = db.chain_head()
    return Anchor(head.seq, head.hash)


def test_a_clean_log_verifies_with_and_without_an_anchor(log: Database) -> None:
    """Untouched, the log verifies; so does every anchor taken along the way."""
    report = verify(log, KEY)
    assert report.intact, report
    assert (report.incidents_checked, report.events_checked, report.head.seq) == (2, 10, 10)
    assert str(report) == "The event log is intact: 10 events in 2 incidents verify."
    assert verify(log, KEY, anchor=head_anchor(log)).intact
    with log.engine.connect() as conn:
        third = conn.execute(sa.select(t.chain_links.c.hash).where(t.chain_links.c.seq == 3))
        assert verify(log, KEY, anchor=Anchor(3, third.scalar_one())).intact
    # Swedish lines for a Swedish operator, English for the rest.
    tamper(log, sa.delete(t.events).where(event("INC-A", 3)))
    assert verify(log, KEY).lines("sv")[0] == (
        "Kedjans länk 5 (incident INC-A, händelse 3): händelsen har raderats."
    )


def test_an_edited_event(log: Database) -> None:
    tamper(log, sa.update(t.events).where(event("INC-A", 3)).values(data={"changes": {}}))
    assert lines(log) == [
        "Chain link 5 (incident INC-A, event 3): the event was edited.",
        "Incident INC-A: event 3 was edited.",
    ]


def test_a_deleted_event(log: Database) -> None:
    tamper(log, sa.delete(t.events).where(event("INC-B", 2)))
    assert lines(log) == [
        "Chain link 4 (incident INC-B, event 2): the event was deleted.",
        "Incident INC-B: event 2 is missing.",
    ]


def test_reordered_events(log: Database) -> None:
    tamper(
        log,
        sa.update(t.events).where(event("INC-A", 2)).values(seq=-1),
        sa.update(t.events).where(event("INC-A", 3)).values(seq=2),
        sa.update(t.events).where(event("INC-A", -1)).values(seq=3),
    )
    assert lines(log) == [
        "Chain link 3 (incident INC-A, event 2): the event is not the one linked "
        "(replaced or moved).",
        "Incident INC-A: events 2 and 3 are out of order.",
    ]


def test_the_newest_events_of_one_incident_truncated(log: Database) -> None:
    """Cutting off INC-A's last two events (the transition among them): its own chain, the
    installation's chain, and its row's state (which its log no longer reaches) all show."""
    tamper(log, sa.delete(t.events).where(t.events.c.incident_id == "INC-A", t.events.c.seq > 3))
    assert lines(log) == [
        "Chain link 7 (incident INC-A, event 4): the event was deleted.",
        "Incident INC-A: the log was truncated after event 3 (the incident records 5 events).",
    ]
    # Trimming the row to match needs a new seal, which only the key can make.
    tamper(
        log,
        sa.update(t.incidents)
        .where(t.incidents.c.id == "INC-A")
        .values(
            last_event_seq=3,
            last_event_hash=sa.select(t.events.c.hash).where(event("INC-A", 3)).scalar_subquery(),
        ),
        sa.delete(t.chain_links).where(
            t.chain_links.c.incident_id == "INC-A", t.chain_links.c.event_seq > 3
        ),
    )
    assert lines(log) == [
        "Chain link 7: the link is missing.",
        "Incident INC-A: the row's state 'restored' disagrees with its log, which ends in "
        "'outage'.",
    ]


def test_the_newest_events_of_the_whole_log_truncated(log: Database) -> None:
    """Deleting the last three events and their links: the chain's head still records 10."""
    newest = [("INC-B", 4), ("INC-A", 5), ("INC-B", 5)]
    tamper(
        log,
        *(sa.delete(t.events).where(event(i, s)) for i, s in newest),
        sa.delete(t.chain_links).where(t.chain_links.c.seq > 7),
    )
    assert lines(log)[0] == (
        "Chain link 8: the chain ends at link 7, its head records 10 (newest links deleted)."
    )
    # Moving the head back to link 7 needs the head's MAC for 7, which only the key makes.
    with log.engine.connect() as conn:
        seventh = conn.execute(sa.select(t.chain_links.c.hash).where(t.chain_links.c.seq == 7))
        hash_seven = seventh.scalar_one()
    tamper(log, sa.update(t.chain_head).values(seq=7, hash=hash_seven))
    assert lines(log) == [
        "Chain link 7: the chain's head was changed outside driftplan.",
        "Incident INC-A: the log was truncated after event 4 (the incident records 5 events).",
        "Incident INC-B: the log was truncated after event 3 (the incident records 5 events).",
    ]


def delete_incident(incident_id: str) -> list[sa.Executable]:
    """Everything of one incident, in an order the foreign keys allow."""
    return [
        sa.delete(table).where(table.c.incident_id == incident_id)
        for table in (t.events, t.messages, t.timers, t.approvals, t.incident_seals)
    ] + [sa.delete(t.incidents).where(t.incidents.c.id == incident_id)]


def test_a_whole_incident_deleted(log: Database) -> None:
    """Events, messages, timers and row of INC-B gone: its links point at nothing."""
    tamper(log, *delete_incident("INC-B"))
    assert lines(log) == ["Chain link 2 (incident INC-B, event 1): the incident was deleted."]
    report = verify(log, KEY)
    assert (report.incidents_checked, report.events_checked) == (1, 5)
    # Its links deleted as well: the chain has a gap, and re-chaining needs the key.
    tamper(log, sa.delete(t.chain_links).where(t.chain_links.c.incident_id == "INC-B"))
    assert lines(log) == ["Chain link 2: the link is missing."]
    renumber = [
        sa.update(t.chain_links).where(t.chain_links.c.seq == old).values(seq=new)
        for new, old in enumerate((1, 3, 5, 7, 9), start=1)
    ]
    tamper(log, *renumber)
    assert lines(log) == [
        "Chain link 2 (incident INC-A, event 2): it does not follow link 1 (prev_hash mismatch)."
    ]


def test_the_incident_rows_state_and_data_edited(log: Database) -> None:
    """Each incident whose row disagrees with its log is named: state, and data (seal)."""
    tamper(
        log,
        sa.update(t.incidents).where(t.incidents.c.id == "INC-A").values(state="outage"),
        sa.update(t.incidents)
        .where(t.incidents.c.id == "INC-B")
        .values(data={"scope": "Ingen påverkan"}),
    )
    assert lines(log) == [
        "Incident INC-A: the row's state 'outage' disagrees with its log, which ends in "
        "'restored'.",
        "Incident INC-B: the incident row was changed outside driftplan (its seal does not match).",
    ]
    tamper(log, sa.delete(t.incident_seals).where(t.incident_seals.c.incident_id == "INC-B"))
    assert lines(log)[1] == (
        "Incident INC-B: the incident row has no seal (added or changed outside driftplan)."
    )


def forge(db: Database, incident_id: str, seq: int, data: dict[str, Any]) -> None:
    """What a holder of the audit key can do: edit an event and recompute every hash after it
    (its incident's chain, the row and its seal, every later link and the head)."""
    with db.engine.begin() as conn:
        events = [
            dict(r)
            for r in conn.execute(
                sa.select(t.events)
                .where(t.events.c.incident_id == incident_id)
                .order_by(t.events.c.seq)
            ).mappings()
        ]
        prev = ""
        for row in events:
            if row["seq"] == seq:
                row["data"] = data
            row["prev_hash"] = prev
            row["hash"] = prev = event_hash(KEY, row)
            conn.execute(
                sa.update(t.events)
                .where(event(incident_id, row["seq"]))
                .values(data=row["data"], prev_hash=row["prev_hash"], hash=row["hash"])
            )
        conn.execute(
            sa.update(t.incidents)
            .where(t.incidents.c.id == incident_id)
            .values(last_event_hash=prev)
        )
        incident = (
            conn.execute(sa.select(t.incidents).where(t.incidents.c.id == incident_id))
            .mappings()
            .one()
        )
        conn.execute(
            sa.update(t.incident_seals)
            .where(t.incident_seals.c.incident_id == incident_id)
            .values(mac=incident_seal(KEY, dict(incident)))
        )
        hashes = {(incident_id, row["seq"]): row["hash"] for row in events}
        links = conn.execute(sa.select(t.chain_links).order_by(t.chain_links.c.seq)).mappings()
        prev = ""
        for link in [dict(r) for r in links]:
            key = (link["incident_id"], link["event_seq"])
            link["event_hash"] = hashes.get(key, link["event_hash"])
            hash_ = link_hash(
                link["seq"], link["incident_id"], link["event_seq"], link["event_hash"], prev
            )
            conn.execute(
                sa.update(t.chain_links)
                .where(t.chain_links.c.seq == link["seq"])
                .values(
                    event_hash=link["event_hash"],
                    prev_hash=prev,
                    hash=hash_,
                    mac=link_mac(KEY, hash_),
                )
            )
            prev, last = hash_, link["seq"]
        conn.execute(sa.update(t.chain_head).values(hash=prev, mac=head_mac(KEY, last, prev)))


def test_a_forgery_with_the_key_is_caught_by_an_earlier_anchor(log: Database) -> None:
    """Re-signed with the real key, the forgery verifies on its own; the anchor sent off the
    machine before it names the rewritten chain, because link hashes need no key."""
    anchor = head_anchor(log)
    forge(log, "INC-A", 3, {"changes": {"details": "Inget fel"}})
    assert verify(log, KEY).intact
    assert lines(log, anchor) == [
        "Anchor 10: the chain up to link 10 was rewritten (its hash is not the anchored one)."
    ]
    # Putting the anchored hash back at link 10 breaks the keyless chain right there.
    tamper(log, sa.update(t.chain_links).where(t.chain_links.c.seq == 10).values(hash=anchor.hash))
    assert lines(log, anchor) == [
        "Chain link 10 (incident INC-B, event 5): the link was edited.",
    ]


def test_an_anchor_beyond_the_stored_chain(log: Database) -> None:
    """An anchor the chain no longer reaches: its newest links were cut off."""
    assert lines(log, Anchor(12, "a" * 64)) == [
        "Anchor 12: the chain does not reach link 12 (it was truncated)."
    ]


def test_appends_in_parallel_get_one_link_each(db: Database) -> None:
    """Commands on different incidents at once: every event is linked once, in commit order."""
    for name in ("INC-1", "INC-2", "INC-3"):
        declare(db, name, T0)
    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            for n in range(8):
                step(db, name, T0 + timedelta(minutes=n))
        except BaseException as error:  # reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in ("INC-1", "INC-2", "INC-3")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    report = verify(db, KEY)
    assert report.intact, report
    assert report.head.seq == 27


@pytest.fixture
def at_0001(database_url: str) -> Iterator[Database]:
    """A database migrated only to revision 0001, as an installation of the first release."""
    database = Database(database_url, audit_key=KEY)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with database.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
    try:
        yield database
    finally:
        database.dispose()


def old_incident(conn: sa.Connection, incident_id: str, times: list[datetime]) -> None:
    """An incident with events as the first release wrote them (its own chain only)."""
    prev = ""
    states = ["outage"] * len(times)
    rows = []
    for seq, (at, state) in enumerate(zip(times, states, strict=True), start=1):
        row = {
            "incident_id": incident_id,
            "seq": seq,
            "at": at,
            "actor": "anna",
            "kind": "declare" if seq == 1 else "update",
            "trigger": None,
            "from_state": None if seq == 1 else state,
            "to_state": state,
            "data": {"n": seq},
            "prev_hash": prev,
        }
        row["hash"] = prev = event_hash(KEY, row)
        rows.append(row)
    conn.execute(
        sa.insert(t.incidents),
        {
            "id": incident_id,
            "workflow": "samsa_outage",
            "workflow_version": "1",
            "definition_sha256": SHA,
            "state": "outage",
            "state_epoch": 1,
            "row_version": 1,
            "data": {},
            "flags": [],
            "fired_rules": [],
            "created_at": times[0],
            "updated_at": times[-1],
            "created_by": "anna",
            "exercise": False,
            "closed": False,
            "last_event_seq": len(times),
            "last_event_hash": prev,
        },
    )
    conn.execute(sa.insert(t.events), rows)


def test_the_migration_links_existing_events(at_0001: Database) -> None:
    """Upgraded from 0001, old events are linked in (at, incident, seq) order and verify."""
    with at_0001.engine.begin() as conn:
        conn.execute(
            sa.insert(t.definitions),
            {
                "sha256": SHA,
                "name": "samsa_outage",
                "version": "1",
                "snapshot": {},
                "created_at": T0,
            },
        )
        old_incident(conn, "INC-2", [T0, T0 + timedelta(minutes=2), T0 + timedelta(minutes=4)])
        old_incident(conn, "INC-1", [T0, T0 + timedelta(minutes=3)])
    assert at_0001.migrate() is True
    report = verify(at_0001, KEY)
    assert report.intact, report
    with at_0001.engine.connect() as conn:
        order = conn.execute(
            sa.select(t.chain_links.c.incident_id, t.chain_links.c.event_seq).order_by(
                t.chain_links.c.seq
            )
        ).all()
    assert [tuple(row) for row in order] == [
        ("INC-1", 1),
        ("INC-2", 1),
        ("INC-2", 2),
        ("INC-1", 2),
        ("INC-2", 3),
    ]
    # And the log goes on from there.
    step(at_0001, "INC-1", T0 + timedelta(minutes=9))
    assert verify(at_0001, KEY).intact
    assert at_0001.chain_head().seq == 6


def test_the_migration_needs_the_key_for_an_installation_with_incidents(
    at_0001: Database,
) -> None:
    """Without the key, old events cannot be linked: the upgrade stops and says why."""
    with at_0001.engine.begin() as conn:
        conn.execute(
            sa.insert(t.definitions),
            {
                "sha256": SHA,
                "name": "samsa_outage",
                "version": "1",
                "snapshot": {},
                "created_at": T0,
            },
        )
        old_incident(conn, "INC-1", [T0])
    keyless = Database(at_0001.url)
    try:
        with pytest.raises(ConfigurationError, match="audit key"):
            keyless.migrate()
    finally:
        keyless.dispose()
    assert at_0001.schema_status().current == "0001"
