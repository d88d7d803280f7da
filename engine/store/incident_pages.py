"""One page of the incident list, read in SQL by keyset (`engine.domain.paging` has the order).

The listing is two sections, open incidents and then closed ones, each read with
`WHERE closed = ? ... ORDER BY updated_at DESC, id DESC LIMIT ?` after the cursor's position:
the index ix_incidents_closed_updated_at_id serves every such read as a range, so a page reads
about `limit` rows however many incidents are stored, on SQLite and PostgreSQL alike. The
counts a footer needs ("N more", "M closed left out") are index-only counts.

A cap on closed incidents (the N most recently updated) is a lower bound on the closed
section: the position of its N-th row, found by an index scan of N entries.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from engine.domain.model import Incident
from engine.domain.paging import IncidentPage, IncidentQuery, PageKey
from engine.store import tables as t

if TYPE_CHECKING:
    from engine.store.transaction import Transaction

_I = t.incidents
_ORDER = (_I.c.updated_at.desc(), _I.c.id.desc())
# Lower case: ruff reads an upper-case name as a constant and wants it on the right.
_row_position = sa.tuple_(_I.c.updated_at, _I.c.id)


def _at(key: PageKey) -> Any:
    """`key`'s position as bound values, typed as the columns (UTC on every backend)."""
    return sa.tuple_(sa.literal(key.updated_at, t.UTCDateTime()), sa.literal(key.id, sa.String()))


def _section(query: IncidentQuery, closed: bool, floor: PageKey | None) -> list[Any]:
    """The WHERE clauses of one section: its rows that match and lie after the cursor."""
    where: list[Any] = [_I.c.closed.is_(closed)]
    if query.since is not None:
        where.append(_I.c.updated_at >= query.since)
    if query.state is not None:
        where.append(_I.c.state == query.state)
    after = query.after
    if after is not None and after.closed == closed:
        where.append(_row_position < _at(after))
    if floor is not None:
        where.append(_row_position >= _at(floor))
    return where


def _count(uow: Transaction, where: list[Any]) -> int:
    return int(uow.execute(sa.select(sa.func.count()).select_from(_I).where(*where)).scalar_one())


def _closed_floor(uow: Transaction, query: IncidentQuery) -> tuple[PageKey | None, int]:
    """The lowest position the capped closed section reaches (None: no closed row matches),
    and how many matching closed incidents lie below it (left out by the cap)."""
    cap = query.closed
    assert cap is not None and cap > 0  # callers handle 0 and None
    plain = IncidentQuery(since=query.since, state=query.state)
    row = uow.execute(
        sa.select(_I.c.updated_at, _I.c.id)
        .where(*_section(plain, True, None))
        .order_by(*_ORDER)
        .offset(cap - 1)
        .limit(1)
    ).one_or_none()
    if row is None:
        return None, 0  # fewer than `cap` closed incidents match: none is left out
    floor = PageKey(True, row.updated_at, row.id)
    below = IncidentQuery(since=query.since, state=query.state, after=floor)
    return floor, _count(uow, _section(below, True, None))


def read_page(
    uow: Transaction, query: IncidentQuery, incident_of: Callable[[sa.RowMapping], Incident]
) -> IncidentPage:
    """The page `query` asks for, with the counts its footer shows."""
    if query.state is not None and "\x00" in query.state:
        # No stored state holds a NUL, and PostgreSQL refuses one in a parameter: no match.
        return IncidentPage([])
    matching = IncidentQuery(since=query.since, state=query.state)  # no cursor, no cap
    sections: list[tuple[bool, PageKey | None]] = []
    left_out = 0
    if query.after is None or not query.after.closed:
        sections.append((False, None))
    if query.closed is None:
        sections.append((True, None))
    elif query.closed > 0:
        floor, left_out = _closed_floor(uow, query)
        sections.append((True, floor))
    else:
        left_out = _count(uow, _section(matching, True, None))
    items: list[Incident] = []
    remaining = 0
    for closed, floor in sections:
        where = _section(query, closed, floor)
        room = query.limit - len(items)
        if room == 0:  # the page is full: what this section holds is all still to come
            remaining += _count(uow, where)
            continue
        statement = sa.select(_I).where(*where).order_by(*_ORDER).limit(room)
        found = [incident_of(row) for row in uow.execute(statement).mappings()]
        items.extend(found)
        if len(found) == room:
            rest = IncidentQuery(since=query.since, state=query.state, after=PageKey.of(found[-1]))
            remaining += _count(uow, _section(rest, closed, floor))
    return IncidentPage(items, remaining=remaining, closed_left_out=left_out)
