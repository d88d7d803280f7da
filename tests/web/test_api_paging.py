"""GET /api/v1/incidents a page at a time: the body stays a list, a `Link: rel="next"` header
carries an opaque cursor, and bad paging parameters are problems, not errors."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from tests.app_helpers import DECLARE, OPERATOR
from tests.web.conftest import Live

API = "/api/v1"


def _walk(client: httpx.Client, **params: str) -> tuple[list[list[str]], list[str]]:
    """Every page's ids, following `Link: rel="next"`; and each Link that was followed."""
    pages: list[list[str]] = []
    links: list[str] = []
    response = client.get(f"{API}/incidents", params=params)
    while True:
        assert response.status_code == 200, response.text
        pages.append([item["id"] for item in response.json()])
        following = response.links.get("next")
        if following is None:
            return pages, links
        links.append(response.headers["Link"])
        response = client.get(following["url"])


def _declare(live: Live, count: int) -> list[str]:
    """Declare `count` incidents a minute apart (the page order is by update time)."""
    ids = []
    for _ in range(count):
        live.clock.advance(timedelta(minutes=1))
        ids.append(live.app.service.declare(actor_id=OPERATOR, values=DECLARE).incident_id)
    return ids


def test_pages_follow_the_link_header_to_the_last(live: Live) -> None:
    """Pages of two cover every open incident once, newest first, each page pointing to the
    next with the caller's other parameters kept, and the last page with no Link."""
    ids = _declare(live, 5)
    pages, links = _walk(live.client(OPERATOR), limit="2")
    assert pages == [[ids[4], ids[3]], [ids[2], ids[1]], [ids[0]]]
    assert len(links) == 2
    for link in links:
        assert link.startswith(f"<{API}/incidents?limit=2&cursor=")
        assert link.endswith('>; rel="next"')


def test_all_and_state_page_in_the_store(live: Live) -> None:
    """With all=true closed incidents follow the open ones, and a state filter pages over
    the matching incidents only (full pages, not pages thinned after reading)."""
    first, second, third = _declare(live, 3)
    for incident in (first, third):
        live.clock.advance(timedelta(minutes=1))
        live.app.service.fire(
            incident_id=incident,
            trigger="withdraw",
            actor_id=OPERATOR,
            values={"withdrawal_reason": "Fel tjänst"},
        )
    client = live.client(OPERATOR)
    assert _walk(client)[0] == [[second]]
    assert _walk(client, all="true", limit="2")[0] == [[second, third], [first]]
    assert _walk(client, all="true", state="withdrawn", limit="1")[0] == [[third], [first]]


def test_bad_paging_parameters_are_problems(live: Live) -> None:
    """A cursor this service did not make, or a limit out of range, is a 422 problem naming
    the parameter; a tampered cursor never reaches the database as an error."""
    _declare(live, 1)
    client = live.client(OPERATOR)
    tampered = client.get(f"{API}/incidents", params={"cursor": "WyJ4Il0"})  # base64 of ["x"]
    assert tampered.status_code == 422, tampered.text
    assert tampered.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = tampered.json()
    assert [e["field"] for e in body["errors"]] == ["cursor"]
    assert client.get(f"{API}/incidents", params={"limit": "0"}).status_code == 422
    assert client.get(f"{API}/incidents", params={"limit": "1001"}).status_code == 422
    assert client.get(f"{API}/incidents", params={"since": "igår"}).status_code == 422


def test_openapi_documents_the_paging(live: Live) -> None:
    """The OpenAPI description names limit and cursor and the Link header of the list."""
    spec = live.client().get("/openapi.json").json()
    listing = spec["paths"][f"{API}/incidents"]["get"]
    assert {"limit", "cursor", "since", "all", "state"} <= {
        p["name"] for p in listing["parameters"]
    }
    assert "Link" in listing["responses"]["200"]["headers"]
