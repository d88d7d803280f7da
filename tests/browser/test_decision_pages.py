"""The pages in a real browser (Chromium, phone-sized): an approver decides from the link in
their message, a signed-in person decides from /beslut, and no page scrolls sideways."""

from __future__ import annotations

import re

from playwright.sync_api import Page

from tests.web.conftest import Live
from tests.web.page_helpers import ask, events

PHONE_WIDTH = 390


def message_link(live: Live, incident_id: str, person: str) -> str:
    """The full decision URL exactly as it stands in `person`'s message body."""
    pattern = re.compile(re.escape(live.url) + r"/beslut/l/[A-Za-z0-9_.\-]+")
    for message in live.app.service.messages(incident_id):
        if any(r.person_id == person for r in message.recipients):
            found = pattern.search(message.body_text or "")
            if found:
                return found.group(0)
    raise AssertionError(f"no decision link for {person}")


def scroll_width(page: Page) -> int:
    width: int = page.evaluate("document.documentElement.scrollWidth")
    return width


def test_an_approver_decides_from_the_link_in_their_message(live_sqlite: Live, phone: Page) -> None:
    """Opening the message's link shows the question; a comment and Godkänn approve it."""
    live = live_sqlite
    incident_id, approval_id = ask(live, "enter_total_reserve")
    phone.goto(message_link(live, incident_id, "margareta.lund"))
    heading = phone.get_by_role("heading", level=1)
    assert heading.inner_text() == "Övergång till reservrutin i alla verksamheter"
    assert "Margareta Lund" in phone.inner_text("main")
    assert events(live, incident_id, "decision") == []  # the page alone decided nothing
    phone.get_by_label("Kommentar (frivillig)").fill("Beslutat i telefonmöte 14.05")
    phone.get_by_role("button", name="Godkänn").click()
    phone.wait_for_load_state()
    assert phone.get_by_role("heading", level=1).inner_text() == "Godkänt"
    assert "Beslutat i telefonmöte 14.05" in phone.inner_text("main")
    assert live.app.service.show(incident_id)["state"] == "total_reserve"
    decisions = events(live, incident_id, "decision")
    assert [(d["actor"], d["data"]["comment"]) for d in decisions] == [
        ("margareta.lund", "Beslutat i telefonmöte 14.05")
    ]
    assert not any(
        a["id"] == approval_id for a in live.app.service.show(incident_id)["pending_approvals"]
    )


def test_a_signed_in_person_rejects_from_their_decisions(live_sqlite: Live, phone: Page) -> None:
    """Signing in through the form leads to /beslut, where Avslå rejects the request."""
    live = live_sqlite
    incident_id, _ = ask(live)
    password = live.password("johan.berg")
    phone.goto(f"{live.url}/beslut")
    assert phone.url == f"{live.url}/logga-in?next=/beslut"
    phone.get_by_label("Användar-id").fill("johan.berg")
    phone.get_by_label("Lösenord").fill(password)
    phone.get_by_role("button", name="Logga in").click()
    phone.wait_for_url(f"{live.url}/beslut")
    assert incident_id in phone.inner_text("main")
    phone.get_by_role("button", name="Avslå").click()
    phone.wait_for_url(f"{live.url}/beslut?klart=avslaget")
    assert "Du har avslagit begäran." in phone.inner_text("main")
    assert "Inga beslut väntar på dig just nu." in phone.inner_text("main")
    assert [d["data"]["decision"] for d in events(live, incident_id, "decision")] == ["rejected"]


def test_pages_fit_a_phone_with_large_tap_targets(live_sqlite: Live, phone: Page) -> None:
    """At 390 px no page scrolls sideways, the stylesheet applies under the CSP, and buttons
    and phone links are at least 48 px tall."""
    live = live_sqlite
    incident_id, _ = ask(live, values={"reserve_subregions": "fyrbodal,skaraborg"})
    link = message_link(live, incident_id, "johan.berg")
    phone.goto(link)
    assert scroll_width(phone) <= PHONE_WIDTH
    for button in ("Godkänn", "Avslå"):
        box = phone.get_by_role("button", name=button).bounding_box()
        assert box and box["height"] >= 48 and box["x"] >= 0
        assert box["x"] + box["width"] <= PHONE_WIDTH
    call = phone.locator("a.phone").first.bounding_box()
    assert call and call["height"] >= 48
    # A long unbroken comment must wrap on the outcome page, not widen it.
    phone.get_by_label("Kommentar (frivillig)").fill("x" * 300)
    phone.get_by_role("button", name="Godkänn").click()
    phone.wait_for_load_state()
    assert "Godkänt" in phone.inner_text("h1")  # Fyrbodal's part takes effect at once
    assert scroll_width(phone) <= PHONE_WIDTH
    for path in (link, f"{live.url}/logga-in", f"{live.url}/finns-inte"):
        phone.goto(path)  # the used link's refusal, sign-in, an error page
        assert scroll_width(phone) <= PHONE_WIDTH, path
