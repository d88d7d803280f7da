"""One attempt's delivery journal: each recipient recorded before the next copy goes.

A dispatcher serving a list commits each recipient's result to the message's journal
(`Store.journal_writer`) before it lets the next copy go, in a statement that also
checks that it still holds the message's lease. So a dispatcher killed mid-list leaves behind
exactly who was served, and its successor resends at most the one copy that was in flight (with
the same Message-ID); a dispatcher that lost its lease sends nothing more. When the attempt ends
the results go onto the message row and the journal is emptied.

`AttemptJournal` writes through the store's journal writer (the SQL store's holds one
connection for the attempt: `engine.store.delivery_journal`). Every `durable_every` recipients
a record is committed durably; the others need only survive the process being killed (see
`DispatchPolicy`). `CopyJournal` is the `CopyGate` a channel that reports each copy calls
between copies.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from engine.domain.model import DeliveryResult
from engine.ports import JournalWriter, RecipientResult, Store
from engine.service.delivery_attempt import LeaseLost

__all__ = ["AttemptJournal", "CopyJournal"]


class AttemptJournal:
    """Records one attempt's results as they come; `LeaseLost` when the lease is gone.

    Each record is written before `record` returns, in the caller's thread. (Written on a
    thread of its own while the next copy's MAIL and RCPT went to the server, a record cost the
    fan-out more, not less: measured with a local relay, the handing over between threads ate
    what the overlap saved; see bench/README.md, bench_inform.py.)
    """

    def __init__(self, store: Store, message_id: str, owner: str, durable_every: int) -> None:
        self._writer: JournalWriter = store.journal_writer(message_id, owner)
        self._durable_every = max(1, durable_every)
        self.count = 0  # entries written so far (the next one's number)

    def record(self, entries: Sequence[DeliveryResult]) -> None:
        if not entries:
            return
        after = self.count + len(entries)
        # Durable when this record reaches the next multiple of `durable_every`.
        durable = after // self._durable_every > self.count // self._durable_every
        if not self._writer.add(self.count, entries, durable=durable):
            raise LeaseLost
        self.count = after

    def close(self) -> None:
        self._writer.close()


class CopyJournal:
    """The gate between a channel's copies: each copy's result recorded as soon as it is known
    (so before the next copy goes), and the lease checked before each copy is delivered.

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

    def copied(self, result: RecipientResult) -> None:
        self.results.append(result)
        self._journal.record([self._entry(result)])
