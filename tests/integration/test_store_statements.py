"""The store's statements store what plain Core stores, every one is seen by engine events, and
a busy database on them is a Conflict.

The repositories run statements built once with bind parameters: an UPDATE whose SET clause
comes from the parameters, INSERTs run with a list of rows (executemany), an expanding IN. These
tests write the same values once through a repository and once through a one-off
`insert().values(...)`, and compare the stored values as the database itself spells them
(SQLite `quote()`, PostgreSQL `::text`), so that rows written by any version of the store read
back alike; the JSON and timestamp spellings are also pinned, so that a change of SQLAlchemy's
executemany or insertmanyvalues handling (pyproject.toml caps the minor version) shows here.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa

from engine.domain.model import Incident, Message, MessageStatus, StoredRecipient, Timer
from engine.errors import Conflict
from engine.store import Database
from engine.store import tables as t
from engine.store.hashing import json_default
from engine.store.unit_of_work import UnitOfWork

STOCKHOLM = timezone(timedelta(hours=2))
T0 = datetime(2025, 3, 1, 8, 30, 15, 123456, tzinfo=UTC)
T_WHOLE = datetime(2025, 3, 1, 10, 0, 0, tzinfo=STOCKHOLM)  # no microseconds, not UTC
SHA = "a" * 64


def stored(uow: UnitOfWork, table: sa.Table, where: sa.ColumnElement[bool]) -> dict[str, str]:
    """Each column of the one matching row, spelled by the database (type included)."""
    if uow.dialect == "sqlite":
        columns = [sa.func.quote(c).label(c.key) for c in table.c]
    else:
        columns = [sa.cast(c, sa.Text).label(c.key) for c in table.c]
    row = uow.execute(sa.select(*columns).where(where)).mappings().one()
    return {key: "NULL" if value is None else str(value) for key, value in row.items()}


def utc_text(uow: UnitOfWork, column: sa.ColumnElement[Any], where: sa.ColumnElement[bool]) -> str:
    """A timestamp column as the database keeps it, in UTC, whatever the session's time zone."""
    if uow.dialect == "sqlite":
        spelled: sa.ColumnElement[Any] = sa.cast(column, sa.Text)  # no result processing
    else:
        spelled = sa.func.to_char(sa.func.timezone("UTC", column), "YYYY-MM-DD HH24:MI:SS.US")
    return str(uow.execute(sa.select(spelled).where(where)).scalar_one())


def incident(incident_id: str, **changes: Any) -> Incident:
    values: dict[str, Any] = {
        "id": incident_id,
        "workflow": "samsa_outage",
        "workflow_version": "1",
        "definition_sha256": SHA,
        "state": "outage",
        "state_epoch": 3,
        "row_version": 1,
        "data": {
            "scope": 'Hela SAMSA – ingen åtkomst "alls"',
            "affected_subregions": ["fyrbodal", "göteborg"],
            "count": 7,
            "ratio": 0.25,
            "flag": True,
            "nothing": None,
        },
        "flags": ["council_informed"],
        "fired_rules": [],
        "created_at": T_WHOLE,
        "updated_at": T0,
        "created_by": "anna.andersson",
        "exercise": True,
        "closed": False,
    }
    return Incident(**(values | changes))


def message(message_id: str, **changes: Any) -> Message:
    values: dict[str, Any] = {
        "id": message_id,
        "incident_id": "INC-1",
        "channel": "support_email",
        "kind": "email",
        "audience": "support_it",
        "language": "sv",
        "subject": "Driftstörning i SAMSA ✓",
        "body_text": "SAMSA är otillgängligt.\n\nMer info: 100 % av användarna.",
        "body_html": "<p>SAMSA är otillgängligt.</p>\n<p>Mer info: 100 % av användarna.</p>",
        "recipients": [StoredRecipient("it@example.se", "IT-support Å")],
        "status": MessageStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": T_WHOLE,
        "created_at": T0,
        "cause": "update:post_update (transitions[1].actions[0])",
        "clear": True,
        "exercise": False,
        "meeting": {"title": "Avstämning", "starts_at": T0, "duration_seconds": 1800},
        "results": [],
        "last_error": "",
    }
    return Message(**(values | changes))


