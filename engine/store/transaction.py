"""What a repository sees of its unit of work: the `Transaction` protocol and statement params.

Its own module so that the repositories and the helpers they delegate to (incident_pages) can
both name it without importing each other.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

import sqlalchemy as sa

# Bind values of one statement: one row, or several rows for one executemany.
Params = Mapping[str, Any] | Sequence[Mapping[str, Any]]


class Transaction(Protocol):
    """What a repository needs of its unit of work (`engine.store.unit_of_work.UnitOfWork`)."""

    @property
    def dialect(self) -> str:
        """ "sqlite" or "postgresql"."""
        ...

    @property
    def audit_key(self) -> bytes | None:
        """The key that signs appended events, if any."""
        ...

    def execute(
        self, statement: sa.Executable, params: Params | None = None
    ) -> sa.CursorResult[Any]:
        """Run one statement in the transaction (a list of rows: one executemany)."""
        ...

    def savepoint(self) -> AbstractContextManager[None]:
        """A nested transaction: an error inside it does not doom the whole transaction."""
        ...
