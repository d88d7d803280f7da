"""`driftplan incident list` a page at a time: open incidents first and the latest closed ones,
`--limit`, `--cursor` from the footer, `--since`, `--all`, and `--json` staying a list."""

from __future__ import annotations

import json
import re

from tests.e2e.conftest import Workspace

WITHDRAW = {"withdrawal_reason": "Fel tjänst"}


def _footer_command(output: str) -> list[str]:
    """The arguments of the command the footer names for the next page."""
    found = re.search(r"driftplan (incident list [^\n]*--cursor \S+)", output)
    assert found is not None, output
    return found.group(1).split()


def test_pages_follow_the_footer_to_the_end(workspace: Workspace) -> None:
    """A page of two lists the newest open incidents; following the footer's command shows the
    rest, open ones before the recently closed, each once, on SQLite and PostgreSQL."""
    ws = workspace
    first, second, third = ws.declare(), ws.declare(), ws.declare()
    closed = ws.declare()
    ws.fire(closed, "withdraw", **WITHDRAW)
    page = ws.run("incident", "list", "--limit", "2", "--lang", "en").stdout
    assert third in page and second in page and first not in page
    assert "2 shown, 2 more. Next page: driftplan incident list --limit 2 --cursor" in page
    rest = ws.run(*_footer_command(page), "--lang", "en").stdout
    assert first in rest and closed in rest
    assert rest.index(first) < rest.index(closed)  # open ones first
    assert third not in rest and "Next page" not in rest


def test_json_stays_a_list_of_open_ones_with_the_footer_on_stderr(workspace: Workspace) -> None:
    """`--json` prints a list as before paging (open incidents unless --all), and says on
    stderr how to get the next page and the closed ones."""
    ws = workspace
    first, second = ws.declare(), ws.declare()
    closed = ws.declare()
    ws.fire(closed, "withdraw", **WITHDRAW)
    done = ws.run("incident", "list", "--json", "--limit", "1", "--lang", "en")
    assert [i["id"] for i in json.loads(done.stdout)] == [second]
    assert "1 shown, 1 more." in done.stderr
    assert "1 more closed incidents are not shown. Show them: driftplan incident list --all" in (
        " ".join(done.stderr.split())
    )
    after = ws.run(*_footer_command(done.stderr), "--lang", "en")
    assert [i["id"] for i in json.loads(after.stdout)] == [first]
    everything = ws.json("incident", "list", "--all")
    assert [i["id"] for i in everything] == [second, first, closed]


def test_only_the_latest_closed_ones_show_by_default(sqlite_workspace: Workspace) -> None:
    """Beyond the 20 most recently closed incidents, the default list counts the older closed
    ones in its footer (here in Swedish) and `--all` lists them."""
    ws = sqlite_workspace
    ids = [ws.declare() for _ in range(22)]
    for incident in ids:
        ws.fire(incident, "withdraw", **WITHDRAW)
    listing = ws.run("incident", "list", "--limit", "100", "--lang", "sv").stdout
    assert ids[0] not in listing and ids[1] not in listing and ids[2] in listing
    assert "Ytterligare 2 avslutade incidenter visas inte." in listing
    assert "driftplan incident list --all --limit 100" in listing
    assert len(ws.json("incident", "list", "--all", "--limit", "100")) == 22


def test_since_takes_past_times_as_people_type_them(sqlite_workspace: Workspace) -> None:
    """`--since -1h` keeps what changed in the last hour, a future date keeps nothing, and an
    unreadable time, cursor or limit is refused with the forms that work."""
    ws = sqlite_workspace
    incident = ws.declare()
    recent, future, bad_since, bad_cursor, bad_limit = ws.run_many(
        [
            ["incident", "list", "--since", "-1h", "--json"],
            ["incident", "list", "--since", "2999-01-01", "--lang", "en"],
            ["incident", "list", "--since", "igår", "--lang", "en"],
            ["incident", "list", "--cursor", "not-a-cursor", "--lang", "en"],
            ["incident", "list", "--limit", "0", "--lang", "en"],
        ]
    )
    assert [i["id"] for i in json.loads(recent.stdout)] == [incident]
    assert "No incidents on this page." in future.stdout
    assert incident not in future.stdout
    for refused in (bad_since, bad_cursor, bad_limit):
        assert refused.returncode == 1, refused
    assert "expected a time in the past such as -2h" in " ".join(bad_since.stderr.split())
    assert "not a cursor from this listing" in bad_cursor.stderr
    assert "must be between 1 and 1000" in bad_limit.stderr