def timer(timer_id: str, key: str, **changes: Any) -> Timer:
    values: dict[str, Any] = {
        "id": timer_id,
        "incident_id": "INC-1",
        "key": key,
        "due_at": T_WHOLE,
        "state_epoch": 3,
        "payload": {"kind": "state", "state": "outage", "timer": "t", "ö": [1, 2.5, None]},
    }
    return Timer(**(values | changes))


def core_insert(uow: UnitOfWork, table: sa.Table, values: dict[str, Any]) -> None:
    uow.execute(sa.insert(table).values(values))


def fields_of(obj: object) -> dict[str, Any]:
    return dict(vars(obj))


def message_fields(m: Message) -> dict[str, Any]:
    """A message's fields as column values: its records as the JSON objects they are stored as."""
    records = {"recipients": m.recipients, "results": m.results}
    return fields_of(m) | {name: [r.to_dict() for r in rows] for name, rows in records.items()}


def add_definition(uow: UnitOfWork) -> None:
    uow.definitions.save("samsa_outage", 1, SHA, {"document": {"name": "samsa_outage"}})


def without(row: dict[str, str], *keys: str) -> dict[str, str]:
    return {k: v for k, v in row.items() if k not in keys}


def test_incident_get_and_update_match_core(db: Database) -> None:
    """An incident saved by `incidents.update` (SET from the parameters) is stored as Core's
    UPDATE ... VALUES stores it, and `get` reads back what Core reads back."""
    with db.unit_of_work() as uow:
        add_definition(uow)
        uow.incidents.add(incident("INC-1"))
        uow.incidents.add(incident("INC-2"))
        changed: dict[str, Any] = {
            "data": {"scope": "Ändrad", "started_at": "2025-03-01T08:00:00+00:00"},
            "flags": ["a", "ö"],
            "updated_at": T0.astimezone(STOCKHOLM) + timedelta(microseconds=1),
            "closed": True,
            "last_event_seq": 4,
            "last_event_hash": "f" * 64,
        }
        ours = replace(uow.incidents.get("INC-1", for_update=True), **changed)
        uow.incidents.update(ours)
        core_values = fields_of(replace(incident("INC-2"), **changed)) | {"row_version": 2}
        del core_values["id"]
        uow.execute(sa.update(t.incidents).where(t.incidents.c.id == "INC-2").values(core_values))
        uow.commit()
    with db.unit_of_work() as uow:  # not read-only: FOR UPDATE is read too
        one = stored(uow, t.incidents, t.incidents.c.id == "INC-1")
        two = stored(uow, t.incidents, t.incidents.c.id == "INC-2")
        assert without(one, "id") == without(two, "id")
        assert one["row_version"] == "2"
        by_core = uow.execute(sa.select(t.incidents).where(t.incidents.c.id == "INC-2"))
        core_row = dict(by_core.mappings().one())
        for for_update in (False, True):
            loaded = uow.incidents.get("INC-2", for_update=for_update)
            assert fields_of(loaded) == core_row
            assert type(loaded.closed) is bool and loaded.updated_at.tzinfo is not None


def test_event_append_matches_core(db: Database) -> None:
    """The event INSERT stores what Core's INSERT ... VALUES stores, and reads back equal."""
    with db.unit_of_work() as uow:
        add_definition(uow)
        owner = incident("INC-1")
        uow.incidents.add(owner)
        event = uow.events.append(
            owner,
            actor="anna.andersson",
            kind="update",
            at=T0.astimezone(STOCKHOLM),
            trigger="post_update",
            from_state="outage",
            to_state="outage",
            data={"changes": {"details": "Felsökning pågår – 50 %", "when": T_WHOLE}},
        )
        core_insert(uow, t.events, fields_of(event) | {"seq": 99})
        uow.commit()
    with db.unit_of_work(read_only=True) as uow:
        ours = stored(uow, t.events, t.events.c.seq == 1)
        core = stored(uow, t.events, t.events.c.seq == 99)
        assert without(ours, "seq") == without(core, "seq")
        assert [e.seq for e in uow.events.list("INC-1")] == [1, 99]
        assert fields_of(uow.events.list("INC-1")[0]) == fields_of(event)


