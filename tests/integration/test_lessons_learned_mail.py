"""Lessons learned go back to the organisations and suppliers as the seed's follow-up says:
through a real SMTP server, everyone on the four lists gets exactly one copy, the support/IT
list included, however their address is spelt on each list."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.bootstrap import App, build
from engine.domain.model import Message, MessageStatus
from engine.settings import Settings
from tests.app_helpers import (
    DECLARE,
    OPERATOR,
    WORKFLOWS,
    FakeClock,
    make_dispatcher,
    write_directory,
)
from tests.channel_helpers import SmtpServer
from tests.conftest import TEST_AUDIT_KEY

# On the support/IT list and, spelt otherwise, on another list: a working group's mailbox
# (working_groups.csv) and VGR-IT's service desk (involved_parties).
SUPPORT_IT = [
    "it-support@kommun1.example.se",
    "AG-SIP@gits.example.se",
    "Servicedesk@VGRIT.example.se",
]
CERNER = "support@cerner.example.org"  # involved party and supplier, by list and by role


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def app(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    """The SAMSA plan on SQLite or PostgreSQL with the example directory, whose support/IT list
    shares members with the working groups and the involved parties."""
    monkeypatch.setenv("DRIFTPLAN_AUDIT_KEY", TEST_AUDIT_KEY.hex())
    for name in ("DATABASE_URL", "SMTP_HOST", "PUBLIC_URL", "AUDIT_KEY_FILE"):
        monkeypatch.delenv(f"DRIFTPLAN_{name}", raising=False)
    url = None if database_url.startswith("sqlite") else database_url
    settings = Settings(data=tmp_path / "data", workflows=WORKFLOWS, database_url=url)
    application = build(settings, clock=FakeClock())
    application.service.directory.import_file(write_directory(tmp_path, SUPPORT_IT))
    try:
        yield application
    finally:
        application.close()


def _close_an_incident(app: App) -> Message:
    service = app.service
    incident_id = service.declare(actor_id=OPERATOR, values=DECLARE).incident_id
    for trigger, values in [
        ("restore", {"resolved_at": "now"}),
        ("start_follow_up", {}),
        (
            "close",
            {
                "feedback_summary": "Arbetsgrupperna saknade telefonlistan.",
                "evaluation_summary": "Utvärderat med Cerner och VGR-IT.",
                "lessons_learned": "Reservrutinen ska övas varje kvartal.",
            },
        ),
    ]:
        service.fire(incident_id=incident_id, trigger=trigger, actor_id=OPERATOR, values=values)
    [lessons] = [m for m in service.messages(incident_id) if m.cause.startswith("transition:close")]
    return lessons


def test_a_person_on_two_lists_gets_one_lessons_learned_mail(app: App, smtp: SmtpServer) -> None:
    """Closing sends one lessons-learned mail that the server accepts exactly once per address:
    the support/IT list gets it, and those also on another list (or on two) get one copy."""
    lessons = _close_an_incident(app)
    environ = {
        "DRIFTPLAN_SMTP_HOST": "127.0.0.1",
        "DRIFTPLAN_SMTP_PORT": str(smtp.port),
        "DRIFTPLAN_MAIL_FROM": "SAMSA driftinformation <drift@gits.example.se>",
    }
    dispatcher = make_dispatcher(app, environ)
    dispatcher.deliver_due()
    dispatcher.close()

    [sent] = [m for m in app.service.messages(lessons.incident_id) if m.id == lessons.id]
    assert sent.status == MessageStatus.SENT, sent.last_error
    assert sent.audience == "working_groups,involved_parties,suppliers,support_it"
    copies: Counter[str] = Counter()
    for received in smtp.received:
        if lessons.id in str(received.message["Message-ID"]):
            copies.update(rcpt.lower() for rcpt in received.rcpt_tos)
            assert "Erfarenheter från driftstörningen i SAMSA" in str(received.message["Subject"])
    assert copies, "the lessons-learned mail reached the server"
    assert set(copies.values()) == {1}, copies  # nobody twice
    assert {a.lower() for a in SUPPORT_IT} <= set(copies)  # the support/IT list is told
    assert CERNER in copies and "ag-utskrivning@gits.example.se" in copies  # groups, suppliers
    assert set(copies) == {r.address.lower() for r in sent.recipients}
