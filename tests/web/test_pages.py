"""The decision link pages over real HTTP: a GET shows, only a POST with the form's CSRF value
decides, once; altered, expired, used and someone else's links are refused, logged, and say
whom to call instead."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

import httpx

from engine.bootstrap import link_key
from tests.web.conftest import Live
from tests.web.page_helpers import (
    LINK,
    altered,
    ask,
    csrf_of,
    events,
    is_pending,
    link_for,
    sign_in,
)

OPERATOR_PHONE = 'href="tel:+46700000001"'  # Anna Andersson, operator in the example directory


def client(live: Live) -> httpx.Client:
    c = httpx.Client(base_url=live.url, timeout=30)
    live.clients.append(c)
    return c


def test_get_shows_the_question_and_never_decides(live: Live) -> None:
    """Opening a link (as mail scanners do, repeatedly) shows the question and decides nothing."""
    incident_id, approval_id = ask(live)
    path = link_for(live, incident_id, "johan.berg")
    web = client(live)
    for _ in range(3):
        page = web.get(path)
        assert page.status_code == 200
    html = page.text
    for shown in (
        "Johan Berg",  # who is asked
        "Anna Andersson",  # who asks
        "Övergång till reservrutin i delar av verksamheterna",  # what is decided
        "Beslut på delregional nivå",
        "Fyrbodal",
        "4 mars 2025 kl. 11.30",  # the deadline: requested 09.30 local, expires after 2h
        "Ingen åtkomst till SAMSA i Fyrbodal",  # a fact of the incident
        "Beslutsfattare på delregional nivå (Fyrbodal)",  # who still has to decide
        'method="post"',
        'value="godkann"',
        'value="avsla"',
        '<meta name="referrer" content="no-referrer">',
        OPERATOR_PHONE,
    ):
        assert shown in html, shown
    assert "Övning" not in html
    assert is_pending(live, incident_id, approval_id)
    assert events(live, incident_id, "decision") == []


def test_post_decides_once_and_the_second_post_is_told_used(live: Live) -> None:
    """A POST from the page approves; posting again answers 410 "used" and decides nothing more."""
    incident_id, approval_id = ask(live)
    path = link_for(live, incident_id, "johan.berg")
    web = client(live)
    csrf = csrf_of(web.get(path).text)
    form = {"csrf": csrf, "beslut": "godkann", "kommentar": "Beslutat <14.05>"}
    done = web.post(path, data=form)
    assert done.status_code == 200
    assert "Godkänt" in done.text
    assert "Beslutat &lt;14.05&gt;" in done.text  # the comment, escaped
    assert "Reservrutin" in done.text or "reservrutin" in done.text  # the incident's new state
    assert live.app.service.show(incident_id)["state"] == "partial_reserve"
    again = web.post(path, data=form)
    assert again.status_code == 410
    assert "redan använts" in again.text
    assert OPERATOR_PHONE in again.text
    decisions = events(live, incident_id, "decision")
    assert len(decisions) == 1
    assert decisions[0]["data"]["comment"] == "Beslutat <14.05>"
    assert [e["data"]["reason"] for e in events(live, incident_id, "refused")] == ["used"]
    assert not is_pending(live, incident_id, approval_id)


def test_an_altered_link_is_refused_and_decides_nothing(live_sqlite: Live) -> None:
    """A link with one character changed is refused (403) on GET and POST; nothing is decided."""
    live = live_sqlite
    incident_id, approval_id = ask(live)
    path = altered(link_for(live, incident_id, "johan.berg"))
    web = client(live)
    page = web.get(path)
    assert page.status_code == 403
    assert "Länken fungerar inte" in page.text
    assert OPERATOR_PHONE in page.text
    assert "godkann" not in page.text  # no form to decide with
    # Even with the right CSRF value for the altered token, the signature decides.
    token = path.rpartition("/")[2]
    key = link_key(live.app.audit_key)
    forged = hmac.new(key, b"form:" + token.encode(), hashlib.sha256).hexdigest()
    posted = web.post(path, data={"csrf": forged, "beslut": "godkann"})
    assert posted.status_code == 403
    assert is_pending(live, incident_id, approval_id)
    assert events(live, incident_id, "decision") == []


def test_an_expired_link_is_refused_and_logged(live_sqlite: Live) -> None:
    """Past the gate's 4 h expiry the link answers 410 on GET and POST, each refusal logged."""
    live = live_sqlite
    incident_id, _ = ask(live, "enter_total_reserve")
    path = link_for(live, incident_id, "margareta.lund")
    web = client(live)
    csrf = csrf_of(web.get(path).text)
    live.clock.advance(timedelta(hours=4, minutes=1))
    page = web.get(path)
    assert page.status_code == 410
    assert "Tiden för beslutet har gått ut" in page.text
    assert OPERATOR_PHONE in page.text
    posted = web.post(path, data={"csrf": csrf, "beslut": "godkann"})
    assert posted.status_code == 410
    assert events(live, incident_id, "decision") == []
    reasons = [e["data"]["reason"] for e in events(live, incident_id, "refused")]
    assert reasons == ["expired", "expired"]
    assert live.app.service.show(incident_id)["state"] == "outage"


