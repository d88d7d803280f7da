"""The `driftplan` command line end to end: the SAMSA plan, its gates, and its error contract.

Every command here runs the installed console script in a process of its own, as an operator
would: forked from the session's zygote, which has done the interpreter start and imports once
(tests/e2e/conftest.py); the whole-plan test starts `init` in a fresh interpreter as well.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.conftest import DECLARE_SETS, DIRECTORY, Workspace

SHOW_KEYS = {
    "id",
    "workflow",
    "workflow_version",
    "state",
    "data",
    "reserve_subregions",
    "crisis",
    "pending_approvals",
    "created_at",
    "updated_at",
}
PENDING_KEYS = {"id", "trigger", "approvers", "requested_by", "expires_at"}
LOG_KEYS = {"seq", "at", "actor", "kind", "trigger", "from_state", "to_state", "data", "hash"}
# What the log adds for people: names, the text of notes and comments, references, changes.
LOG_KEYS |= {"actor_name", "on_behalf_of", "text", "reference", "changed"}
ACTION_KEYS = {"trigger", "dest", "gated", "approvers"}

OPERATOR = "anna.andersson"
FYRBODAL = "johan.berg"
SKARABORG = "eva.holm"
GOTEBORG = "lena.sjoberg"
CHAIR = "margareta.lund"
VICE_CHAIR = "olof.strand"
SUPPLIER = "cerner.support"

SUBREGIONAL_TITLE = "Sub-regional decision maker"
CHAIR_TITLE = "Chair, steering council for coordinated health and care"


def sets(*pairs: str) -> list[str]:
    """`--set` options for KEY=VALUE pairs."""
    return [arg for pair in pairs for arg in ("--set", pair)]


def fire(ws: Workspace, incident: str, trigger: str, actor: str, *pairs: str) -> dict[str, str]:
    return ws.json("incident", "fire", incident, trigger, "--as", actor, *sets(*pairs))  # type: ignore[no-any-return]


def approve(ws: Workspace, approval: str, actor: str, *extra: str) -> dict[str, str]:
    return ws.json("incident", "approve", approval, "--as", actor, *extra)  # type: ignore[no-any-return]


def events(ws: Workspace, incident: str) -> list[dict[str, object]]:
    """The incident's log, read in-process."""
    return ws.app.service.log(incident)


def refusals(ws: Workspace, incident: str) -> list[str]:
    """Who was refused, in order, according to the incident's log."""
    return [str(e["actor"]) for e in events(ws, incident) if e["kind"] == "refused"]


def assert_iso(text: object) -> None:
    assert isinstance(text, str)
    assert datetime.fromisoformat(text).tzinfo is not None, text


