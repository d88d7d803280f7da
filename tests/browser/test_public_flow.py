"""The public pages in Debian's Chromium, at desktop and phone size: subscribe -> confirm (the
link taken from the mail) -> one-click unsubscribe; the banner appearing, turning red on the
total reserve routine and disappearing on restore; a report reaching the incident's timeline;
XSS payloads in every public field never running; axe-core finding nothing serious."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]
from playwright.sync_api import Browser, Page, expect

from channels.banner_style import COLOURS
from tests.app_helpers import DECLARE, OPERATOR
from tests.browser.test_operator_flow import VIEWPORTS, shoot
from tests.web.conftest import Live
from tests.web.test_public_pages import CONFIRM, _mail_to

XSS = '"><img src=x onerror="window.__xss=1"><script>window.__xss=1</script>'
CHAIR = "margareta.lund"


@pytest.fixture(params=sorted(VIEWPORTS))
def visitor(request: pytest.FixtureRequest, chromium: Browser) -> Iterator[tuple[str, Page]]:
    """A fresh browser context at desktop or phone size, with its name."""
    name: str = request.param
    phone = name == "phone"
    context = chromium.new_context(
        viewport=VIEWPORTS[name], locale="sv-SE", is_mobile=phone, has_touch=phone
    )
    context.set_default_timeout(15_000)
    try:
        yield name, context.new_page()
    finally:
        context.close()


def accessible(page: Page) -> None:
    """axe-core finds no serious or critical violation on the page."""
    results = Axe().run(page)
    bad: list[dict[str, Any]] = [
        v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")
    ]
    assert bad == [], [(v["id"], v["help"], [n["html"] for n in v["nodes"]]) for v in bad]


def no_xss(page: Page) -> None:
    assert page.evaluate("typeof window.__xss") == "undefined"


def test_subscribe_confirm_and_one_click_unsubscribe(
    live_sqlite: Live, visitor: tuple[str, Page]
) -> None:
    """A visitor subscribes, confirms with the link from the mail, and a one-click POST ends it."""
    name, page = visitor
    live = live_sqlite
    page.goto(f"{live.url}/prenumerera")
    accessible(page)
    page.get_by_label("E-postadress").fill("eva@example.se")
    page.get_by_label("Namn").fill(XSS)
    page.get_by_role("button", name="Prenumerera").click()
    expect(page.get_by_role("heading", name="Kolla din e-post")).to_be_visible()
    no_xss(page)
    shoot(page, f"public-subscribed-{name}")
    body = _mail_to(live, "eva@example.se").get_body(("plain",))
    assert body is not None
    link = CONFIRM.search(body.get_content())
    assert link
    page.goto(f"{live.url}{link.group(0)}")
    accessible(page)
    page.get_by_role("button", name="Bekräfta").click()
    expect(page.get_by_role("heading", name="Prenumerationen är bekräftad")).to_be_visible()
    (subscriber,) = live.app.service.subscriptions.list()
    assert subscriber.status == "confirmed" and subscriber.name == XSS
    answer = page.request.post(
        f"{live.url}/unsubscribe/{subscriber.unsubscribe_token}",
        form={"List-Unsubscribe": "One-Click"},
    )
    assert answer.status == 200
    (ended,) = live.app.service.subscriptions.list()
    assert ended.status == "unsubscribed"


def _rgb(hex_colour: str) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


def test_banner_appears_turns_critical_and_disappears(
    live_sqlite: Live, visitor: tuple[str, Page]
) -> None:
    """The notice shows on a public page once declared, takes the reserve routine's colour on
    total reserve, and is gone after restore."""
    name, page = visitor
    live = live_sqlite
    service = live.app.service
    page.goto(f"{live.url}/rapportera")
    expect(page.locator(".driftplan-banner")).to_have_count(0)
    iid = service.declare(actor_id=OPERATOR, values=DECLARE).incident_id
    live.app.dispatcher.deliver_due()
    page.reload()
    box = page.locator(".driftplan-banner")
    expect(box).to_be_visible()
    expect(box).to_have_css("background-color", _rgb(COLOURS["warning"][0]))
    accessible(page)
    shoot(page, f"public-banner-warning-{name}")
    asked = service.fire(incident_id=iid, trigger="enter_total_reserve", actor_id=OPERATOR)
    assert asked.approval_id
    service.decide(approval_id=asked.approval_id, actor_id=CHAIR, approve=True)
    live.app.dispatcher.deliver_due()
    page.reload()
    expect(box).to_have_css("background-color", _rgb(COLOURS["critical"][0]))
    expect(box).to_have_css("color", _rgb(COLOURS["critical"][1]))
    accessible(page)
    shoot(page, f"public-banner-critical-{name}")
    service.fire(incident_id=iid, trigger="restore", actor_id=OPERATOR)
    live.app.dispatcher.deliver_due()
    page.reload()
    expect(page.get_by_role("heading", name="Rapportera hur ni påverkas")).to_be_visible()
    expect(page.locator(".driftplan-banner")).to_have_count(0)


def test_report_reaches_the_timeline_and_payloads_stay_text(
    live_sqlite: Live, visitor: tuple[str, Page]
) -> None:
    """A report typed with script payloads in every field is logged as text on the incident
    (GET /api/v1/incidents/{id}/events) and nothing runs."""
    name, page = visitor
    live = live_sqlite
    iid = live.app.service.declare(actor_id=OPERATOR, values=DECLARE).incident_id
    page.goto(f"{live.url}/rapportera")
    accessible(page)
    page.get_by_label("Organisation").fill(f"Kommun {XSS}")
    page.get_by_label("Kontaktuppgifter").fill(XSS)
    page.get_by_label("Delregion").select_option("skaraborg")
    page.get_by_label("Hur påverkas ni?").fill(f"Ingen åtkomst {XSS}")
    page.get_by_role("button", name="Skicka rapporten").click()
    expect(page.get_by_role("heading", name="Tack för rapporten")).to_be_visible()
    no_xss(page)
    shoot(page, f"public-reported-{name}")
    events = live.client(OPERATOR).get(f"/api/v1/incidents/{iid}/events").json()
    (report,) = [e for e in events if e["kind"] == "report"]
    assert report["actor"] == "public" and report["data"]["contact"] == XSS
    # A refused form keeps what was typed, as text in the field.
    page.goto(f"{live.url}/rapportera")
    page.get_by_label("Organisation").fill(XSS)
    page.get_by_role("button", name="Skicka rapporten").click()  # text missing: errors shown
    expect(page.locator("#organisation")).to_have_value(XSS)
    no_xss(page)
