"""Pages of the incident list, read by keyset on SQLite and PostgreSQL: the order, the cursor,
the cap on closed incidents and the counts; the in-memory fake store answering alike; and a
page that is an index range however many incidents are stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from engine.domain.model import Incident
from engine.domain.paging import IncidentPage, IncidentQuery
from engine.ports import Store
from engine.store import Database
from tests.fakes import MemoryStore

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
SHA = "b" * 64


def _incident(number: int, *, minutes: int, closed: bool = False) -> Incident:
    return Incident(
        id=f"20261130-{number}",
        workflow="samsa_outage",
        workflow_version="1",
        definition_sha256=SHA,
        state="restored" if closed else "outage",
        state_epoch=1,
        row_version=1,
        data={"scope": f"Avbrott {number}"},
        flags=[],
        fired_rules=[],
        created_at=T0,
        updated_at=T0 + timedelta(minutes=minutes),
        created_by="anna",
        closed=closed,
    )


def _fill(store: Store, incidents: list[Incident]) -> None:
    with store.unit_of_work() as uow:
        uow.definitions.save("samsa_outage", 1, SHA, {"document": {"name": "samsa_outage"}})
        for incident in incidents:
            uow.incidents.add(incident)
        uow.commit()


def _page(store: Store, **query: object) -> IncidentPage:
    with store.unit_of_work(read_only=True) as uow:
        return uow.incidents.page(IncidentQuery(**query))  # type: ignore[arg-type]


def _ids(page: IncidentPage) -> list[str]:
    return [i.id.removeprefix("20261130-") for i in page.items]


# Open 1..6 updated at minute n (6 newest); closed 7..12 updated at minute n.
# 3 and 4 share their minute with 13 and 14 (ties broken by id, descending).
OPEN = [_incident(n, minutes=n) for n in range(1, 7)]
CLOSED = [_incident(n, minutes=n, closed=True) for n in range(7, 13)]
TIES = [_incident(13, minutes=3), _incident(14, minutes=4, closed=True)]


def test_open_ones_come_first_newest_first_with_ties_by_id(db: Database) -> None:
    """All incidents list open before closed, the most recently updated first, ties by id."""
    _fill(db, OPEN + CLOSED + TIES)
    page = _page(db, limit=100, closed=None)
    assert _ids(page) == ["6", "5", "4", "3", "13", "2", "1", "12", "11", "10", "9", "8", "7", "14"]
    assert (page.remaining, page.closed_left_out, page.next) == (0, 0, None)


def test_following_cursors_walks_every_incident_once(db: Database) -> None:
    """Pages of three, each after the previous page's last row, cover the listing exactly."""
    _fill(db, OPEN + CLOSED + TIES)
    seen: list[str] = []
    remaining: list[int] = []
    after = None
    while True:
        page = _page(db, limit=3, closed=None, after=after)
        seen += _ids(page)
        remaining.append(page.remaining)
        if page.next is None:
            break
        after = page.next
    assert seen == ["6", "5", "4", "3", "13", "2", "1", "12", "11", "10", "9", "8", "7", "14"]
    assert remaining == [11, 8, 5, 2, 0]


def test_the_default_cap_keeps_only_the_latest_closed_and_counts_the_rest(db: Database) -> None:
    """A cap of two closed incidents lists every open one and the two latest closed ones, and
    says how many closed ones it left out, on every page."""
    _fill(db, OPEN + CLOSED)
    first = _page(db, limit=5, closed=2)
    assert _ids(first) == ["6", "5", "4", "3", "2"]
    assert (first.remaining, first.closed_left_out) == (3, 4)
    second = _page(db, limit=5, closed=2, after=first.next)
    assert _ids(second) == ["1", "12", "11"]
    assert (second.remaining, second.closed_left_out, second.next) == (0, 4, None)


def test_open_only_counts_every_closed_one_as_left_out(db: Database) -> None:
    """With no closed incidents asked for, the page holds open ones and counts the closed."""
    _fill(db, OPEN + CLOSED)
    page = _page(db, limit=10, closed=0)
    assert _ids(page) == ["6", "5", "4", "3", "2", "1"]
    assert (page.remaining, page.closed_left_out) == (0, 6)


def test_since_and_state_filter_in_the_store(db: Database) -> None:
    """`since` keeps incidents updated at or after it and `state` those in that state, and the
    counts cover only what matches."""
    _fill(db, OPEN + CLOSED)
    recent = _page(db, limit=2, closed=1, since=T0 + timedelta(minutes=5))
    assert _ids(recent) == ["6", "5"]
    assert (recent.remaining, recent.closed_left_out) == (1, 5)  # 12 shown; 7-11 left out
    restored = _page(db, limit=10, closed=None, state="restored")
    assert _ids(restored) == ["12", "11", "10", "9", "8", "7"]


def test_a_page_of_a_large_table_is_an_index_range_on_sqlite(tmp_path: Path) -> None:
    """SQLite plans the page's read as a search of the listing index, not a scan and sort."""
    db = Database(f"sqlite:///{tmp_path}/pages.db")
    db.migrate()
    try:
        query = (
            "SELECT * FROM incidents WHERE closed = 0 AND (updated_at, id) < (?, ?) "
            "ORDER BY updated_at DESC, id DESC LIMIT 50"
        )
        with db.engine.connect() as conn:
            plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {query}", ("2026", "x")).all()
        details = " ".join(str(row[-1]) for row in plan)
        assert "USING INDEX ix_incidents_closed_updated_at_id" in details
        assert "TEMP B-TREE" not in details
    finally:
        db.dispose()


def test_the_listing_index_exists_after_migrating(db: Database) -> None:
    """Migrations create the index that serves the listing order, on both databases."""
    names = {ix["name"] for ix in sa.inspect(db.engine).get_indexes("incidents")}
    assert "ix_incidents_closed_updated_at_id" in names


def test_the_memory_store_pages_as_the_sql_store_does(db: Database) -> None:
    """The fake store gives the same pages as SQL for every cap, size and filter, walked to
    the end by cursor (so use-case tests on the fake see the real listing)."""
    incidents = [_incident(n, minutes=(n * 7) % 5, closed=n % 3 == 0) for n in range(1, 23)]
    memory = MemoryStore()
    _fill(db, incidents)
    _fill(memory, incidents)
    for closed in (0, 1, 4, None):
        for limit in (1, 3, 50):
            for since in (None, T0 + timedelta(minutes=2)):
                for state in (None, "restored"):
                    walks = []
                    for store in (db, memory):
                        pages, after = [], None
                        while True:
                            query = {"closed": closed, "since": since, "state": state}
                            page = _page(store, limit=limit, after=after, **query)
                            pages.append((_ids(page), page.remaining, page.closed_left_out))
                            if page.next is None:
                                break
                            after = page.next
                        walks.append(pages)
                    assert walks[0] == walks[1], (closed, limit, since, state)
