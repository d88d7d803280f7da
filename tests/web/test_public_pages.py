"""The public pages against a served app (SQLite and PostgreSQL): the published banner and
news files, subscribe -> confirm -> unsubscribe (double opt-in by mail, RFC 8058 one-click),
"Rapportera påverkan" into the timeline with the operators told, CSRF, rate limits, and the
W3C Nu HTML checker on every page."""

from __future__ import annotations

import email
import json
import re
import subprocess
import time
from email import policy
from pathlib import Path

import httpx

from tests.app_helpers import DECLARE, OPERATOR
from tests.integration.test_output_standards import vnu_command
from tests.web.conftest import Live
from tests.web.page_helpers import csrf_of

MAILBOX = "info.samsa@vgregion.se"
CONFIRM = re.compile(r"/subscribe/confirm/[A-Za-z0-9_-]+")


def _client(live: Live) -> httpx.Client:
    client = httpx.Client(base_url=live.url, timeout=30)
    live.clients.append(client)
    return client


def _mail_to(live: Live, address: str) -> email.message.EmailMessage:
    """The confirmation mail the file outbox received for `address` (it is sent after the
    response, so wait a little for it)."""
    folder = live.app.settings.data / "outbox" / "newsletter"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for path in sorted(folder.glob(f"*{address}*.eml")) if folder.is_dir() else []:
            parsed = email.message_from_bytes(path.read_bytes(), policy=policy.default)
            assert isinstance(parsed, email.message.EmailMessage)
            return parsed
        time.sleep(0.05)
    raise AssertionError(f"no confirmation mail to {address} in {folder}")


def _subscribe(client: httpx.Client, address: str) -> httpx.Response:
    form = client.get("/prenumerera")
    data = {"csrf": csrf_of(form.text), "email": address, "name": "Eva", "audience": "subscribers"}
    return client.post("/prenumerera", data=data)


def test_subscribe_confirm_by_mailed_link_and_one_click_unsubscribe(live: Live) -> None:
    """The confirmation link reaches only the mailbox; GET confirms nothing, the page's POST
    does, and a one-click POST without any cookie or CSRF value unsubscribes."""
    client = _client(live)
    answer = _subscribe(client, "eva@example.se")
    assert answer.status_code == 200 and "Kolla din e-post" in answer.text
    mail = _mail_to(live, "eva@example.se")
    body = mail.get_body(("plain",))
    assert body is not None
    found = CONFIRM.search(body.get_content())
    assert found, body.get_content()
    path = found.group(0)
    assert path.rsplit("/", 1)[1] not in answer.text  # never shown to whoever typed it
    page = client.get(path)
    assert page.status_code == 200
    (pending,) = live.app.service.subscriptions.list(audience="subscribers")
    assert pending.status == "pending"
    done = client.post(path, data={"csrf": csrf_of(page.text)})
    assert done.status_code == 200 and "bekräftad" in done.text
    (confirmed,) = live.app.service.subscriptions.list(audience="subscribers")
    assert confirmed.status == "confirmed"
    one_click = httpx.post(
        f"{live.url}/unsubscribe/{confirmed.unsubscribe_token}",
        data={"List-Unsubscribe": "One-Click"},
        timeout=30,
    )
    assert one_click.status_code == 200
    (ended,) = live.app.service.subscriptions.list(audience="subscribers")
    assert ended.status == "unsubscribed"


def test_forms_refuse_posts_without_the_signed_cookie_value(live: Live) -> None:
    """A cross-site post (no cookie, or a value signed for another cookie) changes nothing."""
    iid = live.app.service.declare(actor_id=OPERATOR, values=DECLARE).incident_id
    stranger = _client(live)
    value = csrf_of(stranger.get("/prenumerera").text)
    forged = httpx.post(
        f"{live.url}/prenumerera",
        data={"csrf": value, "email": "a@example.se", "audience": "subscribers"},
        timeout=30,
    )
    assert forged.status_code == 403
    report = httpx.post(
        f"{live.url}/rapportera",
        data={"csrf": value, "incident": iid, "organisation": "X", "text": "y"},
        cookies={"driftplan_public_csrf": "another-value"},
        timeout=30,
    )
    assert report.status_code == 403
    assert live.app.service.subscriptions.list() == []
    assert [e for e in live.app.service.log(iid) if e["kind"] == "report"] == []
    unsubscribe = httpx.post(f"{live.url}/unsubscribe/whatever", data={}, timeout=30)
    assert unsubscribe.status_code == 403