def test_someone_elses_link_is_refused_while_signed_in(live_sqlite: Live) -> None:
    """Signed in as Eva, Johan's link is refused (403, logged) and offers to sign out."""
    live = live_sqlite
    incident_id, approval_id = ask(live, values={"reserve_subregions": "fyrbodal,skaraborg"})
    path = link_for(live, incident_id, "johan.berg")
    eva = sign_in(live, "eva.holm")
    page = eva.get(path)
    assert page.status_code == 403
    assert "Länken är inte din" in page.text
    assert 'action="/logga-ut"' in page.text
    anonymous_csrf = csrf_of(client(live).get(path).text)
    posted = eva.post(path, data={"csrf": anonymous_csrf, "beslut": "godkann"})
    assert posted.status_code == 403
    assert is_pending(live, incident_id, approval_id)
    assert events(live, incident_id, "decision") == []
    reasons = [e["data"]["reason"] for e in events(live, incident_id, "refused")]
    assert reasons == ["someone_else", "someone_else"]


def test_the_link_post_needs_its_own_csrf_value(live_sqlite: Live) -> None:
    """A POST without the form's CSRF value, or with another link's, decides nothing (403)."""
    live = live_sqlite
    incident_id, approval_id = ask(live, values={"reserve_subregions": "fyrbodal,skaraborg"})
    johan, eva = (link_for(live, incident_id, p) for p in ("johan.berg", "eva.holm"))
    web = client(live)
    evas_csrf = csrf_of(web.get(eva).text)
    for form in (
        {"beslut": "godkann"},
        {"csrf": "", "beslut": "godkann"},
        {"csrf": "0" * 64, "beslut": "godkann"},
        {"csrf": evas_csrf, "beslut": "godkann"},
    ):
        answer = web.post(johan, data=form)
        assert answer.status_code == 403, form
        assert "säkerhetsnyckel" in answer.text
    assert is_pending(live, incident_id, approval_id)
    assert events(live, incident_id, "decision") == []
    # The link still works from its own page afterwards.
    csrf = csrf_of(web.get(johan).text)
    assert web.post(johan, data={"csrf": csrf, "beslut": "godkann"}).status_code == 200


