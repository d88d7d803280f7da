"""Benchmark persisted commands per second against a bare insert-and-commit loop.

Run: ``.venv/bin/python bench/bench_commands.py [--n 300] [--rounds 6] [--postgres URL] [--profile]
[--strict]``.

A command is `post_update` on one incident of the SAMSA plan, through `Service.fire`: one
transaction that reads the incident and the directory, renders the plan's status update for its
four channels, writes the four outbox rows, the event (hash-chained), restarts the state's
timers and updates the incident. The baseline, measured in the same run on the same file
system (or the same server), is the cheapest durable write there is: one row inserted and
committed per iteration — sqlite3 in WAL mode with BEGIN IMMEDIATE, or psycopg. Both run in
alternating rounds (medians reported), so that both see the same disk. The ratio is commands per
second divided by baseline inserts per second; the target is >= 0.25.

PostgreSQL runs when --postgres or DRIFTPLAN_TEST_POSTGRES_URL gives a server (in a throw-away
schema). The exit code is 0 unless --strict is given and a ratio misses the target. When a
ratio misses (or with --profile) the command loop is profiled with cProfile.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from engine.bootstrap import App, build  # noqa: E402
from engine.settings import Settings  # noqa: E402

TARGET = 0.25
WARMUP = 10
OPERATOR = "anna.andersson"
DECLARE = {
    "started_at": "now",
    "scope": "Ingen åtkomst till SAMSA i Fyrbodal",
    "expected_resolution": "okänd",
    "affected_subregions": "fyrbodal",
}
MESSAGES_PER_UPDATE = 4  # post_update notifies login_page, support_email, website_news, it_nytt


@dataclass
class Result:
    label: str
    baseline_us: float
    command_us: float

    @property
    def ratio(self) -> float:
        return self.baseline_us / self.command_us

    def print(self) -> bool:
        verdict = "PASS" if self.ratio >= TARGET else "FAIL"
        print(f"{self.label}:")
        print(
            f"  baseline insert+commit {self.baseline_us:9.1f} µs/op "
            f"{1e6 / self.baseline_us:9.0f} ops/s"
        )
        print(
            f"  post_update command    {self.command_us:9.1f} µs/op "
            f"{1e6 / self.command_us:9.0f} ops/s"
        )
        print(f"  ratio {self.ratio:.3f} (target >= {TARGET}) {verdict}")
        return self.ratio >= TARGET


def timed_us(fn: Callable[[], object], n: int) -> float:
    """Microseconds per call of `fn` over `n` calls."""
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e6


def interleaved(
    baseline: Callable[[], object], command: Callable[[], object], n: int, rounds: int
) -> tuple[float, float]:
    """Median µs/op of each, timed in alternating rounds of n/rounds calls.

    fsync latency on a shared machine drifts by several times within seconds; alternating
    short rounds lets the baseline and the commands see the same disk.
    """
    for _ in range(WARMUP):
        baseline()
        command()
    per_round = max(1, n // rounds)
    base, ours = [], []
    for _ in range(rounds):
        base.append(timed_us(baseline, per_round))
        ours.append(timed_us(command, per_round))
    return statistics.median(base), statistics.median(ours)


def sqlite_inserter(folder: Path) -> tuple[Callable[[], object], Callable[[], None]]:
    """One row per transaction, WAL, BEGIN IMMEDIATE, default synchronous (as driftplan runs)."""
    connection = sqlite3.connect(folder / "baseline.db", isolation_level=None)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("CREATE TABLE rows (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)")
    payload = "x" * 200

    def insert() -> None:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("INSERT INTO rows (payload) VALUES (?)", (payload,))
        connection.execute("COMMIT")

    return insert, connection.close


def postgres_inserter(conninfo: str) -> tuple[Callable[[], object], Callable[[], None]]:
    """One row per transaction through psycopg (the schema comes from the URL's search_path)."""
    connection = psycopg.connect(conninfo)
    connection.execute("CREATE TABLE rows (id SERIAL PRIMARY KEY, payload TEXT NOT NULL)")
    connection.commit()
    payload = "x" * 200

    def insert() -> None:
        connection.execute("INSERT INTO rows (payload) VALUES (%s)", (payload,))
        connection.commit()

    return insert, connection.close


def service_app(data: Path, database_url: str | None) -> tuple[App, str]:
    """A migrated installation with the example directory and one incident in `outage`."""
    os.environ.setdefault("DRIFTPLAN_AUDIT_KEY", "00" * 32)
    settings = Settings(data=data, workflows=ROOT / "workflows", database_url=database_url)
    app = build(settings)
    app.service.directory.import_file(ROOT / "examples" / "directory.yaml")
    incident = app.service.declare(actor_id=OPERATOR, values=DECLARE).incident_id
    return app, incident


def command_loop(app: App, incident: str) -> Callable[[], object]:
    def post_update() -> object:
        return app.service.fire(
            incident_id=incident,
            trigger="post_update",
            actor_id=OPERATOR,
            values={"details": "Felsökning pågår"},
        )

    return post_update


def measure(
    app: App, incident: str, baseline: Callable[[], object], n: int, rounds: int
) -> tuple[float, float]:
    """(baseline µs/op, command µs/op); checks that every command wrote its outbox rows."""
    with app.database.unit_of_work(read_only=True) as uow:
        before = len(uow.messages.list(incident))
    base_us, command_us = interleaved(baseline, command_loop(app, incident), n, rounds)
    with app.database.unit_of_work(read_only=True) as uow:
        written = len(uow.messages.list(incident)) - before
    expected = (WARMUP + max(1, n // rounds) * rounds) * MESSAGES_PER_UPDATE
    assert written == expected, f"{written} outbox rows written, expected {expected}"
    return base_us, command_us


def profile(app: App, incident: str, n: int, label: str) -> None:
    """Print where a command's time goes (cumulative and own time)."""
    loop = command_loop(app, incident)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(n):
        loop()
    profiler.disable()
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order)
        stats.print_stats(25)
        print(f"--- cProfile of {n} post_update commands on {label}, by {order} ---")
        print("\n".join(out.getvalue().splitlines()[4:]))


def run_sqlite(folder: Path, n: int, rounds: int, want_profile: bool) -> bool:
    insert, close = sqlite_inserter(folder)
    app, incident = service_app(folder / "data", None)
    try:
        result = Result(
            f"SQLite (WAL, files in {folder.parent}), N={n}",
            *measure(app, incident, insert, n, rounds),
        )
        ok = result.print()
        if want_profile or not ok:
            profile(app, incident, n, "SQLite")
        return ok
    finally:
        close()
        app.database.dispose()


def run_postgres(base_url: str, n: int, rounds: int, want_profile: bool) -> bool:
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base_url, poolclass=sa.pool.NullPool)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = sa.make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        insert, close = postgres_inserter(conninfo)
        with tempfile.TemporaryDirectory(prefix="bench-pg-") as data:
            app, incident = service_app(Path(data), url.render_as_string(hide_password=False))
            try:
                result = Result(
                    f"PostgreSQL ({url.host}:{url.port}), N={n}",
                    *measure(app, incident, insert, n, rounds),
                )
                ok = result.print()
                if want_profile or not ok:
                    profile(app, incident, n, "PostgreSQL")
                return ok
            finally:
                close()
                app.database.dispose()
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--n", type=int, default=300, help="commands (and inserts) to time")
    parser.add_argument(
        "--rounds",
        type=int,
        default=6,
        help="alternating baseline/command rounds (medians are reported)",
    )
    parser.add_argument(
        "--postgres",
        default=os.environ.get("DRIFTPLAN_TEST_POSTGRES_URL"),
        help="PostgreSQL URL (default: DRIFTPLAN_TEST_POSTGRES_URL)",
    )
    parser.add_argument("--profile", action="store_true", help="always print a cProfile")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a ratio misses")
    args = parser.parse_args(argv)

    ok = True
    # Both SQLite databases live in one folder, so they share a file system.
    with tempfile.TemporaryDirectory(prefix="bench-commands-") as folder:
        ok &= run_sqlite(Path(folder), args.n, args.rounds, args.profile)
    if args.postgres:
        ok &= run_postgres(args.postgres, args.n, args.rounds, args.profile)
    else:
        print("PostgreSQL: skipped (set DRIFTPLAN_TEST_POSTGRES_URL or pass --postgres URL)")
    return 1 if args.strict and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
