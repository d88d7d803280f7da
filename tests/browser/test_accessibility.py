"""axe-core (axe_playwright_python, in Debian's Chromium) on every kind of page: sign-in, start,
declare form with and without field errors, preview, incident page, an action form, a decision
page opened from its link and its outcome, /beslut, /admin and its subpages, the public pages and
the error page. None may have a serious or critical violation. Each test walks its pages and
reports every page's violations at once, so one run shows all that is wrong."""

from __future__ import annotations

from typing import Any

from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]
from playwright.sync_api import Page

from tests.app_helpers import DECLARE
from tests.browser.test_operator_flow import sign_in
from tests.web.conftest import Live
from tests.web.page_helpers import ask, link_for

ADMIN = "erik.johansson"  # operator and admin in the example directory
AXE = Axe()


def violations(page: Page, name: str) -> list[tuple[str, str, str, list[str]]]:
    """The serious and critical axe-core violations of the page now shown."""
    results = AXE.run(page)
    bad: list[dict[str, Any]] = [
        v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")
    ]
    return [(name, v["id"], v["help"], [n["html"][:200] for n in v["nodes"]]) for v in bad]


def test_operator_and_admin_pages_have_no_serious_violations(
    live_sqlite: Live, phone: Page
) -> None:
    """Sign-in, start, declare (empty and refused), preview, incident (fresh and with a
    pending decision), an action form and its preview, /beslut, every admin page and the
    error page pass axe-core at phone size."""
    live = live_sqlite
    page = phone
    found = []
    page.goto(f"{live.url}/logga-in")
    found += violations(page, "sign-in")
    sign_in(live, page, ADMIN, "/")
    found += violations(page, "start (empty)")
    page.goto(f"{live.url}/incidenter/ny")
    found += violations(page, "declare form")
    page.get_by_role("button", name="Granska meddelandena").click()
    page.wait_for_load_state()
    found += violations(page, "declare form with errors")
    page.get_by_label("Omfattning").fill("Ingen åtkomst till SAMSA i Fyrbodal")
    page.get_by_label("Fyrbodal").check()
    page.get_by_label("Okänd").check()
    page.get_by_role("button", name="Granska meddelandena").click()
    page.wait_for_load_state()
    found += violations(page, "preview")
    page.get_by_role("button", name="Anmäl och skicka").click()
    page.wait_for_url(f"{live.url}/incidenter/*")
    found += violations(page, "incident page")
    incident_id = page.url.split("/")[-1].split("?")[0]
    page.goto(f"{live.url}/incidenter/{incident_id}/atgard/enter_partial_reserve")
    found += violations(page, "action form")
    page.get_by_label("Fyrbodal").check()
    page.get_by_role("button", name="Granska meddelandena").click()
    page.wait_for_load_state()
    found += violations(page, "action preview")
    page.get_by_role("button", name="Skicka", exact=True).click()
    page.wait_for_url(f"{live.url}/incidenter/{incident_id}?*")
    found += violations(page, "incident page with a pending decision")
    page.goto(f"{live.url}/")
    found += violations(page, "start (an incident)")
    page.goto(f"{live.url}/beslut")
    found += violations(page, "/beslut")
    for path in (
        "/admin",
        "/admin/anvandare",
        f"/admin/anvandare/{ADMIN}",
        "/admin/prenumeranter",
        "/finns-inte",
    ):
        page.goto(f"{live.url}{path}")
        found += violations(page, path)
    assert found == []


def test_decision_and_public_pages_have_no_serious_violations(
    live_sqlite: Live, phone: Page
) -> None:
    """A decision page opened from its link, its outcome and a used link's refusal, a
    signed-in /beslut with a request, and the public pages (with the banner) pass axe-core."""
    live = live_sqlite
    page = phone
    found = []
    incident_id, _ = ask(live)
    live.app.dispatcher.deliver_due()
    link = f"{live.url}{link_for(live, incident_id, 'johan.berg')}"
    page.goto(link)
    found += violations(page, "decision page")
    page.get_by_role("button", name="Godkänn").click()
    page.wait_for_load_state()
    found += violations(page, "decision done")
    page.goto(link)
    found += violations(page, "used link")
    live.app.service.declare(actor_id="anna.andersson", values=DECLARE)
    ask(live, "enter_total_reserve")
    sign_in(live, page, "margareta.lund", "/beslut")
    found += violations(page, "/beslut with a request")
    live.app.dispatcher.deliver_due()
    for path in ("/prenumerera", "/rapportera", "/public/news/", "/unsubscribe/okand"):
        page.goto(f"{live.url}{path}")
        found += violations(page, path)
    page.goto(f"{live.url}/subscribe/confirm/okand")
    found += violations(page, "confirm page")
    page.get_by_role("button", name="Bekräfta").click()
    page.wait_for_load_state()
    found += violations(page, "unknown confirmation link")
    assert found == []
