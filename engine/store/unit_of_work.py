"""The unit of work: one database transaction with the repositories that work inside it.

One command = one transaction (DESIGN.md §2): the service opens a unit of work, changes the
incident, appends the event, adds outbox and timer rows, and commits them together. Leaving the
`with` block without `commit()` rolls everything back. This module also owns turning "the
database is busy / the transaction lost a race" driver errors into `engine.errors.Conflict`,
also for the few hot statements that run on the transaction's DBAPI cursor (`run_driver_sql`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

import sqlalchemy as sa

from engine.errors import Conflict
from engine.store.people import DirectoryRepository, MetaRepository, SubscriberRepository
from engine.store.queues import MessageRepository, TimerRepository
from engine.store.repositories import (
    ApprovalRepository,
    DefinitionRepository,
    EventRepository,
    IncidentRepository,
)

# PostgreSQL SQLSTATEs that mean "retry the whole command": serialization failure, deadlock,
# lock not available.
_RETRYABLE_SQLSTATES = frozenset({"40001", "40P01", "55P03"})

BUSY_MESSAGE = "The database is busy with another command; nothing was changed. Try again."
BUSY_MESSAGE_SV = "Databasen är upptagen av ett annat kommando; inget ändrades. Försök igen."


def is_retryable(error: sa.exc.DBAPIError) -> bool:
    """Whether a driver error means a concurrent command got in the way (not a bug)."""
    if getattr(error.orig, "sqlstate", None) in _RETRYABLE_SQLSTATES:
        return True
    text = str(error.orig).lower()
    return "database is locked" in text or "database is busy" in text


@contextmanager
def conflicts_as_errors() -> Iterator[None]:
    """Re-raise busy/serialization driver errors as `Conflict`, leave the rest alone."""
    try:
        yield
    except sa.exc.DBAPIError as error:
        if is_retryable(error):
            raise Conflict(BUSY_MESSAGE, sv=BUSY_MESSAGE_SV) from error
        raise


class UnitOfWork:
    """A transaction plus repositories; the transaction begins at first use.

    Beginning lazily matters on SQLite, where a writing transaction holds the database's single
    write lock: a unit of work that never touches the database never blocks anyone.
    """

    def __init__(
        self, engine: sa.Engine, *, audit_key: bytes | None = None, read_only: bool = False
    ) -> None:
        self._engine = engine
        self._read_only = read_only
        self._connection: sa.Connection | None = None
        self._transaction: sa.RootTransaction | None = None
        self.audit_key = audit_key
        self.definitions = DefinitionRepository(self)
        self.incidents = IncidentRepository(self)
        self.events = EventRepository(self)
        self.approvals = ApprovalRepository(self)
        self.messages = MessageRepository(self)
        self.timers = TimerRepository(self)
        self.directory = DirectoryRepository(self)
        self.subscribers = SubscriberRepository(self)
        self.meta = MetaRepository(self)

    def __enter__(self) -> UnitOfWork:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def dialect(self) -> str:
        """ "sqlite" or "postgresql"."""
        return self._engine.dialect.name

    @property
    def sa_dialect(self) -> sa.Dialect:
        """The SQLAlchemy dialect (the one that compiles statements for this database)."""
        return self._engine.dialect

    @property
    def connection(self) -> sa.Connection:
        """The connection, inside a transaction (begun now if this is the first use)."""
        if self._connection is None:
            options: dict[str, Any] = {"driftplan_read_only": self._read_only}
            if self._read_only and self.dialect == "postgresql":
                options["postgresql_readonly"] = True
            self._connection = self._engine.connect().execution_options(**options)
        if self._transaction is None or not self._transaction.is_active:
            with conflicts_as_errors():
                self._transaction = self._connection.begin()
        return self._connection

    def execute(
        self, statement: sa.Executable, params: dict[str, Any] | None = None
    ) -> sa.CursorResult[Any]:
        """Run one statement in this unit's transaction."""
        connection = self.connection
        with conflicts_as_errors():
            return connection.execute(statement, params)

    def run_driver_sql(
        self, sql: str, params: Any, *, many: bool = False, fetch: bool = False
    ) -> tuple[int, list[Any], Any]:
        """Run SQL already compiled for this dialect, with parameters already converted, on the
        transaction's DBAPI cursor: (rowcount, rows when `fetch`, cursor.description).

        For the few statements every command runs (`repositories.Prepared`), where SQLAlchemy's
        per-execution work costs several times what the database does. Driver errors are raised
        as SQLAlchemy's exceptions (and busy / serialization errors as Conflict), exactly as
        `execute` raises them; a dropped connection is invalidated, as SQLAlchemy would do.
        """
        connection = self.connection
        dbapi_connection = connection.connection
        dialect = self._engine.dialect
        cursor = dbapi_connection.cursor()
        try:
            with conflicts_as_errors():
                try:
                    if many:
                        cursor.executemany(sql, params)
                    else:
                        cursor.execute(sql, params)
                    rows: list[Any] = list(cursor.fetchall()) if fetch else []
                    return cursor.rowcount, rows, cursor.description
                except dialect.loaded_dbapi.Error as error:
                    invalidated = dialect.is_disconnect(error, dbapi_connection, cursor)
                    if invalidated:
                        connection.invalidate(error)
                    raise sa.exc.DBAPIError.instance(
                        sql,
                        params,
                        error,
                        dialect.loaded_dbapi.Error,
                        connection_invalidated=invalidated,
                        dialect=dialect,
                    ) from error
        finally:
            cursor.close()

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A nested transaction, so that an expected IntegrityError does not doom the whole
        transaction (PostgreSQL aborts a transaction on any error inside it)."""
        with self.connection.begin_nested():
            yield

    def commit(self) -> None:
        """Make every change of this unit durable; later use starts a new transaction."""
        if self._transaction is not None and self._transaction.is_active:
            with conflicts_as_errors():
                self._transaction.commit()
        self._transaction = None

    def rollback(self) -> None:
        """Discard every change since the last commit."""
        if self._transaction is not None and self._transaction.is_active:
            self._transaction.rollback()
        self._transaction = None

    def close(self) -> None:
        """Roll back anything uncommitted and return the connection to the pool."""
        try:
            self.rollback()
        finally:
            if self._connection is not None:
                self._connection.close()
                self._connection = None
