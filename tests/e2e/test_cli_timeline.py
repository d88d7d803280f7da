"""`driftplan incident note | report | log` end to end: notes and reports reach the incident's
timeline and nothing else, refusals exit as other refusals do, and the log's table shows each
event's words, phone reference and changed fields, safe for the terminal."""

from __future__ import annotations

from tests.e2e.conftest import Workspace

OPERATOR = "anna.andersson"
ADMIN = "karin.lindqvist"
VICE_CHAIR = "olof.strand"
HOSTILE = "Ringde Cerner\x1b]0;pwned\x07\x1b[2J [bold]kl 14.05[/]"


def test_notes_and_reports_are_logged_shown_and_send_nothing(workspace: Workspace) -> None:
    """A note and a report written with the CLI are in the log's table with their text and
    sender, add no message and leave the state and row version alone; the audit still
    verifies."""
    ws = workspace
    incident = ws.declare()
    messages = len(ws.app.service.messages(incident))
    before = ws.app.service.show(incident)
    noted = ws.json("incident", "note", incident, "--as", OPERATOR, "--text", "Cerner felsöker")
    assert (noted["kind"], noted["data"]["text"], noted["actor"]) == (
        "note",
        "Cerner felsöker",
        OPERATOR,
    )
    reported = ws.run(
        *("incident", "report", incident, "--as", OPERATOR, "--from", "NU-sjukvården"),
        *("--text", "Reservrutin igång på NÄL", "--contact", "Kim Ek 070-000 00 99"),
        *("--subregion", "fyrbodal", "--via", "phone", "--lang", "sv"),
    )
    assert "Rapporten från NU-sjukvården är införd" in reported.stdout
    assert "Inget har skickats" in reported.stdout

    table, verified = ws.run_many(
        [["incident", "log", incident, "--lang", "sv"], ["audit", "verify"]]
    )
    assert table.returncode == verified.returncode == 0, (table.stderr, verified.stderr)
    out = table.stdout
    assert "anteckning" in out and "Cerner felsöker" in out
    assert "rapport" in out and "Reservrutin igång på NÄL" in out
    assert "Från NU-sjukvården (per telefon, Fyrbodal, kontakt: Kim Ek 070-000 00 99)" in out
    assert "Anna Andersson" in out
    after = ws.app.service.show(incident)
    assert len(ws.app.service.messages(incident)) == messages
    assert (after["state"], after["updated_at"], after["data"]) == (
        before["state"],
        before["updated_at"],
        before["data"],
    )


def test_a_refused_note_exits_as_a_refused_command_and_is_logged(
    sqlite_workspace: Workspace,
) -> None:
    """The administrator, responsible for no stage, is refused a note with the same exit code
    as a refused trigger, told which roles may, and the refusal is in the log."""
    ws = sqlite_workspace
    incident = ws.declare()
    note, fire = ws.run_many(
        [
            ["incident", "note", incident, "--as", ADMIN, "--text", "Hej"],
            ["incident", "fire", incident, "restore", "--as", ADMIN, "--set", "resolved_at=now"],
        ]
    )
    assert note.returncode == fire.returncode == 1
    message = " ".join(note.stderr.split())
    assert f"Karin Lindqvist may not write a note on incident {incident}" in message
    assert "Allowed roles:" in message and "operator" in message
    refused = [(e["trigger"], e["actor"]) for e in ws.app.service.log(incident)[-2:]]
    assert sorted(refused) == [("note", ADMIN), ("restore", ADMIN)]


def test_bad_input_names_the_fix(sqlite_workspace: Workspace) -> None:
    """A blank text, an unknown sub-region (listing the plan's) and an unknown channel are
    refused, and nothing is written."""
    ws = sqlite_workspace
    incident = ws.declare()
    report = ("incident", "report", incident, "--as", OPERATOR, "--from", "SÄS")
    blank, subregion, via = ws.run_many(
        [
            ["incident", "note", incident, "--as", OPERATOR, "--text", "  ", "--lang", "sv"],
            [*report, "--text", "x", "--subregion", "narnia", "--lang", "sv"],
            [*report, "--text", "x", "--via", "pigeon"],
        ]
    )
    assert blank.returncode == subregion.returncode == 1
    assert "texten är tom" in " ".join(blank.stderr.split())
    assert "Välj ett av: fyrbodal (Fyrbodal), skaraborg (Skaraborg)" in " ".join(
        subregion.stderr.split()
    )
    assert via.returncode == 2  # a usage error: the option's choices are phone and email
    assert len([e for e in ws.app.service.log(incident) if e["kind"] in ("note", "report")]) == 0


def test_the_log_table_shows_changes_references_and_safe_text(
    sqlite_workspace: Workspace,
) -> None:
    """The table shows a status update's changed field as old → new, a phone decision's
    reference and decider, and a hostile note without its control sequences or markup."""
    ws = sqlite_workspace
    incident = ws.declare()
    ws.fire(incident, "post_update", scope="Ingen åtkomst i hela regionen")
    approval = ws.fire(incident, "enter_total_reserve").approval_id
    ws.app.service.decide(
        approval_id=approval,
        actor_id=OPERATOR,
        approve=True,
        on_behalf_of=VICE_CHAIR,
        reference="samtal 14.05, 070-000 00 32",
    )
    ws.app.service.note(incident_id=incident, actor_id=OPERATOR, text=HOSTILE)
    out = ws.run("incident", "log", incident, "--lang", "sv").stdout
    flat = " ".join(out.split())
    assert "Omfattning: Ingen åtkomst till SAMSA i Fyrbodal → Ingen åtkomst i hela regionen" in flat
    assert "referens: samtal 14.05, 070-000 00 32" in flat
    assert "Anna Andersson för Olof Strand" in flat
    assert "[bold]kl 14.05[/]" in flat  # markup in stored text is shown, not applied
    assert not any(c in out for c in "\x1b\x07"), out
    [logged] = [e for e in ws.json("incident", "log", incident) if e["kind"] == "note"]
    assert logged["data"]["text"] == logged["text"] == HOSTILE  # kept whole for tools
