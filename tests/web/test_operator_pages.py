"""The operator's pages over real HTTP: the start page, declaring with field-level messages and a
preview, the incident page with only the person's actions, forged triggers and missing CSRF
tokens refused, dead letters sent again, the English switch, and valid HTML throughout."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import httpx

from engine.domain.model import DeliveryResult, MessageStatus, RecipientStatus
from tests.app_helpers import DECLARE, OPERATOR
from tests.web.conftest import Live
from tests.web.page_helpers import ask, csrf_of, events, sign_in
from tests.web.test_pages_signin import Labels, vnu_command

HIDDEN = re.compile(r'<input type="hidden" name="(f_[^"]*)" value="([^"]*)">')


def declare_form(**fields: str | list[str]) -> dict[str, str | list[str]]:
    """A declare form as a browser posts it (fields prefixed as the generated form names them)."""
    return {f"f_{name}": value for name, value in fields.items()}


def preview(web: httpx.Client, **fields: str | list[str]) -> httpx.Response:
    csrf = csrf_of(web.get("/incidenter/ny").text)
    return web.post(
        "/incidenter/ny", data={"csrf": csrf, "steg": "granska", **declare_form(**fields)}
    )


def confirm(web: httpx.Client, page: str, path: str = "/incidenter/ny") -> httpx.Response:
    """Post the preview page's confirmation as its button does: its hidden fields and "skicka"."""
    data: dict[str, list[str] | str] = {"csrf": csrf_of(page), "steg": "skicka"}
    for name, value in HIDDEN.findall(page):
        values = data.setdefault(name, [])
        assert isinstance(values, list)
        values.append(html.unescape(value))
    return web.post(path, data=data)


def test_signed_out_start_page_goes_to_sign_in(live: Live) -> None:
    """Without a session the start page redirects to sign-in, which comes back to it."""
    web = httpx.Client(base_url=live.url, timeout=30)
    live.clients.append(web)
    answer = web.get("/")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/logga-in?next=/"


def test_start_page_lists_open_incidents_with_what_is_due(live: Live) -> None:
    """Open incidents show their state, age, next timer and pending decisions; an exercise is
    marked ÖVNING; the operator gets the declare button and a decider does not."""
    incident_id, _ = ask(live, exercise=True)
    page = sign_in(live, OPERATOR).get("/")
    assert page.status_code == 200
    text = page.text
    for shown in (
        f'href="/incidenter/{incident_id}"',
        "Avbrott i IT-tjänsten",
        "ÖVNING",
        "Påminnelse om beslut: <time",  # the soonest timer: the decision's reminder
        "Väntande beslut</dt>\n<dd>1</dd>",
        "Ny driftstörning",
        'src="/static/refresh.js"',
    ):
        assert shown in text, shown
    decider = sign_in(live, "johan.berg").get("/").text
    assert incident_id in decider
    assert "Ny driftstörning" not in decider


def test_declare_shows_every_field_problem_beside_its_field(live: Live) -> None:
    """A form missing a required text and holding a bad time answers 422 with a message at
    each of those fields, keeps what was typed, and declares nothing."""
    web = sign_in(live, OPERATOR)
    answer = preview(
        web, started_at="14:00", scope="  ", expected_resolution="igår", details="Kvar"
    )
    assert answer.status_code == 422
    text = answer.text
    assert 'id="f_scope-fel"' in text and "Fyll i det här fältet." in text
    assert 'id="f_expected_resolution-fel"' in text and "igår" in text
    assert 'id="f_started_at-fel"' not in text
    assert ">Kvar</textarea>" in text  # what was typed stays
    assert live.app.service.incidents() == []


def test_declare_previews_every_message_then_sends_and_shows_the_incident(live: Live) -> None:
    """The preview lists each message by channel and audience and sends nothing; confirming
    posts the same values again, declares once and redirects to the incident's page, where the
    state, the data and the messages show. "14:00" means today in the plan's timezone."""
    web = sign_in(live, OPERATOR)
    shown = preview(
        web,
        started_at="14:00",
        scope="Ingen åtkomst <script>alert(1)</script>",
        expected_resolution_okand="ja",
        affected_subregions=["fyrbodal", "goteborg"],
    )
    assert shown.status_code == 200, shown.text
    page = shown.text
    for part in (
        "Granska innan du skickar",
        "E-postlista till support- och IT-organisationer → IT-avdelningar och support",
        "4 mars 2025 kl. 14.00",
        "Fyrbodal, Göteborgsområdet",
        "&lt;script&gt;alert(1)&lt;/script&gt;",
    ):
        assert part in page, part
    assert "<script>alert" not in page
    assert live.app.service.incidents() == []  # a preview sends and keeps nothing
    done = confirm(web, page)
    assert done.status_code == 303
    location = done.headers["location"]
    incident_id = location.split("/")[2].split("?")[0]
    [incident] = live.app.service.incidents()
    assert incident["id"] == incident_id
    assert incident["data"]["started_at"] == "2025-03-04T13:00:00+00:00"  # 14.00 in Stockholm
    assert incident["data"]["expected_resolution"] == "unknown"
    assert incident["data"]["affected_subregions"] == ["fyrbodal", "goteborg"]
    incident_page = web.get(location).text
    assert "<h1>Avbrott i IT-tjänsten</h1>" in incident_page
    assert "Driftstörningen är anmäld" in incident_page
    assert 'aria-current="step"' in incident_page
    assert "Driftstörning i SAMSA" in incident_page  # a message's subject
    assert "anmälan" in incident_page  # the timeline's first event
    assert web.get(location).status_code == 200  # a reload sends nothing again
    assert len(live.app.service.incidents()) == 1


