"""The unit of work: one database transaction with the repositories that work inside it.

One command = one transaction (DESIGN.md §2): the service opens a unit of work, changes the
incident, appends the event, adds outbox and timer rows, and commits them together. Leaving the
`with` block without `commit()` rolls everything back. Every statement runs through
SQLAlchemy's `Connection` here (`UnitOfWork.execute`), which is also where "the database is busy
/ the transaction lost a race" driver errors become `engine.errors.Conflict`. A commit that
queued outbox messages or armed timers wakes the worker (`engine.store.wakeups`): on
PostgreSQL with a NOTIFY inside the transaction, and in this process through `on_commit`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

import sqlalchemy as sa

from engine.errors import Conflict
from engine.store.accounts import AccountRepository
from engine.store.people import DirectoryRepository, MetaRepository, SubscriberRepository
from engine.store.queues import MessageRepository, TimerRepository
from engine.store.repositories import (
    ApprovalRepository,
    DefinitionRepository,
    EventRepository,
    IncidentRepository,
    Params,
)
from engine.store.wakeups import CHANNEL, notify_statement

# Told after a commit whether it queued outbox messages and whether it armed timers.
OnCommit = Callable[..., None]

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
        self,
        engine: sa.Engine,
        *,
        audit_key: bytes | None = None,
        read_only: bool = False,
        on_commit: OnCommit | None = None,
    ) -> None:
        self._engine = engine
        self._read_only = read_only
        self._on_commit = on_commit
        self._timers_announced = 0  # how many of `timers.armed` earlier commits announced
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
        self.accounts = AccountRepository(self)

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
        self, statement: sa.Executable, params: Params | None = None
    ) -> sa.CursorResult[Any]:
        """Run one statement in this unit's transaction.

        `params` is one row of bind values, or a list of rows to run the statement once per row
        in one round trip (the driver's executemany; a one-row list runs as a plain execute).
        Never an empty list: SQLAlchemy would run the statement once without parameters.
        """
        connection = self.connection
        with conflicts_as_errors():
            try:
                return connection.execute(statement, params)
            except sa.exc.StatementError as error:
                # A value its column type refuses (a naive datetime, tables.UTCDateTime) is the
                # caller's bug: raise the type's own ValueError, which SQLAlchemy wraps only
                # because the type ran inside execute. Driver errors stay as they are.
                if not isinstance(error, sa.exc.DBAPIError) and isinstance(error.orig, ValueError):
                    raise error.orig from error
                raise

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A nested transaction, so that an expected IntegrityError does not doom the whole
        transaction (PostgreSQL aborts a transaction on any error inside it)."""
        with self.connection.begin_nested():
            yield

    def commit(self) -> None:
        """Make every change of this unit durable; later use starts a new transaction."""
        outbox = self.messages.queued > 0
        timers = len(self.timers.armed) > self._timers_announced
        if self._transaction is not None and self._transaction.is_active:
            if (outbox or timers) and self.dialect == "postgresql":
                # Delivered to listeners when (and only if) this transaction commits.
                what = ",".join(n for n, due in (("outbox", outbox), ("timers", timers)) if due)
                self.execute(notify_statement, {"channel": CHANNEL, "what": what})
            with conflicts_as_errors():
                self._transaction.commit()
        self._transaction = None
        self._forget_pending()
        if (outbox or timers) and self._on_commit is not None:
            self._on_commit(outbox=outbox, timers=timers)

    def _forget_pending(self) -> None:
        self.messages.queued = 0
        self._timers_announced = len(self.timers.armed)

    def rollback(self) -> None:
        """Discard every change since the last commit."""
        if self._transaction is not None and self._transaction.is_active:
            self._transaction.rollback()
        self._transaction = None
        self._forget_pending()

    def close(self) -> None:
        """Roll back anything uncommitted and return the connection to the pool."""
        try:
            self.rollback()
        finally:
            if self._connection is not None:
                self._connection.close()
                self._connection = None
