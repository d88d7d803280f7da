"""Notes and reports in an incident's timeline, through the service on SQLite and PostgreSQL:
they are logged in the hash chain and change nothing else, the plan decides who may write
them, and the log shows each event's words, phone reference and changed fields."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.bootstrap import App, build
from engine.domain.machine import evaluator_for
from engine.errors import InvalidField, NotAuthorized, NotFound
from engine.service.notes import timeline_roles
from engine.settings import Settings
from engine.store import verify
from tests.app_helpers import DECLARE, EXAMPLE_DIRECTORY, OPERATOR, WORKFLOWS, FakeClock

ADMIN = "karin.lindqvist"  # admin only: a plan role, but nobody's stage
SUPPLIER = "cerner.support"
CHAIR = "margareta.lund"
VICE_CHAIR = "olof.strand"
CLOSE_VALUES = {
    "feedback_summary": "Återkoppling",
    "evaluation_summary": "Utvärdering",
    "lessons_learned": "Lärdomar",
}


@pytest.fixture
def app(tmp_path: Path, database_url: str) -> Iterator[App]:
    """The application on each database, with the example directory."""
    settings = Settings(data=tmp_path / "data", workflows=WORKFLOWS, database_url=database_url)
    application = build(settings, clock=FakeClock())
    application.service.directory.import_file(EXAMPLE_DIRECTORY)
    yield application
    application.close()


def declare(app: App) -> str:
    return app.service.declare(actor_id=OPERATOR, values=DECLARE).incident_id


def close(app: App, incident: str) -> None:
    for trigger, values in [
        ("restore", {"resolved_at": "2025-03-04T11:00"}),
        ("start_follow_up", {}),
        ("record_follow_up", CLOSE_VALUES),
        ("close", {}),
    ]:
        app.service.fire(incident_id=incident, trigger=trigger, actor_id=OPERATOR, values=values)


def snapshot(app: App, incident: str) -> dict[str, Any]:
    """Everything a note must leave alone: the row, its messages and its timers."""
    with app.database.unit_of_work(read_only=True) as uow:
        row = uow.incidents.get(incident)
        return {
            "state": row.state,
            "state_epoch": row.state_epoch,
            "row_version": row.row_version,
            "data": row.data,
            "flags": row.flags,
            "messages": [m.id for m in uow.messages.list(incident)],
            "timers": sorted(t.key for t in uow.timers.list_open(incident)),
        }


def intact(app: App) -> bool:
    return verify(app.database, app.audit_key).intact


def test_a_note_and_a_report_are_logged_and_change_nothing_else(app: App) -> None:
    """A note and a report become chained events with the text verbatim; the incident's state,
    row version, data, messages and timers stay as they were, and the audit chain holds."""
    incident = declare(app)
    before = snapshot(app, incident)
    text = "  Cerner ringde 14.05:\n felsökning pågår \x1b[2J "
    note = app.service.note(incident_id=incident, actor_id=OPERATOR, text=text)
    report = app.service.report(
        incident_id=incident,
        actor_id=OPERATOR,
        text="Reservrutin igång på NÄL",
        organisation="NU-sjukvården",
        contact="Kim Ek, 070-000 00 99",
        subregion="fyrbodal",
        via="phone",
    )
    assert snapshot(app, incident) == before
    log = app.service.log(incident)
    assert log[-2:] == [note, report]
    assert (note["kind"], note["trigger"], note["actor"]) == ("note", None, OPERATOR)
    assert note["from_state"] == note["to_state"] == "outage"
    assert note["data"]["text"] == note["text"] == text
    assert note["actor_name"] == "Anna Andersson"
    assert report["data"] | {"origin": None} == {
        "text": "Reservrutin igång på NÄL",
        "organisation": "NU-sjukvården",
        "contact": "Kim Ek, 070-000 00 99",
        "subregion": "fyrbodal",
        "via": "phone",
        "origin": None,
    }
    assert intact(app)


def test_optional_report_details_are_left_out_when_not_given(app: App) -> None:
    """A report needs only its sender and text; blank contact, sub-region and channel are not
    stored as empty values."""
    incident = declare(app)
    report = app.service.report(
        incident_id=incident, actor_id=OPERATOR, text="Inga problem hos oss", organisation="SÄS"
    )
    assert set(report["data"]) - {"origin"} == {"text", "organisation"}


def test_who_may_write_follows_the_stage_and_refusals_are_logged(app: App) -> None:
    """In the outage the council's chair (whose decision can lead on from it) may note; the
    administrator, responsible for no stage, is refused and the refusal is in the log."""
    incident = declare(app)
    app.service.note(incident_id=incident, actor_id=CHAIR, text="Jag är nåbar hela kvällen.")
    before = snapshot(app, incident)
    with pytest.raises(NotAuthorized) as refused:
        app.service.note(incident_id=incident, actor_id=ADMIN, text="Hej")
    assert "operator" in str(refused.value)
    with pytest.raises(NotAuthorized):
        app.service.report(incident_id=incident, actor_id=ADMIN, text="Hej", organisation="Okänd")
    log = app.service.log(incident)
    assert [(e["kind"], e["trigger"], e["actor"]) for e in log[-3:]] == [
        ("note", None, CHAIR),
        ("refused", "note", ADMIN),
        ("refused", "report", ADMIN),
    ]
    assert log[-2]["data"]["error"] == "NotAuthorized"
    assert snapshot(app, incident) == before
    assert intact(app)


def test_a_closed_incident_still_takes_follow_up_notes_from_those_who_closed_it(
    app: App,
) -> None:
    """After closing, an operator may still note and record reports (follow-up goes on); the
    supplier, who has no part in closing, is refused."""
    incident = declare(app)
    close(app, incident)
    before = snapshot(app, incident)
    note = app.service.note(incident_id=incident, actor_id=OPERATOR, text="Utvärdering klar.")
    app.service.report(
        incident_id=incident, actor_id=OPERATOR, text="Tack!", organisation="Skaraborg"
    )
    assert note["to_state"] == "closed"
    with pytest.raises(NotAuthorized):
        app.service.note(incident_id=incident, actor_id=SUPPLIER, text="Sent tillägg")
    assert snapshot(app, incident) == before
    assert intact(app)


@pytest.mark.parametrize(
    ("values", "field", "words"),
    [
        ({"text": ""}, "text", "empty"),
        ({"text": " \n\t "}, "text", "empty"),
        ({"text": "a\x00b"}, "text", "NUL"),
        ({"text": "x" * 10_001}, "text", "at most 10000"),
        ({"organisation": "  "}, "organisation", "--from"),
        ({"subregion": "narnia"}, "subregion", "fyrbodal (Fyrbodal), skaraborg (Skaraborg)"),
        ({"via": "pigeon"}, "via", "phone, email"),
    ],
)
def test_invalid_input_is_refused_naming_the_fix(
    app: App, values: dict[str, str], field: str, words: str
) -> None:
    """Blank or oversized text, a missing sender, an unknown sub-region or channel are refused
    with the field named, the choices listed, and nothing written."""
    incident = declare(app)
    before = len(app.service.log(incident))
    given = {"text": "Rapport", "organisation": "NU-sjukvården", **values}
    with pytest.raises(InvalidField) as refused:
        app.service.report(incident_id=incident, actor_id=OPERATOR, **given)
    assert refused.value.field == field
    assert words in str(refused.value)
    assert refused.value.sv and refused.value.sv != str(refused.value)
    assert len(app.service.log(incident)) == before


def test_an_unknown_incident_is_not_found(app: App) -> None:
    """A note on an incident that does not exist says so, pointing at the incident list."""
    with pytest.raises(NotFound) as missing:
        app.service.note(incident_id="20250304-nothere", actor_id=OPERATOR, text="Hej")
    assert "incident list" in (missing.value.sv or "")


def test_the_log_shows_changed_fields_and_a_phone_decisions_reference(app: App) -> None:
    """Each event lists the fields it set with the value before (none at the declaration), and
    a decision recorded by phone shows its reference and the decider beside the recorder."""
    incident = declare(app)
    app.service.fire(
        incident_id=incident,
        trigger="post_update",
        actor_id=OPERATOR,
        values={"scope": "Ingen åtkomst i hela regionen"},
    )
    asked = app.service.fire(incident_id=incident, trigger="enter_total_reserve", actor_id=OPERATOR)
    assert asked.approval_id is not None
    app.service.decide(
        approval_id=asked.approval_id,
        actor_id=OPERATOR,
        approve=True,
        comment="Beslutat i telefon",
        on_behalf_of=VICE_CHAIR,
        reference="samtal 14.05, 070-000 00 32",
    )
    log = app.service.log(incident)
    declared, update = log[0], next(e for e in log if e["kind"] == "update")
    assert {"field": "scope", "old": None, "new": DECLARE["scope"]} in declared["changed"]
    assert update["changed"] == [
        {"field": "scope", "old": DECLARE["scope"], "new": "Ingen åtkomst i hela regionen"}
    ]
    decision = next(e for e in log if e["kind"] == "decision")
    assert decision["reference"] == "samtal 14.05, 070-000 00 32"
    assert decision["text"] == "Beslutat i telefon"
    assert (decision["actor_name"], decision["on_behalf_of"]) == ("Anna Andersson", "Olof Strand")
    assert all(e["changed"] == [] for e in log if e["kind"] in ("decision", "approval_requested"))


def test_the_samsa_plan_lets_each_stage_s_people_write(app: App) -> None:
    """The rule (responsible in the state, or allowed on a transition from or into it) gives
    these roles for the SAMSA plan's states."""
    evaluator = evaluator_for(app.plans.current(None))
    everyone_in_the_outage = {
        "operator",
        "supplier_support",
        "vgr_it",
        "osit",
        "subregional_decider",
        "council_chair",
        "council_vice_chair",
    }
    expected = {
        "outage": everyone_in_the_outage,
        "partial_reserve": everyone_in_the_outage,
        "total_reserve": everyone_in_the_outage - {"subregional_decider"},
        "restored": {"operator", "supplier_support"},
        "follow_up": {"operator"},
        "closed": {"operator"},
        "withdrawn": {"operator"},
    }
    assert {state: set(timeline_roles(evaluator, state)) for state in expected} == expected
