"""`incident show` says how far a per-sub-region request has come: "delvis godkänd" once one of
its sub-regions decided (that part is in effect) while others have not."""

from __future__ import annotations

from tests.e2e.conftest import DIRECTORY, Workspace

OPERATOR = "anna.andersson"
FYRBODAL_DECIDER = "johan.berg"


def test_show_marks_a_request_partly_approved(sqlite_workspace: Workspace) -> None:
    """Before any decision the request reads "väntar på beslut"; after Fyrbodal's approval it
    reads "delvis godkänd" in Swedish and "partly approved" in English."""
    ws = sqlite_workspace
    ws.run("init")
    ws.run("directory", "import", str(DIRECTORY))
    incident = ws.declare(OPERATOR)
    asked = ws.json(
        "incident", "fire", incident, "enter_partial_reserve", "--as", OPERATOR,
        "--set", "reserve_subregions=fyrbodal,skaraborg",
    )  # fmt: skip
    approval = asked["approval_id"]
    assert "väntar på beslut" in ws.run("incident", "show", incident, "--lang", "sv").stdout

    ws.run("incident", "approve", approval, "--as", FYRBODAL_DECIDER, "--comment", "Ja.")
    assert "delvis godkänd" in ws.run("incident", "show", incident, "--lang", "sv").stdout
    assert "partly approved" in ws.run("incident", "show", incident, "--lang", "en").stdout
