"""The API's refusals: each error is an RFC 9457 problem with the right status, and a repeated
POST with an `Idempotency-Key` runs once.

Statuses: 401 without valid credentials, 403 without the plan's role (written to the
incident's log), 404 for what does not exist, 409 for the wrong state or a closed request,
422 for a request the plan or the body's shape refuses. One served application (SQLite) serves
the module; the NUL-character tests run on both databases, because PostgreSQL is where it hurts.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from engine.web.auth import SESSION_COOKIE
from tests.app_helpers import DECLARE, EXAMPLE_DIRECTORY, OPERATOR
from tests.web.conftest import Live, serve

API = "/api/v1"
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """One served application (SQLite) for the module; each test declares its own incident."""
    folder: Path = tmp_path_factory.mktemp("api-errors")
    yield from serve(folder, f"sqlite:///{folder / 'driftplan.db'}")


@pytest.fixture(scope="module")
def awaiting_chair(server: Live) -> tuple[str, str]:
    """An incident whose total-reserve request waits for the chair: (incident, approval)."""
    incident_id = declare(server)
    asked = fire(server.client(OPERATOR), incident_id, "enter_total_reserve")
    assert asked.status_code == 200, asked.text
    return incident_id, asked.json()["approval_id"]


def count(live: Live) -> int:
    """How many open incidents there are."""
    return len(live.app.service.incidents())


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The problem details of `response`, checked to be a well-formed `status` problem."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith(PROBLEM), response.headers
    body: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail"} <= set(body), body
    assert body["status"] == status
    assert body["type"].startswith("tag:driftplan,2026:problem/")
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def declare(live: Live, person: str = OPERATOR) -> str:
    response = live.client(person).post(f"{API}/incidents", json={"data": DECLARE})
    assert response.status_code == 201, response.text
    incident_id: str = response.json()["id"]
    return incident_id


def fire(client: httpx.Client, incident_id: str, trigger: str, **data: Any) -> httpx.Response:
    return client.post(
        f"{API}/incidents/{incident_id}/fire", json={"trigger": trigger, "data": data}
    )


def events(live: Live, incident_id: str) -> list[dict[str, Any]]:
    response = live.client(OPERATOR).get(f"{API}/incidents/{incident_id}/events")
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


def field_names(body: dict[str, Any]) -> set[str]:
    return {e["field"] for e in body.get("errors", [])}


# ---------------------------------------------------------------------------------- 401


def test_no_bad_malformed_or_revoked_credentials_are_401_with_a_challenge(
    server: Live,
) -> None:
    """Without a token, with an unknown or malformed one, or with a revoked one, the API
    answers 401 problem+json with a WWW-Authenticate Bearer challenge (health stays open)."""
    live = server
    made = live.app.service.accounts.create_token(OPERATOR, "soon revoked")
    assert live.client().get(f"{API}/incidents", headers=bearer(made.secret)).status_code == 200
    live.app.service.accounts.revoke_token(OPERATOR, made.token.id)

    anonymous = live.client()
    before = count(live)
    cases = {
        "none": {},
        "unknown": bearer("dp_00000000_not-a-real-token"),
        "empty": {"Authorization": "Bearer"},
        "basic": {"Authorization": "Basic YW5uYTpzZWNyZXQ="},
        "revoked": bearer(made.secret),
    }
    for name, headers in cases.items():
        for method, path in [
            ("GET", f"{API}/incidents"),
            ("POST", f"{API}/incidents"),
            ("GET", f"{API}/approvals"),
            ("POST", f"{API}/approvals/A-00000000"),
        ]:
            response = anonymous.request(method, path, headers=headers, json={"data": DECLARE})
            body = problem(response, 401)
            assert response.headers["www-authenticate"].startswith("Bearer"), (name, path)
            assert "token" in body["detail"].lower(), (name, body)
    assert count(live) == before  # nothing was declared on the way
    assert anonymous.get(f"{API}/health").status_code == 200


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def session_client(live: Live, person: str) -> tuple[httpx.Client, str]:
    """A client signed in with a browser session (no token), and the session's CSRF token."""
    signed_in = live.app.service.accounts.sign_in(person, live.password(person))
    client = live.client()
    client.cookies.set(SESSION_COOKIE, signed_in.secret)
    return client, signed_in.session.csrf


