"""The API against its own OpenAPI document: requests generated from /openapi.json (valid and
invalid) never make the server fail (no 5xx), and what it answers has the documented shape.

schemathesis reads the document from the live server (SQLite) and calls every operation as
the operator: at most 15 valid and 10 invalid examples per operation. Its pytest integration
(`schemathesis.pytest.from_fixture`) does not run under pytest 9.2 (it sets the removed
`Function._nodeid`), so each operation's strategy is driven by Hypothesis directly.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.app_helpers import DECLARE, OPERATOR
from tests.web.conftest import Live, serve

API = "/api/v1"
OPERATIONS = [
    "POST /api/v1/incidents",
    "GET /api/v1/incidents",
    "GET /api/v1/incidents/{incident_id}",
    "GET /api/v1/incidents/{incident_id}/actions",
    "POST /api/v1/incidents/{incident_id}/preview",
    "POST /api/v1/incidents/{incident_id}/fire",
    "GET /api/v1/incidents/{incident_id}/events",
    "GET /api/v1/incidents/{incident_id}/messages",
    "POST /api/v1/incidents/{incident_id}/notes",
    "POST /api/v1/incidents/{incident_id}/reports",
    "GET /api/v1/approvals",
    "POST /api/v1/approvals/{approval_id}",
    "GET /api/v1/health",
]
# Operations with something to get wrong besides free-text path parameters (a body, a typed
# or bounded query parameter): only these have invalid requests to generate.
NEGATABLE = [
    "POST /api/v1/incidents",
    "GET /api/v1/incidents",
    "POST /api/v1/incidents/{incident_id}/preview",
    "POST /api/v1/incidents/{incident_id}/fire",
    "POST /api/v1/incidents/{incident_id}/notes",
    "POST /api/v1/incidents/{incident_id}/reports",
    "GET /api/v1/approvals",
    "POST /api/v1/approvals/{approval_id}",
]
EXAMPLES = {GenerationMode.POSITIVE: 15, GenerationMode.NEGATIVE: 10}
CASES = [(label, GenerationMode.POSITIVE) for label in OPERATIONS] + [
    (label, GenerationMode.NEGATIVE) for label in NEGATABLE
]


@dataclass(frozen=True)
class Fuzzed:
    live: Live
    schema: schemathesis.BaseSchema
    known: dict[str, str]  # path parameters that name things that exist
    session: requests.Session


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    """One served application for the module, with an incident and an open request to find,
    and the OpenAPI document it publishes."""
    folder: Path = tmp_path_factory.mktemp("api-fuzz")
    for live in serve(folder, f"sqlite:///{folder / 'driftplan.db'}"):
        operator = live.client(OPERATOR)
        incident = operator.post(f"{API}/incidents", json={"data": DECLARE}).json()["id"]
        asked = operator.post(
            f"{API}/incidents/{incident}/fire", json={"trigger": "enter_total_reserve"}
        )
        known = {"incident_id": incident, "approval_id": asked.json()["approval_id"]}
        schema = schemathesis.openapi.from_url(f"{live.url}/openapi.json")
        with requests.Session() as session:
            yield Fuzzed(live, schema, known, session)


def test_the_document_lists_the_fuzzed_operations(fuzzed: Fuzzed) -> None:
    """Every operation of the document is fuzzed here (a new route needs a line above)."""
    found = {
        f"{op.method.upper()} {op.path}"
        for result in fuzzed.schema.get_all_operations()
        for op in [result.ok()]
    }
    assert found == set(OPERATIONS)


@pytest.mark.parametrize(("label", "mode"), CASES, ids=[f"{m}:{label}" for label, m in CASES])
def test_no_generated_request_makes_the_server_fail(
    fuzzed: Fuzzed, label: str, mode: GenerationMode
) -> None:
    """No request generated for this operation (data that fits the document, or data that
    does not) gets a 5xx, and each answer matches the response schema the document gives for
    its status. Path parameters are generated, or name the incident and request that exist."""
    method, path = label.split()
    operation = fuzzed.schema[path][method]
    known = {k: v for k, v in fuzzed.known.items() if "{" + k + "}" in path}
    strategies = [operation.as_strategy(mode)]
    if known:
        strategies.append(operation.as_strategy(mode, path_parameters=known))
    headers = {"Authorization": f"Bearer {fuzzed.live.token(OPERATOR)}"}

    @settings(
        max_examples=EXAMPLES[mode],
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(case=st.one_of(strategies))
    def call(case: schemathesis.Case) -> None:
        case.call_and_validate(
            base_url=fuzzed.live.url,
            session=fuzzed.session,
            headers=headers,
            checks=[not_a_server_error, response_schema_conformance],
        )

    call()
