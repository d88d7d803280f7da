"""Statements every command runs, compiled once and run on the transaction's DBAPI cursor.

Through SQLAlchemy Core each execution looks up the compiled cache, builds an execution context
and its parameters, and wraps the cursor in a result: several times what the database needs to
run the statement (bench/bench_commands.py). A `Prepared` statement is compiled once per dialect
and converts each value with its column type's own bind (and result) processor, the same
functions Core calls, so what is stored and read back is exactly what Core would store and read
(tests/integration/test_store_fastpath.py compares the stored bytes on SQLite and PostgreSQL).

The cost: these statements bypass engine events (`before_cursor_execute`, `echo`), so tracing
hooked to the engine does not see them.
"""

from __future__ import annotations

import builtins
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement

from engine.store import tables as t

if TYPE_CHECKING:
    from engine.store.unit_of_work import UnitOfWork

_Processor = Callable[[Any], Any] | None


def _same_as_last(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`process`, answering at once when given the very object it was given last.

    A command stores its one `now` in several columns (created_at, next_attempt_at of every
    message, the event's time, the incident's updated_at). Only for immutable values (datetimes):
    the same object then always converts to the same thing. The memo is one tuple, replaced
    whole, so threads sharing it see an old or a new pair, never half of one.
    """
    last: list[tuple[Any, Any]] = [(object(), None)]

    def memoized(value: Any) -> Any:
        given, converted = last[0]
        if value is given:
            return converted
        converted = process(value)
        last[0] = (value, converted)
        return converted

    return memoized


class _CompiledFor:
    """A `Prepared` statement compiled for one dialect (one engine: processors use its JSON
    serializer), with the bind and result processors of its parameters' and columns' types."""

    def __init__(
        self,
        statement: ClauseElement,
        dialect: sa.Dialect,
        column_keys: Sequence[str] | None,
        result_columns: Sequence[sa.Column[Any]],
    ) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=column_keys)
        if not isinstance(compiled, SQLCompiler) or (
            # Expanding IN and literal binds re-render the SQL per call: not preparable.
            compiled.post_compile_params or compiled.literal_execute_params
        ):
            raise ValueError(f"statement cannot be prepared: {compiled.string}")
        self.dialect = dialect
        self.sql = compiled.string
        self.positional = dialect.positional
        self.names = tuple(
            compiled.positiontup or () if dialect.positional else builtins.list(compiled.binds)
        )
        processed: builtins.list[tuple[int, Callable[[Any], Any]]] = []
        for index, name in enumerate(self.names):
            type_ = compiled.binds[name].type
            process = type_.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                memoizable = isinstance(type_, t.UTCDateTime)
                processed.append((index, _same_as_last(process) if memoizable else process))
        self.processed = tuple(processed)
        self._result_columns = [(c.key, c.type) for c in result_columns]
        self._result_processors: dict[tuple[Any, ...], tuple[_Processor, ...]] = {}

    def params(self, values: Mapping[str, Any]) -> builtins.list[Any] | dict[str, Any]:
        """The driver's parameters, each converted as SQLAlchemy converts it for this column."""
        out = [values[name] for name in self.names]
        for index, process in self.processed:
            out[index] = process(out[index])
        return out if self.positional else dict(zip(self.names, out, strict=True))

    def rows(
        self, rows: Iterable[Sequence[Any]], description: Any
    ) -> builtins.list[dict[str, Any]]:
        """Driver rows as {column key: value}, each value converted as SQLAlchemy converts it."""
        # SQLAlchemy passes the driver's type code to result_processor; so do we.
        codes = tuple(column[1] for column in description or ())
        processors = self._result_processors.get(codes)
        if processors is None:
            processors = tuple(
                type_.dialect_impl(self.dialect).result_processor(self.dialect, code)
                for (_, type_), code in zip(self._result_columns, codes, strict=True)
            )
            self._result_processors[codes] = processors
        keys = [key for key, _ in self._result_columns]
        return [
            {
                key: value if process is None else process(value)
                for key, process, value in zip(keys, processors, row, strict=True)
            }
            for row in rows
        ]


class Prepared:
    """A statement that every command runs, compiled once and run on the DBAPI cursor.

    Through Core, each execution looks up the compiled cache, builds an execution context and
    its parameters, and wraps the cursor in a result: several times what SQLite needs to run the
    statement (bench/bench_commands.py). Here the SQL is compiled once per dialect and each
    value is converted by its column type's own bind (and result) processor — the same
    functions Core calls — so what is stored and read back is exactly what Core would store and
    read (tests/integration/test_store_fastpath.py compares the stored bytes).
    """

    def __init__(
        self,
        statement: ClauseElement,
        *,
        column_keys: Sequence[str] | None = None,
        result_columns: Sequence[sa.Column[Any]] = (),
    ) -> None:
        self._statement = statement
        self._column_keys = column_keys
        self._result_columns = result_columns
        self._by_dialect: weakref.WeakKeyDictionary[sa.Dialect, _CompiledFor] = (
            weakref.WeakKeyDictionary()
        )

    def compiled(self, dialect: sa.Dialect) -> _CompiledFor:
        """This statement for `dialect` (compiled on first use)."""
        found = self._by_dialect.get(dialect)
        if found is None:
            found = _CompiledFor(self._statement, dialect, self._column_keys, self._result_columns)
            self._by_dialect[dialect] = found
        return found

    def run(self, uow: UnitOfWork, values: Mapping[str, Any]) -> int:
        """Execute with one row of values; returns the rowcount."""
        compiled = self.compiled(uow.sa_dialect)
        return uow.run_driver_sql(compiled.sql, compiled.params(values))[0]

    def run_many(self, uow: UnitOfWork, rows: Iterable[Mapping[str, Any]]) -> None:
        """Execute once per row of values, in one executemany (a plain execute for one row:
        psycopg's executemany sets up a pipeline, which costs more than one execute)."""
        compiled = self.compiled(uow.sa_dialect)
        params = [compiled.params(row) for row in rows]
        if len(params) == 1:
            uow.run_driver_sql(compiled.sql, params[0])
        elif params:
            uow.run_driver_sql(compiled.sql, params, many=True)

    def fetch(self, uow: UnitOfWork, values: Mapping[str, Any]) -> builtins.list[dict[str, Any]]:
        """Execute a query; its rows as {column key: value}."""
        compiled = self.compiled(uow.sa_dialect)
        _, rows, description = uow.run_driver_sql(compiled.sql, compiled.params(values), fetch=True)
        return compiled.rows(rows, description)