def test_a_session_needs_its_csrf_token_for_unsafe_requests(server: Live) -> None:
    """With a session cookie, reading works as is; a POST without the session's
    X-CSRF-Token (or with another) is 403 and runs nothing, with it the POST runs."""
    live = server
    browser, csrf = session_client(live, OPERATOR)
    assert browser.get(f"{API}/incidents").status_code == 200
    before = count(live)
    for headers in ({}, {"X-CSRF-Token": "not-the-token"}):
        refused = browser.post(f"{API}/incidents", json={"data": DECLARE}, headers=headers)
        assert "security token" in problem(refused, 403)["detail"]
    assert count(live) == before
    made = browser.post(f"{API}/incidents", json={"data": DECLARE}, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201, made.text
    assert count(live) == before + 1


def test_credentials_of_someone_no_longer_in_the_directory_are_401(
    server: Live, tmp_path: Path
) -> None:
    """When a person leaves the directory, their API token and their session stop working:
    401, as for any credentials that are no longer valid (not 404 about the directory)."""
    live = server
    token_client = live.client("sara.karlsson")
    browser, _ = session_client(live, "sara.karlsson")
    assert token_client.get(f"{API}/incidents").status_code == 200
    raw = yaml.safe_load(EXAMPLE_DIRECTORY.read_text("utf-8"))
    raw["people"] = [p for p in raw["people"] if p["id"] != "sara.karlsson"]
    raw["lists"]["involved_parties"] = [
        m for m in raw["lists"]["involved_parties"] if m.get("person") != "sara.karlsson"
    ]
    shutil.copytree(EXAMPLE_DIRECTORY.parent / "lists", tmp_path / "lists")
    without = tmp_path / "directory.yaml"
    without.write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    live.app.service.directory.import_file(without)
    try:
        wrong = []
        for name, client in [("token", token_client), ("session", browser)]:
            for method, path in [("GET", f"{API}/incidents"), ("GET", f"{API}/approvals")]:
                response = client.request(method, path)
                if response.status_code != 401:
                    wrong.append(f"{name} {method} {path}: {response.status_code}")
        assert not wrong, wrong
    finally:
        live.app.service.directory.import_file(EXAMPLE_DIRECTORY)


# ---------------------------------------------------------------------------------- 403


def test_firing_without_the_role_is_403_and_logged_as_refused(server: Live) -> None:
    """Cerner Support may not take the incident to total reserve: 403 naming the roles that
    may, nothing changes, and the refusal is in the incident's log."""
    live = server
    incident_id = declare(live)
    supplier = live.client("cerner.support")
    body = problem(fire(supplier, incident_id, "enter_total_reserve"), 403)
    assert body["type"].endswith("/forbidden")
    assert "operator" in body["detail"] and "council_chair" in body["detail"]

    shown = live.client(OPERATOR).get(f"{API}/incidents/{incident_id}").json()
    assert (shown["state"], shown["pending_approvals"]) == ("outage", [])
    [refused] = [e for e in events(live, incident_id) if e["kind"] == "refused"]
    assert (refused["actor"], refused["trigger"]) == ("cerner.support", "enter_total_reserve")
    assert refused["data"]["error"] == "NotAuthorized"


def test_deciding_without_the_role_is_403_and_logged_as_refused(server: Live) -> None:
    """An administrator without a deciding role cannot decide a sub-regional request, nor can
    the decider of another sub-region; both refusals are logged and the request stays open."""
    live = server
    incident_id = declare(live)
    operator = live.client(OPERATOR)
    asked = fire(operator, incident_id, "enter_partial_reserve", reserve_subregions=["fyrbodal"])
    approval_id = asked.json()["approval_id"]
    for person in ["karin.lindqvist", "eva.holm"]:
        response = live.client(person).post(
            f"{API}/approvals/{approval_id}", json={"decision": "approve"}
        )
        assert "subregional_decider" in problem(response, 403)["detail"]
    refused = [e for e in events(live, incident_id) if e["kind"] == "refused"]
    assert [(e["actor"], e["trigger"]) for e in refused] == [
        ("karin.lindqvist", f"decide:{approval_id}"),
        ("eva.holm", f"decide:{approval_id}"),
    ]
    [still] = operator.get(f"{API}/incidents/{incident_id}").json()["pending_approvals"]
    assert still["id"] == approval_id


def test_recording_a_phone_decision_needs_a_recorder_role_and_a_reference(
    server: Live,
) -> None:
    """Only an operator may record a decision on someone's behalf (403 for others), and only
    with a reference (409, the request stays open)."""
    live = server
    incident_id = declare(live)
    operator = live.client(OPERATOR)
    asked = fire(operator, incident_id, "enter_total_reserve")
    approval_id = asked.json()["approval_id"]
    on_behalf = {"decision": "approve", "on_behalf_of": "margareta.lund"}
    supplier = live.client("cerner.support")
    body = problem(
        supplier.post(f"{API}/approvals/{approval_id}", json={**on_behalf, "reference": "tel"}),
        403,
    )
    assert "operator" in body["detail"]
    body = problem(operator.post(f"{API}/approvals/{approval_id}", json=on_behalf), 409)
    assert "reference" in body["detail"]
    shown = operator.get(f"{API}/incidents/{incident_id}").json()
    assert shown["state"] == "outage" and len(shown["pending_approvals"]) == 1


# ---------------------------------------------------------------------------------- 404


def test_unknown_incidents_and_approvals_are_404(server: Live) -> None:
    """Every route on an incident or approval that does not exist answers 404."""
    operator = server.client(OPERATOR)
    missing = f"{API}/incidents/20250304-ffffff"
    for method, path, body in [
        ("GET", missing, None),
        ("GET", f"{missing}/actions", None),
        ("GET", f"{missing}/events", None),
        ("GET", f"{missing}/messages", None),
        ("POST", f"{missing}/fire", {"trigger": "post_update", "data": {}}),
        ("POST", f"{missing}/preview", {"trigger": "post_update", "data": {}}),
        ("POST", f"{API}/approvals/A-ffffffff", {"decision": "approve"}),
    ]:
        response = operator.request(method, path, json=body)
        assert problem(response, 404)["instance"] == path, (method, path)
    assert problem(operator.get(f"{API}/no-such-resource"), 404)["type"].endswith("/http")


# ---------------------------------------------------------------------------------- 409


def test_a_trigger_not_possible_in_the_state_is_409(server: Live) -> None:
    """Closing an incident that is still an outage is 409, naming what is possible now."""
    live = server
    incident_id = declare(live)
    body = problem(fire(live.client(OPERATOR), incident_id, "start_follow_up"), 409)
    assert body["type"].endswith("/wrong-state")
    assert "outage" in body["detail"] and "restore" in body["detail"]


def test_deciding_a_decided_request_is_409(server: Live) -> None:
    """Once the chair approved, a second decision (the vice chair's or the chair's again) is
    409 and the incident stays where the first decision took it."""
    live = server
    incident_id = declare(live)
    operator = live.client(OPERATOR)
    approval_id = fire(operator, incident_id, "enter_total_reserve").json()["approval_id"]
    chair = live.client("margareta.lund")
    first = chair.post(f"{API}/approvals/{approval_id}", json={"decision": "approve"})
    assert first.json()["state"] == "total_reserve", first.text
    for person in ["margareta.lund", "olof.strand"]:
        response = live.client(person).post(
            f"{API}/approvals/{approval_id}", json={"decision": "reject"}
        )
        body = problem(response, 409)
        assert body["type"].endswith("/approval-closed")
        assert approval_id in body["detail"]
    assert operator.get(f"{API}/incidents/{incident_id}").json()["state"] == "total_reserve"


def test_deciding_an_expired_request_is_409(server: Live) -> None:
    """A request past its expiry (4 h for total reserve) cannot be decided: 409 naming the
    expiry, and the incident stays where it was."""
    live = server
    incident_id = declare(live)
    operator = live.client(OPERATOR)
    approval_id = fire(operator, incident_id, "enter_total_reserve").json()["approval_id"]
    start = live.clock.now()
    live.clock.advance(timedelta(hours=4, minutes=1))
    try:
        response = live.client("margareta.lund").post(
            f"{API}/approvals/{approval_id}", json={"decision": "approve"}
        )
        assert "expired" in problem(response, 409)["detail"]
    finally:
        live.clock.set(start)
    assert operator.get(f"{API}/incidents/{incident_id}").json()["state"] == "outage"


# ---------------------------------------------------------------------------------- 422


@pytest.mark.parametrize(
    ("path", "body", "slug", "fields"),
    [
        pytest.param(
            "declare",
            {"data": {k: v for k, v in DECLARE.items() if k != "scope"}},
            "missing-field",
            {"scope"},
            id="missing-required-field",
        ),
        pytest.param(
            "fire",
            {"trigger": "withdraw", "data": {}},
            "missing-field",
            {"withdrawal_reason"},
            id="missing-required-field-of-trigger",
        ),
        pytest.param(
            "declare",
            {"data": DECLARE, "priority": "high"},
            "invalid-request",
            {"priority"},
            id="unknown-body-field",
        ),
        pytest.param(
            "fire",
            {"trigger": 3, "data": {}},
            "invalid-request",
            {"trigger"},
            id="wrong-type",
        ),
        pytest.param(
            "fire",
            {"data": {}},
            "invalid-request",
            {"trigger"},
            id="missing-body-field",
        ),
        pytest.param(
            "fire",
            {"trigger": "post_update", "data": []},
            "invalid-request",
            {"data"},
            id="data-not-an-object",
        ),
        pytest.param(
            "fire",
            {"trigger": "launch_rockets", "data": {}},
            "unknown-trigger",
            {"trigger"},
            id="unknown-trigger",
        ),
        pytest.param(
            "fire",
            {"trigger": "post_update", "data": {"colour": "red"}},
            "invalid-field",
            {"colour"},
            id="unknown-plan-field",
        ),
        pytest.param(
            "fire",
            {"trigger": "enter_partial_reserve", "data": {"reserve_subregions": ["atlantis"]}},
            "invalid-field",
            {"reserve_subregions"},
            id="unknown-choice",
        ),
        pytest.param(
            "fire",
            {"trigger": "post_update", "data": {"total_it_breakdown": "perhaps"}},
            "invalid-field",
            {"total_it_breakdown"},
            id="wrong-plan-field-type",
        ),
        pytest.param(
            "decision",
            {"decision": "maybe"},
            "invalid-request",
            {"decision"},
            id="decision-not-approve-or-reject",
        ),
    ],
)
def test_invalid_requests_are_422_naming_the_field(
    server: Live,
    awaiting_chair: tuple[str, str],
    path: str,
    body: dict[str, Any],
    slug: str,
    fields: set[str],
) -> None:
    """A request the body's shape or the plan refuses is 422 whose `errors` name the field;
    nothing changes."""
    live = server
    incident_id, approval_id = awaiting_chair
    operator = live.client(OPERATOR)
    before, incidents_before = events(live, incident_id), count(live)
    url = {
        "declare": f"{API}/incidents",
        "fire": f"{API}/incidents/{incident_id}/fire",
        "decision": f"{API}/approvals/{approval_id}",
    }[path]
    found = problem(operator.post(url, json=body), 422)
    assert found["type"].endswith("/" + slug), found
    assert fields <= field_names(found), found
    for name in fields:
        assert name in found["detail"], found
    assert events(live, incident_id) == before
    assert count(live) == incidents_before


def test_a_body_that_is_not_json_is_422(server: Live) -> None:
    """A body that does not parse as JSON is a 422 problem, not a crash."""
    operator = server.client(OPERATOR)
    response = operator.post(
        f"{API}/incidents", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    problem(response, 422)


# ---------------------------------------------------------------------------------- idempotency


def test_a_repeated_post_with_the_same_key_is_replayed_once(server: Live) -> None:
    """The same key and body return the first response, marked `Idempotent-Replayed: true`,
    and only one incident exists."""
    live = server
    operator = live.client(OPERATOR)
    key = {"Idempotency-Key": "7f1b0d3e-declare"}
    before = count(live)
    first = operator.post(f"{API}/incidents", json={"data": DECLARE}, headers=key)
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    again = operator.post(f"{API}/incidents", json={"data": DECLARE}, headers=key)
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["content-type"].startswith("application/json")
    assert again.json() == first.json()
    assert count(live) == before + 1
    events_of = live.client(OPERATOR).get(f"{API}/incidents/{first.json()['id']}/events")
    assert [e["kind"] for e in events_of.json()].count("declare") == 1


def test_a_replayed_declaration_keeps_its_location(server: Live) -> None:
    """The replay of a 201 carries the same Location header as the first response."""
    operator = server.client(OPERATOR)
    key = {"Idempotency-Key": "7f1b0d3e-location"}
    first = operator.post(f"{API}/incidents", json={"data": DECLARE}, headers=key)
    again = operator.post(f"{API}/incidents", json={"data": DECLARE}, headers=key)
    assert again.headers.get("location") == first.headers["location"]


def test_a_refusal_is_replayed_too(server: Live) -> None:
    """A refused POST repeated with its key gets the same problem again, marked replayed,
    without running (no second refusal in the log)."""
    live = server
    incident_id = declare(live)
    supplier = live.client("cerner.support")
    key = {"Idempotency-Key": "refused-once"}
    body = {"trigger": "enter_total_reserve", "data": {}}
    url = f"{API}/incidents/{incident_id}/fire"
    first = supplier.post(url, json=body, headers=key)
    again = supplier.post(url, json=body, headers=key)
    assert problem(again, 403) == problem(first, 403)
    assert again.headers["idempotent-replayed"] == "true"
    assert [e["kind"] for e in events(live, incident_id)].count("refused") == 1


def test_the_same_key_with_another_body_is_422(server: Live) -> None:
    """A key reused for a different request is refused (422) and runs nothing."""
    live = server
    operator = live.client(OPERATOR)
    key = {"Idempotency-Key": "reused"}
    made = operator.post(f"{API}/incidents", json={"data": DECLARE}, headers=key)
    assert made.status_code == 201, made.text
    before = count(live)
    other = {"data": {**DECLARE, "scope": "Något helt annat"}}
    body = problem(operator.post(f"{API}/incidents", json=other, headers=key), 422)
    assert "Idempotency-Key" in body["detail"]
    # The same body on another path is another request as well.
    fired = fire_with_key(operator, made.json()["id"], key)
    assert "Idempotency-Key" in problem(fired, 422)["detail"]
    assert count(live) == before


def fire_with_key(client: httpx.Client, incident_id: str, key: dict[str, str]) -> httpx.Response:
    return client.post(
        f"{API}/incidents/{incident_id}/fire",
        json={"trigger": "post_update", "data": {}},
        headers=key,
    )


def test_a_key_belongs_to_its_person(server: Live) -> None:
    """Another person's use of the same key is a request of its own: both run."""
    live = server
    key = {"Idempotency-Key": "shared-key"}
    before = count(live)
    first = live.client(OPERATOR).post(f"{API}/incidents", json={"data": DECLARE}, headers=key)
    second = live.client("erik.johansson").post(
        f"{API}/incidents", json={"data": DECLARE}, headers=key
    )
    assert (first.status_code, second.status_code) == (201, 201)
    assert "idempotent-replayed" not in second.headers
    assert first.json()["id"] != second.json()["id"]
    assert count(live) == before + 2


@pytest.mark.parametrize("key", ["x" * 201, "tab\tkey"], ids=["too-long", "not-printable"])
def test_an_unusable_key_is_422(server: Live, key: str) -> None:
    """A key longer than 200 characters or with control characters is refused; nothing runs."""
    live = server
    before = count(live)
    response = live.client(OPERATOR).post(
        f"{API}/incidents", json={"data": DECLARE}, headers={"Idempotency-Key": key}
    )
    assert "Idempotency-Key" in problem(response, 422)["detail"]
    assert count(live) == before


# ---------------------------------------------------------------------------------- NUL


def test_a_nul_character_in_an_id_is_404_not_a_crash(live: Live) -> None:
    """An incident or approval id with a NUL character names nothing: 404 on both databases
    (PostgreSQL cannot even compare such a string, and must not answer 500)."""
    wrong = []
    for method, path, body in [
        ("GET", f"{API}/incidents/a%00b", None),
        ("GET", f"{API}/incidents/a%00b/events", None),
        ("POST", f"{API}/incidents/a%00b/fire", {"trigger": "post_update", "data": {}}),
        ("POST", f"{API}/approvals/A-%00", {"decision": "approve"}),
    ]:
        response = live.client(OPERATOR).request(method, path, json=body)
        if response.status_code != 404:
            wrong.append(f"{method} {path}: {response.status_code}")
    assert not wrong, wrong


def test_a_nul_character_in_text_is_refused_naming_the_field(live: Live) -> None:
    """A plan field's text with a NUL character is refused with 422 naming the field, on both
    databases; nothing is stored."""
    incident_id = declare(live)
    before = events(live, incident_id)
    wrong = []
    for url, body, field in [
        (f"{API}/incidents", {"data": {**DECLARE, "scope": "SAMSA\x00nere"}}, "scope"),
        (
            f"{API}/incidents/{incident_id}/fire",
            {"trigger": "post_update", "data": {"details": "x\x00y"}},
            "details",
        ),
    ]:
        response = live.client(OPERATOR).post(url, json=body)  # a 500 closes its connection
        if response.status_code != 422:
            wrong.append(f"{field}: {response.status_code}")
        elif field not in field_names(response.json()):
            wrong.append(f"{field}: not named in {response.json()}")
    assert not wrong, wrong
    assert events(live, incident_id) == before
