"""Messages addressed to people carry whom they were for: the decision request is labelled
"approvers" (not the council its crisis channel defaults to), the expiry notice "operators" and
"requester"; `incident messages --json` and the exercise scores show those labels."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.bootstrap import App, build
from engine.cli.app import app as cli
from engine.exercise.scores import informing
from engine.settings import Settings
from tests.app_helpers import (
    DECLARE,
    EXAMPLE_DIRECTORY,
    OPERATOR,
    START,
    WORKFLOWS,
    FakeClock,
    make_dispatcher,
)
from tests.conftest import TEST_AUDIT_KEY


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def env(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The installation's environment, for the application and for the CLI."""
    monkeypatch.setenv("DRIFTPLAN_AUDIT_KEY", TEST_AUDIT_KEY.hex())
    for name in ("DATABASE_URL", "SMTP_HOST", "PUBLIC_URL", "AUDIT_KEY_FILE"):
        monkeypatch.delenv(f"DRIFTPLAN_{name}", raising=False)
    found = {"DRIFTPLAN_DATA": str(tmp_path / "data"), "DRIFTPLAN_WORKFLOWS": str(WORKFLOWS)}
    if not database_url.startswith("sqlite"):
        found["DRIFTPLAN_DATABASE_URL"] = database_url
    return found


@pytest.fixture
def app(env: dict[str, str], clock: FakeClock) -> Iterator[App]:
    """The SAMSA plan with the example directory on SQLite or PostgreSQL, on a fake clock."""
    settings = Settings(
        data=Path(env["DRIFTPLAN_DATA"]),
        workflows=WORKFLOWS,
        database_url=env.get("DRIFTPLAN_DATABASE_URL"),
    )
    application = build(settings, clock=clock)
    application.service.directory.import_file(EXAMPLE_DIRECTORY)
    try:
        yield application
    finally:
        application.close()


def _unanswered_total_reserve(app: App, clock: FakeClock) -> tuple[str, str]:
    """The operator asks for total reserve; nobody answers until the request expires."""
    incident_id = app.service.declare(actor_id=OPERATOR, values=DECLARE).incident_id
    asked = app.service.fire(
        incident_id=incident_id, trigger="enter_total_reserve", actor_id=OPERATOR
    )
    assert asked.approval_id is not None
    for minutes in (16, 31, 241):  # the 15 and 30 minute reminders, then the 4 h expiry
        clock.set(START + timedelta(minutes=minutes))
        app.timers.fire_due()
    return incident_id, asked.approval_id


def test_decision_messages_are_labelled_with_their_real_audience(
    app: App, clock: FakeClock, env: dict[str, str]
) -> None:
    """The request and the chair's reminder are for the approvers, the overdue notice for the
    operators, the expiry notice for the operators and the requester; the JSON says so."""
    incident_id, approval_id = _unanswered_total_reserve(app, clock)

    labels = {
        m.cause.split(" ")[0]: (m.channel, m.audience)
        for m in app.service.messages(incident_id)
        if approval_id in m.cause
    }
    assert labels == {
        f"approval_requested:{approval_id}": ("crisis_email", "approvers"),
        f"timer:approval:{approval_id}:remind:0": ("crisis_email", "approvers"),
        f"timer:approval:{approval_id}:remind:1": ("staff_email", "operators"),
        f"approval_expired:{approval_id}": ("staff_email", "operators,requester"),
    }
    shown = CliRunner().invoke(cli, ["incident", "messages", incident_id, "--json"], env=env)
    assert shown.exit_code == 0, shown.stdout + shown.stderr
    audiences = [(m["channel"], m["audience"]) for m in json.loads(shown.stdout)]
    assert ("crisis_email", "approvers") in audiences
    assert ("staff_email", "operators,requester") in audiences
    assert ("crisis_email", "council") not in audiences  # nobody told the council anything


def test_scores_name_the_approvers_and_the_requester(app: App, clock: FakeClock) -> None:
    """The exercise scores count the request for the approvers of enter_total_reserve and the
    expiry notice for the requester too, with titles in Swedish or English; the council, never
    told, has no row."""
    incident_id, _ = _unanswered_total_reserve(app, clock)
    dispatcher = make_dispatcher(app, {})  # no settings: every channel writes to the file outbox
    dispatcher.deliver_due()
    dispatcher.close()
    with app.database.unit_of_work(read_only=True) as uow:
        approvals = uow.approvals.list(incident_id)
    workflow = app.plans.current("samsa_outage").workflow

    def scores(language: str) -> dict[tuple[str, str], str]:
        rows = informing(
            events=app.service.log(incident_id),
            messages=app.service.messages(incident_id),
            approvals=approvals,
            workflow=workflow,
            declared_at=START,
            speeds=[(START, 1.0)],
            language=language,
        )
        assert all(row.at is not None for row in rows), rows
        return {(row.audience, row.approvers_of): row.title for row in rows}

    swedish = scores("sv")
    assert swedish[("", "enter_total_reserve")] == (
        "Beslutsfattare (Beslut av ordförande eller vice ordförande)"
    )
    assert swedish[("requester", "")] == "Den som begärde beslutet"
    assert swedish[("operators", "")] == "GITS Operativ förvaltning"
    assert ("council", "") not in swedish
    english = scores("en")
    assert english[("", "enter_total_reserve")] == "Approvers (Decision by the chair or vice chair)"
    assert english[("requester", "")] == "The requester"