# ----------------------------------------------------------------------------- the whole plan
@pytest.mark.slow
def test_whole_samsa_plan_from_declare_to_close(workspace: Workspace) -> None:
    """An outage goes from declaration to closed through every stage of the plan, and the
    JSON of each command, the final incident and its log say exactly what happened."""
    ws = workspace
    ws.run_script("init")  # from a fresh interpreter, as an operator's shell starts it
    ws.run("directory", "import", str(DIRECTORY))

    shown = ws.json("incident", "declare", "--as", OPERATOR, *sets(*DECLARE_SETS))
    assert set(shown) >= SHOW_KEYS
    assert shown["workflow"] == "samsa_outage"
    assert str(shown["workflow_version"]) == "1"
    assert shown["state"] == "outage"
    assert shown["data"]["scope"] == "Ingen åtkomst till SAMSA i Fyrbodal"
    assert shown["data"]["expected_resolution"] == "unknown"
    assert shown["data"]["affected_subregions"] == ["fyrbodal"]
    assert_iso(shown["data"]["started_at"])
    assert (shown["reserve_subregions"], shown["crisis"], shown["pending_approvals"]) == (
        [],
        False,
        [],
    )
    assert_iso(shown["created_at"])
    assert_iso(shown["updated_at"])
    incident = shown["id"]

    assert fire(ws, incident, "post_update", OPERATOR, "details=Felsökning pågår") == {
        "result": "done",
        "state": "outage",
        "approval_id": None,
    }

    # Partial reserve routine: one decision per sub-region, by that sub-region's decider.
    pending = fire(
        ws, incident, "enter_partial_reserve", OPERATOR, "reserve_subregions=fyrbodal,skaraborg"
    )
    assert pending["result"] == "pending_approval"
    assert pending["state"] == "outage"
    partial = pending["approval_id"]
    assert partial
    shown = ws.json("incident", "show", incident)
    assert set(shown) >= SHOW_KEYS
    [request] = shown["pending_approvals"]
    assert set(request) == PENDING_KEYS
    assert request["id"] == partial
    assert request["trigger"] == "enter_partial_reserve"
    assert request["requested_by"] == OPERATOR
    assert_iso(request["expires_at"])
    assert sorted(s["subregions"][0] for s in request["approvers"]) == ["fyrbodal", "skaraborg"]
    assert shown["reserve_subregions"] == []  # nothing applies before the decisions

    # Each sub-region's decision takes effect on its own: Fyrbodal first, Skaraborg joins.
    assert approve(ws, partial, FYRBODAL, "--comment", "Beslutat 14.05") == {
        "result": "approved",
        "state": "partial_reserve",
    }
    assert ws.json("incident", "show", incident)["reserve_subregions"] == ["fyrbodal"]
    assert approve(ws, partial, SKARABORG) == {"result": "approved", "state": "partial_reserve"}

    pending = fire(ws, incident, "add_reserve_subregion", OPERATOR, "reserve_subregions=goteborg")
    assert (pending["result"], pending["state"]) == ("pending_approval", "partial_reserve")
    assert approve(ws, pending["approval_id"], GOTEBORG) == {
        "result": "approved",
        "state": "partial_reserve",
    }

    pending = fire(ws, incident, "enter_total_reserve", OPERATOR)
    assert (pending["result"], pending["state"]) == ("pending_approval", "partial_reserve")
    assert approve(ws, pending["approval_id"], CHAIR) == {
        "result": "approved",
        "state": "total_reserve",
    }

    assert fire(ws, incident, "notify_crisis", OPERATOR)["state"] == "total_reserve"
    assert fire(ws, incident, "restore", OPERATOR, "resolved_at=now") == {
        "result": "done",
        "state": "restored",
        "approval_id": None,
    }
    assert fire(ws, incident, "start_follow_up", OPERATOR)["state"] == "follow_up"
    assert (
        fire(
            ws,
            incident,
            "record_follow_up",
            OPERATOR,
            "feedback_summary=Arbetsgrupperna saknade telefonlistor",
            "evaluation_summary=Utvärderat med Cerner och VGR-IT",
            "lessons_learned=Reservrutinen ska övas två gånger per år",
        )["state"]
        == "follow_up"
    )
    assert fire(ws, incident, "close", OPERATOR) == {
        "result": "done",
        "state": "closed",
        "approval_id": None,
    }

    shown = ws.app.service.show(incident)  # the CLI's JSON shape is checked above
    assert shown["state"] == "closed"
    assert shown["crisis"] is True
    assert shown["reserve_subregions"] == ["fyrbodal", "skaraborg", "goteborg"]
    assert shown["pending_approvals"] == []
    assert shown["data"]["lessons_learned"] == "Reservrutinen ska övas två gånger per år"
    assert_iso(shown["data"]["resolved_at"])

    log = ws.json("incident", "log", incident)
    for entry in log:
        assert set(entry) == LOG_KEYS
        assert_iso(entry["at"])
        assert len(entry["hash"]) == 64
    assert [e["seq"] for e in log] == list(range(1, len(log) + 1))
    steps = [(e["kind"], e["trigger"], e["from_state"], e["to_state"], e["actor"]) for e in log]
    # Each sub-region's decision takes effect when it is made (Fyrbodal moves the incident,
    # Skaraborg joins); a total reserve alerts the council by the plan's rule.
    assert steps == [
        ("declare", "declare", None, "outage", OPERATOR),
        ("update", "post_update", "outage", "outage", OPERATOR),
        ("approval_requested", "enter_partial_reserve", "outage", "outage", OPERATOR),
        ("decision", "enter_partial_reserve", "outage", "outage", FYRBODAL),
        ("transition", "enter_partial_reserve", "outage", "partial_reserve", FYRBODAL),
        ("decision", "enter_partial_reserve", "partial_reserve", "partial_reserve", SKARABORG),
        ("update", "add_reserve_subregion", "partial_reserve", "partial_reserve", SKARABORG),
        (
            "approval_requested",
            "add_reserve_subregion",
            "partial_reserve",
            "partial_reserve",
            OPERATOR,
        ),
        ("decision", "add_reserve_subregion", "partial_reserve", "partial_reserve", GOTEBORG),
        ("update", "add_reserve_subregion", "partial_reserve", "partial_reserve", GOTEBORG),
        (
            "approval_requested",
            "enter_total_reserve",
            "partial_reserve",
            "partial_reserve",
            OPERATOR,
        ),
        ("decision", "enter_total_reserve", "partial_reserve", "partial_reserve", CHAIR),
        ("transition", "enter_total_reserve", "partial_reserve", "total_reserve", CHAIR),
        ("rule", "notify_crisis", "total_reserve", "total_reserve", "system"),
        ("update", "notify_crisis", "total_reserve", "total_reserve", OPERATOR),
        ("transition", "restore", "total_reserve", "restored", OPERATOR),
        ("transition", "start_follow_up", "restored", "follow_up", OPERATOR),
        ("update", "record_follow_up", "follow_up", "follow_up", OPERATOR),
        ("transition", "close", "follow_up", "closed", OPERATOR),
    ]
    assert log[3]["data"]["comment"] == "Beslutat 14.05"
    assert log[4]["data"]["requested_by"] == OPERATOR

    verified = ws.run("audit", "verify")
    assert "intact" in verified.stdout


