"""`driftplan audit verify` against an event log edited behind driftplan's back with raw SQL."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import sqlalchemy as sa

from tests.e2e.conftest import Workspace

Execute = Callable[[str, tuple[Any, ...]], None]


@contextmanager
def raw_sql(ws: Workspace) -> Iterator[Execute]:
    """Run SQL straight on the database file or server, as someone with database access would."""
    if ws.kind == "sqlite":
        connection = sqlite3.connect(ws.sqlite_path, isolation_level=None)
        try:
            yield lambda sql, params: connection.execute(sql, params) and None
        finally:
            connection.close()
        return
    # The workspace URL selects the test's schema through its `options=-csearch_path=...`.
    conninfo = sa.make_url(ws.url).set(drivername="postgresql")
    with psycopg.connect(conninfo.render_as_string(hide_password=False), autocommit=True) as conn:
        yield lambda sql, params: conn.execute(sql.replace("?", "%s"), params) and None  # type: ignore[arg-type]


def five_events(ws: Workspace) -> str:
    """An incident whose log holds five events: declare, update, request, decision, transition."""
    incident = ws.declare()
    ws.fire(incident, "post_update", details="Felsökning pågår")
    approval = ws.fire(incident, "enter_total_reserve").approval_id
    ws.app.service.decide(approval_id=approval, actor_id="margareta.lund", approve=True)
    kinds = [e["kind"] for e in ws.app.service.log(incident)]
    assert kinds == ["declare", "update", "approval_requested", "decision", "transition", "rule"]
    return incident


def edit_data(ws: Workspace, execute: Execute, incident: str, seq: int) -> None:
    cast = "CAST(? AS json)" if ws.kind == "postgres" else "?"
    execute(
        f"UPDATE events SET data = {cast} WHERE incident_id = ? AND seq = ?",
        ('{"changes": {"details": "Allt fungerar"}}', incident, seq),
    )


def test_audit_verify_names_the_first_bad_event_of_each_tampered_incident(
    workspace: Workspace,
) -> None:
    """Edited, deleted, truncated and swapped events each fail `audit verify` (exit 1) with the
    first bad event's number and what happened to it; untouched incidents still verify."""
    ws = workspace
    names = ["edited_data", "edited_actor", "deleted", "truncated", "swapped", "untouched"]
    incidents = {name: five_events(ws) for name in names}
    intact = ws.run("audit", "verify")
    assert "6" in intact.stdout
    assert intact.stderr == ""

    with raw_sql(ws) as execute:
        edit_data(ws, execute, incidents["edited_data"], 2)
        execute(
            "UPDATE events SET actor = ? WHERE incident_id = ? AND seq = ?",
            ("olof.strand", incidents["edited_actor"], 4),
        )
        execute("DELETE FROM events WHERE incident_id = ? AND seq = ?", (incidents["deleted"], 3))
        # The last event: the council alert the total reserve set off (event 6).
        execute("DELETE FROM events WHERE incident_id = ? AND seq = ?", (incidents["truncated"], 6))
        swapped = incidents["swapped"]
        for old, new in ((2, -2), (3, 2), (-2, 3)):
            execute(
                "UPDATE events SET seq = ? WHERE incident_id = ? AND seq = ?", (new, swapped, old)
            )

    everything, one_bad, one_good = ws.run_many(
        [
            ["audit", "verify"],
            ["audit", "verify", incidents["deleted"]],
            ["audit", "verify", incidents["untouched"]],
        ]
    )
    assert everything.returncode == 1, everything
    findings = [line.strip() for line in everything.stderr.splitlines()[1:]]
    # The installation's chain names its first bad link: the first incident's event 2.
    edited = incidents["edited_data"]
    first_bad = f"Chain link 2 (incident {edited}, event 2): the event was edited."
    assert [line for line in findings if line.startswith("Chain")] == [first_bad]
    findings = [line for line in findings if not line.startswith("Chain")]
    expected = {
        "edited_data": "event 2 was edited",
        "edited_actor": "event 4 was edited",
        "deleted": "event 3 is missing",
        "truncated": "the log was truncated after event 5 (the incident records 6 events)",
        "swapped": "events 2 and 3 are out of order",
    }
    assert sorted(findings) == sorted(
        f"Incident {incidents[name]}: {reason}." for name, reason in expected.items()
    ), everything.stderr
    assert one_bad.returncode == 1, one_bad
    assert f"Incident {incidents['deleted']}: event 3 is missing." in one_bad.stderr
    assert incidents["edited_data"] not in one_bad.stderr
    assert one_good.returncode == 0, one_good


def test_audit_verify_of_an_unknown_incident_exits_1(sqlite_workspace: Workspace) -> None:
    """Verifying an incident that does not exist is an error, not an intact log."""
    sqlite_workspace.declare()
    message = sqlite_workspace.fails("audit", "verify", "20990101-000000")
    assert "Incident '20990101-000000' does not exist" in message
