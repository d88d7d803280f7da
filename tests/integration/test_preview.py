"""`incident preview`: shows every message a command would send, and changes and sends nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from engine.bootstrap import App
from engine.cli.app import app as cli
from engine.errors import NotAuthorized
from engine.store import tables
from tests.app_helpers import DECLARE, OPERATOR, SCOPE, WORKFLOWS, make_app, make_dispatcher

OUTAGE_CHANNELS = ["login_page", "support_email", "website_news", "newsletter", "it_nytt"]


@pytest.fixture
def application(tmp_path: Path) -> Iterator[App]:
    application = make_app(tmp_path)
    yield application
    application.database.dispose()


def _everything(application: App) -> dict[str, Any]:
    """Every row of every table that a command writes, to compare before and after."""
    names = ("incidents", "events", "messages", "timers", "approvals", "definitions")
    with application.database.unit_of_work(read_only=True) as uow:
        return {
            name: sorted(
                (tuple(map(str, row)) for row in uow.execute(sa.select(getattr(tables, name)))),
            )
            for name in names
        }


def _by_channel(preview: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["channel"]: m for m in preview["messages"]}


def test_declare_preview_lists_every_message_and_creates_nothing(application: App) -> None:
    """A declaration preview shows channel, audience, recipients, subject and body of each
    message, while no incident, event, outbox row or published file appears."""
    before = _everything(application)
    preview = application.service.preview(actor_id=OPERATOR, values=DECLARE)

    assert (preview["result"], preview["state"]) == ("done", "outage")
    messages = _by_channel(preview)
    assert sorted(messages) == sorted(OUTAGE_CHANNELS)
    mail = messages["support_email"]
    assert (mail["kind"], mail["audience"], mail["recipients"]) == ("email", "support_it", 6)
    assert mail["subject"] == f"Driftstörning i SAMSA – {SCOPE}"
    assert "dygnet runt" in mail["body"] and "Beräknas vara löst: okänd" in mail["body"]
    assert messages["login_page"]["audience"] == "samsa_users"
    assert messages["newsletter"]["recipients"] == 0  # nobody has subscribed yet

    assert _everything(application) == before
    assert make_dispatcher(application, {}).deliver_due().handled == 0
    assert not (application.settings.data / "public").exists()


def test_trigger_preview_changes_no_state_log_timer_or_outbox(application: App) -> None:
    """Previewing a state change shows its messages and destination; the incident, its log,
    timers and outbox stay exactly as they were, and the dispatcher finds nothing new."""
    incident_id = application.service.declare(actor_id=OPERATOR, values=DECLARE).incident_id
    make_dispatcher(application, {}).deliver_due()
    before = _everything(application)
    log_before = application.service.log(incident_id)

    preview = application.service.preview(
        actor_id=OPERATOR,
        incident_id=incident_id,
        trigger="restore",
        values={"resolved_at": "2025-03-04T11:00"},
    )

    assert (preview["result"], preview["state"]) == ("done", "restored")
    channels = [m["channel"] for m in preview["messages"]]
    assert sorted(channels) == sorted(OUTAGE_CHANNELS)
    assert {m["subject"] for m in preview["messages"]} == {"SAMSA fungerar igen"}
    assert _everything(application) == before
    assert application.service.log(incident_id) == log_before
    assert application.service.show(incident_id)["state"] == "outage"
    assert make_dispatcher(application, {}).deliver_due().handled == 0


def test_gated_preview_shows_the_approval_request_and_records_no_approval(
    application: App,
) -> None:
    """A gated trigger previews as pending with its approval request, and no approval exists."""
    incident_id = application.service.declare(actor_id=OPERATOR, values=DECLARE).incident_id
    before = _everything(application)
    preview = application.service.preview(
        actor_id=OPERATOR, incident_id=incident_id, trigger="enter_total_reserve", values={}
    )
    assert (preview["result"], preview["state"]) == ("pending_approval", "outage")
    [request] = preview["messages"]
    assert (request["channel"], request["recipients"]) == ("crisis_email", 2)  # chair and vice
    assert _everything(application) == before
    assert application.service.show(incident_id)["pending_approvals"] == []


def test_refused_preview_writes_nothing_to_the_log(application: App) -> None:
    """A preview by someone the plan does not allow is refused without a log entry."""
    incident_id = application.service.declare(actor_id=OPERATOR, values=DECLARE).incident_id
    before = _everything(application)
    with pytest.raises(NotAuthorized):
        application.service.preview(
            actor_id="margareta.lund", incident_id=incident_id, trigger="post_update", values={}
        )
    assert _everything(application) == before


def test_cli_preview_declare_prints_messages_and_creates_no_incident(tmp_path: Path) -> None:
    """`driftplan incident preview --declare` prints every message (text and JSON) and leaves
    no incident behind."""
    application = make_app(tmp_path)
    env = {
        "DRIFTPLAN_DATA": str(application.settings.data),
        "DRIFTPLAN_WORKFLOWS": str(WORKFLOWS),
        "DRIFTPLAN_LANG": "en",
        "COLUMNS": "200",
    }
    sets = [arg for key, value in DECLARE.items() for arg in ("--set", f"{key}={value}")]
    runner = CliRunner()
    args = ["incident", "preview", "--declare", "--as", OPERATOR, *sets]

    as_json = runner.invoke(cli, [*args, "--json"], env=env)
    assert as_json.exit_code == 0, as_json.stdout + as_json.stderr
    listed = json.loads(as_json.stdout)
    assert sorted(m["channel"] for m in listed["messages"]) == sorted(OUTAGE_CHANNELS)
    assert {"channel", "audience", "recipients", "subject", "body"} <= set(listed["messages"][0])

    as_text = runner.invoke(cli, args, env=env)
    assert as_text.exit_code == 0, as_text.stdout + as_text.stderr
    assert "support_email – IT departments and support organisations (support_it) (6)" in (
        as_text.stdout
    )
    assert f"Driftstörning i SAMSA – {SCOPE}" in as_text.stdout
    assert "dygnet runt" in as_text.stdout

    listing = runner.invoke(cli, ["incident", "list", "--json"], env=env)
    assert listing.exit_code == 0 and json.loads(listing.stdout) == []