def test_list_and_actions_as_json(sqlite_workspace: Workspace) -> None:
    """`incident list` shows open incidents (`--all` adds closed ones) and `incident actions`
    lists what this person may do now, with the gate's approvers."""
    ws = sqlite_workspace
    open_incident = ws.declare()
    closed = ws.declare()
    ws.fire(closed, "restore", resolved_at="now")
    ws.fire(closed, "start_follow_up")
    ws.fire(closed, "close", feedback_summary="-", evaluation_summary="-", lessons_learned="-")

    listed, everything, decider, operator = ws.run_many(
        [
            ["incident", "list", "--json"],
            ["incident", "list", "--all", "--json"],
            ["incident", "actions", open_incident, "--as", FYRBODAL, "--json"],
            ["incident", "actions", open_incident, "--as", OPERATOR, "--json"],
        ]
    )
    assert [i["id"] for i in json.loads(listed.stdout)] == [open_incident]
    assert sorted(i["id"] for i in json.loads(everything.stdout)) == sorted([open_incident, closed])
    for item in json.loads(everything.stdout):
        assert set(item) >= SHOW_KEYS
    decider_actions = json.loads(decider.stdout)
    assert decider_actions == [
        {
            "trigger": "enter_partial_reserve",
            "dest": "partial_reserve",
            "gated": True,
            "approvers": ["subregional_decider"],
        }
    ]
    operator_actions = {a["trigger"]: a for a in json.loads(operator.stdout)}
    for action in operator_actions.values():
        assert set(action) == ACTION_KEYS
    assert set(operator_actions) == {
        "post_update",
        "enter_partial_reserve",
        "enter_total_reserve",
        "notify_crisis",
        "restore",
        "withdraw",
    }
    assert operator_actions["enter_total_reserve"]["approvers"] == [
        "council_chair",
        "council_vice_chair",
    ]
    assert operator_actions["restore"] == {
        "trigger": "restore",
        "dest": "restored",
        "gated": False,
        "approvers": [],
    }


# ------------------------------------------------------------------------------------- gates
def test_partial_reserve_is_decided_only_by_the_named_subregions_decider(
    sqlite_workspace: Workspace,
) -> None:
    """Only Fyrbodal's decider may approve a reserve routine for Fyrbodal; the decider of another
    sub-region, the council chair and the supplier are refused, told who may decide, and logged."""
    ws = sqlite_workspace
    incident = ws.declare()
    approval = ws.fire(incident, "enter_partial_reserve", reserve_subregions="fyrbodal").approval_id

    wrong = ws.run_many(
        [["incident", "approve", approval, "--as", who] for who in (SKARABORG, CHAIR, SUPPLIER)]
    )
    for done in wrong:
        assert done.returncode == 1, done
        message = " ".join(done.stderr.split())
        assert f"Still to decide: {SUBREGIONAL_TITLE} (Fyrbodal)" in message, message
        assert "Allowed roles: subregional_decider" in message, message
    assert "Eva Holm may not decide" in " ".join(wrong[0].stderr.split())
    assert sorted(refusals(ws, incident)) == sorted([SKARABORG, CHAIR, SUPPLIER])

    assert approve(ws, approval, FYRBODAL) == {"result": "approved", "state": "partial_reserve"}