def test_incident_page_offers_only_the_persons_actions(live: Live) -> None:
    """The operator sees withdraw and restore; a sub-regional decider sees only the reserve
    step their role allows, and the pending decision with who still has to decide."""
    incident_id, _ = ask(live)
    path = f"/incidenter/{incident_id}"
    operator = sign_in(live, OPERATOR).get(path).text
    assert "/atgard/withdraw" in operator and "/atgard/restore" in operator
    decider = sign_in(live, "johan.berg").get(path).text
    assert "/atgard/add_reserve_subregion" not in decider  # not in this state
    assert "/atgard/withdraw" not in decider and "/atgard/restore" not in decider
    assert "Beslutsfattare på delregional nivå (Fyrbodal)" in decider  # still to decide
    assert "Påminnelse om beslut" in decider  # the gate's reminder timer


def test_an_action_is_previewed_then_sent_and_a_gated_one_asks_for_a_decision(
    live: Live,
) -> None:
    """An action's form shows the fields its trigger accepts; its preview sends nothing, and
    confirming fires it; a gated action ends as a pending decision, said so on the page."""
    service = live.app.service
    incident_id = service.declare(actor_id=OPERATOR, values=DECLARE).incident_id
    web = sign_in(live, OPERATOR)
    path = f"/incidenter/{incident_id}/atgard/restore"
    form = web.get(path).text
    assert 'name="f_resolved_at" value="2025-03-04T09:30"' in form  # needed, so set to now
    assert 'name="f_scope"' not in form  # restore does not set the scope
    shown = web.post(
        path, data={"csrf": csrf_of(form), "steg": "granska", "f_resolved_at": "09:45"}
    )
    assert shown.status_code == 200 and "Tjänsten är åter" in shown.text
    assert service.show(incident_id)["state"] == "outage"
    done = confirm(web, shown.text, path)
    assert done.status_code == 303
    assert service.show(incident_id)["state"] == "restored"
    assert service.show(incident_id)["data"]["resolved_at"] == "2025-03-04T08:45:00+00:00"
    assert "Klart: Tjänsten är återställd." in web.get(done.headers["location"]).text

    other = service.declare(actor_id=OPERATOR, values=DECLARE).incident_id
    path = f"/incidenter/{other}/atgard/enter_partial_reserve"
    form = web.get(path).text
    shown = web.post(
        path,
        data={"csrf": csrf_of(form), "steg": "granska", "f_reserve_subregions": "fyrbodal"},
    )
    assert "Åtgärden kräver ett beslut" in shown.text
    done = confirm(web, shown.text, path)
    assert "Begäran är skickad" in web.get(done.headers["location"]).text
    assert len(service.show(other)["pending_approvals"]) == 1


def test_a_forged_trigger_is_refused_by_the_service_and_logged(live: Live) -> None:
    """Posting a trigger the person may not fire answers 403 with a page that says so, changes
    nothing, and the refusal is in the incident's log."""
    service = live.app.service
    incident_id = service.declare(actor_id=OPERATOR, values=DECLARE).incident_id
    web = sign_in(live, "johan.berg")
    csrf = csrf_of(web.get(f"/incidenter/{incident_id}").text)
    answer = web.post(
        f"/incidenter/{incident_id}/atgard/restore",
        data={"csrf": csrf, "steg": "skicka", "f_resolved_at": "2025-03-04T10:00"},
    )
    assert answer.status_code == 403
    assert "Det går inte" in answer.text and "får inte" in answer.text
    assert service.show(incident_id)["state"] == "outage"
    assert [e["actor"] for e in events(live, incident_id, "refused")] == ["johan.berg"]
    wrong_state = web.get(f"/incidenter/{incident_id}/atgard/close")
    assert wrong_state.status_code == 409


