"""The issue's main flow in Debian's Chromium, at desktop size and at 390×844: an operator
declares with a preview and sends, asks for the partial reserve routine for one sub-region, the
sub-region's decider approves from the link in the e-mail they received (the file outbox in the
data folder: the test installation has no SMTP host), the operator asks for the total reserve
routine, the chair approves from their e-mailed link, and the operator restores. The public
banner (`/public/banner.json` and a public page that shows it) follows each step. Screenshots go
to test-artifacts/screenshots/."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from email import policy
from email.parser import BytesParser
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.app_helpers import OPERATOR
from tests.browser.test_operator_flow import VIEWPORTS, shoot, sign_in
from tests.web.conftest import Live

DECIDER = "johan.berg@fyrbodal.example.se"  # Fyrbodal's sub-regional decider
CHAIR = "margareta.lund@ledningsrad.example.se"
PARTIAL = "Övergång till reservrutin i delar av verksamheterna"
TOTAL = "Övergång till reservrutin i alla verksamheter"
RESTORE = "Tjänsten är återställd"


def _context(chromium: Browser, size: str) -> BrowserContext:
    phone = size == "phone"
    context = chromium.new_context(
        viewport=VIEWPORTS[size], locale="sv-SE", is_mobile=phone, has_touch=phone
    )
    context.set_default_timeout(15_000)
    return context


@pytest.fixture(params=sorted(VIEWPORTS))
def screen(request: pytest.FixtureRequest, chromium: Browser) -> Iterator[tuple[str, Page]]:
    """A fresh browser context (no cookies) at desktop or phone size, with its name."""
    context = _context(chromium, request.param)
    try:
        yield request.param, context.new_page()
    finally:
        context.close()


def mailed_link(live: Live, address: str) -> str:
    """The decision link in the e-mail delivered to `address` (one .eml file per recipient)."""
    pattern = re.compile(re.escape(live.url) + r"/beslut/l/[A-Za-z0-9_.\-]+")
    links: set[str] = set()
    for path in (live.app.settings.data / "outbox").rglob("*.eml"):
        mail = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        if address not in str(mail["To"]):
            continue
        body = mail.get_body(("plain",))
        links.update(pattern.findall(body.get_content() if body else ""))
    assert len(links) == 1, f"expected one decision link mailed to {address}, found {links}"
    return links.pop()


def banner(live: Live, page: Page) -> dict[str, Any]:
    """The public notice after the outbox has been delivered (no worker runs in tests)."""
    live.app.dispatcher.deliver_due()
    answer = page.request.get(f"{live.url}/public/banner.json")
    assert answer.ok
    notice: dict[str, Any] = answer.json()
    return notice


def fire(page: Page, title: str, fill: Callable[[Page], None] | None = None) -> None:
    """Open an action from the incident page, fill its form, review its messages, send it."""
    page.get_by_role("link", name=title).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    if fill:
        fill(page)
    page.get_by_role("button", name="Granska meddelandena").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text() == "Granska innan du skickar"
    page.get_by_role("button", name="Skicka", exact=True).click()
    page.wait_for_url(re.compile(r"/incidenter/[^/?]+\?klart="))


def approve_from_mail(live: Live, chromium: Browser, size: str, address: str, name: str) -> None:
    """The approver opens their mailed link in a browser of their own and approves."""
    context = _context(chromium, size)
    try:
        page = context.new_page()
        page.goto(mailed_link(live, address))
        page.get_by_label("Kommentar (frivillig)").fill("Beslutat i telefonmöte")
        shoot(page, f"full-{size}-decision-{name}")
        page.get_by_role("button", name="Godkänn").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Godkänt")
    finally:
        context.close()


def state(live: Live) -> str:
    [incident] = live.app.service.incidents()
    return str(live.app.service.show(incident["id"])["state"])


def test_declare_reserve_routines_approved_from_mail_and_restore(
    live_sqlite: Live, chromium: Browser, screen: tuple[str, Page]
) -> None:
    """Declare → partial reserve approved from the e-mailed link → total reserve approved from
    the chair's link → restore, with the public banner appearing, turning to the reserve
    routine and disappearing; no page scrolls sideways."""
    live = live_sqlite
    size, page = screen
    width = VIEWPORTS[size]["width"]
    assert banner(live, page)["active"] is False

    sign_in(live, page, OPERATOR, "/")
    page.get_by_role("link", name="Ny driftstörning").click()
    page.get_by_label("Omfattning").fill("Ingen åtkomst till SAMSA i Fyrbodal")
    page.get_by_label("Fyrbodal").check()
    page.get_by_label("Okänd").check()
    page.get_by_role("button", name="Granska meddelandena").click()
    page.wait_for_load_state()
    assert "Ingen åtkomst till SAMSA i Fyrbodal" in page.inner_text("main")
    assert live.app.service.incidents() == []  # the preview sent nothing
    shoot(page, f"full-{size}-preview")
    page.get_by_role("button", name="Anmäl och skicka").click()
    page.wait_for_url(re.compile(r"/incidenter/[^/?]+\?"))
    incident_url = page.url.split("?")[0]
    assert state(live) == "outage"
    declared = banner(live, page)
    assert declared["active"] is True and declared["severity"] == "warning"

    fire(page, PARTIAL, lambda form: form.get_by_label("Fyrbodal").check())
    assert "Granska" not in page.inner_text("h1")
    assert state(live) == "outage"  # pending the sub-region's decision
    live.app.dispatcher.deliver_due()
    approve_from_mail(live, chromium, size, DECIDER, "subregion")
    assert state(live) == "partial_reserve"
    partial = banner(live, page)
    assert partial["active"] is True and partial["severity"] == "critical"

    page.goto(incident_url)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Reservrutin i delar")
    fire(page, TOTAL)
    live.app.dispatcher.deliver_due()
    approve_from_mail(live, chromium, size, CHAIR, "chair")
    assert state(live) == "total_reserve"
    total = banner(live, page)
    assert total["active"] is True and total["severity"] == "critical"
    assert total != partial  # the notice now speaks of every organisation
    page.goto(f"{live.url}/rapportera")  # a public page that loads banner.js
    expect(page.locator(".driftplan-banner")).to_be_visible()
    shoot(page, f"full-{size}-public-banner-total")

    page.goto(incident_url)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Reservrutin i alla")
    shoot(page, f"full-{size}-incident-total")
    fire(page, RESTORE)
    assert state(live) == "restored"
    assert banner(live, page)["active"] is False
    page.goto(f"{live.url}/rapportera")
    expect(page.get_by_role("heading", name="Rapportera hur ni påverkas")).to_be_visible()
    expect(page.locator(".driftplan-banner")).to_have_count(0)
    page.goto(incident_url)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    shoot(page, f"full-{size}-incident-restored")
