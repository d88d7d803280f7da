"""Racing requests through the real server, on SQLite and on PostgreSQL: one of ten identical
commands wins, the others are told so (409), and a repeated POST under one Idempotency-Key runs
once however many copies arrive together."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx

from tests.app_helpers import DECLARE, OPERATOR
from tests.web.conftest import Live

API = "/api/v1"
RACERS = 10


def race(live: Live, person: str, send: Callable[[httpx.Client], httpx.Response]) -> list[Any]:
    """Run `send` on RACERS threads at once, each with its own client; their responses (or
    the exception a thread met)."""
    clients = [live.client(person) for _ in range(RACERS)]
    for client in clients:  # open every connection before the start
        assert client.get(f"{API}/health").status_code == 200
    barrier = threading.Barrier(RACERS)
    results: list[Any] = [None] * RACERS

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = send(clients[i])
        except Exception as exc:  # a failed request is a result to report, not a lost thread
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads)
    return results


def statuses(results: list[Any]) -> Counter[Any]:
    return Counter(r.status_code if isinstance(r, httpx.Response) else repr(r) for r in results)


def test_ten_concurrent_restores_give_one_transition(live: Live) -> None:
    """Ten operators restoring the same outage at once: one 200, nine 409, one transition in
    the log and one set of restored notices."""
    operator = live.client(OPERATOR)
    declared = operator.post(f"{API}/incidents", json={"data": DECLARE})
    assert declared.status_code == 201, declared.text
    incident_id = declared.json()["id"]
    messages_before = {m.id for m in live.app.service.messages(incident_id)}
    body = {"trigger": "restore", "data": {"resolved_at": "2025-03-04T11:00"}}

    results = race(
        live, OPERATOR, lambda c: c.post(f"{API}/incidents/{incident_id}/fire", json=body)
    )

    assert statuses(results) == Counter({200: 1, 409: RACERS - 1}), [
        r.text if isinstance(r, httpx.Response) else repr(r) for r in results
    ]
    [winner] = [r for r in results if r.status_code == 200]
    assert winner.json()["state"] == "restored"
    for loser in (r for r in results if r.status_code == 409):
        problem = loser.json()
        assert loser.headers["content-type"].startswith("application/problem+json")
        assert problem["status"] == 409 and problem["detail"], problem

    events = operator.get(f"{API}/incidents/{incident_id}/events").json()
    restores = [e for e in events if e["trigger"] == "restore" and e["to_state"] == "restored"]
    assert len(restores) == 1, restores
    assert operator.get(f"{API}/incidents/{incident_id}").json()["state"] == "restored"
    added = [m for m in live.app.service.messages(incident_id) if m.id not in messages_before]
    # The restored state's on_enter: the banner cleared plus four notices, once.
    assert sorted(m.channel for m in added) == sorted(
        ["login_page", "support_email", "website_news", "newsletter", "it_nytt"]
    )


def test_ten_concurrent_posts_with_one_idempotency_key_declare_once(live: Live) -> None:
    """Ten copies of one declaration under one key arriving together make one incident; each
    other copy gets the replay (201, marked) or 409 'still being processed'."""
    key = {"Idempotency-Key": "one-outage-2025-03-04"}
    before = len(live.app.service.incidents())

    results = race(
        live, OPERATOR, lambda c: c.post(f"{API}/incidents", json={"data": DECLARE}, headers=key)
    )

    counted = statuses(results)
    assert set(counted) <= {201, 409}, counted
    created = [r for r in results if r.status_code == 201]
    first = [r for r in created if "idempotent-replayed" not in r.headers]
    assert len(first) == 1, counted
    incident_id = first[0].json()["id"]
    for replay in created:
        assert replay.json()["id"] == incident_id
        if replay is not first[0]:
            assert replay.headers["idempotent-replayed"] == "true"
    for busy in (r for r in results if r.status_code == 409):
        assert "still being processed" in busy.json()["detail"], busy.text
    assert len(live.app.service.incidents()) == before + 1

    # Once it is done, a late copy is a replay of the same incident.
    late = live.client(OPERATOR).post(f"{API}/incidents", json={"data": DECLARE}, headers=key)
    assert (late.status_code, late.headers.get("idempotent-replayed")) == (201, "true")
    assert late.json()["id"] == incident_id