def test_public_report_lands_in_the_timeline_and_tells_the_operators(live: Live) -> None:
    """A report is logged with the actor "public" on the chosen incident, and the plan's
    `inbound_reports` channel gets a message to the operators carrying the report."""
    iid = live.app.service.declare(actor_id=OPERATOR, values=DECLARE).incident_id
    client = _client(live)
    form = client.get("/rapportera")
    assert MAILBOX in form.text and "Fyrbodal" in form.text
    answer = client.post(
        "/rapportera",
        data={
            "csrf": csrf_of(form.text),
            "incident": iid,
            "organisation": "Lysekils kommun",
            "contact": "Kim, 0523-100 00",
            "subregion": "fyrbodal",
            "text": "Hemtjänsten ser inte utskrivningarna.",
        },
    )
    assert answer.status_code == 200 and "Tack för rapporten" in answer.text
    events = live.client(OPERATOR).get(f"/api/v1/incidents/{iid}/events").json()
    (report,) = [e for e in events if e["kind"] == "report"]
    assert report["actor"] == "public"
    assert report["data"]["organisation"] == "Lysekils kommun"
    assert report["data"]["subregion"] == "fyrbodal" and report["data"]["via"] == "web"
    (notice,) = [m for m in live.app.service.messages(iid) if m.cause == "report:public"]
    assert notice.channel == "staff_email"
    assert "Hemtjänsten ser inte utskrivningarna." in notice.body_text
    assert {r.person_id for r in notice.recipients} >= {"anna.andersson"}


def test_report_form_without_open_incident_names_the_mailbox(live: Live) -> None:
    """With no outage open there is no form, only where to write instead."""
    page = _client(live).get("/rapportera")
    assert page.status_code == 200
    assert "Ingen driftstörning pågår" in page.text and MAILBOX in page.text
    assert 'action="/rapportera"' not in page.text


def test_report_rate_limit_holds_per_client(live: Live) -> None:
    """The sixth report within ten minutes from one address is refused (429) and not logged."""
    iid = live.app.service.declare(actor_id=OPERATOR, values=DECLARE).incident_id
    client = _client(live)
    statuses = []
    for n in range(6):
        form = client.get("/rapportera")
        data = {"csrf": csrf_of(form.text), "incident": iid, "organisation": "O", "text": f"{n}"}
        statuses.append(client.post("/rapportera", data=data).status_code)
    assert statuses == [200] * 5 + [429]
    assert len([e for e in live.app.service.log(iid) if e["kind"] == "report"]) == 5


def test_published_files_have_their_types_and_cache_headers(live: Live) -> None:
    """The banner files, the news and the feed come with their content types and cache rules;
    the banner may be read from another origin (the login page)."""
    service = live.app.service
    iid = service.declare(actor_id=OPERATOR, values=DECLARE).incident_id
    live.app.dispatcher.deliver_due()
    client = _client(live)
    notice = client.get("/public/banner.json")
    assert notice.headers["content-type"] == "application/json"
    assert notice.headers["cache-control"] == "no-cache"
    assert notice.headers["access-control-allow-origin"] == "*"
    document = notice.json()
    assert document["active"] is True and document["incident_id"] == iid
    assert document["severity"] in ("warning", "info", "critical")
    assert "driftplan-banner-" in client.get("/public/banner.html").text
    script = client.get("/public/banner.js")
    assert script.headers["content-type"].startswith("text/javascript")
    assert '"banner.css"' in script.text
    css = client.get("/public/banner.css")
    assert css.headers["content-type"].startswith("text/css")
    assert ".driftplan-banner-critical" in css.text
    feed = client.get("/public/feed.atom")
    assert feed.headers["content-type"].startswith("application/atom+xml")
    index = client.get("/public/news", follow_redirects=True)
    assert index.status_code == 200 and str(index.url).endswith("/public/news/")
    assert client.get("/public/news/..%2Fbanner.json").status_code == 404


def test_public_pages_pass_the_nu_html_checker(live: Live, tmp_path: Path) -> None:
    """Every public page (forms, answers, errors, English) is valid HTML without warnings."""
    command = vnu_command()
    iid = live.app.service.declare(actor_id=OPERATOR, values=DECLARE).incident_id
    client = _client(live)
    pages = {
        "subscribe": client.get("/prenumerera").text,
        "subscribe_en": client.get("/prenumerera?lang=en").text,
        "subscribe_error": client.post(
            "/prenumerera",
            data={"csrf": csrf_of(client.get("/prenumerera").text), "email": "<x>"},
        ).text,
        "report": client.get("/rapportera").text,
        "report_error": client.post(
            "/rapportera", data={"csrf": csrf_of(client.get("/rapportera").text), "incident": iid}
        ).text,
        "confirm": client.get("/subscribe/confirm/abc").text,
        "unsubscribe": client.get("/unsubscribe/abc").text,
        "unknown_link": client.post(
            "/unsubscribe/abc", data={"List-Unsubscribe": "One-Click"}
        ).text,
        "news_empty": client.get("/public/news/").text,
    }
    files = []
    for name, text in pages.items():
        path = tmp_path / f"{name}.html"
        path.write_text(text, "utf-8")
        files.append(str(path))
    done = subprocess.run(
        [*command, "--format", "json", *files],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    messages = json.loads(done.stderr or done.stdout or '{"messages": []}')["messages"]
    problems = [m for m in messages if m.get("type") == "error" or m.get("subType") == "warning"]
    assert problems == [], json.dumps(problems, indent=1, ensure_ascii=False)
