"""A crisis meeting called for a mistaken declaration, through the real application, a real SMTP
server and the published news: the meeting's own time and place, then the withdrawal that cancels
the invitation for everyone it invited and takes the news item back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import feedparser
import icalendar
import pytest
import vobject

from engine.bootstrap import App
from tests.app_helpers import DECLARE, OPERATOR, FakeClock, make_app, make_dispatcher
from tests.channel_helpers import SmtpServer

PLACE = "Telefonkonferens 08-123 456, kod 789"
STOCKHOLM = ZoneInfo("Europe/Stockholm")


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    application = make_app(tmp_path, clock=FakeClock())
    yield application
    application.database.dispose()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


def _deliver(app: App, smtp: SmtpServer) -> None:
    environ = {
        "DRIFTPLAN_SMTP_HOST": "127.0.0.1",
        "DRIFTPLAN_SMTP_PORT": str(smtp.port),
        "DRIFTPLAN_MAIL_FROM": "SAMSA driftinformation <drift@gits.example.se>",
    }
    dispatcher = make_dispatcher(app, environ)
    summary = dispatcher.deliver_due()
    dispatcher.close()
    assert summary.dead == 0


def _events(smtp: SmtpServer) -> dict[str, list[tuple[str, icalendar.Event, str]]]:
    """Per iTIP method: (recipient, VEVENT, raw text) of every calendar mail received."""
    out: dict[str, list[tuple[str, icalendar.Event, str]]] = {}
    for got in smtp.received:
        if got.message["X-Driftplan-Channel"] != "meeting_invite":
            continue
        part = next(p for p in got.message.walk() if p.get_content_type() == "text/calendar")
        raw = part.get_payload(decode=True).decode("utf-8")
        calendar = icalendar.Calendar.from_ical(raw)
        out.setdefault(str(calendar["METHOD"]), []).append(
            (got.rcpt_tos[0], calendar.walk("VEVENT")[0], raw)
        )
    return out


def _crisis(app: App, smtp: SmtpServer) -> str:
    incident_id = app.service.declare(actor_id=OPERATOR, values=DECLARE).incident_id
    app.service.fire(
        incident_id=incident_id,
        trigger="notify_crisis",
        actor_id=OPERATOR,
        values={"crisis_meeting_at": "2025-03-04T11:00", "crisis_meeting_location": PLACE},
    )
    _deliver(app, smtp)
    return incident_id


def test_the_crisis_meeting_has_the_incidents_time_and_place_and_invites_the_parties(
    app: App, smtp: SmtpServer
) -> None:
    """The invitation starts at the time given with notify_crisis, names its phone conference
    (never "meddelas senare"), and reaches the council and the involved parties."""
    _crisis(app, smtp)
    requests = _events(smtp)["REQUEST"]
    invited = {address for address, _, _ in requests}
    council = {f"{i}@ledningsrad.example.se" for i in ("olof.strand", "margareta.lund")}
    assert council <= invited
    assert len(invited - council) >= 1  # the involved parties: operations, supplier, lists
    for _, event, raw in requests:
        assert event["DTSTART"].dt == datetime(2025, 3, 4, 11, 0, tzinfo=STOCKHOLM)
        assert str(event["LOCATION"]) == PLACE
        assert "meddelas senare" not in raw
    mail = next(
        g.message for g in smtp.received if g.message["X-Driftplan-Channel"] == "meeting_invite"
    )
    body = mail.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert f"Plats: {PLACE}" in text and f"Anslut till mötet: {PLACE}" in text
    assert "meddelas senare" not in text


def test_withdrawal_cancels_the_crisis_meeting_and_takes_the_news_back(
    app: App, smtp: SmtpServer
) -> None:
    """Withdrawing sends every invitee a CANCEL with the invitation's UID and a higher
    SEQUENCE (read alike by icalendar and vobject), and the news index and feed keep only the
    correction."""
    incident_id = _crisis(app, smtp)
    requests = _events(smtp)["REQUEST"]
    news = app.settings.data / "public" / "news"
    assert "Driftstörning i SAMSA" in (news / "index.html").read_text("utf-8")

    app.service.fire(
        incident_id=incident_id,
        trigger="withdraw",
        actor_id=OPERATOR,
        values={"withdrawal_reason": "Testlarm som gick ut av misstag"},
    )
    _deliver(app, smtp)

    cancels = _events(smtp)["CANCEL"]
    assert {a for a, _, _ in cancels} == {a for a, _, _ in requests}
    [uid] = {str(event["UID"]) for _, event, _ in requests}
    for _, event, raw in cancels:
        assert (str(event["UID"]), int(event["SEQUENCE"])) == (uid, 1)
        assert str(event["STATUS"]) == "CANCELLED"
        card = vobject.readOne(raw)
        assert (card.method.value, card.vevent.uid.value) == ("CANCEL", uid)
    feed = feedparser.parse((news / "feed.atom").read_bytes())
    assert not feed.bozo
    assert [e.title.startswith("Rättelse") for e in feed.entries] == [True]
    assert "Driftstörning i SAMSA" not in (news / "index.html").read_text("utf-8")
    assert "Testlarm som gick ut av misstag" in feed.entries[0].content[0].value


def test_restoring_a_real_outage_keeps_the_crisis_meeting(app: App, smtp: SmtpServer) -> None:
    """After a real outage the crisis meeting still happens: `restore` cancels nothing."""
    incident_id = _crisis(app, smtp)
    app.service.fire(incident_id=incident_id, trigger="restore", actor_id=OPERATOR)
    _deliver(app, smtp)
    assert "CANCEL" not in _events(smtp)
    assert len(_events(smtp)["REQUEST"]) >= 3