@pytest.mark.parametrize("count", [1, 3])
def test_messages_add_many_matches_core_and_keeps_the_spelling(db: Database, count: int) -> None:
    """The outbox INSERT, as one execute (one row) or one executemany (several), stores what
    Core's INSERT ... VALUES stores, NULL meeting included; JSON is stored as the engine's
    serializer spells it (non-ASCII as is) and times as UTC with microseconds."""
    ours = [
        message(f"M-ours-{n}", meeting=None if n == 1 else message("x").meeting)
        for n in range(count)
    ]
    with db.unit_of_work() as uow:
        add_definition(uow)
        uow.incidents.add(incident("INC-1"))
        uow.messages.add_many(ours)
        lease = {"lease_owner": None, "lease_until": None}
        for mine in ours:
            core_insert(
                uow, t.messages, message_fields(replace(mine, id=f"core-{mine.id}")) | lease
            )
        uow.commit()
    with db.unit_of_work(read_only=True) as uow:
        for mine in ours:
            our_row = stored(uow, t.messages, t.messages.c.id == mine.id)
            core_row = stored(uow, t.messages, t.messages.c.id == f"core-{mine.id}")
            assert without(our_row, "id") == without(core_row, "id")
            core = uow.messages.get(f"core-{mine.id}")
            assert replace(uow.messages.get(mine.id), id="") == replace(core, id="")
        first = t.messages.c.id == ours[0].id
        recipients = [{"address": "it@example.se", "name": "IT-support Å", "person_id": None}]
        assert [r.to_dict() for r in ours[0].recipients] == recipients
        spelled = json.dumps(recipients, ensure_ascii=False, default=json_default)
        text = sa.select(sa.cast(t.messages.c.recipients, sa.Text)).where(first)
        assert uow.execute(text).scalar_one() == spelled
        assert utc_text(uow, t.messages.c.created_at, first) == "2025-03-01 08:30:15.123456"
        assert utc_text(uow, t.messages.c.next_attempt_at, first) == "2025-03-01 08:00:00.000000"
        if count > 1:
            assert stored(uow, t.messages, t.messages.c.id == ours[1].id)["meeting"] == "NULL"


def test_timers_add_many_and_cancel_by_keys_match_core(db: Database) -> None:
    """The timer INSERT (executemany) and the cancel-by-keys UPDATE (an expanding IN) store
    what Core stores, and cancel exactly the keys given, for any number of keys."""
    keys = ["state:outage:a", "state:outage:b", "state:outage:c", "state:outage:d"]
    with db.unit_of_work() as uow:
        add_definition(uow)
        uow.incidents.add(incident("INC-1"))
        uow.timers.add_many([timer(f"ours-{key}", key) for key in keys])
        core_insert(uow, t.timers, fields_of(timer("core", "state:outage:core")))
        uow.commit()
    with db.unit_of_work() as uow:
        our_row = stored(uow, t.timers, t.timers.c.id == "ours-state:outage:a")
        core_row = stored(uow, t.timers, t.timers.c.id == "core")
        assert without(our_row, "id", "key") == without(core_row, "id", "key")
        now = T0.astimezone(STOCKHOLM)
        assert uow.timers.cancel("INC-1", now=now, state_epoch=3, keys=keys[:1]) == 1
        assert uow.timers.cancel("INC-1", now=now, state_epoch=3, keys=keys[1:3]) == 2
        assert uow.timers.cancel("INC-1", now=now, state_epoch=4, keys=keys[3:]) == 0
        assert uow.timers.cancel("INC-1", now=now, state_epoch=3, keys=[]) == 0
        uow.execute(sa.update(t.timers).where(t.timers.c.id == "core").values(cancelled_at=now))
        uow.commit()
    with db.unit_of_work(read_only=True) as uow:
        core_row = stored(uow, t.timers, t.timers.c.id == "core")
        for key in keys[:3]:
            our_row = stored(uow, t.timers, t.timers.c.id == f"ours-{key}")
            assert our_row["cancelled_at"] == core_row["cancelled_at"] != "NULL"
        assert [x.key for x in uow.timers.list_open("INC-1")] == [keys[3]]