def test_added_subregion_is_decided_by_its_own_decider_only(sqlite_workspace: Workspace) -> None:
    """Adding Göteborg to a running reserve routine needs Göteborg's decider: Fyrbodal's decider,
    whose region is already in, may not decide it."""
    ws = sqlite_workspace
    incident = ws.declare()
    assert (
        ws.fire(incident, "enter_partial_reserve", FYRBODAL, reserve_subregions="fyrbodal").state
        == "partial_reserve"
    )
    approval = ws.fire(incident, "add_reserve_subregion", reserve_subregions="goteborg").approval_id

    message = ws.fails("incident", "approve", approval, "--as", FYRBODAL)
    assert f"Johan Berg may not decide {approval}" in message
    assert f"Still to decide: {SUBREGIONAL_TITLE} (Göteborgsområdet)" in message
    assert refusals(ws, incident) == [FYRBODAL]

    assert approve(ws, approval, GOTEBORG) == {"result": "approved", "state": "partial_reserve"}
    assert ws.app.service.show(incident)["reserve_subregions"] == ["fyrbodal", "goteborg"]


def test_total_reserve_is_decided_by_the_chair_or_the_vice_chair(
    sqlite_workspace: Workspace,
) -> None:
    """Reserve routines everywhere need the council's chair or vice chair: a sub-regional decider
    and the operator who asked are refused and told who decides; the vice chair may decide."""
    ws = sqlite_workspace
    incident = ws.declare()
    approval = ws.fire(incident, "enter_total_reserve").approval_id

    wrong = ws.run_many(
        [["incident", "approve", approval, "--as", who] for who in (FYRBODAL, OPERATOR)]
    )
    for done in wrong:
        assert done.returncode == 1, done
        message = " ".join(done.stderr.split())
        assert f"Still to decide: {CHAIR_TITLE}" in message, message
        assert "Allowed roles: council_chair, council_vice_chair" in message, message
    assert sorted(refusals(ws, incident)) == sorted([FYRBODAL, OPERATOR])

    assert approve(ws, approval, VICE_CHAIR) == {"result": "approved", "state": "total_reserve"}
    assert ws.app.service.show(incident)["crisis"] is True


def test_operator_records_a_phone_decision_with_a_reference(sqlite_workspace: Workspace) -> None:
    """An operator records a decider's phone decision with --on-behalf-of and --reference; without
    --reference, by a non-operator, or on behalf of someone who may not decide, it is refused."""
    ws = sqlite_workspace
    incident = ws.declare()
    approval = ws.fire(incident, "enter_partial_reserve", reserve_subregions="fyrbodal").approval_id
    base = ["incident", "approve", approval, "--on-behalf-of", FYRBODAL]

    no_reference, supplier, wrong_decider = ws.run_many(
        [
            [*base, "--as", OPERATOR],
            [*base, "--as", SUPPLIER, "--reference", "Samtal 14.05"],
            [
                "incident",
                "approve",
                approval,
                "--as",
                OPERATOR,
                "--on-behalf-of",
                SKARABORG,
                "--reference",
                "Samtal 14.07",
            ],
        ]
    )
    assert no_reference.returncode == 1, no_reference
    assert "--reference" in no_reference.stderr
    assert supplier.returncode == 1, supplier
    assert "record a decision on behalf of johan.berg" in " ".join(supplier.stderr.split())
    assert wrong_decider.returncode == 1, wrong_decider
    assert "Eva Holm may not decide" in " ".join(wrong_decider.stderr.split())
    assert ws.app.service.show(incident)["state"] == "outage"

    result = approve(
        ws,
        approval,
        OPERATOR,
        "--on-behalf-of",
        FYRBODAL,
        "--reference",
        "Samtal 14.05 från 070-000 00 21",
    )
    assert result == {"result": "approved", "state": "partial_reserve"}
    [decision] = [e for e in events(ws, incident) if e["kind"] == "decision"]
    assert decision["actor"] == OPERATOR
    assert decision["data"]["decided_by"] == FYRBODAL  # type: ignore[index]
    assert decision["data"]["recorded_by"] == OPERATOR  # type: ignore[index]
    assert decision["data"]["reference"] == "Samtal 14.05 från 070-000 00 21"  # type: ignore[index]


