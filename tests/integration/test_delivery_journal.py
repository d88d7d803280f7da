"""The dispatcher's delivery journal in the store, on SQLite and PostgreSQL.

A recipient is recorded as one row, in a statement that writes only while the dispatcher holds
the message's lease, by the writer that holds one connection for an attempt
(`Database.journal_writer`), whose commits do not wait for the disk unless asked to be durable,
and which gives its connection back as it found it; the message's repository reads and empties
the journal. Migration 0007 moves journals that the `meta` table held before into the table, so
a dispatcher that stopped mid-list before an upgrade is still resumed after it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from engine.domain.model import DeliveryResult, RecipientStatus
from engine.store import Database
from engine.store.database import MIGRATIONS
from tests.integration.test_store_repositories import T0, add_incident, make_message

KEY = bytes(range(32))


def entry(address: str) -> DeliveryResult:
    return DeliveryResult(address, RecipientStatus.SENT, "250", T0.isoformat(), 1)


def claimed(db: Database, owner: str = "first") -> str:
    """A message leased to `owner`; its id."""
    add_incident(db)
    with db.unit_of_work() as uow:
        uow.messages.add(make_message("M-1"))
        [message] = uow.messages.claim_due(T0, owner, 60)
        uow.commit()
    return message.id


def journal(db: Database, message_id: str) -> list[DeliveryResult]:
    with db.unit_of_work(read_only=True) as uow:
        return uow.messages.journal(message_id)


def test_the_writer_gives_its_connection_back_durable(db: Database) -> None:
    """The held writer commits without waiting for the disk (SQLite synchronous NORMAL,
    PostgreSQL synchronous_commit off) only on its own connection: afterwards every pooled
    connection commits durably again, so no other transaction inherits the setting."""
    message_id = claimed(db)
    writer = db.journal_writer(message_id, "first")
    try:
        for seq in range(3):
            assert writer.add(seq, [entry(f"{seq}@x.se")], durable=seq == 1)
    finally:
        writer.close()
    durable = "2" if db.dialect == "sqlite" else "on"
    query = "PRAGMA synchronous" if db.dialect == "sqlite" else "SHOW synchronous_commit"
    reading = db.engine.execution_options(driftplan_read_only=True)  # two readers at once
    with reading.connect() as a, reading.connect() as b:  # the writer's one is among them
        for connection in (a, b):
            assert str(connection.exec_driver_sql(query).scalar_one()) == durable


def test_the_journal_records_only_while_the_lease_is_held(db: Database) -> None:
    """Entries by the lease holder read back in order; a dispatcher without the lease writes
    nothing and is told so; clearing empties the journal."""
    message_id = claimed(db)
    holder = db.journal_writer(message_id, "first")
    other = db.journal_writer(message_id, "someone-else")
    try:
        for seq, address in enumerate(("a@x.se", "b@x.se")):
            assert holder.add(seq, [entry(address)], durable=False)
        assert not other.add(2, [entry("c@x.se")], durable=False)
    finally:
        holder.close()
        other.close()
    assert journal(db, message_id) == [entry("a@x.se"), entry("b@x.se")]
    with db.unit_of_work() as uow:
        uow.messages.journal_clear(message_id)
        uow.commit()
    assert journal(db, message_id) == []


def test_the_held_writer_records_relaxed_and_durable_and_stops_without_the_lease(
    db: Database,
) -> None:
    """The SQL store's own writer (one connection for the attempt) records entries in order,
    relaxed or durable, and refuses (writing nothing of the batch) once the lease is gone."""
    message_id = claimed(db)
    writer = db.journal_writer(message_id, "first")
    try:
        assert writer.add(0, [entry("a@x.se")], durable=False)
        assert writer.add(1, [entry("b@x.se"), entry("c@x.se")], durable=True)
        assert journal(db, message_id) == [entry(a) for a in ("a@x.se", "b@x.se", "c@x.se")]
        with db.unit_of_work() as uow:  # another dispatcher takes the message over
            uow.execute(sa.text("UPDATE messages SET lease_owner = 'second'"))
            uow.commit()
        assert not writer.add(3, [entry("d@x.se"), entry("e@x.se")], durable=False)
    finally:
        writer.close()
    assert [r.address for r in journal(db, message_id)] == ["a@x.se", "b@x.se", "c@x.se"]


@pytest.fixture
def at_0006(database_url: str) -> Iterator[Database]:
    """A database at revision 0006, when journals were `meta` values."""
    database = Database(database_url, audit_key=KEY)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with database.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0006")
    try:
        yield database
    finally:
        database.dispose()


def test_the_migration_moves_meta_journals_into_rows(at_0006: Database) -> None:
    """Both old forms (appended pieces, and one JSON list) become rows in order; other `meta`
    values stay."""
    a, b, c = (entry(x).to_dict() for x in ("a@x.se", "b@x.se", "c@x.se"))
    appended = "".join("," + json.dumps(e) for e in (a, b))
    with at_0006.engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO meta (key, value) VALUES (:k, :v)"),
            [
                {"k": "delivery_journal:M-1", "v": appended},
                {"k": "delivery_journal:M-2", "v": json.dumps([c])},
                {"k": "delivery_journal:M-3", "v": ""},
                {"k": "something_else", "v": "kept"},
            ],
        )
    assert at_0006.migrate() is True
    assert journal(at_0006, "M-1") == [entry("a@x.se"), entry("b@x.se")]
    assert journal(at_0006, "M-2") == [entry("c@x.se")]
    assert journal(at_0006, "M-3") == []
    with at_0006.engine.connect() as conn:
        keys = conn.execute(sa.text("SELECT key FROM meta")).scalars().all()
    assert "something_else" in keys and not [k for k in keys if k.startswith("delivery_j")]
