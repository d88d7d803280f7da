"""Each CLI command imports only what it needs, so that the command line starts fast.

Issue #13: `--help`, `validate` and `diagram` never import SQLAlchemy; a command on SQLite never
imports the PostgreSQL driver or dialect; help pages import neither rich nor Typer's rich help
(`typer.rich_utils`) nor pydantic; the root's help imports none of the named groups, and a
group's command none of the other groups. The test runs the real entry point in a fresh
interpreter and lists the modules it had loaded when it exited. The plain help those pages are
printed with still lists every command whole (`test_help_*`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.cli.app import whole
from engine.cli.help import GROUPS

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
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTPLAN_")}
    env.update(DRIFTPLAN_DATA=str(tmp_path / "data"), COLUMNS="100")
    script = "import sys; from engine.cli.app import main; sys.argv[0] = 'driftplan'; main()"
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )


def loaded(tmp_path: Path, *args: str) -> set[str]:
    """The modules a fresh `driftplan ARGS` had imported by the time it exited."""
    out = tmp_path / "modules.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTPLAN_")}
    env.update(
        MODULES_OUT=str(out),
        DRIFTPLAN_DATA=str(tmp_path / "data"),
        DRIFTPLAN_WORKFLOWS=str(ROOT / "workflows"),
        DRIFTPLAN_AUDIT_KEY="11" * 32,
    )
    subprocess.run(
        [sys.executable, "-c", PROBE, *args], env=env, capture_output=True, check=False, cwd=ROOT
    )
    return set(json.loads(out.read_text()))


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
