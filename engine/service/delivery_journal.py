"""One attempt's delivery journal: each recipient recorded before the next copy goes.

A dispatcher serving a list commits each recipient's result to the message's journal
(`MessageRepository.journal_add`) before it lets the next copy go, in a statement that also
checks that it still holds the message's lease. So a dispatcher killed mid-list leaves behind
exactly who was served, and its successor resends at most the one copy that was in flight (with
the same Message-ID); a dispatcher that lost its lease sends nothing more. When the attempt ends
the results go onto the message row and the journal is emptied.

`AttemptJournal` writes through the store's own writer where it has one (the SQL store holds
one connection for the attempt: `engine.store.delivery_journal`), otherwise through a unit of
work per record. Every `durable_every` recipients a record is committed durably; the others
need only survive the process being killed (see `DispatchPolicy`). `CopyJournal` is the
`CopyGate` a channel that reports each copy calls between copies.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait

from engine.domain.model import DeliveryResult
from engine.ports import JournalStore, JournalWriter, RecipientResult, Store
from engine.service.delivery_attempt import LeaseLost

__all__ = ["AttemptJournal", "CopyJournal", "UnitJournalWriter"]


class UnitJournalWriter:
    """A journal writer over plain units of work, for stores without one of their own."""

    def __init__(self, store: Store, message_id: str, owner: str) -> None:
        self._store = store
        self._message_id = message_id
        self._owner = owner

    def add(self, seq: int, entries: Sequence[DeliveryResult], *, durable: bool) -> bool:
        with self._store.unit_of_work() as uow:
            if not uow.messages.journal_add(self._message_id, self._owner, seq, entries):
                return False
            uow.commit()
        return True

    def close(self) -> None:
        """Nothing is held between records."""


class AttemptJournal:
    """Records one attempt's results as they come; `LeaseLost` when the lease is gone.

    With `background`, records are written on a thread of their own (which also owns the
    writer: a SQLite connection stays in the thread that opened it) while the caller goes on,
    and `settle` waits for the latest. The e-mail channel settles just before each copy's DATA,
    so a record is written while the next copy's MAIL and RCPT go back and forth with the
    server: each copy is still recorded before the next one is delivered, and recording costs
    the fan-out almost nothing (inline it was a quarter of the time of a local relay).
    """

    def __init__(
        self,
        store: Store,
        message_id: str,
        owner: str,
        durable_every: int,
        *,
        background: bool = False,
    ) -> None:
        self._store = store
        self._message_id = message_id
        self._owner = owner
        self._durable_every = max(1, durable_every)
        self._writer: JournalWriter | None = None
        self._thread = (
            ThreadPoolExecutor(1, thread_name_prefix="delivery-journal") if background else None
        )
        self._pending: Future[bool] | None = None
        self.count = 0  # entries handed over so far (the next one's number)

    def record(self, entries: Sequence[DeliveryResult]) -> None:
        """Write the entries and wait for them."""
        self.record_later(entries)
        self.settle()

    def record_later(self, entries: Sequence[DeliveryResult]) -> None:
        """Hand the entries over (after the previous ones are written); `settle` waits."""
        self.settle()
        if not entries:
            return
        after = self.count + len(entries)
        # Durable when this record reaches the next multiple of `durable_every`.
        durable = after // self._durable_every > self.count // self._durable_every
        args = (self.count, list(entries), durable)
        if self._thread is None:
            self._pending = Future()
            try:
                self._pending.set_result(self._write(*args))
            except Exception as exc:
                self._pending.set_exception(exc)
        else:
            self._pending = self._thread.submit(self._write, *args)
        self.count = after

    def settle(self) -> None:
        """Wait for the latest record; `LeaseLost` if the lease was gone, or its error."""
        pending, self._pending = self._pending, None
        if pending is not None and not pending.result():
            raise LeaseLost

    def close(self) -> None:
        """Wait for what is pending (its outcome is the caller's `settle`'s to report) and
        release the writer."""
        pending, self._pending = self._pending, None
        if pending is not None:
            wait([pending])
        if self._thread is None:
            self._close_writer()
            return
        self._thread.submit(self._close_writer).result()
        self._thread.shutdown()

    def _write(self, seq: int, entries: list[DeliveryResult], durable: bool) -> bool:
        if self._writer is None:
            store, message_id, owner = self._store, self._message_id, self._owner
            self._writer = (
                store.journal_writer(message_id, owner)
                if isinstance(store, JournalStore)
                else UnitJournalWriter(store, message_id, owner)
            )
        return self._writer.add(seq, entries, durable=durable)

    def _close_writer(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class CopyJournal:
    """The gate between a channel's copies: each copy's result handed to the journal as soon
    as it is known, and before the next copy is delivered the lease checked and that record
    waited for.

    `results` keeps what was reported, for an attempt that ends in an exception before the
    channel's own report (those recipients were served all the same).
    """

    def __init__(
        self,
        journal: AttemptJournal,
        *,
        lease_lost: Callable[[], bool],
        entry: Callable[[RecipientResult], DeliveryResult],
    ) -> None:
        self._journal = journal
        self._lease_lost = lease_lost
        self._entry = entry
        self.results: list[RecipientResult] = []

    def before_copy(self) -> None:
        if self._lease_lost():
            raise LeaseLost
        self._journal.settle()  # the previous copy is recorded before this one is delivered

    def copied(self, result: RecipientResult) -> None:
        self.results.append(result)
        self._journal.record_later([self._entry(result)])
