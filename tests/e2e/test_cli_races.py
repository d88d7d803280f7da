"""Twenty `driftplan` processes firing the same trigger on one incident at once: one wins.

To make the processes really meet in the database (a CLI process spends most of its life
starting up), the test holds the incident's lock while they start: on SQLite the write lock
(BEGIN IMMEDIATE), on PostgreSQL the incident row (SELECT ... FOR UPDATE). It lets go once every
racer is waiting for it, so all twenty go for the same version of the incident together.
"""

from __future__ import annotations

import sqlite3
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from tests.e2e.cli_fork import ForkedProcess
from tests.e2e.conftest import CLI_TIMEOUT, Workspace

Racer = ForkedProcess | subprocess.Popen[str]

RACERS = 20
CHAIR = "margareta.lund"
# How long to keep racers waiting at most; SQLite's busy timeout is 10 s, and a racer that
# waits longer gets "database is busy" (a conflict too, but then it did not race).
MAX_HOLD_SECONDS = 6.0
# What a loser is told. On PostgreSQL a command locks the incident row (SELECT ... FOR UPDATE)
# before it evaluates, so a racer waits for the winner and then finds the state changed; one
# that read before the lock was taken loses the optimistic version check instead. On SQLite
# BEGIN IMMEDIATE queues racers before they read, so each loser finds the state already changed
# (or, after 10 s, the database busy).
LOSER_MESSAGES = {
    "postgres": (
        "'enter_total_reserve' is not possible in state 'total_reserve'",
        "was changed by someone else",
    ),
    "sqlite": (
        "'enter_total_reserve' is not possible in state 'total_reserve'",
        "The database is busy with another command",
    ),
}


def _has_open(pid: int, path: Path) -> bool:
    """Whether process `pid` has the SQLite file open (it has started its command)."""
    try:
        return any(
            str(fd.readlink()).startswith(str(path)) for fd in Path(f"/proc/{pid}/fd").iterdir()
        )
    except OSError:
        return False


@contextmanager
def incident_locked(
    ws: Workspace, incident: str, application_name: str
) -> Iterator[Callable[[list[Racer]], bool]]:
    """Hold the incident's lock until the block ends; yields "are all racers waiting?"."""
    if ws.kind == "sqlite":
        connection = sqlite3.connect(ws.sqlite_path, isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield lambda racers: all(_has_open(p.pid, ws.sqlite_path) for p in racers)
        finally:
            connection.rollback()
            connection.close()
        return
    conninfo = (
        sa.make_url(ws.url).set(drivername="postgresql").render_as_string(hide_password=False)
    )
    with psycopg.connect(conninfo) as conn, psycopg.connect(conninfo, autocommit=True) as watch:
        conn.execute("SELECT id FROM incidents WHERE id = %s FOR UPDATE", (incident,))

        def waiting(racers: list[Racer]) -> bool:
            row = watch.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE application_name = %s AND wait_event_type = 'Lock'",
                (application_name,),
            ).fetchone()
            return row is not None and row[0] >= len(racers)

        try:
            yield waiting
        finally:
            conn.rollback()


@pytest.mark.slow
def test_twenty_processes_firing_one_trigger_make_one_transition(workspace: Workspace) -> None:
    """Of 20 processes in which the chair fires enter_total_reserve on one incident, exactly one
    succeeds, the others exit 1 with a conflict (or find the state already changed), and the log
    holds exactly one transition."""
    ws = workspace
    incident = ws.declare()
    application_name = f"race_{uuid.uuid4().hex[:12]}"
    env = dict(ws.env)
    if ws.kind == "postgres":
        url = sa.make_url(ws.url).update_query_dict({"application_name": application_name})
        env["DRIFTPLAN_DATABASE_URL"] = url.render_as_string(hide_password=False)
    command = ("incident", "fire", incident, "enter_total_reserve", "--as", CHAIR, "--json")

    with incident_locked(ws, incident, application_name) as all_waiting:
        racers = [ws.popen(*command, env=env) for _ in range(RACERS)]
        deadline = time.monotonic() + 60 if ws.kind == "postgres" else None
        while not all_waiting(racers):
            if any(p.poll() is not None for p in racers):
                break  # a racer ended while the lock was held: it could not have raced
            if (
                deadline is None
                and ws.kind == "sqlite"
                and any(_has_open(p.pid, ws.sqlite_path) for p in racers)
            ):
                deadline = time.monotonic() + MAX_HOLD_SECONDS
            if deadline is not None and time.monotonic() > deadline:
                break
            time.sleep(0.05)
        time.sleep(0.3)  # the last racer found waiting reaches the lock
        early = [p.poll() for p in racers]

    outputs = [p.communicate(timeout=CLI_TIMEOUT) for p in racers]
    outcomes = [(p.returncode, out, err) for p, (out, err) in zip(racers, outputs, strict=True)]
    assert early == [None] * RACERS, outcomes
    winners = [out for code, out, _ in outcomes if code == 0]
    assert len(winners) == 1, outcomes
    assert '"state": "total_reserve"' in winners[0]
    for code, _, err in outcomes:
        if code != 0:
            message = " ".join(err.split())
            assert code == 1, (code, err)
            assert any(text in message for text in LOSER_MESSAGES[ws.kind]), message
            assert "Traceback" not in err, err

    log = ws.app.service.log(incident)
    assert [(e["kind"], e["trigger"]) for e in log] == [
        ("declare", "declare"),
        ("transition", "enter_total_reserve"),
        ("rule", "notify_crisis"),  # a total reserve is a crisis: the council is alerted once
    ]
    shown = ws.app.service.show(incident)
    assert (shown["state"], shown["crisis"]) == ("total_reserve", True)
    with ws.app.database.unit_of_work(read_only=True) as uow:
        crisis_mails = [m for m in uow.messages.list(incident) if m.channel == "crisis_email"]
    # The winner's total-reserve notice and the council alert it set off; the losers'
    # messages were rolled back with them.
    assert sorted(m.cause.split(" ")[0] for m in crisis_mails) == [
        "rule:notify_crisis",
        "transition:enter_total_reserve",
    ]
