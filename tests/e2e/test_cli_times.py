"""Times typed on the command line: `--set expected_resolution=14:00` (today in the plan's
timezone), `+2h` (from now), and `restore` without `resolved_at`, through the real console
script on the real clock."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tests.e2e.conftest import DIRECTORY, Workspace

OPERATOR = "anna.andersson"
STOCKHOLM = ZoneInfo("Europe/Stockholm")


def sets(*pairs: str) -> list[str]:
    return [arg for pair in pairs for arg in ("--set", pair)]


def stored(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    assert moment.utcoffset() == timedelta(0), value  # stored in UTC
    return moment


def today_at(moment: datetime, hour: int) -> datetime:
    """`hour`:00 on `moment`'s day in Stockholm, in UTC."""
    day = moment.astimezone(STOCKHOLM).date()
    return datetime.combine(day, time(hour), tzinfo=STOCKHOLM).astimezone(UTC)


def test_a_time_of_day_plus_hours_and_a_stamped_restore(sqlite_workspace: Workspace) -> None:
    """`14:00` is today at 14:00 Stockholm time, `+2h` two hours after the command ran, and
    `restore` with no `resolved_at` records when it ran."""
    ws = sqlite_workspace
    ws.run("init")
    ws.run("directory", "import", str(DIRECTORY))
    required = ("scope=Ingen åtkomst", "affected_subregions=fyrbodal", "started_at=now")

    before = datetime.now(UTC)
    shown = ws.json(
        "incident", "declare", "--as", OPERATOR, *sets(*required, "expected_resolution=14:00")
    )
    after = datetime.now(UTC)
    # The command ran on one day or (at midnight) the next: 14:00 of that day.
    assert stored(shown["data"]["expected_resolution"]) in {
        today_at(before, 14),
        today_at(after, 14),
    }
    incident = shown["id"]

    before = datetime.now(UTC)
    ws.json(
        "incident",
        "fire",
        incident,
        "post_update",
        "--as",
        OPERATOR,
        *sets("expected_resolution=+2h"),
    )
    after = datetime.now(UTC)
    data = ws.json("incident", "show", incident)["data"]
    assert before + timedelta(hours=2) <= stored(data["expected_resolution"])
    assert stored(data["expected_resolution"]) <= after + timedelta(hours=2)

    before = datetime.now(UTC)
    done = ws.json("incident", "fire", incident, "restore", "--as", OPERATOR)
    after = datetime.now(UTC)
    assert (done["result"], done["state"]) == ("done", "restored")
    resolved = stored(ws.json("incident", "show", incident)["data"]["resolved_at"])
    assert before - timedelta(seconds=1) <= resolved <= after


def test_a_malformed_time_names_the_accepted_forms_in_swedish(sqlite_workspace: Workspace) -> None:
    """`--set expected_resolution=25:00` is refused, in Swedish, naming every form that works."""
    ws = sqlite_workspace
    ws.run("init")
    ws.run("directory", "import", str(DIRECTORY))
    required = ("scope=Ingen åtkomst", "started_at=now", "expected_resolution=25:00")

    error = ws.fails("incident", "declare", "--as", OPERATOR, *sets(*required), "--lang", "sv")

    assert "expected_resolution" in error
    assert "2022-06-28T14:30, now eller okänd" in error
    assert "14:30 (i dag, i planens tidszon) eller +2h, +90m, +1d (från nu)" in error
