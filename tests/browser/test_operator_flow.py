"""The operator's pages in a real browser (Chromium, desktop and 390×844): sign in, declare with
a preview, land on the incident page showing its state and messages, and watch the page refresh
itself. Screenshots of the main pages are kept under test-artifacts/screenshots/."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.app_helpers import DECLARE, OPERATOR
from tests.browser.conftest import PHONE
from tests.web.conftest import Live

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
VIEWPORTS = {"desktop": DESKTOP, "phone": PHONE}


@pytest.fixture(params=sorted(VIEWPORTS))
def screen(request: pytest.FixtureRequest, chromium: Browser) -> Iterator[tuple[str, Page]]:
    """A fresh browser context (no cookies) at a desktop or phone size, with its name."""
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


def shoot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def sign_in(live: Live, page: Page, person: str, next_path: str) -> None:
    password = live.password(person)
    page.goto(f"{live.url}{next_path}")
    page.get_by_label("Användar-id").fill(person)
    page.get_by_label("Lösenord").fill(password)
    page.get_by_role("button", name="Logga in").click()
    page.wait_for_url(f"{live.url}{next_path}")


def test_declare_with_preview_then_the_incident_page_shows_state_and_messages(
    live_sqlite: Live, screen: tuple[str, Page]
) -> None:
    """From the start page an operator fills the generated form, sees every message in the
    preview, sends, and lands on the incident page with its state, data and messages; nothing
    scrolls sideways."""
    live = live_sqlite
    size, page = screen
    sign_in(live, page, OPERATOR, "/")
    assert page.get_by_role("heading", level=1).inner_text() == "Pågående driftstörningar"
    shoot(page, f"{size}-start-empty")
    page.get_by_role("link", name="Ny driftstörning").click()
    page.wait_for_url(f"{live.url}/incidenter/ny")
    page.get_by_label("Omfattning").fill("Ingen åtkomst till SAMSA i Fyrbodal")
    page.get_by_label("Fyrbodal").check()
    page.get_by_label("Okänd").check()
    shoot(page, f"{size}-declare")
    page.get_by_role("button", name="Granska meddelandena").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text() == "Granska innan du skickar"
    main = page.inner_text("main")
    assert "IT-avdelningar och supportorganisationer" in main
    assert "Ingen åtkomst till SAMSA i Fyrbodal" in main
    assert live.app.service.incidents() == []
    shoot(page, f"{size}-preview")
    page.get_by_role("button", name="Anmäl och skicka").click()
    page.wait_for_url(f"{live.url}/incidenter/*")
    assert page.get_by_role("heading", level=1).inner_text() == "Avbrott i IT-tjänsten"
    main = page.inner_text("main")
    assert "Driftstörningen är anmäld" in main
    assert "Driftstörning i SAMSA" in main  # a message
    assert "Fyrbodal" in main
    [incident] = live.app.service.incidents()
    assert incident["id"] in page.url
    width: int = page.evaluate("document.documentElement.scrollWidth")
    assert width <= VIEWPORTS[size]["width"]
    shoot(page, f"{size}-incident")
    page.goto(f"{live.url}/")
    assert incident["id"] in page.inner_text("main")
    shoot(page, f"{size}-start")


def test_the_incident_page_refreshes_itself_unless_someone_types(
    live_sqlite: Live, phone: Page
) -> None:
    """An open incident's page reloads on its own and shows a change made elsewhere; while a
    field holds typed text it does not reload (and lose it)."""
    live = live_sqlite
    service = live.app.service
    incident_id = service.declare(actor_id=OPERATOR, values=DECLARE).incident_id
    path = f"/incidenter/{incident_id}"
    sign_in(live, phone, OPERATOR, path)
    service.fire(
        incident_id=incident_id,
        trigger="withdraw",
        actor_id=OPERATOR,
        values={"withdrawal_reason": "Fel larm"},
    )
    expect(phone.get_by_role("heading", level=1)).to_contain_text("Återkallad", timeout=20_000)
    # A withdrawn incident is over: its page stops refreshing.
    assert phone.locator("[data-refresh]").count() == 0
    other = service.declare(actor_id=OPERATOR, values=DECLARE).incident_id
    phone.goto(f"{live.url}/")
    phone.evaluate(
        "() => { const i = document.createElement('input'); i.id = 'probe';"
        " i.setAttribute('aria-label', 'probe'); document.body.appendChild(i); }"
    )
    phone.fill("#probe", "typed")  # edited: the page must keep it
    service.fire(
        incident_id=other,
        trigger="withdraw",
        actor_id=OPERATOR,
        values={"withdrawal_reason": "Fel larm"},
    )
    time.sleep(12)  # longer than the page's refresh interval
    assert phone.locator("#probe").input_value() == "typed"
