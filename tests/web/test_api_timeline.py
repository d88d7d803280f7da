"""`POST /api/v1/incidents/{id}/notes` and `/reports`, on SQLite and PostgreSQL: the created
event is what the log lists, nothing is sent, the plan decides who may write, errors are
problem details, and an Idempotency-Key writes once."""

from __future__ import annotations

from typing import Any

import httpx

from tests.app_helpers import DECLARE, OPERATOR
from tests.web.conftest import Live

API = "/api/v1"
ADMIN = "karin.lindqvist"  # admin only: may read, is responsible for no stage
REPORT = {
    "organisation": "NU-sjukvården",
    "text": "Reservrutin igång på NÄL sedan 14.10",
    "contact": "Kim Ek, 070-000 00 99",
    "subregion": "fyrbodal",
    "via": "email",
}


def declare(client: httpx.Client) -> str:
    created = client.post(f"{API}/incidents", json={"data": DECLARE})
    assert created.status_code == 201, created.text
    incident: str = created.json()["id"]
    return incident


def events(client: httpx.Client, incident: str) -> list[dict[str, Any]]:
    listed = client.get(f"{API}/incidents/{incident}/events")
    assert listed.status_code == 200, listed.text
    found: list[dict[str, Any]] = listed.json()
    return found


def test_notes_and_reports_are_created_as_logged_and_send_nothing(live: Live) -> None:
    """Each POST answers 201 with the event exactly as GET events then lists it; no message
    is added and the incident's state and data stay."""
    operator = live.client(OPERATOR)
    incident = declare(operator)
    before = operator.get(f"{API}/incidents/{incident}").json()
    messages = len(operator.get(f"{API}/incidents/{incident}/messages").json())

    note = operator.post(f"{API}/incidents/{incident}/notes", json={"text": "Cerner felsöker"})
    report = operator.post(f"{API}/incidents/{incident}/reports", json=REPORT)
    assert (note.status_code, report.status_code) == (201, 201), (note.text, report.text)

    logged = events(operator, incident)
    assert logged[-2:] == [note.json(), report.json()]
    assert note.json()["kind"] == "note" and note.json()["text"] == "Cerner felsöker"
    data = report.json()["data"]
    assert {k: data[k] for k in REPORT} == REPORT
    assert data["origin"] == {"via": "web"}
    assert report.json()["actor_name"] == "Anna Andersson"
    after = operator.get(f"{API}/incidents/{incident}").json()
    assert after == before
    assert len(operator.get(f"{API}/incidents/{incident}/messages").json()) == messages


def test_who_may_not_write_gets_a_problem_and_the_refusal_is_logged(live: Live) -> None:
    """The administrator may read but not write into the timeline: 403 problem details naming
    the roles that may, and a `refused` event; without credentials, 401."""
    incident = declare(live.client(OPERATOR))
    refused = live.client(ADMIN).post(f"{API}/incidents/{incident}/notes", json={"text": "Hej"})
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "operator" in refused.json()["detail"]
    assert "får inte skriva en anteckning" in refused.json()["detail_sv"]
    last = events(live.client(OPERATOR), incident)[-1]
    assert (last["kind"], last["trigger"], last["actor"]) == ("refused", "note", ADMIN)
    anonymous = live.client().post(f"{API}/incidents/{incident}/reports", json=REPORT)
    assert anonymous.status_code == 401


def test_invalid_bodies_and_unknown_incidents_are_problems(live: Live) -> None:
    """Blank text, an unknown sub-region (the plan's are listed), an unknown field and an
    unknown incident answer 422 or 404 as problem details, and write nothing."""
    operator = live.client(OPERATOR)
    incident = declare(operator)
    count = len(events(operator, incident))
    notes, reports = f"{API}/incidents/{incident}/notes", f"{API}/incidents/{incident}/reports"

    blank = operator.post(notes, json={"text": "   "})
    assert blank.status_code == 422
    assert blank.json()["errors"] == [{"field": "text", "message": blank.json()["detail"]}]
    unknown = operator.post(reports, json={**REPORT, "subregion": "narnia"})
    assert unknown.status_code == 422
    assert "fyrbodal (Fyrbodal)" in unknown.json()["detail"]
    assert operator.post(notes, json={"text": "x", "urgent": True}).status_code == 422
    assert operator.post(reports, json={**REPORT, "via": "pigeon"}).status_code == 422
    missing = operator.post(f"{API}/incidents/20250101-nothere/notes", json={"text": "x"})
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert len(events(operator, incident)) == count


def test_an_idempotency_key_writes_one_note(live: Live) -> None:
    """A repeated POST with the same Idempotency-Key and body gets the first answer again and
    leaves one note in the log."""
    operator = live.client(OPERATOR)
    incident = declare(operator)
    key = {"Idempotency-Key": "note-7f1b0d3e"}
    url = f"{API}/incidents/{incident}/notes"
    first = operator.post(url, json={"text": "Läget oförändrat"}, headers=key)
    again = operator.post(url, json={"text": "Läget oförändrat"}, headers=key)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert [e["kind"] for e in events(operator, incident)].count("note") == 1


def test_the_openapi_document_describes_notes_reports_and_events(live: Live) -> None:
    """Both routes are documented with their bodies and the created event's schema, and the
    events listing names the timeline's keys."""
    spec = live.client().get("/openapi.json").json()
    paths = spec["paths"]
    for route, body in [("notes", "NoteBody"), ("reports", "ReportBody")]:
        post = paths[f"{API}/incidents/{{incident_id}}/{route}"]["post"]
        schema = post["requestBody"]["content"]["application/json"]["schema"]
        assert schema["$ref"].endswith(f"/{body}")
        created = post["responses"]["201"]["content"]["application/json"]["schema"]
        assert created["$ref"].endswith("/TimelineEvent")
    event = spec["components"]["schemas"]["TimelineEvent"]["properties"]
    assert {"text", "reference", "changed", "actor_name"} <= set(event)
    assert set(spec["components"]["schemas"]["ReportBody"]["properties"]) == set(REPORT)
