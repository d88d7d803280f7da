"""The log records who really ran a CLI command, beside the person it claims to act as."""

from __future__ import annotations

import os
import pwd
import socket

from tests.e2e.conftest import Workspace


def test_cli_events_record_the_os_user_and_host(sqlite_workspace: Workspace) -> None:
    """A fire through the console script logs the OS user and host; the --as person stays."""
    incident = sqlite_workspace.declare()  # in-process: no CLI origin
    sqlite_workspace.run(
        "incident",
        "fire",
        incident,
        "post_update",
        "--as",
        "anna.andersson",
        "--set",
        "details=Felsökning pågår",
    )
    log = sqlite_workspace.json("incident", "log", incident)
    declared, fired = log[0], log[-1]
    assert "origin" not in declared["data"]
    assert fired["actor"] == "anna.andersson"
    assert fired["data"]["origin"] == {
        "via": "cli",
        "os_user": pwd.getpwuid(os.getuid()).pw_name,
        "host": socket.gethostname(),
    }


def test_a_refusal_through_the_cli_records_the_os_user_too(sqlite_workspace: Workspace) -> None:
    """Someone claiming a person without the role is refused, and the log says who tried."""
    incident = sqlite_workspace.declare()
    sqlite_workspace.fails(
        "incident",
        "fire",
        incident,
        "post_update",
        "--as",
        "johan.berg",
        "--set",
        "details=x",
    )
    refused = [e for e in sqlite_workspace.app.service.log(incident) if e["kind"] == "refused"]
    assert refused[-1]["data"]["origin"]["os_user"] == pwd.getpwuid(os.getuid()).pw_name
