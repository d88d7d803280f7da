"""An in-memory `Store` for use-case tests: the store ports of engine/ports.py, without SQL.

`MemoryStore` keeps the committed state in dicts (`Tables`). A `MemoryUnitOfWork` copies that
state at its first use and works on the copy, journaling every write; `commit()` replays the
journal on the newest committed state under a lock, re-running each write's checks, and
publishes the result in one step. Leaving the `with` block or `rollback()` drops the copy and
the journal. So other units of work see changes only after commit, and a unit of work that
fails at commit keeps nothing (first committer wins).

Modelled after engine/store: the optimistic `row_version` check of `incidents.update`
(Conflict, also when a newer version was committed after this unit began, as the UPDATE's
WHERE would find), NotFound with the store's messages, duplicate keys as Conflict (ids, armed
timers, subscriber tokens, API token secrets), the compare-and-sets of `timers.fire` (on
`fired_at`), `accounts.use_link` (`used_at`) and `accounts.revoke_token` (`revoked_at`), the
first claimer winning `accounts.claim_key`, the filters of `timers.cancel`, `timers.armed`,
outbox leases, the directory generation changed by `directory.replace` and by subscriber
changes, event `seq` per incident with the chain head on the incident row, JSON columns
returned as JSON-native copies (an approval's slots and decisions, a message's recipients and
results through their records' dicts, as engine/store converts them), naive datetimes
refused, and no writes in a read-only unit of work.

Not modelled: SQL and dialects; the audit hash chain (events are numbered but not hashed or
signed: `prev_hash` and `hash` stay empty); savepoints; isolation beyond commit/rollback
(reads see the unit's own snapshot; there are no locks, `for_update` is ignored, and a lost
race is a Conflict at the write or at commit, never a wait); durability; migrations.

The repositories are in incidents.py, queues.py, people.py and accounts.py (as in engine/store),
the state and their shared plumbing in tables.py.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, TypeVar

from engine.domain.model import DeliveryResult
from engine.errors import Conflict

from .accounts import MemoryAccounts
from .incidents import MemoryApprovals, MemoryDefinitions, MemoryEvents, MemoryIncidents
from .people import MemoryDirectory, MemoryMeta, MemorySubscribers
from .queues import MemoryMessages, MemoryTimers
from .tables import Tables

if TYPE_CHECKING:
    from engine.ports import Store, UnitOfWork

R = TypeVar("R")


class MemoryStore:
    """The committed state; opens units of work (an `engine.ports.Store`)."""

    def __init__(self, initial: Tables | None = None) -> None:
        """An empty store, or one whose committed state starts as a copy of `initial`."""
        self._lock = threading.Lock()
        # The newest committed state: replaced whole on commit, never changed in place.
        self.latest = initial.copy() if initial is not None else Tables()

    def unit_of_work(self, *, read_only: bool = False) -> MemoryUnitOfWork:
        return MemoryUnitOfWork(self, read_only=read_only)

    def journal_writer(self, message_id: str, owner: str) -> MemoryJournalWriter:
        return MemoryJournalWriter(self, message_id, owner)

    def committed(self) -> Tables:
        """A copy of the committed state, for tests to look at."""
        return self.latest.copy()

    def publish(self, journal: Iterable[Callable[[Tables], None]]) -> None:
        """Replay a unit's writes on the newest state; all of them take effect, or none."""
        with self._lock:
            tables = self.latest.copy()
            for write in journal:
                write(tables)
            self.latest = tables


class MemoryUnitOfWork:
    """One transaction: a private copy of the state plus the journal of its writes."""

    def __init__(self, store: MemoryStore, *, read_only: bool = False) -> None:
        self.store = store
        self.read_only = read_only
        self._base: Tables | None = None  # the committed state this transaction began from
        self._tables: Tables | None = None
        self._journal: list[Callable[[Tables], None]] = []
        self.definitions = MemoryDefinitions(self)
        self.incidents = MemoryIncidents(self)
        self.events = MemoryEvents(self)
        self.approvals = MemoryApprovals(self)
        self.messages = MemoryMessages(self)
        self.timers = MemoryTimers(self)
        self.directory = MemoryDirectory(self)
        self.subscribers = MemorySubscribers(self)
        self.meta = MemoryMeta(self)
        self.accounts = MemoryAccounts(self)

    def __enter__(self) -> MemoryUnitOfWork:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.rollback()

    def _begin(self) -> tuple[Tables, Tables]:
        if self._base is None or self._tables is None:
            self._base = self.store.latest
            self._tables = self._base.copy()
        return self._base, self._tables

    @property
    def tables(self) -> Tables:
        """What this transaction sees (it begins at first use): its snapshot and own writes."""
        return self._begin()[1]

    @property
    def base(self) -> Tables:
        """The committed state this transaction began from."""
        return self._begin()[0]

    def write(self, change: Callable[[Tables], R], *, same_at_commit: bool = False) -> R:
        """Make `change` now and again at commit; with `same_at_commit`, a different result
        then (a compare-and-set someone else won meanwhile) is a Conflict."""
        if self.read_only:
            raise RuntimeError("A read-only unit of work must not write.")
        tables = self.tables.copy()  # a failing write leaves no trace, as a failed statement
        result = change(tables)
        self._tables = tables

        def replay(tables: Tables) -> None:
            if change(tables) != result and same_at_commit:
                raise Conflict("A concurrent transaction changed this row first; retry.")

        self._journal.append(replay)
        return result

    def commit(self) -> None:
        journal, self._journal, self._tables, self._base = self._journal, [], None, None
        if journal:
            self.store.publish(journal)

    def rollback(self) -> None:
        self._journal, self._tables, self._base = [], None, None


if TYPE_CHECKING:  # mypy checks here that the fakes fit the ports, structurally
    _store: Store = MemoryStore()
    _uow: UnitOfWork = MemoryUnitOfWork(MemoryStore())


class MemoryJournalWriter:
    """A delivery journal writer (an `engine.ports.JournalWriter`): a unit of work per `add`,
    writing only while `owner` holds the message's lease. Nothing here waits for a disk, so
    `durable` changes nothing."""

    def __init__(self, store: MemoryStore, message_id: str, owner: str) -> None:
        self._store, self._message_id, self._owner = store, message_id, owner

    def add(self, seq: int, entries: Sequence[DeliveryResult], *, durable: bool) -> bool:
        with self._store.unit_of_work() as uow:
            if not uow.messages.journal_add(self._message_id, self._owner, entries):
                return False
            uow.commit()
        return True

    def close(self) -> None:
        """Nothing is held between records."""