def test_duplicates_are_integrity_errors_and_naive_times_value_errors(db: Database) -> None:
    """A duplicate key in an executemany is sa.exc.IntegrityError; a naive datetime is the
    column type's ValueError (not SQLAlchemy's wrapper), and nothing of it is stored."""
    with db.unit_of_work() as uow:
        add_definition(uow)
        uow.incidents.add(incident("INC-1"))
        uow.messages.add_many([message("M-1")])
        uow.commit()
    with db.unit_of_work() as uow, pytest.raises(sa.exc.IntegrityError):
        uow.messages.add_many([message("M-2"), message("M-1")])
    naive = datetime(2025, 3, 1, 8, 0)
    with db.unit_of_work() as uow, pytest.raises(ValueError, match="naive"):
        uow.messages.add_many([message("M-3"), message("M-4", created_at=naive)])
    with db.unit_of_work() as uow, pytest.raises(ValueError, match="naive"):
        uow.incidents.update(replace(uow.incidents.get("INC-1"), updated_at=naive))
    with db.unit_of_work(read_only=True) as uow:
        assert [m.id for m in uow.messages.list("INC-1")] == ["M-1"]
        assert uow.incidents.get("INC-1").row_version == 1


def test_engine_events_see_every_statement_of_a_command(db: Database) -> None:
    """Tracing hooked to the engine (before_cursor_execute, echo) sees the statements every
    command runs: nothing runs on the raw DBAPI cursor behind SQLAlchemy's back."""
    with db.unit_of_work() as uow:
        add_definition(uow)
        uow.incidents.add(incident("INC-1"))
        uow.commit()
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(" ".join(str(args[2]).split()).upper())

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        with db.unit_of_work() as uow:
            current = uow.incidents.get("INC-1", for_update=True)
            uow.events.append(current, actor="anna", kind="update", at=T0, saved_with_incident=True)
            uow.messages.add_many([message("M-1"), message("M-2")])
            uow.timers.add_many([timer("T-1", "k1"), timer("T-2", "k2")])
            uow.timers.cancel("INC-1", now=T0, state_epoch=3, keys=["k1"])
            uow.incidents.update(current)
            uow.commit()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    starts = [
        "SELECT INCIDENTS.ID",
        "INSERT INTO EVENTS",
        # The event's link in the installation's chain, under that chain's head lock.
        "SELECT CHAIN_HEAD.SEQ",
        "INSERT INTO CHAIN_LINKS",
        "UPDATE CHAIN_HEAD SET",
        "INSERT INTO MESSAGES",
        "INSERT INTO TIMERS",
        "UPDATE TIMERS SET CANCELLED_AT",
        "UPDATE INCIDENTS SET",
        "UPDATE INCIDENT_SEALS SET",  # the row's new seal
    ]
    if db.engine.dialect.name == "postgresql":
        # The worker's wake-up, sent with the commit that queued messages and armed timers.
        starts.append("SELECT PG_NOTIFY")
    ran = [s for s in seen if not s.startswith(("BEGIN", "SAVEPOINT", "RELEASE"))]
    assert [next(s for s in starts if r.startswith(s)) for r in ran] == starts


def test_a_busy_database_on_a_command_statement_is_a_conflict(db: Database) -> None:
    """A write that cannot get its lock in time (SQLite: another writer holds the database;
    PostgreSQL: another transaction holds the incident's row) raises Conflict."""
    with db.unit_of_work() as uow:
        add_definition(uow)
        uow.incidents.add(incident("INC-1"))
        uow.commit()
    with db.unit_of_work(read_only=True) as reader:
        loaded = reader.incidents.get("INC-1")
    holder = db.unit_of_work()
    waiter = db.unit_of_work(read_only=db.dialect == "sqlite")
    try:
        holder.incidents.get("INC-1", for_update=True)  # SQLite: BEGIN IMMEDIATE
        waiter.incidents.get("INC-1")
        # Give up at once instead of after the 10 s busy timeout / waiting for the holder.
        if db.dialect == "sqlite":
            waiter.execute(sa.text("PRAGMA busy_timeout = 0"))
        else:
            waiter.execute(sa.text("SET LOCAL lock_timeout = '50ms'"))
        with pytest.raises(Conflict, match="busy"):
            waiter.incidents.update(loaded)
    finally:
        waiter.close()
        holder.close()
    with db.unit_of_work(read_only=True) as uow:
        assert uow.incidents.get("INC-1").row_version == 1
