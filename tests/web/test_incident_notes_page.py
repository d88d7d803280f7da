"""The incident page's timeline over real HTTP: a note and an organisation's report written
through the page's forms show in the timeline (escaped), a post without the session's CSRF
token is refused, a partly approved request says so, and the pages these forms and the admin
pages make pass the Nu HTML checker."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from tests.app_helpers import OPERATOR
from tests.web.conftest import Live
from tests.web.page_helpers import ask, csrf_of, events, sign_in
from tests.web.test_pages_signin import Labels, vnu_command

XSS = '<script>alert("x")</script>'


def test_a_note_written_on_the_page_shows_in_the_timeline(live: Live) -> None:
    """The note form's text goes into the log as the operator's note and the page shows it,
    escaped, with a confirmation; nothing is sent."""
    incident_id, _ = ask(live)
    web = sign_in(live, OPERATOR)
    path = f"/incidenter/{incident_id}"
    page = web.get(path).text
    assert "Lägg till anteckning" in page and "Registrera rapport" in page
    sent = len(live.app.service.messages(incident_id))
    done = web.post(
        f"{path}/anteckning", data={"csrf": csrf_of(page), "text": f"Ringt Cerner. {XSS}"}
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"{path}?klart=antecknat#handelser"
    shown = web.get(done.headers["location"]).text
    assert "Anteckningen är sparad." in shown
    assert (
        '<p class="said">Ringt Cerner. &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;</p>' in shown
    )
    assert XSS not in shown
    [note] = events(live, incident_id, "note")
    assert note["actor"] == OPERATOR and note["text"] == f"Ringt Cerner. {XSS}"
    assert len(live.app.service.messages(incident_id)) == sent


def test_a_report_recorded_on_the_page_names_who_reported_and_how(live: Live) -> None:
    """The report form records organisation, contact, sub-region and how it came in, and
    the timeline shows them in the plan's words; an empty text is refused with the reason."""
    incident_id, _ = ask(live)
    web = sign_in(live, OPERATOR)
    path = f"/incidenter/{incident_id}"
    csrf = csrf_of(web.get(path).text)
    form = {
        "csrf": csrf,
        "organisation": "Kommun 1",
        "contact": "Växeln, 0520-00 00 00",
        "subregion": "fyrbodal",
        "via": "phone",
        "text": "Hemtjänsten saknar journalen.",
    }
    done = web.post(f"{path}/rapport", data=form)
    assert done.status_code == 303
    shown = web.get(done.headers["location"]).text
    assert "Rapporten är registrerad." in shown
    assert "Från Kommun 1 (Växeln, 0520-00 00 00) · Fyrbodal · mottagen via telefon" in shown
    assert "Hemtjänsten saknar journalen." in shown
    [report] = events(live, incident_id, "report")
    assert report["data"]["organisation"] == "Kommun 1" and report["data"]["via"] == "phone"
    empty = web.post(f"{path}/rapport", data={**form, "text": "  "})
    assert empty.status_code == 422 and "texten är tom" in empty.text
    assert len(events(live, incident_id, "report")) == 1


def test_timeline_posts_without_the_csrf_token_are_refused(live: Live) -> None:
    """A note or report posted without (or with a wrong) CSRF token answers 403 and writes
    nothing."""
    incident_id, _ = ask(live)
    web = sign_in(live, OPERATOR)
    path = f"/incidenter/{incident_id}"
    assert web.post(f"{path}/anteckning", data={"text": "Förfalskad"}).status_code == 403
    forged = {"csrf": "fel", "organisation": "X", "text": "Förfalskad"}
    assert web.post(f"{path}/rapport", data=forged).status_code == 403
    assert events(live, incident_id, "note") == [] and events(live, incident_id, "report") == []


def test_a_partly_approved_request_is_shown_as_such(live: Live) -> None:
    """A per-sub-region request that one of two sub-regions approved reads "delvis godkänd"
    on the incident page ("partly approved" in English)."""
    incident_id, approval_id = ask(live, values={"reserve_subregions": ["fyrbodal", "goteborg"]})
    live.app.service.decide(approval_id=approval_id, actor_id="johan.berg", approve=True)
    web = sign_in(live, OPERATOR)
    page = web.get(f"/incidenter/{incident_id}").text
    assert '<dd class="request-status">delvis godkänd</dd>' in page
    english = web.get(f"/incidenter/{incident_id}?lang=en").text
    assert '<dd class="request-status">partly approved</dd>' in english


def test_the_incident_and_admin_pages_are_valid_html(live_sqlite: Live, tmp_path: Path) -> None:
    """The incident page with a note and a report, and every admin page (with an import
    error and a new token shown) pass the Nu HTML checker, and every field has a label."""
    command = vnu_command()
    live = live_sqlite
    folder = tmp_path / "pages"
    folder.mkdir()
    incident_id, approval_id = ask(live, values={"reserve_subregions": ["fyrbodal", "goteborg"]})
    live.app.service.decide(approval_id=approval_id, actor_id="johan.berg", approve=True)
    service = live.app.service
    service.note(incident_id=incident_id, actor_id=OPERATOR, text=f"Anteckning {XSS}")
    service.report(
        incident_id=incident_id,
        actor_id=OPERATOR,
        text="Påverkade",
        organisation="Kommun 1",
        subregion="fyrbodal",
        via="email",
    )
    service.subscriptions.subscribe(audience="subscribers", email="a@example.se", name="A")
    admin = sign_in(live, "erik.johansson")
    csrf = csrf_of(admin.get("/admin").text)
    import_error = admin.post(
        "/admin/importera",
        data={"csrf": csrf},
        files={"fil": ("k.yaml", b"people: [{id: x}]\n", "application/yaml")},
    )
    assert import_error.status_code == 422
    token = admin.post(f"/admin/anvandare/{OPERATOR}/nycklar", data={"csrf": csrf})
    assert token.status_code == 200
    pages = {
        "incident": admin.get(f"/incidenter/{incident_id}").text,
        "incident-en": admin.get(f"/incidenter/{incident_id}?lang=en").text,
        "admin": admin.get("/admin?lang=sv").text,
        "admin-import-error": import_error.text,
        "subscribers": admin.get("/admin/prenumeranter").text,
        "users": admin.get("/admin/anvandare").text,
        "user-token": token.text,
        "refused": sign_in(live, OPERATOR).get("/admin").text,
    }
    for name, page in pages.items():
        parser = Labels()
        parser.feed(page)
        assert set(parser.fields) <= parser.labelled, (name, parser.fields, parser.labelled)
        (folder / f"{name}.html").write_text(page, "utf-8")
    css = Path(__file__).resolve().parents[2] / "engine" / "web" / "static" / "style.css"
    shutil.copy(css, folder / "style.css")
    done = subprocess.run(
        [*command, "--also-check-css", "--format", "json", *sorted(map(str, folder.iterdir()))],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    messages = json.loads(done.stderr or done.stdout or '{"messages": []}')["messages"]
    problems = [m for m in messages if m.get("type") == "error" or m.get("subType") == "warning"]
    assert problems == [], json.dumps(problems, indent=1, ensure_ascii=False)
