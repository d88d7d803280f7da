"""Stored text cannot drive an operator's terminal: the CLI strips control sequences from it."""

from __future__ import annotations

import json

from engine.cli.terminal import escape_for_json, strip_controls
from tests.e2e.conftest import Workspace

HOSTILE = (
    "Ingen åtkomst\x1b]0;pwned\x07 \x1b]52;c;ZWNobyBoaQ==\x07\x1b[2J\x1b[1;1H\x9b31m\x08\r klart"
)


def test_hostile_text_is_refused_as_data_and_reaches_no_terminal_as_a_comment(
    sqlite_workspace: Workspace,
) -> None:
    """A scope full of OSC, CSI, C1 and backspace codes is refused as incident data (naming the
    field); the same text as a decision's comment is kept, but prints without a control
    character in show and log."""
    incident = sqlite_workspace.declare()
    refused = sqlite_workspace.fails(
        "incident", "declare", "--as", "anna.andersson", "--set", f"scope={HOSTILE}"
    )
    assert "scope" in refused and ("styrtecken" in refused or "control character" in refused)
    fired = sqlite_workspace.json(
        "incident", "fire", incident, "enter_total_reserve", "--as", "anna.andersson"
    )
    sqlite_workspace.run(
        "incident",
        "approve",
        fired["approval_id"],
        "--as",
        "margareta.lund",
        "--comment",
        HOSTILE,
    )
    for command in (("incident", "show", incident), ("incident", "log", incident)):
        out = sqlite_workspace.run(*command).stdout
        assert not any(c in out for c in "\x1b\x07\x08\r\x9b"), (command, out)
    events = sqlite_workspace.json("incident", "log", incident)
    comments = [e["data"].get("comment") for e in events if e["kind"] == "decision"]
    assert comments == [HOSTILE]  # the data itself is kept whole for tools


def test_rich_colours_pass_and_everything_else_is_dropped() -> None:
    """SGR colour codes survive (rich's own styling); titles, clipboard and cursor codes do not."""
    text = "a\x1b[31mb\x1b[0m\x1b]0;t\x07\x1b]52;c;eA==\x1b\\\x1b[2J\x1bc\x9b1m\x00\x7fz\n\t"
    assert strip_controls(text) == "a\x1b[31mb\x1b[0mz\n\t"


def test_json_escapes_c1_controls_and_stays_the_same_value() -> None:
    """JSON output escapes DEL and C1 characters, and parses back to the same string."""
    raw = json.dumps({"s": "x\x9b31m\x7fy"}, ensure_ascii=False)
    escaped = escape_for_json(raw)
    assert "\x9b" not in escaped and "\x7f" not in escaped
    assert json.loads(escaped) == {"s": "x\x9b31m\x7fy"}
