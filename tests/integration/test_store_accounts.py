"""The accounts repository and `approvals.pending()`, on SQLite and PostgreSQL: round trips,
the compare-and-sets of decision links and tokens, idempotency keys under racing requests, and
migration 0003 on a database of the revision before it.

Races run in threads, each with its own unit of work (its own connection and transaction).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from engine.domain.accounts import ApiToken, DecisionLink, StoredResponse, WebSession
from engine.domain.model import Approval, ApprovalSlot, ApprovalStatus, Incident
from engine.errors import Conflict, NotFound
from engine.store import Database
from engine.store.database import HEAD_REVISION, MIGRATIONS

T0 = datetime(2025, 3, 1, 8, 30, 15, 123456, tzinfo=UTC)
SHA = "a" * 64
ACCOUNT_TABLES = {"passwords", "api_tokens", "web_sessions", "decision_links", "idempotency_keys"}
RACERS = 8
# How long a racer keeps its transaction open after its write, so that the others' writes
# really meet it (instead of running after it committed).
HOLD_SECONDS = 0.1
# Long enough for a blocked writer to have run had it not been blocked.
BLOCKED_SECONDS = 0.5


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def token(token_id: str, person_id: str = "anna", minutes: float = 0) -> ApiToken:
    return ApiToken(token_id, person_id, f"token {token_id}", at(minutes))


def link(nonce: str = "N-1") -> DecisionLink:
    return DecisionLink(nonce, "APR-1", "bo", T0, at(60))


def response(request_hash: str = "h1", key: str = "K-1") -> StoredResponse:
    return StoredResponse("anna", key, request_hash, 0, "", T0)


def run_threads(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run work(i) in `count` threads started together; return the results (or errors)."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def main(i: int) -> None:
        barrier.wait(timeout=30)
        try:
            results[i] = work(i)
        except Exception as error:  # handed to the test, which fails on it
            results[i] = error

    threads = [threading.Thread(target=main, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def in_background(work: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    """Start work() in a thread; the dict gets its "result" or "error"."""
    outcome: dict[str, Any] = {}

    def main() -> None:
        try:
            outcome["result"] = work()
        except Exception as error:
            outcome["error"] = error

    thread = threading.Thread(target=main)
    thread.start()
    return thread, outcome


# Passwords


def test_a_password_is_none_until_set_and_setting_again_replaces_it(db: Database) -> None:
    with db.unit_of_work() as uow:
        assert uow.accounts.password_hash("anna") is None
        uow.accounts.set_password("anna", "$argon2id$one", T0)
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.accounts.password_hash("anna") == "$argon2id$one"
        uow.accounts.set_password("anna", "$argon2id$two", at(1))
        uow.commit()
    with db.unit_of_work(read_only=True) as uow:
        assert uow.accounts.password_hash("anna") == "$argon2id$two"
        assert uow.accounts.password_hash("bo") is None
    with db.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT person_id FROM passwords")).scalars().all()
    assert rows == ["anna"]  # replaced, not added


def test_two_first_passwords_set_at_once_both_succeed(db: Database) -> None:
    """Setting a password is an upsert: racing first-timers do not hit a duplicate key."""

    def work(i: int) -> None:
        with db.unit_of_work() as uow:
            uow.accounts.set_password("anna", f"hash-{i}", at(i))
            time.sleep(HOLD_SECONDS)
            uow.commit()

    assert run_threads(RACERS, work) == [None] * RACERS
    with db.unit_of_work(read_only=True) as uow:
        assert uow.accounts.password_hash("anna") in {f"hash-{i}" for i in range(RACERS)}


# API tokens


def test_tokens_round_trip_by_secret_and_by_person_oldest_first(db: Database) -> None:
    with db.unit_of_work() as uow:
        uow.accounts.add_token(token("T-2", minutes=5), "secret-2")
        uow.accounts.add_token(token("T-1"), "secret-1")
        uow.accounts.add_token(token("T-3", person_id="bo"), "secret-3")
        uow.commit()
    with db.unit_of_work(read_only=True) as uow:
        assert uow.accounts.token_by_hash("secret-1") == token("T-1")
        assert uow.accounts.token_by_hash("secret-3") == token("T-3", person_id="bo")
        assert uow.accounts.token_by_hash("nope") is None
        assert uow.accounts.tokens("anna") == [token("T-1"), token("T-2", minutes=5)]
        assert uow.accounts.tokens("carl") == []


def test_a_token_is_revoked_once_and_still_found_by_its_secret(db: Database) -> None:
    with db.unit_of_work() as uow:
        uow.accounts.add_token(token("T-1"), "secret-1")
        uow.accounts.add_token(token("T-2"), "secret-2")
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.accounts.revoke_token("T-1", at(10)) is True
        assert uow.accounts.revoke_token("T-1", at(20)) is False
        assert uow.accounts.revoke_token("T-9", at(20)) is False
        uow.commit()
    with db.unit_of_work(read_only=True) as uow:
        revoked = uow.accounts.token_by_hash("secret-1")
        assert revoked is not None and not revoked.active
        assert revoked.revoked_at == at(10)  # the second revocation changed nothing
        assert [t.active for t in uow.accounts.tokens("anna")] == [False, True]


def test_a_taken_token_id_or_secret_is_a_conflict_that_keeps_the_transaction(
    db: Database,
) -> None:
    with db.unit_of_work() as uow:
        uow.accounts.add_token(token("T-1"), "secret-1")
        uow.commit()
    with db.unit_of_work() as uow:
        with pytest.raises(Conflict, match="API token 'T-1' already exists"):
            uow.accounts.add_token(token("T-1"), "secret-other")
        with pytest.raises(Conflict):
            uow.accounts.add_token(token("T-2"), "secret-1")
        uow.accounts.add_token(token("T-3"), "secret-3")  # the transaction goes on
        uow.commit()
    with db.unit_of_work(read_only=True) as uow:
        assert [t.id for t in uow.accounts.tokens("anna")] == ["T-1", "T-3"]


def test_of_racing_revocations_exactly_one_wins(db: Database) -> None:
    with db.unit_of_work() as uow:
        uow.accounts.add_token(token("T-1"), "secret-1")
        uow.commit()

    def work(i: int) -> bool:
        with db.unit_of_work() as uow:
            revoked = uow.accounts.revoke_token("T-1", at(i))
            time.sleep(HOLD_SECONDS)
            uow.commit()
            return revoked

    results = run_threads(RACERS, work)
    assert sorted(results) == [False] * (RACERS - 1) + [True]


# Browser sessions


def test_sessions_round_trip_and_are_deleted(db: Database) -> None:
    session = WebSession("anna", "csrf-1", T0, at(60))
    with db.unit_of_work() as uow:
        uow.accounts.add_session("s-1", session)
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.accounts.session("s-1") == session
        assert uow.accounts.session("s-2") is None
        with pytest.raises(Conflict):
            uow.accounts.add_session("s-1", WebSession("bo", "csrf-2", T0, at(60)))
        uow.accounts.delete_session("s-1")
        uow.accounts.delete_session("s-2")  # no such session: no error
        uow.commit()
    with db.unit_of_work(read_only=True) as uow:
        assert uow.accounts.session("s-1") is None


def test_expired_sessions_are_deleted_up_to_and_including_now(db: Database) -> None:
    with db.unit_of_work() as uow:
        for name, minutes in (("past", -1), ("now", 0), ("later", 1)):
            uow.accounts.add_session(name, WebSession("anna", name, at(-60), at(minutes)))
        uow.commit()
    with db.unit_of_work() as uow:
        # A `now` in another zone is the same instant.
        assert (
            uow.accounts.delete_expired_sessions(T0.astimezone(timezone(timedelta(hours=2)))) == 2
        )
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.accounts.session("past") is None and uow.accounts.session("now") is None
        assert uow.accounts.session("later") is not None
        assert uow.accounts.delete_expired_sessions(T0) == 0


# Decision links


def test_a_link_round_trips_and_is_used_once(db: Database) -> None:
    with db.unit_of_work() as uow:
        uow.accounts.add_link(link())
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.accounts.link("N-1") == link()
        assert uow.accounts.link("N-2") is None
        with pytest.raises(Conflict, match="Decision link 'N-1' already exists"):
            uow.accounts.add_link(link())
        assert uow.accounts.use_link("N-1", at(5)) is True
        assert uow.accounts.use_link("N-1", at(6)) is False
        assert uow.accounts.use_link("N-2", at(6)) is False
        uow.commit()
    with db.unit_of_work(read_only=True) as uow:
        used = uow.accounts.link("N-1")
        assert used is not None and used.used_at == at(5)


def test_of_racing_uses_of_one_link_exactly_one_wins(db: Database) -> None:
    with db.unit_of_work() as uow:
        uow.accounts.add_link(link())
        uow.commit()

    def work(i: int) -> bool:
        with db.unit_of_work() as uow:
            used = uow.accounts.use_link("N-1", at(i))
            time.sleep(HOLD_SECONDS)
            uow.commit()
            return used

    results = run_threads(RACERS, work)
    assert sorted(results) == [False] * (RACERS - 1) + [True]
    with db.unit_of_work(read_only=True) as uow:
        used = uow.accounts.link("N-1")
        assert used is not None and used.used_at == at(results.index(True))


@pytest.mark.parametrize("first_commits", [True, False])
def test_a_second_use_waits_for_the_first_and_then_sees_its_outcome(
    db: Database, first_commits: bool
) -> None:
    """The second use blocks while the first is open; it loses if the first commits, and
    wins if the first rolls back."""
    with db.unit_of_work() as uow:
        uow.accounts.add_link(link())
        uow.commit()

    def second() -> bool:
        with db.unit_of_work() as uow:
            used = uow.accounts.use_link("N-1", at(2))
            uow.commit()
            return used

    with db.unit_of_work() as first:
        assert first.accounts.use_link("N-1", at(1)) is True
        thread, outcome = in_background(second)
        thread.join(timeout=BLOCKED_SECONDS)
        assert thread.is_alive(), outcome  # waiting for the first writer
        if first_commits:
            first.commit()
    thread.join(timeout=30)
    assert outcome == {"result": not first_commits}
    with db.unit_of_work(read_only=True) as uow:
        used = uow.accounts.link("N-1")
        assert used is not None and used.used_at == (at(1) if first_commits else at(2))


# Idempotency keys


def test_a_key_is_claimed_once_finished_and_then_answers_every_claim(db: Database) -> None:
    with db.unit_of_work() as uow:
        assert uow.accounts.claim_key(response("h1")) is None
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.accounts.claim_key(response("h2")) == response("h1")  # in progress
        assert uow.accounts.claim_key(response("h2", key="K-2")) is None  # another key
        assert uow.accounts.claim_key(StoredResponse("bo", "K-1", "h3", 0, "", T0)) is None
        uow.accounts.finish_key("anna", "K-1", 201, '{"id": "INC-1"}')
        uow.commit()
    with db.unit_of_work() as uow:
        finished = StoredResponse("anna", "K-1", "h1", 201, '{"id": "INC-1"}', T0)
        assert uow.accounts.claim_key(response("h2")) == finished
        uow.accounts.release_key("anna", "K-1")  # finished: stays the answer
        assert uow.accounts.claim_key(response("h2")) == finished
        with pytest.raises(NotFound, match="'K-9' of anna was not claimed"):
            uow.accounts.finish_key("anna", "K-9", 200, "")


def test_a_released_key_can_be_claimed_again(db: Database) -> None:
    with db.unit_of_work() as uow:
        assert uow.accounts.claim_key(response("h1")) is None
        uow.commit()
    with db.unit_of_work() as uow:
        uow.accounts.release_key("anna", "K-1")
        uow.accounts.release_key("anna", "K-9")  # never claimed: no error
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.accounts.claim_key(response("h2")) is None
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.accounts.claim_key(response("h3")) == response("h2")


def test_of_racing_claims_of_one_key_exactly_one_inserts_and_the_rest_see_it(
    db: Database,
) -> None:
    def work(i: int) -> StoredResponse | None:
        with db.unit_of_work() as uow:
            found = uow.accounts.claim_key(response(f"h{i}"))
            time.sleep(HOLD_SECONDS)
            uow.commit()
            return found

    results = run_threads(RACERS, work)
    winners = [i for i, result in enumerate(results) if result is None]
    assert len(winners) == 1, results
    assert [r for r in results if r is not None] == [response(f"h{winners[0]}")] * (RACERS - 1)


@pytest.mark.parametrize("first_commits", [True, False])
def test_a_second_claim_waits_for_the_first_and_then_sees_its_outcome(
    db: Database, first_commits: bool
) -> None:
    """A claim of a key another open transaction claimed waits; it gets that row if the
    other commits, and inserts its own if the other rolls back (never a duplicate-key error)."""

    def second() -> StoredResponse | None:
        with db.unit_of_work() as uow:
            found = uow.accounts.claim_key(response("h2"))
            uow.commit()
            return found

    with db.unit_of_work() as first:
        assert first.accounts.claim_key(response("h1")) is None
        thread, outcome = in_background(second)
        thread.join(timeout=BLOCKED_SECONDS)
        assert thread.is_alive(), outcome  # waiting for the first writer
        if first_commits:
            first.commit()
    thread.join(timeout=30)
    assert outcome == {"result": response("h1") if first_commits else None}
    with db.unit_of_work() as uow:
        stored = uow.accounts.claim_key(response("h3"))
        assert stored == response("h1" if first_commits else "h2")


# Datetimes


def test_datetimes_come_back_in_utc_and_naive_ones_are_refused(db: Database) -> None:
    plus_two = timezone(timedelta(hours=2))
    local = T0.astimezone(plus_two)
    with db.unit_of_work() as uow:
        uow.accounts.add_link(DecisionLink("N-1", "APR-1", "bo", local, local))
        uow.accounts.add_token(ApiToken("T-1", "anna", "ci", local), "secret-1")
        uow.commit()
    with db.unit_of_work() as uow:
        stored = uow.accounts.link("N-1")
        assert stored is not None and stored.created_at == T0 and stored.created_at.tzinfo == UTC
        found = uow.accounts.token_by_hash("secret-1")
        assert found is not None and found.created_at.tzinfo == UTC
        naive = datetime(2025, 3, 1, 8, 0)
        with pytest.raises(ValueError, match=r"naive|timezone-aware"):
            uow.accounts.use_link("N-1", naive)
        with pytest.raises(ValueError, match=r"naive|timezone-aware"):
            uow.accounts.set_password("anna", "h", naive)
        with pytest.raises(ValueError, match=r"naive|timezone-aware"):
            uow.accounts.add_session("s", WebSession("anna", "c", naive, naive))


# Pending approvals


def add_incident(uow: Any, incident_id: str, *, closed: bool = False) -> None:
    uow.incidents.add(
        Incident(
            incident_id,
            "samsa_outage",
            "1",
            SHA,
            "outage",
            1,
            1,
            {},
            [],
            [],
            T0,
            T0,
            "anna",
            closed=closed,
        )
    )


def approval(approval_id: str, incident_id: str, minutes: float, status: str) -> Approval:
    return Approval(
        id=approval_id,
        incident_id=incident_id,
        trigger="enter_total_reserve",
        requested_by="anna",
        requested_at=at(minutes),
        payload={},
        slots=[ApprovalSlot(("council_chair",))],
        status=ApprovalStatus(status),
        expires_at=None,
        state_epoch=1,
    )


def test_pending_lists_the_pending_requests_of_open_incidents_oldest_first(
    db: Database,
) -> None:
    with db.unit_of_work() as uow:
        uow.definitions.save("samsa_outage", 1, SHA, {})
        add_incident(uow, "INC-1")
        add_incident(uow, "INC-2")
        add_incident(uow, "INC-3", closed=True)
        for row in (
            approval("A-late", "INC-1", 3, "pending"),
            approval("A-early", "INC-2", 1, "pending"),
            approval("A-tie", "INC-1", 1, "pending"),  # same time: by id
            approval("A-approved", "INC-1", 0, "approved"),
            approval("A-rejected", "INC-2", 0, "rejected"),
            approval("A-expired", "INC-2", 0, "expired"),
            approval("A-closed", "INC-3", 0, "pending"),
        ):
            uow.approvals.add(row)
        uow.commit()
    with db.unit_of_work(read_only=True) as uow:
        pending = uow.approvals.pending()
    assert [a.id for a in pending] == ["A-early", "A-tie", "A-late"]
    assert pending[0] == approval("A-early", "INC-2", 1, "pending")


def test_pending_is_empty_without_requests(db: Database) -> None:
    with db.unit_of_work(read_only=True) as uow:
        assert uow.approvals.pending() == []


# Migration 0003


def alembic(db: Database, action: Callable[[Config, str], None], revision: str) -> None:
    """Run an Alembic command on `db` the way Database.migrate() does (env.py needs the
    connection handed in)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        config.attributes["audit_key"] = db.audit_key
        action(config, revision)


def tables(db: Database) -> set[str]:
    return set(sa.inspect(db.engine).get_table_names())


def test_migration_0003_adds_the_account_tables_to_a_0002_database_and_removes_them(
    database_url: str,
) -> None:
    db = Database(database_url, audit_key=bytes(range(32)))
    try:
        alembic(db, command.upgrade, "0002")
        assert db.schema_status().current == "0002"
        assert not tables(db) & ACCOUNT_TABLES
        assert db.migrate() is True
        assert db.schema_status().up_to_date and db.schema_status().current == HEAD_REVISION
        assert tables(db) >= ACCOUNT_TABLES
        with db.unit_of_work() as uow:
            uow.accounts.add_link(link())
            assert uow.accounts.claim_key(response()) is None
            uow.commit()
        alembic(db, command.downgrade, "0002")
        assert db.schema_status().current == "0002"
        assert not tables(db) & ACCOUNT_TABLES
    finally:
        db.dispose()
