"""The in-memory accounts and `approvals.pending()` of tests/fakes behave as engine/store's do
(tests/integration/test_store_accounts.py), with the fake's model of concurrency: a unit sees
what others committed after it began where the SQL statement would, and a race decided only
after the call is a Conflict at commit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from engine.domain.accounts import ApiToken, DecisionLink, StoredResponse, WebSession
from engine.domain.model import Approval, ApprovalSlot, ApprovalStatus, Incident
from engine.errors import Conflict, NotFound
from tests.fakes import MemoryStore, MemoryUnitOfWork

T0 = datetime(2025, 3, 1, 8, 30, tzinfo=UTC)
NAIVE = datetime(2025, 3, 1, 8, 30)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def token(token_id: str, person_id: str = "anna", minutes: float = 0) -> ApiToken:
    return ApiToken(token_id, person_id, f"token {token_id}", at(minutes))


def link(nonce: str = "N-1") -> DecisionLink:
    return DecisionLink(nonce, "APR-1", "bo", T0, at(60))


def response(request_hash: str = "h1", key: str = "K-1") -> StoredResponse:
    return StoredResponse("anna", key, request_hash, 0, "", T0)


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


def test_passwords_are_upserted_and_none_until_set(store: MemoryStore) -> None:
    with store.unit_of_work() as uow:
        assert uow.accounts.password_hash("anna") is None
        uow.accounts.set_password("anna", "one", T0)
        uow.accounts.set_password("anna", "two", at(1))
        uow.commit()
    assert store.committed().passwords == {"anna": ("two", at(1))}


def test_tokens_round_trip_revoke_once_and_refuse_taken_ids_and_secrets(
    store: MemoryStore,
) -> None:
    with store.unit_of_work() as uow:
        uow.accounts.add_token(token("T-2", minutes=5), "secret-2")
        uow.accounts.add_token(token("T-1"), "secret-1")
        with pytest.raises(Conflict, match="API token 'T-1' already exists"):
            uow.accounts.add_token(token("T-1"), "secret-9")
        with pytest.raises(Conflict):
            uow.accounts.add_token(token("T-9"), "secret-1")
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.accounts.tokens("anna") == [token("T-1"), token("T-2", minutes=5)]
        assert uow.accounts.revoke_token("T-1", at(10)) is True
        assert uow.accounts.revoke_token("T-1", at(20)) is False
        assert uow.accounts.revoke_token("T-9", at(20)) is False
        uow.commit()
    with store.unit_of_work(read_only=True) as uow:
        revoked = uow.accounts.token_by_hash("secret-1")
        assert revoked is not None and revoked.revoked_at == at(10) and not revoked.active
        assert uow.accounts.token_by_hash("nope") is None


def test_sessions_round_trip_and_expire_up_to_and_including_now(store: MemoryStore) -> None:
    with store.unit_of_work() as uow:
        for name, minutes in (("past", -1), ("now", 0), ("later", 1)):
            uow.accounts.add_session(name, WebSession("anna", name, at(-60), at(minutes)))
        with pytest.raises(Conflict):
            uow.accounts.add_session("now", WebSession("bo", "x", T0, T0))
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.accounts.session("later") == WebSession("anna", "later", at(-60), at(1))
        assert (
            uow.accounts.delete_expired_sessions(T0.astimezone(timezone(timedelta(hours=2)))) == 2
        )
        uow.accounts.delete_session("later")
        uow.accounts.delete_session("never")
        uow.commit()
    assert store.committed().web_sessions == {}


def test_a_link_is_used_once(store: MemoryStore) -> None:
    with store.unit_of_work() as uow:
        uow.accounts.add_link(link())
        with pytest.raises(Conflict, match="Decision link 'N-1' already exists"):
            uow.accounts.add_link(link())
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.accounts.link("N-1") == link()
        assert uow.accounts.use_link("N-1", at(5)) is True
        assert uow.accounts.use_link("N-1", at(6)) is False
        assert uow.accounts.use_link("N-2", at(6)) is False
        uow.commit()
    assert store.committed().decision_links["N-1"].used_at == at(5)


def test_a_use_committed_after_this_unit_began_is_seen(store: MemoryStore) -> None:
    with store.unit_of_work() as uow:
        uow.accounts.add_link(link())
        uow.commit()
    with store.unit_of_work() as late, store.unit_of_work() as first:
        assert late.accounts.link("N-1") == link()  # begun before the other use
        assert first.accounts.use_link("N-1", at(1)) is True
        first.commit()
        assert late.accounts.use_link("N-1", at(2)) is False


def test_of_two_uses_made_before_either_commits_the_second_commit_conflicts(
    store: MemoryStore,
) -> None:
    with store.unit_of_work() as uow:
        uow.accounts.add_link(link())
        uow.accounts.add_token(token("T-1"), "secret-1")
        uow.commit()
    with store.unit_of_work() as one, store.unit_of_work() as two:
        assert one.accounts.use_link("N-1", at(1)) is True
        assert two.accounts.use_link("N-1", at(2)) is True
        one.commit()
        with pytest.raises(Conflict):
            two.commit()
    with store.unit_of_work() as one, store.unit_of_work() as two:
        assert one.accounts.revoke_token("T-1", at(1)) is True
        assert two.accounts.revoke_token("T-1", at(2)) is True
        one.commit()
        with pytest.raises(Conflict):
            two.commit()
    committed = store.committed()
    assert committed.decision_links["N-1"].used_at == at(1)
    assert committed.api_tokens["T-1"][0].revoked_at == at(1)


def test_a_key_is_claimed_once_finished_and_released_only_while_in_progress(
    store: MemoryStore,
) -> None:
    with store.unit_of_work() as uow:
        assert uow.accounts.claim_key(response("h1")) is None
        assert uow.accounts.claim_key(response("h2")) == response("h1")
        uow.commit()
    with store.unit_of_work() as uow:
        uow.accounts.finish_key("anna", "K-1", 201, "{}")
        uow.accounts.release_key("anna", "K-1")  # finished: kept
        with pytest.raises(NotFound, match="'K-9' of anna was not claimed"):
            uow.accounts.finish_key("anna", "K-9", 200, "")
        uow.commit()
    with store.unit_of_work() as uow:
        finished = StoredResponse("anna", "K-1", "h1", 201, "{}", T0)
        assert uow.accounts.claim_key(response("h3")) == finished
        assert uow.accounts.claim_key(response("h3", key="K-2")) is None
        uow.accounts.release_key("anna", "K-2")
        assert uow.accounts.claim_key(response("h4", key="K-2")) is None
        uow.commit()
    assert store.committed().idempotency_keys[("anna", "K-2")] == response("h4", key="K-2")


def test_a_claim_committed_after_this_unit_began_is_seen_unless_this_unit_released_it(
    store: MemoryStore,
) -> None:
    with store.unit_of_work() as late, store.unit_of_work() as first:
        late.accounts.link("nothing")  # begins the transaction
        assert first.accounts.claim_key(response("h1")) is None
        first.commit()
        assert late.accounts.claim_key(response("h2")) == response("h1")
    with store.unit_of_work() as releaser:
        releaser.accounts.release_key("anna", "K-1")
        assert releaser.accounts.claim_key(response("h3")) is None
        releaser.commit()
    assert store.committed().idempotency_keys[("anna", "K-1")] == response("h3")


def test_of_two_claims_made_before_either_commits_the_second_commit_conflicts(
    store: MemoryStore,
) -> None:
    with store.unit_of_work() as one, store.unit_of_work() as two:
        assert one.accounts.claim_key(response("h1")) is None
        assert two.accounts.claim_key(response("h2")) is None
        one.commit()
        with pytest.raises(Conflict):
            two.commit()
    assert store.committed().idempotency_keys[("anna", "K-1")] == response("h1")


def test_nothing_is_visible_before_commit_and_a_rollback_keeps_nothing(store: MemoryStore) -> None:
    with store.unit_of_work() as uow, store.unit_of_work(read_only=True) as reader:
        uow.accounts.add_link(link())
        uow.accounts.set_password("anna", "h", T0)
        assert reader.accounts.link("N-1") is None
        assert reader.accounts.password_hash("anna") is None
    assert store.committed().decision_links == {} and store.committed().passwords == {}


@pytest.mark.parametrize(
    "write",
    [
        lambda uow: uow.accounts.set_password("anna", "h", T0),
        lambda uow: uow.accounts.add_token(token("T-1"), "s"),
        lambda uow: uow.accounts.add_session("s", WebSession("anna", "c", T0, T0)),
        lambda uow: uow.accounts.delete_expired_sessions(T0),
        lambda uow: uow.accounts.add_link(link()),
        lambda uow: uow.accounts.claim_key(response()),
        lambda uow: uow.accounts.release_key("anna", "K-1"),
    ],
)
def test_a_read_only_unit_must_not_write(store: MemoryStore, write: object) -> None:
    with store.unit_of_work(read_only=True) as uow, pytest.raises(RuntimeError, match="read-only"):
        write(uow)  # type: ignore[operator]


def test_naive_datetimes_are_refused_and_others_come_back_in_utc(store: MemoryStore) -> None:
    local = T0.astimezone(timezone(timedelta(hours=2)))
    with store.unit_of_work() as uow:
        uow.accounts.add_link(DecisionLink("N-1", "APR-1", "bo", local, local))
        stored = uow.accounts.link("N-1")
        assert stored is not None and stored.created_at.tzinfo == UTC
        for write in (
            lambda: uow.accounts.use_link("N-1", NAIVE),
            lambda: uow.accounts.set_password("anna", "h", NAIVE),
            lambda: uow.accounts.add_session("s", WebSession("anna", "c", NAIVE, NAIVE)),
            lambda: uow.accounts.revoke_token("T-1", NAIVE),
        ):
            with pytest.raises(ValueError, match="timezone-aware"):
                write()


def _incident(incident_id: str, *, closed: bool = False) -> Incident:
    return Incident(
        incident_id,
        "samsa_outage",
        "1",
        "a" * 64,
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


def _approval(approval_id: str, incident_id: str, minutes: float, status: str) -> Approval:
    return Approval(
        approval_id,
        incident_id,
        "enter_total_reserve",
        "anna",
        at(minutes),
        {},
        [ApprovalSlot(("council_chair",))],
        ApprovalStatus(status),
        None,
        1,
    )


def add_all(uow: MemoryUnitOfWork, *approvals: Approval) -> None:
    for approval in approvals:
        uow.approvals.add(approval)


def test_pending_lists_the_pending_requests_of_open_incidents_oldest_first(
    store: MemoryStore,
) -> None:
    with store.unit_of_work() as uow:
        uow.incidents.add(_incident("INC-1"))
        uow.incidents.add(_incident("INC-2", closed=True))
        add_all(
            uow,
            _approval("A-late", "INC-1", 3, "pending"),
            _approval("A-tie", "INC-1", 1, "pending"),
            _approval("A-early", "INC-1", 1, "pending"),
            _approval("A-approved", "INC-1", 0, "approved"),
            _approval("A-closed", "INC-2", 0, "pending"),
        )
        uow.commit()
    with store.unit_of_work(read_only=True) as uow:
        assert [a.id for a in uow.approvals.pending()] == ["A-early", "A-tie", "A-late"]
