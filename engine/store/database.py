"""The connection to the database: engine creation, SQLite tuning and schema migration.

`Database` owns one SQLAlchemy engine for one URL (SQLite file or PostgreSQL via psycopg 3) and
hands out units of work, whose commits ring its `wakeups` bell (`engine.store.wakeups`) and
whose timers it reports incrementally (`timer_feed`). It also owns bringing the schema to
Alembic's head, safely even when several processes start at once on a fresh database.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from engine.errors import ConfigurationError
from engine.store.chain import ChainHead, chain_head
from engine.store.delivery_journal import HeldJournalWriter
from engine.store.hashing import json_default
from engine.store.keys import audit_key
from engine.store.tables import with_postgresql_conditions
from engine.store.timer_feed import TimerFeed
from engine.store.unit_of_work import UnitOfWork
from engine.store.wakeups import CommitBell

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# The newest migration in MIGRATIONS. Kept here so that a command whose database is up to date
# never imports Alembic (a tenth of a second of every CLI call); a test checks that it matches
# the migrations' real head, so a new migration cannot be forgotten here.
HEAD_REVISION = "0007"

# How long a SQLite writer waits for another writer before giving up (the busy handler).
SQLITE_BUSY_TIMEOUT_SECONDS = 10.0

# Any fixed 64-bit number; every driftplan process migrating the same database must agree on it.
_PG_MIGRATION_LOCK = 0x64726966_74706C6E  # "driftpln"


@dataclass(frozen=True)
class SchemaStatus:
    """Where the database's schema is, compared with the newest migration this code knows."""

    current: str | None  # None: a fresh, empty database
    head: str

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


class Database:
    """One database, by URL; `unit_of_work()` opens a transaction on it.

    `audit_key` signs the event chains and incident seals (see `engine.store.audit`); without
    it, appending events raises ConfigurationError and rows are not sealed.
    """

    def __init__(self, url: str, *, audit_key: bytes | None = None) -> None:
        self.url = url
        self.audit_key = audit_key
        self.engine = _create_engine(url)
        if self.engine.dialect.name == "postgresql":
            with_postgresql_conditions()
        self.wakeups = CommitBell(self.engine)
        self.timer_feed = TimerFeed(self.engine)

    @classmethod
    def for_data_dir(
        cls,
        data_dir: str | os.PathLike[str],
        *,
        environ: Mapping[str, str] | None = None,
    ) -> Database:
        """The default SQLite database `<data_dir>/driftplan.db`, with the data dir's audit key."""
        directory = Path(data_dir)
        directory.mkdir(parents=True, exist_ok=True)
        key = audit_key(directory, os.environ if environ is None else environ)
        return cls(f"sqlite:///{directory / 'driftplan.db'}", audit_key=key)

    @property
    def dialect(self) -> str:
        """ "sqlite" or "postgresql"."""
        return self.engine.dialect.name

    def unit_of_work(self, *, read_only: bool = False) -> UnitOfWork:
        """A transaction with repositories; use as `with db.unit_of_work() as uow: ...`.

        `read_only=True` lets SQLite readers run beside a writer (plain BEGIN instead of
        BEGIN IMMEDIATE); such a unit of work must not write.
        """
        return UnitOfWork(
            self.engine,
            audit_key=self.audit_key,
            read_only=read_only,
            on_commit=None if read_only else self.wakeups.ring,
        )

    def journal_writer(self, message_id: str, owner: str) -> HeldJournalWriter:
        """A writer of one message's delivery journal on a connection held for the attempt
        (`engine.store.delivery_journal`)."""
        return HeldJournalWriter(self.engine, message_id, owner)

    def chain_head(self) -> ChainHead:
        """The newest link of the installation's chain (`engine.store.audit`): an anchor."""
        with self.unit_of_work(read_only=True) as uow:
            return chain_head(uow)

    def schema_status(self) -> SchemaStatus:
        """The current revision of the database and the head revision of the code."""
        with self.engine.connect().execution_options(driftplan_read_only=True) as conn:
            if not sa.inspect(conn).has_table("alembic_version"):
                return SchemaStatus(current=None, head=HEAD_REVISION)
            # Alembic's own bookkeeping table: one row, the revision the schema is at.
            rows = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars()
            revisions = list(rows)
        current = revisions[0] if len(revisions) == 1 else None
        return SchemaStatus(current=current, head=HEAD_REVISION)

    def migrate(self) -> bool:
        """Bring the schema to head if it is not there; True when a migration ran.

        Cheap when up to date (one read), so every command can start with it. Concurrent
        callers serialize: SQLite through BEGIN IMMEDIATE, PostgreSQL through an advisory lock
        held for the migration transaction; the loser then finds the schema at head.
        """
        status = self.schema_status()
        if status.up_to_date:
            return False
        from alembic import command  # noqa: PLC0415  (only when a migration is due)
        from alembic.runtime.migration import MigrationContext  # noqa: PLC0415
        from alembic.script import ScriptDirectory  # noqa: PLC0415

        config = _alembic_config()
        known = {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}
        if status.current is not None and status.current not in known:
            # Alembic's own message ("Can't locate revision") does not say what to do.
            raise ConfigurationError(
                f"The database schema is at revision {status.current}, which this version of "
                f"driftplan does not know (its newest is {status.head}). The database was "
                "migrated by a newer driftplan: run that version, or restore a backup."
            )
        with self.engine.begin() as conn:
            if self.dialect == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key()})
            before = MigrationContext.configure(conn).get_current_revision()
            config.attributes["connection"] = conn
            # Migration 0002 links existing events into the installation's chain and seals
            # incident rows, both with the audit key.
            config.attributes["audit_key"] = self.audit_key
            command.upgrade(config, "head")
            after = MigrationContext.configure(conn).get_current_revision()
        return before != after

    def dispose(self) -> None:
        """Close pooled connections and the doorbell's sending socket (call before the
        process or test ends)."""
        self.engine.dispose()
        self.wakeups.close()


