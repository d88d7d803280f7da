"""The dispatcher's delivery journal in the store, on SQLite and PostgreSQL.

Recording a recipient is one statement that appends to the journal only while the dispatcher
holds the message's lease, in a unit of work that does not wait for the disk at commit
(`Database.relaxed_unit_of_work`): what a killed process committed survives, and the relaxed
setting stays with that one transaction.
"""

from __future__ import annotations

import sqlalchemy as sa

from engine.domain.model import DeliveryResult, RecipientStatus
from engine.ports.store import RelaxedStore
from engine.service.delivery_attempt import journal_key, journal_piece, read_journal
from engine.store import Database
from tests.integration.test_store_repositories import T0, add_incident, make_message


def durability(db: Database, *, relaxed: bool) -> str:
    """The commit setting a writing transaction of this kind runs with."""
    unit = db.relaxed_unit_of_work() if relaxed else db.unit_of_work()
    query = "PRAGMA synchronous" if db.dialect == "sqlite" else "SHOW synchronous_commit"
    with unit as uow:
        value = str(uow.execute(sa.text(query)).scalar_one())
        uow.commit()
    return value


def test_relaxed_commits_apply_to_their_own_transaction_only(db: Database) -> None:
    """A relaxed unit of work commits without waiting for the disk (SQLite NORMAL, PostgreSQL
    synchronous_commit off), and the next ordinary one on the same pool is durable again."""
    assert isinstance(db, RelaxedStore)
    relaxed, durable = ("1", "2") if db.dialect == "sqlite" else ("off", "on")
    assert durability(db, relaxed=False) == durable
    assert durability(db, relaxed=True) == relaxed
    assert durability(db, relaxed=False) == durable
    assert durability(db, relaxed=True) == relaxed


def entry(address: str) -> DeliveryResult:
    return DeliveryResult(address, RecipientStatus.SENT, "250", T0.isoformat(), 1)


def test_journal_appends_only_while_the_lease_is_held(db: Database) -> None:
    """Appends by the lease holder accumulate in order and read back as results; an append by
    a dispatcher that lost the lease writes nothing and says so."""
    add_incident(db)
    with db.unit_of_work() as uow:
        uow.messages.add(make_message("M-1"))
        [claimed] = uow.messages.claim_due(T0, "first", 60)
        uow.commit()
    key = journal_key(claimed.id)
    for address in ("a@x.se", "b@x.se"):
        with db.relaxed_unit_of_work() as uow:
            assert uow.messages.journal_append(key, journal_piece([entry(address)]), "M-1", "first")
            uow.commit()
    with db.relaxed_unit_of_work() as uow:
        assert not uow.messages.journal_append(key, journal_piece([entry("c@x.se")]), "M-1", "x")
        uow.commit()
    with db.unit_of_work(read_only=True) as uow:
        assert read_journal(uow.meta.get(key)) == [entry("a@x.se"), entry("b@x.se")]


def test_a_journal_that_was_never_started_is_not_created_without_the_lease(db: Database) -> None:
    """The first append of a dispatcher without the lease creates no journal row."""
    add_incident(db)
    with db.unit_of_work() as uow:
        uow.messages.add(make_message("M-1"))
        uow.commit()
    with db.relaxed_unit_of_work() as uow:
        assert not uow.messages.journal_append("j:M-1", ",{}", "M-1", "nobody")
        uow.commit()
    with db.unit_of_work(read_only=True) as uow:
        assert uow.meta.get("j:M-1") is None


def test_journals_written_whole_are_still_read() -> None:
    """A journal stored as one JSON list (as written before appends) reads as the same results."""
    old = '[{"address": "a@x.se", "status": "sent", "detail": "250", "at": "t", "attempt": 1}]'
    assert read_journal(old) == read_journal(journal_piece(read_journal(old)))
    assert read_journal("") == [] and read_journal(None) == []
