"""The whole SAMSA outage through the REST API only, on SQLite and on PostgreSQL.

Declared by an operator, taken to partial reserve by two sub-regional decisions, widened by a
phone decision recorded for a third sub-region, taken to total reserve by the chair, restored,
followed up and closed; the log and the messages endpoints show every decision, and the
requests to the approvers carry their own decision links and the requester's name.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from engine.definition import loader
from tests.app_helpers import DECLARE, OPERATOR
from tests.web.conftest import Live

API = "/api/v1"


def ok(response: httpx.Response, status: int = 200) -> Any:
    """The JSON body of a response that must have `status`."""
    assert response.status_code == status, (response.status_code, response.text)
    return response.json()


def fire(client: httpx.Client, incident_id: str, trigger: str, **data: Any) -> dict[str, Any]:
    body = {"trigger": trigger, "data": data}
    result: dict[str, Any] = ok(client.post(f"{API}/incidents/{incident_id}/fire", json=body))
    return result


def decide(client: httpx.Client, approval_id: str, **body: Any) -> dict[str, Any]:
    result: dict[str, Any] = ok(
        client.post(f"{API}/approvals/{approval_id}", json={"decision": "approve", **body})
    )
    return result


def approver_requests(live: Live, incident_id: str, approval_id: str) -> dict[str, str]:
    """The body of each approval request message of `approval_id`, by recipient person."""
    out: dict[str, str] = {}
    for message in live.app.service.messages(incident_id):
        if approval_id not in message.cause and approval_id not in message.body_text:
            continue
        for recipient in message.recipients:
            if recipient.person_id:
                out[recipient.person_id] = message.body_text
    return out


def test_the_whole_samsa_outage_runs_through_the_api(live: Live) -> None:
    """Declare, partial reserve (two sub-regional approvals), a phone decision, total reserve
    (the chair), restore, follow-up and close all work through /api/v1 alone."""
    operator = live.client(OPERATOR)

    created = operator.post(f"{API}/incidents", json={"data": DECLARE})
    incident = ok(created, 201)
    incident_id = incident["id"]
    assert created.headers["location"] == f"{API}/incidents/{incident_id}"
    assert (incident["state"], incident["result"]) == ("outage", "done")
    assert ok(operator.get(created.headers["location"]))["data"]["scope"] == DECLARE["scope"]

    update = fire(operator, incident_id, "post_update", details="Leverantören felsöker.")
    assert (update["result"], update["state"], update["approval_id"]) == ("done", "outage", None)

    # Partial reserve: one decision per named sub-region.
    asked = fire(
        operator, incident_id, "enter_partial_reserve", reserve_subregions=["fyrbodal", "skaraborg"]
    )
    assert (asked["result"], asked["state"]) == ("pending_approval", "outage")
    partial = asked["approval_id"]
    shown = ok(operator.get(f"{API}/incidents/{incident_id}"))
    assert [a["id"] for a in shown["pending_approvals"]] == [partial]

    johan, eva = live.client("johan.berg"), live.client("eva.holm")
    [mine] = ok(johan.get(f"{API}/approvals", params={"mine": "true"}))
    assert (mine["id"], mine["can_decide"], mine["requested_by_name"]) == (
        partial,
        True,
        "Anna Andersson",
    )
    first = decide(johan, partial, comment="Fyrbodal går över.")
    # Each sub-region's decision takes effect when it is made (`apply: per_slot`).
    assert (first["result"], first["state"]) == ("approved", "partial_reserve")
    assert ok(operator.get(f"{API}/incidents/{incident_id}"))["reserve_subregions"] == ["fyrbodal"]
    assert ok(johan.get(f"{API}/approvals")) == []  # nothing left for Johan to decide
    second = decide(eva, partial, comment="Skaraborg också.")
    assert (second["result"], second["state"]) == ("approved", "partial_reserve")
    assert ok(operator.get(f"{API}/incidents/{incident_id}"))["reserve_subregions"] == [
        "fyrbodal",
        "skaraborg",
    ]

    # A third sub-region, decided by phone and recorded by the operator.
    more = fire(
        operator, incident_id, "add_reserve_subregion", reserve_subregions=["sodra_alvsborg"]
    )
    assert more["result"] == "pending_approval"
    phone = decide(
        operator,
        more["approval_id"],
        on_behalf_of="per.ek",
        reference="Telefon 09.55, +46 70 000 00 23",
        comment="Per Ek beslutade per telefon.",
    )
    assert (phone["result"], phone["state"]) == ("approved", "partial_reserve")
    assert ok(operator.get(f"{API}/incidents/{incident_id}"))["reserve_subregions"] == [
        "fyrbodal",
        "skaraborg",
        "sodra_alvsborg",
    ]

    # Total reserve: the chair decides.
    total = fire(operator, incident_id, "enter_total_reserve", details="Alla berörs.")
    assert total["result"] == "pending_approval"
    chair = live.client("margareta.lund")
    chaired = decide(chair, total["approval_id"], comment="Beslutat.")
    assert (chaired["result"], chaired["state"]) == ("approved", "total_reserve")
    assert ok(operator.get(f"{API}/incidents/{incident_id}"))["crisis"] is True

    # Restored, followed up, closed.
    assert fire(operator, incident_id, "restore", resolved_at="2025-03-04T15:00")["state"] == (
        "restored"
    )
    assert fire(operator, incident_id, "start_follow_up")["state"] == "follow_up"
    recorded = fire(
        operator,
        incident_id,
        "record_follow_up",
        feedback_summary="Reservrutinen fungerade.",
        evaluation_summary="Utvärderat med leverantören.",
        lessons_learned="Testa reservrutinen varje kvartal.",
    )
    assert recorded["state"] == "follow_up"
    assert fire(operator, incident_id, "close")["state"] == "closed"

    open_ids = [i["id"] for i in ok(operator.get(f"{API}/incidents"))]
    all_ids = [i["id"] for i in ok(operator.get(f"{API}/incidents", params={"all": "true"}))]
    assert incident_id not in open_ids
    assert incident_id in all_ids
    closed = ok(operator.get(f"{API}/incidents", params={"all": "true", "state": "closed"}))
    assert [i["id"] for i in closed] == [incident_id]

    # The log holds every transition and every decision, the phone one with its recorder.
    events = ok(operator.get(f"{API}/incidents/{incident_id}/events"))
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)
    moves = [e["to_state"] for e in events if e["from_state"] != e["to_state"] and e["to_state"]]
    assert moves == [
        "outage",
        "partial_reserve",
        "total_reserve",
        "restored",
        "follow_up",
        "closed",
    ]
    decisions = [e for e in events if e["kind"] == "decision"]
    assert [(e["actor"], e["data"]["decided_by"]) for e in decisions] == [
        ("johan.berg", "johan.berg"),
        ("eva.holm", "eva.holm"),
        (OPERATOR, "per.ek"),
        ("margareta.lund", "margareta.lund"),
    ]
    by_phone = decisions[2]["data"]
    assert by_phone["recorded_by"] == OPERATOR
    assert by_phone["reference"] == "Telefon 09.55, +46 70 000 00 23"
    assert by_phone["approval_id"] == more["approval_id"]
    assert decisions[0]["data"]["comment"] == "Fyrbodal går över."

    messages = ok(operator.get(f"{API}/incidents/{incident_id}/messages"))
    assert {m["channel"] for m in messages} >= {
        "login_page",
        "support_email",
        "staff_email",
        "crisis_email",
    }
    assert all(isinstance(m["recipients"], int) for m in messages)  # counts, no addresses

    # The approvers' requests: a personal link each, and the requester by name.
    for approval_id, approvers in [
        (partial, {"johan.berg", "eva.holm"}),
        (total["approval_id"], {"margareta.lund", "olof.strand"}),
    ]:
        requests = approver_requests(live, incident_id, approval_id)
        assert approvers <= set(requests), (approval_id, sorted(requests))
        links = set()
        for person in approvers:
            body = requests[person]
            assert "Anna Andersson" in body, body
            assert OPERATOR not in body, body
            [link] = [w for w in body.split() if w.startswith(f"{live.url}/beslut/l/")]
            links.add(link)
        assert len(links) == len(approvers)  # one link per person


def test_reading_does_not_parse_the_plan_again(
    live_sqlite: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the plan file is unchanged, authenticated reads reuse the loaded plan instead of
    parsing and checking the YAML on every request."""
    operator = live_sqlite.client(OPERATOR)
    declared = operator.post(f"{API}/incidents", json={"data": DECLARE})
    incident_id = ok(declared, 201)["id"]
    parsed: list[str] = []
    real = loader.parse_definition

    def counting(text: Any, source: str, **kwargs: Any) -> Any:
        parsed.append(source)
        return real(text, source, **kwargs)

    monkeypatch.setattr(loader, "parse_definition", counting)
    for path in ["", f"/{incident_id}", f"/{incident_id}/events", f"/{incident_id}/messages"]:
        ok(operator.get(f"{API}/incidents{path}"))
    ok(operator.get(f"{API}/approvals", params={"mine": "false"}))
    assert parsed == []