def test_two_subregions_record_then_approve_and_a_rejection_closes(live_sqlite: Live) -> None:
    """Each of two sub-regions approving takes effect at once (Fyrbodal enters the partial
    reserve, Skaraborg joins through the new link it was sent); a rejection on another request
    closes it."""
    live = live_sqlite
    incident_id, _ = ask(live, values={"reserve_subregions": "fyrbodal,skaraborg"})
    web = client(live)
    johan = link_for(live, incident_id, "johan.berg")
    # Later messages sort after earlier ones by their time stamp (the fake clock stands still).
    live.clock.advance(timedelta(minutes=1))
    first = web.post(johan, data={"csrf": csrf_of(web.get(johan).text), "beslut": "godkann"})
    assert first.status_code == 200
    assert "Godkänt" in first.text
    assert live.app.service.show(incident_id)["reserve_subregions"] == ["fyrbodal"]
    # Links name the state they were made in: Eva decides through the new one she was sent.
    eva = latest_link_for(live, incident_id, "eva.holm")
    second = web.post(eva, data={"csrf": csrf_of(web.get(eva).text), "beslut": "godkann"})
    assert "Godkänt" in second.text
    shown = live.app.service.show(incident_id)
    assert (shown["state"], shown["reserve_subregions"]) == (
        "partial_reserve",
        ["fyrbodal", "skaraborg"],
    )

    other, approval_id = ask(live, "enter_total_reserve")
    chair = link_for(live, other, "margareta.lund")
    no = web.post(
        chair, data={"csrf": csrf_of(web.get(chair).text), "beslut": "avsla", "kommentar": "Nej"}
    )
    assert no.status_code == 200
    assert "Avslaget" in no.text
    assert not is_pending(live, other, approval_id)
    assert live.app.service.show(other)["state"] == "outage"


def test_a_post_without_a_choice_shows_the_question_again(live_sqlite: Live) -> None:
    """A POST with neither button (or an overlong comment) decides nothing and asks again (422)."""
    live = live_sqlite
    incident_id, approval_id = ask(live)
    path = link_for(live, incident_id, "johan.berg")
    web = client(live)
    csrf = csrf_of(web.get(path).text)
    answer = web.post(path, data={"csrf": csrf, "beslut": "kanske", "kommentar": "hm"})
    assert answer.status_code == 422
    assert "Välj Godkänn eller Avslå" in answer.text
    assert ">hm</textarea>" in answer.text  # the comment is kept
    long = web.post(path, data={"csrf": csrf, "beslut": "godkann", "kommentar": "x" * 2001})
    assert long.status_code == 422
    assert is_pending(live, incident_id, approval_id)


def test_an_exercise_is_marked(live_sqlite: Live) -> None:
    """The question of an exercise incident says "Övning"."""
    live = live_sqlite
    incident_id, _ = ask(live, exercise=True)
    page = client(live).get(link_for(live, incident_id, "johan.berg"))
    assert page.status_code == 200
    assert "Övning" in page.text


def test_link_pages_carry_the_security_headers(live_sqlite: Live) -> None:
    """The link page is not cached, hands no referrer on, and runs under the strict CSP."""
    live = live_sqlite
    incident_id, _ = ask(live)
    page = client(live).get(link_for(live, incident_id, "johan.berg"))
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "<script" not in page.text
    assert "style=" not in page.text


def test_a_comment_with_a_nul_character_is_refused_not_a_crash(live: Live) -> None:
    """A comment holding NUL (which PostgreSQL cannot store) is asked again (422), not a 500."""
    incident_id, approval_id = ask(live)
    path = link_for(live, incident_id, "johan.berg")
    web = client(live)
    csrf = csrf_of(web.get(path).text)
    answer = web.post(path, data={"csrf": csrf, "beslut": "godkann", "kommentar": "a\x00b"})
    assert answer.status_code == 422
    assert "otillåtna tecken" in answer.text
    assert is_pending(live, incident_id, approval_id)
    done = web.post(path, data={"csrf": csrf, "beslut": "godkann", "kommentar": "rad 1\nrad 2"})
    assert done.status_code == 200


def latest_link_for(live: Live, incident_id: str, person: str) -> str:
    """The path of `person`'s newest decision link (a per-slot request sends a new one when
    its first part moved the incident)."""
    found = [
        match.group(0)
        for message in live.app.service.messages(incident_id)
        if any(r.person_id == person for r in message.recipients)
        for match in [LINK.search(message.body_text or "")]
        if match
    ]
    assert found, f"no decision link for {person}"
    return found[-1]
