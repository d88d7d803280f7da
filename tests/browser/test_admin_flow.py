"""The admin pages in a real browser (Chromium at 390×844): an administrator imports a
directory file with an error and sees where, imports a good one, issues an API token and
revokes it, and writes a note on an incident page. Screenshots go to
test-artifacts/screenshots/."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page

from tests.app_helpers import DECLARE, OPERATOR
from tests.browser.test_operator_flow import shoot, sign_in
from tests.web.conftest import Live

ADMIN = "erik.johansson"  # operator and admin in the example directory


def test_an_administrator_imports_issues_a_token_and_notes_on_a_phone(
    live_sqlite: Live, phone: Page, tmp_path: Path
) -> None:
    """The import form shows a file's error with its line and changes nothing; a good file
    is imported; a token appears once and is revoked; a note lands in the timeline; the page
    never scrolls sideways."""
    live = live_sqlite
    page = phone
    sign_in(live, page, ADMIN, "/admin")
    assert page.get_by_role("heading", level=1).inner_text() == "Administration"
    bad = tmp_path / "katalog.yaml"
    bad.write_text(
        "people:\n  - {id: a.b, name: A B, email: a@example.se, roles: [chef]}\nlists: {}\n",
        "utf-8",
    )
    before = live.app.service.directory.snapshot()
    page.get_by_label("Fil (YAML eller CSV)").set_input_files(str(bad))
    page.get_by_role("button", name="Importera").click()
    page.wait_for_load_state()
    alert = page.get_by_role("alert").inner_text()
    assert "katalog.yaml:2: unknown role 'chef'" in alert
    assert live.app.service.directory.snapshot() == before
    shoot(page, "phone-admin-import-error")

    good = tmp_path / "lista.csv"
    good.write_text("email,name\nny@example.se,Ny\n", "utf-8")
    page.get_by_label("Fil (YAML eller CSV)").set_input_files(str(good))
    page.get_by_label("Kontaktlista för en CSV-fil").fill("support_it")
    page.get_by_role("button", name="Importera").click()
    page.wait_for_url(f"{live.url}/admin?klart=importerad")
    assert "Katalogen är importerad." in page.inner_text("main")
    support = live.app.service.directory.snapshot()["lists"]["support_it"]
    assert [m["address"] for m in support] == ["ny@example.se"]
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shoot(page, "phone-admin")

    page.get_by_role("link", name="Inloggning och API-nycklar").click()
    page.get_by_role("link", name=OPERATOR).click()
    page.get_by_label("Vad nyckeln är till").fill("larm")
    page.get_by_role("button", name="Skapa API-nyckel").click()
    page.wait_for_load_state()
    secret = page.get_by_label("API-nyckel", exact=True).input_value()
    assert secret.startswith("dp_")
    assert live.app.service.accounts.token_person(secret) == OPERATOR
    shoot(page, "phone-admin-token")
    page.get_by_role("button", name="Återkalla").click()
    page.wait_for_url(f"{live.url}/admin/anvandare/{OPERATOR}?klart=aterkallad")
    assert "Nyckeln är återkallad." in page.inner_text("main")
    assert [t.active for t in live.app.service.accounts.tokens(OPERATOR)] == [False]

    incident_id = live.app.service.declare(actor_id=ADMIN, values=DECLARE).incident_id
    page.goto(f"{live.url}/incidenter/{incident_id}")
    page.get_by_text("Lägg till anteckning").click()
    page.get_by_label("Anteckning", exact=True).fill("Cerner ringer tillbaka 10:30.")
    page.get_by_role("button", name="Spara anteckningen").click()
    page.wait_for_url(f"{live.url}/incidenter/{incident_id}?klart=antecknat#handelser")
    assert "Cerner ringer tillbaka 10:30." in page.inner_text("main")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shoot(page, "phone-incident-note")
