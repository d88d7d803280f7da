"""Each CLI command imports only what it needs, so that the command line starts fast.

Issue #13: `--help`, `validate` and `diagram` never import SQLAlchemy; a command on SQLite never
imports the PostgreSQL driver or dialect; help pages import neither rich nor Typer's rich help
(`typer.rich_utils`) nor pydantic; the root's help imports none of the named groups, and a
group's command none of the other groups, and Typer is given that command only; `incident
fire` on a running incident imports neither rich nor the parts of the engine it does not use.
The test runs the real entry point in a fresh interpreter and lists the modules it had loaded
when it exited. The plain help those pages are
printed with still lists every command whole (`test_help_*`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import import_module
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from engine.cli.app import group_for, whole
from engine.cli.help import GROUPS, CommandGroup

ROOT = Path(__file__).resolve().parents[2]
PLAN = str(ROOT / "workflows" / "samsa_outage.yaml")
# Records sys.modules at exit (typer ends every command with SystemExit), then runs the CLI.
PROBE = (
    "import atexit, json, os, sys\n"
    "dump = lambda: open(os.environ['MODULES_OUT'], 'w').write(json.dumps(sorted(sys.modules)))\n"
    "atexit.register(dump)\n"
    "from engine.cli.app import main\n"
    "sys.argv = ['driftplan', *sys.argv[1:]]\n"
    "main()\n"
)
DATABASE = ("sqlalchemy", "alembic", "psycopg", "engine.store")
POSTGRES = ("psycopg", "sqlalchemy.dialects.postgresql")
RICH = ("rich", "typer.rich_utils", "pydantic")
GROUP_MODULES = tuple(f"engine.cli.{name}" for name in GROUPS)


def driftplan(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A fresh `driftplan ARGS` (its real entry point), 100 columns wide."""
    script = "import sys; from engine.cli.app import main; sys.argv[0] = 'driftplan'; main()"
    return _python(script, args, DRIFTPLAN_DATA=str(tmp_path / "data"), COLUMNS="100")


def _python(script: str, args: tuple[str, ...], **environ: str) -> subprocess.CompletedProcess[str]:
    """`python -c SCRIPT ARGS` from the repository, in this environment without its
    DRIFTPLAN_* variables, plus `environ`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTPLAN_")}
    env.update(environ)
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )


def probed(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A fresh `driftplan ARGS` that writes the modules it had imported when it exited to
    tmp_path/modules.json."""
    return _python(
        PROBE,
        args,
        MODULES_OUT=str(tmp_path / "modules.json"),
        DRIFTPLAN_DATA=str(tmp_path / "data"),
        DRIFTPLAN_WORKFLOWS=str(ROOT / "workflows"),
        DRIFTPLAN_AUDIT_KEY="11" * 32,
        DRIFTPLAN_LANG="sv",
    )


def loaded(tmp_path: Path, *args: str) -> set[str]:
    """The modules a fresh `driftplan ARGS` had imported by the time it exited."""
    probed(tmp_path, *args)
    return set(json.loads((tmp_path / "modules.json").read_text()))


def under(modules: set[str], prefixes: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if m.startswith(prefixes))


@pytest.mark.parametrize(
    "args",
    [["--help"], ["incident", "--help"], ["validate", PLAN], ["diagram", PLAN]],
    ids=["help", "incident-help", "validate", "diagram"],
)
def test_commands_without_a_database_import_none(tmp_path: Path, args: list[str]) -> None:
    """Help, validate and diagram load no database library and none of the store."""
    assert under(loaded(tmp_path, *args), DATABASE) == []


def test_help_loads_no_plan_schema_or_templates(tmp_path: Path) -> None:
    """`--help` is only the command table: no pydantic settings, plan schema or Jinja."""
    modules = loaded(tmp_path, "--help")
    assert under(modules, ("pydantic_settings", "jinja2", "engine.definition")) == []


@pytest.mark.parametrize(
    "args",
    [["--help"], ["incident", "--help"], ["incident"]],
    ids=["help", "incident-help", "incident-no-command"],
)
def test_help_pages_load_no_rich_or_pydantic(tmp_path: Path, args: list[str]) -> None:
    """Help is printed plain (rich_markup_mode=None): rich, whose help boxes alone cost more
    than the rest of `--help`, is not imported, nor is pydantic."""
    modules = loaded(tmp_path, *args)
    assert "engine.cli.app" in modules  # the probe did run the command line
    assert under(modules, RICH) == []


def test_root_help_loads_no_named_group(tmp_path: Path) -> None:
    """The root's help lists the named groups from their help lines, without their modules."""
    modules = loaded(tmp_path, "--help")
    assert "engine.cli.plans" in modules  # the top-level commands are real
    assert under(modules, GROUP_MODULES) == []


def test_a_command_on_sqlite_loads_no_postgresql(tmp_path: Path) -> None:
    """A command on the SQLite default never imports the PostgreSQL driver or dialect, nor
    (Typer builds only what it is given) the modules of the other command groups."""
    loaded(tmp_path, "init")
    modules = loaded(tmp_path, "incident", "list")
    assert "sqlalchemy" in modules  # it did use the database
    assert under(modules, POSTGRES) == []
    # The incident group prints its messages with the outbox group's table.
    others = tuple(
        m for m in GROUP_MODULES if m not in ("engine.cli.incident", "engine.cli.outbox")
    )
    assert under(modules, others) == []
    assert "engine.cli.plans" not in modules


