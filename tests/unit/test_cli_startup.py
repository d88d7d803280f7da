"""Each CLI command imports only what it needs, so that the command line starts fast.

Issue #13: `--help`, `validate` and `diagram` never import SQLAlchemy; a command on SQLite never
imports the PostgreSQL driver or dialect. The test runs the real entry point in a fresh
interpreter and lists the modules it had loaded when it exited.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

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


def test_a_command_on_sqlite_loads_no_postgresql(tmp_path: Path) -> None:
    """A command on the SQLite default never imports the PostgreSQL driver or dialect."""
    loaded(tmp_path, "init")
    modules = loaded(tmp_path, "incident", "list")
    assert "sqlalchemy" in modules  # it did use the database
    assert under(modules, POSTGRES) == []