def test_reject_ends_the_request_and_the_state_stays(sqlite_workspace: Workspace) -> None:
    """`--reject` ends a request without a state change, and it cannot be decided again."""
    ws = sqlite_workspace
    incident = ws.declare()
    approval = ws.fire(incident, "enter_total_reserve").approval_id

    assert approve(ws, approval, CHAIR, "--reject", "--comment", "Inte ännu") == {
        "result": "rejected",
        "state": "outage",
    }
    shown = ws.app.service.show(incident)
    assert (shown["state"], shown["pending_approvals"], shown["crisis"]) == ("outage", [], False)
    [decision] = [e for e in events(ws, incident) if e["kind"] == "decision"]
    assert decision["data"]["decision"] == "rejected"  # type: ignore[index]
    assert decision["data"]["comment"] == "Inte ännu"  # type: ignore[index]

    message = ws.fails("incident", "approve", approval, "--as", VICE_CHAIR)
    assert f"Approval {approval} is already rejected" in message


# ------------------------------------------------------------------------------ the contract
def test_usage_errors_exit_2(sqlite_workspace: Workspace) -> None:
    """Malformed --set, a missing --as, a missing argument and a zero sweep interval are usage
    errors (exit 2)."""
    ws = sqlite_workspace
    incident = ws.declare()
    bad_set, no_as, no_trigger, no_sweep = ws.run_many(
        [
            ["incident", "fire", incident, "post_update", "--as", OPERATOR, "--set", "details"],
            ["incident", "declare", *sets(*DECLARE_SETS)],
            ["incident", "fire", incident, "--as", OPERATOR],
            ["worker", "--sweep", "0"],
        ]
    )
    assert bad_set.returncode == 2, bad_set
    assert "expected KEY=VALUE, got 'details'" in bad_set.stderr
    assert no_as.returncode == 2, no_as
    assert "missing option '--as'" in no_as.stderr.lower()
    assert no_trigger.returncode == 2, no_trigger
    assert "missing argument 'trigger'" in no_trigger.stderr.lower()
    assert no_sweep.returncode == 2, no_sweep
    assert "'--sweep'" in no_sweep.stderr
    assert [e["kind"] for e in events(ws, incident)] == ["declare"]


def test_refusals_exit_1_and_name_the_problem(sqlite_workspace: Workspace) -> None:
    """Unknown person, incident, trigger, approval and field, a missing required field and a bad
    value each exit 1 with a message on stderr that names the problem; nothing changes."""
    ws = sqlite_workspace
    incident = ws.declare()
    declare = ["incident", "declare", "--as", OPERATOR]
    cases = {
        "unknown person": (
            ["incident", "fire", incident, "post_update", "--as", "nobody"],
            ["No person 'nobody' in the directory"],
        ),
        "unknown incident": (
            ["incident", "show", "20990101-000000"],
            ["Incident '20990101-000000' does not exist"],
        ),
        "unknown trigger": (
            ["incident", "fire", incident, "escalate", "--as", OPERATOR],
            ["Unknown trigger 'escalate'", "post_update", "restore"],
        ),
        "unknown approval": (
            ["incident", "approve", "A-00000000", "--as", CHAIR],
            ["Approval 'A-00000000' does not exist"],
        ),
        "missing field": (
            [*declare, *sets("started_at=now", "expected_resolution=okänd")],
            ["needs scope", "--set scope=..."],
        ),
        "bad value": (
            [*declare, *sets(*DECLARE_SETS[1:], "started_at=yesterday")],
            ["Field 'started_at'", "'yesterday'"],
        ),
        "unknown field": (
            [*declare, *sets(*DECLARE_SETS, "colour=red")],
            ["Field 'colour': unknown field", "scope"],
        ),
        "wrong state": (
            ["incident", "fire", incident, "close", "--as", OPERATOR],
            ["'close' is not possible in state 'outage'"],
        ),
    }
    results = ws.run_many([args for args, _ in cases.values()])
    for (name, (_, expected)), done in zip(cases.items(), results, strict=True):
        message = " ".join(done.stderr.split())
        assert done.returncode == 1, (name, done)
        assert message.startswith("error:"), (name, message)
        for text in expected:
            assert text in message, (name, text, message)
        assert "Traceback" not in done.stderr, (name, done.stderr)
    with ws.app.database.unit_of_work(read_only=True) as uow:
        assert [i.id for i in uow.incidents.list(include_closed=True)] == [incident]
    assert [e["kind"] for e in events(ws, incident)] == ["declare"]


