"""The delivery journal on SQL: statements, and the writer that holds a connection per attempt.

A dispatcher serving a long list records each recipient before it sends to the next (see
engine.service.delivery), so a recipient costs one small committed INSERT. Taken through a unit
of work that is about 0.45 ms (pool checkout, begin events, BEGIN IMMEDIATE, commit) against
0.05 ms on a connection held for the whole attempt, while one SMTP copy to a local relay takes
about 0.8 ms: the journal would have made a large fan-out cost half again as much as the
sending. `HeldJournalWriter` holds that connection; its commits do not wait for the disk
(`driftplan_relaxed`: SQLite `synchronous = NORMAL` in WAL mode, PostgreSQL
`synchronous_commit = off`), except the `durable` ones the dispatcher asks for every
`DispatchPolicy.durable_every` recipients, which also make the relaxed ones before them durable.
A killed process loses no commit either way; a power cut loses at most the relaxed ones since
the last durable commit (copies then sent twice, with the same Message-ID).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from engine.domain.model import DeliveryResult
from engine.store import tables as t

__all__ = ["CLEAR", "READ", "HeldJournalWriter", "read_entries"]

_j = t.delivery_journal
_m = t.messages
# One statement per entry: the lease check and the insert together, as driver SQL (see
# `HeldJournalWriter`). The casts give PostgreSQL one type for a parameter used twice.
_ADD_SQL = (
    "INSERT INTO delivery_journal (message_id, seq, entry) "
    "SELECT CAST({id} AS VARCHAR), CAST({seq} AS INTEGER), CAST({entry} AS TEXT) "
    "WHERE EXISTS (SELECT 1 FROM messages "
    "WHERE id = CAST({id} AS VARCHAR) AND lease_owner = CAST({owner} AS VARCHAR))"
)
# Named parameters as each driver takes them (sqlite3 named style, psycopg pyformat).
_PARAMETER_STYLES = {"sqlite": ":{}", "postgresql": "%({})s"}
READ = sa.select(_j.c.entry).where(_j.c.message_id == sa.bindparam("b_id")).order_by(_j.c.seq)
CLEAR = sa.delete(_j).where(_j.c.message_id == sa.bindparam("b_id"))


def read_entries(texts: Sequence[str]) -> list[DeliveryResult]:
    """The journal's rows, as results (in their order)."""
    return [DeliveryResult.from_dict(json.loads(text)) for text in texts]


class HeldJournalWriter:
    """One attempt's journal writer on one connection taken from the pool for the attempt.

    Used from one thread (a SQLite connection belongs to the thread that opened it). Each `add`
    is its own transaction on the driver's connection (`driver_connection`, SQLAlchemy's public
    way to it), with the statement `_ADD_SQL`: the dispatcher records a recipient in
    the time a local relay takes to answer one SMTP command, so SQLAlchemy's per-transaction
    bookkeeping (events, options, the compiled cache: 0.09 ms of 0.11 ms per record, measured)
    was most of the cost, on a core the SMTP sending needs too. On SQLite each transaction is
    BEGIN IMMEDIATE, queuing behind other writers on the busy timeout like every other, with
    `synchronous = NORMAL` unless `durable`; on PostgreSQL `synchronous_commit` is off for the
    session unless `durable`. The connection goes back to the pool as it was found.
    """

    def __init__(self, engine: sa.Engine, message_id: str, owner: str) -> None:
        self._sqlite = engine.dialect.name == "sqlite"
        style = _PARAMETER_STYLES[engine.dialect.name]
        names = ("id", "seq", "entry", "owner")
        self._sql = _ADD_SQL.format(**{name: style.format(name) for name in names})
        if not self._sqlite:  # psycopg reports no row count for an INSERT ... SELECT
            self._sql += " RETURNING seq"
        self._connection = engine.connect()
        driver = self._connection.connection.driver_connection
        if driver is None:  # only after the connection was invalidated, never when fresh
            self._connection.close()
            raise RuntimeError("the pool handed out a connection without a driver connection")
        self._driver: Any = driver
        self._message_id = message_id
        self._owner = owner
        self._relaxed = False  # as every pooled connection is between transactions
        if not self._sqlite:
            self._driver.execute("SET synchronous_commit = off")
            self._driver.commit()
            self._relaxed = True

    def add(self, seq: int, entries: Sequence[DeliveryResult], *, durable: bool) -> bool:
        if len(entries) == 1 and self._sqlite and self._relaxed is not durable:
            # The common case in one call: a single statement outside a transaction is its own
            # transaction, which takes the write lock before it reads (as BEGIN IMMEDIATE
            # does) and commits when done; `rowcount` says whether the lease check let it in.
            return self._inserted(self._driver.execute(self._sql, self._params(seq, entries[0])))
        return self._transaction(seq, entries, durable=durable)

    def _params(self, seq: int, entry: DeliveryResult) -> dict[str, Any]:
        return {
            "id": self._message_id,
            "seq": seq,
            "entry": json.dumps(entry.to_dict(), ensure_ascii=False),
            "owner": self._owner,
        }

    def _transaction(self, seq: int, entries: Sequence[DeliveryResult], *, durable: bool) -> bool:
        driver = self._driver
        if self._sqlite:
            if self._relaxed is durable:  # SQLite refuses to change it inside a transaction
                driver.execute(f"PRAGMA synchronous = {'FULL' if durable else 'NORMAL'}")
                self._relaxed = not durable
            driver.execute("BEGIN IMMEDIATE")
        elif durable:
            driver.execute("SET LOCAL synchronous_commit = on")
        try:
            for offset, entry in enumerate(entries):
                if not self._inserted(driver.execute(self._sql, self._params(seq + offset, entry))):
                    self._rollback()
                    return False
        except BaseException:
            self._rollback()
            raise
        if self._sqlite:
            driver.execute("COMMIT")
        else:
            driver.commit()
        return True

    def close(self) -> None:
        """Give the connection back with the pool's setting restored."""
        try:
            if self._sqlite and self._relaxed:
                self._driver.execute("PRAGMA synchronous = FULL")
            elif not self._sqlite:
                self._driver.execute("RESET synchronous_commit")
                self._driver.commit()
        finally:
            self._connection.close()

    def _inserted(self, cursor: Any) -> bool:
        """Whether the statement inserted its row (the lease check let it in)."""
        return bool(cursor.rowcount == 1 if self._sqlite else cursor.fetchone() is not None)

    def _rollback(self) -> None:
        if not self._sqlite:
            self._driver.rollback()
        elif self._driver.in_transaction:
            self._driver.execute("ROLLBACK")
