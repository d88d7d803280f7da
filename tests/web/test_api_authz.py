"""Who may call which API route: the expected status of every route for every kind of caller,
written out as one table, so that a change in the rules shows up as a failing cell.

One application serves the whole module (SQLite); it holds one incident in `outage` with an
open partial-reserve request for Fyrbodal and Skaraborg. Every row is a test of its own that
calls the route as each caller and reports every cell that differs, not only the first.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.app_helpers import DECLARE, OPERATOR
from tests.web.conftest import Live, serve

API = "/api/v1"

# The callers (columns): who they are in examples/directory.yaml.
CALLERS: dict[str, str | None] = {
    "operator": OPERATOR,  # operator
    "admin": "karin.lindqvist",  # admin only
    "supplier": "cerner.support",  # supplier_support
    "decider": "johan.berg",  # subregional_decider for Fyrbodal
    "chair": "margareta.lund",  # council_chair
    "vgr_it": "lars.nilsson",  # vgr_it
    "nobody": None,  # no credentials
}

# {i} is the module's incident, {a} its open partial-reserve request. Columns: operator,
# admin, supplier, decider, chair, vgr_it, nobody (as in CALLERS).
# fmt: off
MATRIX: dict[str, tuple[int, ...]] = {
    #                                                    oper adm  sup  dec  chr  vgr  none
    "GET /incidents":                                    (200, 200, 200, 200, 200, 200, 401),
    "GET /incidents?all=true&state=outage":              (200, 200, 200, 200, 200, 200, 401),
    "POST /incidents declare":                           (201, 403, 201, 403, 403, 201, 401),
    "GET /incidents/{i}":                                (200, 200, 200, 200, 200, 200, 401),
    "GET /incidents/{i}/actions":                        (200, 200, 200, 200, 200, 200, 401),
    "GET /incidents/{i}/events":                         (200, 200, 200, 200, 200, 200, 401),
    "GET /incidents/{i}/messages":                       (200, 200, 200, 200, 200, 200, 401),
    "POST /incidents/{i}/preview post_update":           (200, 403, 200, 403, 403, 200, 401),
    "POST /incidents/{i}/preview enter_total_reserve":   (200, 403, 403, 403, 200, 403, 401),
    "POST /incidents/{i}/preview enter_partial_reserve": (200, 403, 403, 200, 403, 403, 401),
    "POST /incidents/{i}/preview restore":               (200, 403, 200, 403, 403, 403, 401),
    "POST /incidents/{i}/fire post_update":              (200, 403, 200, 403, 403, 200, 401),
    "POST /incidents/{i}/notes note":                    (201, 403, 201, 201, 201, 201, 401),
    "POST /incidents/{i}/reports report":                (201, 403, 201, 201, 201, 201, 401),
    "GET /approvals":                                    (200, 200, 200, 200, 200, 200, 401),
    "GET /approvals?mine=false":                         (200, 200, 200, 200, 200, 200, 401),
    "POST /approvals/{a} approve":                       (403, 403, 403, 200, 403, 403, 401),
    "GET /health":                                       (200, 200, 200, 200, 200, 200, 200),
}
# fmt: on

# What each POST row sends.
BODIES: dict[str, dict[str, Any]] = {
    "declare": {"data": DECLARE},
    "post_update": {"trigger": "post_update", "data": {"details": "Läget är oförändrat."}},
    "enter_total_reserve": {"trigger": "enter_total_reserve", "data": {}},
    "enter_partial_reserve": {
        "trigger": "enter_partial_reserve",
        "data": {"reserve_subregions": ["fyrbodal"]},
    },
    "restore": {"trigger": "restore", "data": {"resolved_at": "2025-03-04T12:00"}},
    "approve": {"decision": "approve", "comment": "Fyrbodal går över till reservrutin."},
    "note": {"text": "Cerner felsöker."},
    "report": {"organisation": "NU-sjukvården", "text": "Reservrutin igång.", "via": "phone"},
}


@dataclass(frozen=True)
class World:
    live: Live
    incident: str
    approval: str


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The served application with its incident and open request."""
    folder: Path = tmp_path_factory.mktemp("api-authz")
    for live in serve(folder, f"sqlite:///{folder / 'driftplan.db'}"):
        operator = live.client(OPERATOR)
        declared = operator.post(f"{API}/incidents", json={"data": DECLARE})
        assert declared.status_code == 201, declared.text
        incident = declared.json()["id"]
        asked = operator.post(
            f"{API}/incidents/{incident}/fire",
            json={
                "trigger": "enter_partial_reserve",
                "data": {"reserve_subregions": ["fyrbodal", "skaraborg"]},
            },
        )
        assert asked.json()["result"] == "pending_approval", asked.text
        yield World(live, incident, asked.json()["approval_id"])


def test_the_table_covers_every_api_route(world: World) -> None:
    """Every operation in the OpenAPI document has at least one row in the table."""
    spec = world.live.client().get("/openapi.json").json()
    operations = {
        f"{method.upper()} {path}"
        for path, item in spec["paths"].items()
        if path.startswith(API)
        for method in item
    }
    rows = set()
    for row in MATRIX:
        method, target = row.split()[:2]
        path = target.split("?")[0].replace("{i}", "{incident_id}").replace("{a}", "{approval_id}")
        rows.add(f"{method} {API}{path}")
    assert operations - rows == set()


@pytest.mark.parametrize("row", list(MATRIX))
def test_who_may_call_the_route(world: World, row: str) -> None:
    """Each caller gets the status the table gives for this route (all differing cells are
    reported together); every refusal is a problem document."""
    method, target, *rest = row.split()
    path = API + target.format(i=world.incident, a=world.approval)
    body = BODIES[rest[0]] if rest else None
    wrong = []
    for (caller, person), expected in zip(CALLERS.items(), MATRIX[row], strict=True):
        response = world.live.client(person).request(method, path, json=body)
        if response.status_code != expected:
            wrong.append(f"{caller}: expected {expected}, got {response.status_code}")
        elif expected >= 400 and not response.headers["content-type"].startswith(
            "application/problem+json"
        ):
            wrong.append(f"{caller}: {expected} is not a problem document")
    assert not wrong, f"{row}:\n  " + "\n  ".join(wrong)


def test_the_module_incident_is_unchanged_by_the_matrix(world: World) -> None:
    """Previews change nothing: after every row ran, only the one decision made (Fyrbodal's)
    took effect — Fyrbodal is on the reserve routine — and the request still waits for
    Skaraborg."""
    shown = world.live.client(OPERATOR).get(f"{API}/incidents/{world.incident}").json()
    assert shown["state"] == "partial_reserve"
    assert shown["reserve_subregions"] == ["fyrbodal"]
    [pending] = shown["pending_approvals"]
    assert pending["id"] == world.approval