# What `incident fire` on a running incident does not use (issue #13): rich (its one line is
# plain), any of the plan checker (the pinned plan was checked when pinned), and the parts of the
# service that deliver, fire timers, send anchors or mail, or examine the installation.
DECLARE = [
    "--set", "started_at=now",
    "--set", "scope=Ingen åtkomst till SAMSA",
    "--set", "expected_resolution=okänd",
    "--set", "affected_subregions=fyrbodal",
]  # fmt: skip
NOT_FOR_A_FIRE = (
    "rich",
    "typer.rich_utils",
    "engine.definition.checks",
    "engine.service.delivery",
    "engine.service.timers",
    "engine.service.anchors",
    "engine.service.confirmation_mail",
    "engine.service.doctor",
    *POSTGRES,
)


def test_a_fire_loads_only_what_it_uses(tmp_path: Path) -> None:
    """`incident fire ID post_update` prints its line without rich and imports none of
    `NOT_FOR_A_FIRE`; its plan's parse is kept for the next command."""
    for args in (
        ["init"],
        ["directory", "import", str(ROOT / "examples" / "directory.yaml")],
        ["incident", "declare", "--as", "anna.andersson", "--json", *DECLARE],
    ):
        done = probed(tmp_path, *args)
        assert done.returncode == 0, done.stderr
    incident = json.loads(done.stdout)["id"]
    fire = ["incident", "fire", incident, "post_update", "--as", "anna.andersson"]
    done = probed(tmp_path, *fire, "--set", "details=Felsökning pågår")
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        "Klart: Lägesuppdatering (post_update) – läge nu: Avbrott i IT-tjänsten (outage).\n"
    )
    modules = set(json.loads((tmp_path / "modules.json").read_text()))
    assert "engine.service.commands" in modules  # it did fire
    assert under(modules, NOT_FOR_A_FIRE) == []
    assert len(list((tmp_path / "data" / "parsed-plans").glob("*.json"))) == 1


@pytest.mark.parametrize("group", list(GROUPS))
def test_a_group_builds_only_the_invoked_command(group: str) -> None:
    """`driftplan GROUP COMMAND ...` gives Typer that command alone, still as a group (its
    usage line reads `driftplan GROUP COMMAND`); help, a mistake or nothing gets them all."""

    def built(args: list[str]) -> list[str]:
        command = typer.main.get_command(group_for(group, args))
        assert isinstance(command, CommandGroup)  # a group, not its one command run alone
        return list(command.commands)

    commands = import_module(f"engine.cli.{group}").commands.names()
    for name in commands:
        assert built([name, "--x"]) == [name]
    for args in (["--help"], [], ["no-such-command"], ["--json", commands[0]]):
        assert built(args) == commands


def test_help_lists_the_same_commands_as_the_whole_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The root's help (named groups as stand-ins) reads exactly as the help of the whole
    command line with every group real, and lists every command and group."""
    shown = driftplan(tmp_path, "--help")
    assert shown.returncode == 0, shown.stderr
    monkeypatch.setenv("COLUMNS", "100")
    whole_help = CliRunner().invoke(whole(), ["--help"], prog_name="driftplan")
    assert whole_help.exit_code == 0
    assert shown.stdout == whole_help.output
    listed = " ".join(shown.stdout.split())
    for name, help_line in GROUPS.items():
        assert f"{name} {help_line}" in listed
    for command in ("validate", "diagram", "init", "exercise", "channels", "worker", "serve"):
        assert f" {command} " in listed


def test_help_lists_each_command_whole(tmp_path: Path) -> None:
    """A group's command list gives each command's whole first paragraph (click alone would
    cut "Fire a trigger (e.g. post_update, ...)" after "(e.g."), under the full command path."""
    shown = driftplan(tmp_path, "incident", "--help")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("Usage: driftplan incident [OPTIONS] COMMAND [ARGS]...")
    listed = " ".join(shown.stdout.split())
    assert "fire Fire a trigger (e.g. post_update, enter_total_reserve, restore)." in listed
    assert "log The incident's event log, oldest first:" in listed  # the merged timeline group


def test_a_group_without_a_command_prints_its_help(tmp_path: Path) -> None:
    """`driftplan incident` alone shows the group's help on standard output and exits 2."""
    shown = driftplan(tmp_path, "incident")
    assert shown.returncode == 2
    assert shown.stdout.startswith("Usage: driftplan incident [OPTIONS] COMMAND [ARGS]...")
    assert "Declare, advance and inspect incidents." in shown.stdout


def test_a_usage_error_in_a_group_names_the_whole_command(tmp_path: Path) -> None:
    """A group runs as the root of its command lines, but usage lines still read
    `driftplan GROUP COMMAND`."""
    shown = driftplan(tmp_path, "incident", "fire", "--lang", "en")
    assert shown.returncode == 2
    assert "Usage: driftplan incident fire [OPTIONS]" in shown.stderr
    assert "driftplan incident fire --help" in shown.stderr