def test_lang_en_gives_english_output(sqlite_workspace: Workspace) -> None:
    """Output and error messages are Swedish with --lang sv and English with --lang en."""
    ws = sqlite_workspace
    incident = ws.declare()
    swedish, english, fel, error = ws.run_many(
        [
            ["incident", "fire", incident, "post_update", "--as", OPERATOR, "--lang", "sv"],
            ["incident", "fire", incident, "post_update", "--as", OPERATOR, "--lang", "en"],
            ["incident", "fire", incident, "close", "--as", OPERATOR, "--lang", "sv"],
            ["incident", "fire", incident, "close", "--as", OPERATOR, "--lang", "en"],
        ]
    )
    assert swedish.returncode == english.returncode == 0, (swedish, english)
    assert (
        "Klart: Lägesuppdatering (post_update) – läge nu: Avbrott i IT-tjänsten (outage)."
        in swedish.stdout
    )
    assert (
        "Done: Status update (post_update) – state now: Outage in the IT service (outage)."
        in english.stdout
    )
    assert "Klart" not in english.stdout
    assert fel.returncode == error.returncode == 1
    assert "fel: 'close' går inte i läget 'outage'. Möjligt nu:" in " ".join(fel.stderr.split())
    assert "error: 'close' is not possible in state 'outage'." in " ".join(error.stderr.split())


def test_tables_name_things_by_their_titles_and_show_local_time(
    sqlite_workspace: Workspace,
) -> None:
    """People's output names states, actions and roles by the plan's titles (with the id to
    type beside them) and shows times in the plan's timezone, not UTC."""
    ws = sqlite_workspace
    incident = ws.declare()
    listing, actions, log = ws.run_many(
        [
            ["incident", "list", "--lang", "sv"],
            ["incident", "actions", incident, "--as", OPERATOR, "--lang", "sv"],
            ["incident", "log", incident, "--lang", "sv"],
        ]
    )
    created = datetime.fromisoformat(ws.json("incident", "show", incident, "--json")["created_at"])
    local = created.astimezone(ZoneInfo("Europe/Stockholm"))
    assert local.utcoffset() != timedelta(0)  # November: CET, so a UTC time would show
    assert f"{local:%Y-%m-%d %H:%M}" in listing.stdout, listing.stdout
    assert f"{created.astimezone(UTC):%H:%M}" not in listing.stdout
    assert "Avbrott i IT-tjänsten (outage)" in listing.stdout
    assert "Lägesuppdatering (post_update)" in actions.stdout
    assert "Reservrutin i alla verksamheter (total_reserve)" in actions.stdout
    assert "council_chair" not in actions.stdout
    assert f"{local:%Y-%m-%d %H:%M:%S}" in log.stdout
    assert "→ Avbrott i IT-tjänsten" in log.stdout
    assert "anmälan" in log.stdout  # the event kind in Swedish


def test_a_forked_cli_process_answers_as_a_freshly_started_one(sqlite_workspace: Workspace) -> None:
    """The console script forked from the test zygote prints and exits exactly as it does when
    started in a fresh interpreter, for a table on stdout and an error on stderr alike."""
    ws = sqlite_workspace
    incident = ws.declare()
    commands = [
        ["incident", "show", incident, "--lang", "sv"],
        ["incident", "fire", incident, "close", "--as", OPERATOR],
    ]
    forked = ws.run_many(commands)
    fresh = ws.run_many(commands, fresh=True)
    assert [(d.returncode, d.stdout, d.stderr) for d in forked] == [
        (d.returncode, d.stdout, d.stderr) for d in fresh
    ]
    assert [d.returncode for d in fresh] == [0, 1]
    assert "Avbrott i IT-tjänsten" in fresh[0].stdout
    assert "'close' is not possible in state 'outage'" in " ".join(fresh[1].stderr.split())