def _lock_key() -> int:
    # pg_advisory_xact_lock takes a signed bigint.
    return _PG_MIGRATION_LOCK - (1 << 64) if _PG_MIGRATION_LOCK >= 1 << 63 else _PG_MIGRATION_LOCK


def _alembic_config() -> Config:
    from alembic.config import Config  # noqa: PLC0415  (only when a migration is due)

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _to_json(value: object) -> str:
    # Datetimes inside JSON columns (a meeting's start, say) are stored as ISO 8601 text, the
    # same spelling the audit hash uses; they come back as strings.
    return json.dumps(value, ensure_ascii=False, default=json_default)


def _create_engine(url: str) -> sa.Engine:
    parsed = sa.make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # pool_pre_ping: a long-running server must survive PostgreSQL restarts.
        return sa.create_engine(url, pool_pre_ping=True, json_serializer=_to_json)
    engine = sa.create_engine(
        url,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
        json_serializer=_to_json,
    )
    sa.event.listen(engine, "connect", _sqlite_on_connect)
    sa.event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling issues a deferred BEGIN lazily; a deferred
    # transaction that reads and then writes fails with "database is locked" when another
    # writer got in between, and the busy timeout cannot help. We take control of BEGIN.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        # busy_timeout first: switching to WAL needs a lock that a sibling process may hold.
        cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_SECONDS * 1000)}")
        _switch_to_wal(cursor)
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _switch_to_wal(cursor: Any) -> None:
    """Turn on WAL, waiting while a sibling process switches the same fresh file.

    The switch needs an exclusive lock, and SQLite may answer "database is locked" at once
    instead of calling the busy handler (seen when several processes open a new file together),
    so the busy timeout alone does not cover it.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_SECONDS
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _sqlite_on_begin(conn: sa.Connection) -> None:
    # Writers take the write lock up front, so that concurrent writers queue on the busy
    # timeout instead of failing at their first write.
    options = conn.get_execution_options()
    if options.get("driftplan_read_only"):
        conn.exec_driver_sql("BEGIN")
        return
    conn.exec_driver_sql("BEGIN IMMEDIATE")
