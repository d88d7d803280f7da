"""The prepared statements (`engine.store.repositories.Prepared`) store what Core stores.

Every command's hot statements run on the DBAPI cursor with SQL compiled once; these tests write
the same values once through SQLAlchemy Core (as the store did before) and once through the
prepared path, and compare the stored values as the database itself spells them (SQLite
`quote()`, PostgreSQL `::text`), so that old and new rows read back identically; then they read
both back through Core and the prepared path and compare the objects.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa

from engine.domain.model import PENDING, Incident, Message, Timer
from engine.store import Database
from engine.store import tables as t
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
        "recipients": [{"address": "it@example.se", "name": "IT-support Å", "person_id": None}],
        "status": PENDING,
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


def add_definition(uow: UnitOfWork) -> None:
    uow.definitions.save("samsa_outage", 1, SHA, {"document": {"name": "samsa_outage"}})


def without(row: dict[str, str], *keys: str) -> dict[str, str]:
    return {k: v for k, v in row.items() if k not in keys}


def test_incident_get_and_update_match_core(db: Database) -> None:
    """An incident updated through the prepared UPDATE is stored as Core stores it, and the
    prepared SELECT reads back what Core reads back."""
    with db.unit_of_work() as uow:
        add_definition(uow)
        uow.incidents.add(incident("INC-1"))
        uow.incidents.add(incident("INC-2"))
        changed = {
            "data": {"scope": "Ändrad", "started_at": "2025-03-01T08:00:00+00:00"},
            "flags": ["a", "ö"],
            "updated_at": T0.astimezone(STOCKHOLM) + timedelta(microseconds=1),
            "closed": True,
            "last_event_seq": 4,
            "last_event_hash": "f" * 64,
        }
        fast = replace(uow.incidents.get("INC-1", for_update=True), **changed)
        uow.incidents.update(fast)  # prepared
        core_values = fields_of(replace(incident("INC-2"), **changed)) | {"row_version": 2}
        del core_values["id"]
        uow.execute(sa.update(t.incidents).where(t.incidents.c.id == "INC-2").values(core_values))
        uow.commit()
    with db.unit_of_work() as uow:  # not read-only: FOR UPDATE is read too
        one = stored(uow, t.incidents, t.incidents.c.id == "INC-1")
        two = stored(uow, t.incidents, t.incidents.c.id == "INC-2")
        assert without(one, "id") == without(two, "id")
        by_core = uow.execute(sa.select(t.incidents).where(t.incidents.c.id == "INC-2"))
        core_row = dict(by_core.mappings().one())
        for for_update in (False, True):
            loaded = uow.incidents.get("INC-2", for_update=for_update)
            assert fields_of(loaded) == core_row
            assert type(loaded.closed) is bool and loaded.updated_at.tzinfo is not None


def test_event_append_matches_core(db: Database) -> None:
    """The prepared event INSERT stores what Core's INSERT stores."""
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
        fast_row = stored(uow, t.events, t.events.c.seq == 1)
        core_row = stored(uow, t.events, t.events.c.seq == 99)
        assert without(fast_row, "seq") == without(core_row, "seq")
        assert [e.seq for e in uow.events.list("INC-1")] == [1, 99]
        assert fields_of(uow.events.list("INC-1")[0]) == fields_of(event)


def test_messages_add_many_matches_core(db: Database) -> None:
    """The prepared outbox INSERT stores what Core's INSERT stores, NULL meeting included."""
    with db.unit_of_work() as uow:
        add_definition(uow)
        uow.incidents.add(incident("INC-1"))
        uow.messages.add_many([message("M-fast-1"), message("M-fast-2", meeting=None)])
        lease = {"lease_owner": None, "lease_until": None}
        core_insert(uow, t.messages, fields_of(message("M-core-1")) | lease)
        core_insert(uow, t.messages, fields_of(message("M-core-2", meeting=None)) | lease)
        uow.commit()
    with db.unit_of_work(read_only=True) as uow:
        for n in ("1", "2"):
            fast_row = stored(uow, t.messages, t.messages.c.id == f"M-fast-{n}")
            core_row = stored(uow, t.messages, t.messages.c.id == f"M-core-{n}")
            assert without(fast_row, "id") == without(core_row, "id")
            fast, core = uow.messages.get(f"M-fast-{n}"), uow.messages.get(f"M-core-{n}")
            assert replace(fast, id="") == replace(core, id="")
        assert stored(uow, t.messages, t.messages.c.id == "M-fast-2")["meeting"] == "NULL"


def test_timers_add_many_and_cancel_by_keys_match_core(db: Database) -> None:
    """The prepared timer INSERT and the cancel-by-keys UPDATE (one statement per key count)
    store what Core stores, and cancel exactly the keys given."""
    keys = ["state:outage:a", "state:outage:b", "state:outage:c", "state:outage:d"]
    with db.unit_of_work() as uow:
        add_definition(uow)
        uow.incidents.add(incident("INC-1"))
        uow.timers.add_many([timer(f"fast-{key}", key) for key in keys])
        core_insert(uow, t.timers, fields_of(timer("core", "state:outage:core")))
        uow.commit()
    with db.unit_of_work() as uow:
        fast_row = stored(uow, t.timers, t.timers.c.id == "fast-state:outage:a")
        core_row = stored(uow, t.timers, t.timers.c.id == "core")
        assert without(fast_row, "id", "key") == without(core_row, "id", "key")
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
            fast_row = stored(uow, t.timers, t.timers.c.id == f"fast-{key}")
            assert fast_row["cancelled_at"] == core_row["cancelled_at"] != "NULL"
        assert [x.key for x in uow.timers.list_open("INC-1")] == [keys[3]]


def test_prepared_errors_are_sqlalchemy_errors_and_naive_times_are_refused(db: Database) -> None:
    """A duplicate key from the prepared path is sa.exc.IntegrityError, as from Core; a naive
    datetime is refused before anything is stored."""
    with db.unit_of_work() as uow:
        add_definition(uow)
        uow.incidents.add(incident("INC-1"))
        uow.messages.add_many([message("M-1")])
        uow.commit()
    with db.unit_of_work() as uow, pytest.raises(sa.exc.IntegrityError):
        uow.messages.add_many([message("M-1")])
    with db.unit_of_work() as uow, pytest.raises(ValueError, match="naive"):
        uow.messages.add_many([message("M-2", created_at=datetime(2025, 3, 1, 8, 0))])
    with db.unit_of_work(read_only=True) as uow:
        assert [m.id for m in uow.messages.list("INC-1")] == ["M-1"]
