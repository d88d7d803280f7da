"""Script payloads typed into every field an operator, an approver or an admin can type, in
Debian's Chromium: the declare form, every action form offered along an incident's life, the
note and report forms, a decision comment, the admin import of a directory whose person and
list member are named with a payload, a subscriber's name and an API token's name. Every page
that shows them must show the payload as text and run none of it (`window.__xss` stays
undefined, and no link points at a `javascript:` URL). The public forms are covered by
tests/browser/test_public_flow.py."""

from __future__ import annotations

from pathlib import Path

import yaml
from playwright.sync_api import Locator, Page, expect

from tests.app_helpers import EXAMPLE_DIRECTORY
from tests.browser.test_operator_flow import sign_in
from tests.web.conftest import Live
from tests.web.page_helpers import link_for

XSS = '"><img src=x onerror="window.__xss=1"><script>window.__xss=1</script>'
JS_URL = "javascript:window.__xss=1//"  # typed where a link could be expected
ADMIN = "erik.johansson"  # operator and admin in the example directory
URL_ISH = "f_crisis_meeting_location"  # the plan's field a meeting link may be typed into


def harmless(page: Page, *shown: str) -> None:
    """Nothing injected ran, no link leads to script, and each payload shows as text."""
    assert page.evaluate("typeof window.__xss") == "undefined", page.url
    assert page.locator('[href^="javascript:" i], [src^="javascript:" i]').count() == 0
    text = page.inner_text("body")
    for payload in shown:
        assert payload in text, f"{payload!r} is not shown as text on {page.url}"


def fill_form(form: Locator) -> bool:
    """Every free-text field gets a payload, other required fields a valid value; whether the
    form had any free-text field."""
    texts = form.locator("textarea, input[type=text]").all()
    for field in texts:
        name = field.get_attribute("name") or ""
        field.fill(JS_URL if name == URL_ISH else XSS)
    for field in form.locator("input[type=datetime-local]").all():
        okand = form.locator(f"#{field.get_attribute('id')}_okand")
        if okand.count():
            okand.check()
        elif not field.input_value():
            field.fill("2025-03-04T10:00")
    for group in form.locator("fieldset").all():
        boxes = group.locator("input[type=checkbox], input[type=radio]")
        if boxes.count() and not any(box.is_checked() for box in boxes.all()):
            boxes.first.check()
    return bool(texts)


def review_and_send(page: Page, typed: bool) -> None:
    """Review (the preview shows the typed payloads as text), then send."""
    page.get_by_role("button", name="Granska meddelandena").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text() == "Granska innan du skickar", (
        page.inner_text("main")
    )
    harmless(page, *([XSS] if typed else []))
    page.locator("button[value=skicka]").click()
    page.wait_for_url("**/incidenter/*?klart=*")
    harmless(page)


def act(page: Page, incident_url: str, trigger: str) -> None:
    """Fire one of the incident page's actions with payloads in its fields."""
    page.goto(f"{incident_url}/atgard/{trigger}")
    review_and_send(page, fill_form(page.locator("form.command")))


def timeline_forms(page: Page) -> None:
    """A note and a report, every text field a payload, saved from the incident page."""
    for summary, button in (
        ("Lägg till anteckning", "Spara anteckningen"),
        ("Registrera rapport", "Registrera rapporten"),
    ):
        page.locator("summary", has_text=summary).click()
        form = page.locator("details[open] form")
        for field in form.locator("textarea, input[type=text]").all():
            field.fill(XSS)
        form.get_by_role("button", name=button).click()
        page.wait_for_url("**?klart=*")
        harmless(page, XSS)


def test_operator_and_approver_payloads_stay_text(live_sqlite: Live, phone: Page) -> None:
    """Payloads typed into the declare form, every action form offered, the actions sent along
    an incident's life, the note and report forms and a decision comment show as text on the
    previews and the incident, start, decision and public pages, and none runs."""
    live = live_sqlite
    page = phone
    sign_in(live, page, ADMIN, "/incidenter/ny")
    review_and_send(page, fill_form(page.locator("form.command")))
    incident_url = page.url.split("?")[0]
    incident_id = incident_url.rsplit("/", 1)[1]
    timeline_forms(page)
    offered = [a.get_attribute("href") for a in page.locator("ul.actions a").all()]
    assert len(offered) >= 5
    for href in offered:  # every action's form, previewed (what is sent follows below)
        page.goto(f"{live.url}{href}")
        typed = fill_form(page.locator("form.command"))
        page.get_by_role("button", name="Granska meddelandena").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Granska innan du skickar")
        harmless(page, *([XSS] if typed else []))
    for trigger in ("post_update", "notify_crisis", "enter_partial_reserve"):
        act(page, incident_url, trigger)
    page.goto(incident_url)
    harmless(page, XSS, JS_URL)

    live.app.dispatcher.deliver_due()
    page.context.clear_cookies()
    page.goto(f"{live.url}{link_for(live, incident_id, 'johan.berg')}")
    harmless(page, XSS)
    page.get_by_label("Kommentar (frivillig)").fill(XSS)
    page.get_by_role("button", name="Godkänn").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Godkänt")
    harmless(page, XSS)
    live.app.dispatcher.deliver_due()
    for path in ("/rapportera", "/public/news/"):
        page.goto(f"{live.url}{path}")
        harmless(page)

    sign_in(live, page, ADMIN, "/")
    harmless(page)
    for trigger in ("restore", "start_follow_up", "record_follow_up", "close"):
        act(page, incident_url, trigger)
    page.goto(incident_url)
    harmless(page, XSS, JS_URL)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Avslutad")


def test_admin_payloads_stay_text(live_sqlite: Live, phone: Page, tmp_path: Path) -> None:
    """A directory imported with a payload as a person's and a list member's name, a
    subscriber added with one, and an API token named with one show as text on the admin
    pages, and none runs."""
    live = live_sqlite
    page = phone
    raw = yaml.safe_load(EXAMPLE_DIRECTORY.read_text("utf-8"))
    raw["people"].append(
        {"id": "x.y", "name": XSS, "email": "x.y@example.se", "roles": ["operator"]}
    )
    member = {"address": "m@example.se", "name": XSS, "organisation": XSS}
    # An uploaded file has no folder beside it, so the example's CSV lists are written inline.
    raw["lists"] = {
        name: (value if isinstance(value, list) else [member])
        for name, value in raw["lists"].items()
    }
    upload = tmp_path / "katalog.yaml"
    upload.write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    sign_in(live, page, ADMIN, "/admin")
    page.get_by_label("Fil (YAML eller CSV)").set_input_files(str(upload))
    page.get_by_role("button", name="Importera").click()
    page.wait_for_url(f"{live.url}/admin?klart=importerad")
    harmless(page, XSS)

    page.goto(f"{live.url}/admin/prenumeranter")
    page.get_by_label("E-post", exact=True).fill("eva@example.se")
    page.get_by_label("Namn", exact=True).fill(XSS)
    page.locator("form").filter(has=page.locator("#namn")).locator("button").click()
    page.wait_for_url("**/admin/prenumeranter?klart=*")
    harmless(page, XSS)

    for path in ("/admin/anvandare", "/admin/anvandare/x.y"):
        page.goto(f"{live.url}{path}")
        harmless(page, XSS)
    page.get_by_label("Vad nyckeln är till").fill(XSS)
    page.get_by_role("button", name="Skapa API-nyckel").click()
    page.wait_for_load_state()
    harmless(page, XSS)
    page.goto(f"{live.url}/admin/anvandare/x.y")
    harmless(page, XSS)