def test_unsafe_posts_without_the_csrf_token_are_refused(live: Live) -> None:
    """A declaration, an action and a retry posted without the session's token answer 403 and
    do nothing."""
    incident_id = live.app.service.declare(actor_id=OPERATOR, values=DECLARE).incident_id
    web = sign_in(live, OPERATOR)
    fields = declare_form(started_at="now", scope="x", expected_resolution="okänd")
    assert web.post("/incidenter/ny", data={"steg": "skicka", **fields}).status_code == 403
    update = {"steg": "skicka", "csrf": "fel", "f_details": "Nytt"}
    assert web.post(f"/incidenter/{incident_id}/atgard/post_update", data=update).status_code == 403
    assert len(live.app.service.incidents()) == 1
    assert events(live, incident_id, "update") == []


def test_a_dead_letter_shows_its_recipients_and_can_be_sent_again(live: Live) -> None:
    """A dead letter shows each recipient's result and a retry button; pressing it queues the
    message again and the log names who did it."""
    service = live.app.service
    incident_id = service.declare(actor_id=OPERATOR, values=DECLARE).incident_id
    with live.app.database.unit_of_work() as uow:
        message = next(m for m in uow.messages.list(incident_id) if m.channel == "support_email")
        message.status = MessageStatus.DEAD
        message.results = [
            DeliveryResult(
                message.recipients[0].address,
                RecipientStatus.PERMANENT,
                "550 5.1.1 No such user",
                "2025-03-04T08:31:00+00:00",
                1,
            )
        ]
        uow.messages.update(message)
        uow.commit()
    web = sign_in(live, OPERATOR)
    path = f"/incidenter/{incident_id}"
    page = web.get(path).text
    assert "550 5.1.1 No such user" in page and "Misslyckade meddelanden" not in page
    action = f"{path}/meddelanden/{message.id}/skicka-igen"
    assert f'action="{action}"' in page
    home = web.get("/").text
    assert 'Misslyckade meddelanden</dt>\n<dd class="alert">1</dd>' in home
    done = web.post(action, data={"csrf": csrf_of(page)})
    assert done.status_code == 303
    assert "Meddelandet skickas igen." in web.get(done.headers["location"]).text
    requeued = next(m for m in service.messages(incident_id) if m.id == message.id)
    assert requeued.status == MessageStatus.PENDING
    assert [e["actor"] for e in events(live, incident_id, "delivery_requeued")] == [OPERATOR]


def test_english_is_one_switch_away_and_remembered(live: Live) -> None:
    """`?lang=en` turns the page English and a cookie keeps later pages English; `?lang=sv`
    turns it back."""
    incident_id = live.app.service.declare(actor_id=OPERATOR, values=DECLARE).incident_id
    web = sign_in(live, OPERATOR)
    english = web.get(f"/incidenter/{incident_id}?lang=en").text
    assert '<html lang="en">' in english and "What you can do now" in english
    assert "<h1>Outage in the IT service</h1>" in english and "Det du kan göra nu" not in english
    assert "Open incidents" in web.get("/").text
    assert "Pågående driftstörningar" in web.get("/?lang=sv").text


def test_every_operator_page_is_valid_html_with_labelled_fields(
    live_sqlite: Live, tmp_path: Path
) -> None:
    """The start page, the declare form (blank and with errors), the preview, the incident page,
    an action's form and a refusal pass the Nu HTML checker, and every field has a label."""
    command = vnu_command()
    live = live_sqlite
    folder = tmp_path / "pages"
    folder.mkdir()
    incident_id, _ = ask(live, exercise=True)
    web = sign_in(live, OPERATOR)
    shown = preview(web, started_at="14:00", scope="Ingen åtkomst", expected_resolution="16:30")
    pages = {
        "home": web.get("/").text,
        "declare": web.get("/incidenter/ny").text,
        "declare-errors": preview(web, started_at="igår", scope="").text,
        "preview": shown.text,
        "incident": web.get(f"/incidenter/{incident_id}").text,
        "incident-en": web.get(f"/incidenter/{incident_id}?lang=en").text,
        "action": web.get(f"/incidenter/{incident_id}/atgard/post_update?lang=sv").text,
        "refused": sign_in(live, "johan.berg").get(f"/incidenter/{incident_id}/atgard/close").text,
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
    problems = [
        m
        for m in messages
        if (m.get("type") == "error" or m.get("subType") == "warning")
        # The checker's one standing advice on datetime-local: a browser without it shows a
        # text box, and the server accepts typed times ("14:00", "2025-03-04 14:30") there.
        and not m.get("message", "").startswith("The “datetime-local” input type is not")
    ]
    assert problems == [], json.dumps(problems, indent=1, ensure_ascii=False)
