"""Fixtures for end-to-end tests: the real `driftplan` console script in subprocesses.

Each test gets its own data folder (DRIFTPLAN_DATA), the repository's plans (DRIFTPLAN_WORKFLOWS)
and a fixed audit key. `workspace` runs on a SQLite file and on PostgreSQL (an isolated schema
from `tests/conftest.py`'s `database_url`, which child processes reach through the URL's
`search_path` option); `sqlite_workspace` is for behaviour that does not depend on the database.
A CLI call costs about a second (interpreter start and imports), so tests set up their
incidents in-process through the service (`Workspace.app`) and spend CLI processes only on the
command under test. Those processes are forked from a zygote that has already started Python
and imported what the console script imports (`tests/e2e/cli_fork.py`): each is still its own
process running the installed script with the command's arguments, environment and streams,
without the second of start-up. `Workspace.run_script` starts the script in a fresh
interpreter instead, for tests about that start itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from engine.bootstrap import App, build
from engine.settings import Settings
from tests.conftest import TEST_AUDIT_KEY
from tests.e2e.cli_fork import ForkedProcess, Zygote

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / "workflows"
DIRECTORY = REPO / "examples" / "directory.yaml"
DRIFTPLAN = Path(sys.executable).parent / "driftplan"
CLI_TIMEOUT = 60

# The values every declaration in these tests uses (the plan's required fields).
DECLARE_SETS = (
    "started_at=now",
    "scope=Ingen åtkomst till SAMSA i Fyrbodal",
    "expected_resolution=okänd",
    "affected_subregions=fyrbodal",
)
DECLARE_VALUES = dict(item.split("=", 1) for item in DECLARE_SETS)


@dataclass
class Workspace:
    """One test's installation: data folder, database and environment for the CLI."""

    root: Path
    kind: str  # "sqlite" or "postgres"
    url: str  # the SQLAlchemy URL both the CLI and in-process code use
    env: dict[str, str]
    zygote: Zygote | None = field(default=None, repr=False)
    _app: App | None = field(default=None, repr=False)

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def sqlite_path(self) -> Path:
        """The SQLite file (the data folder's default database)."""
        assert self.kind == "sqlite"
        return self.data / "driftplan.db"

    def command(self, *args: str) -> list[str]:
        return [str(DRIFTPLAN), *args]

    def popen(
        self,
        *args: str,
        env: dict[str, str] | None = None,
        input: str | None = None,
        fresh: bool = False,
    ) -> ForkedProcess | subprocess.Popen[str]:
        """Start `driftplan ARGS`, forked from the zygote unless `fresh` (a new interpreter);
        `env` replaces the workspace's environment."""
        command, environment = self.command(*args), self.env if env is None else env
        if self.zygote is None or fresh:
            return subprocess.Popen(
                command,
                cwd=self.root,
                env=environment,
                stdin=subprocess.DEVNULL if input is None else subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        return self.zygote.launch(command, environment, self.root, input)

    def run(
        self, *args: str, code: int | None = 0, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run `driftplan ARGS`; check the exit code unless `code` is None."""
        done = _finish(self.popen(*args, input=input), input)
        if code is not None:
            assert done.returncode == code, _describe(done)
        return done

    def run_script(self, *args: str, code: int | None = 0) -> subprocess.CompletedProcess[str]:
        """Like `run`, but the console script starts in a fresh interpreter, as from a shell."""
        done = _finish(self.popen(*args, fresh=True), None)
        if code is not None:
            assert done.returncode == code, _describe(done)
        return done

    def json(self, *args: str) -> Any:
        """Run a command that must succeed and return its parsed JSON output."""
        return json.loads(self.run(*args, "--json").stdout)

    def fails(self, *args: str, code: int = 1) -> str:
        """Run a command that must fail with `code`; returns stderr (with whitespace unwrapped)."""
        done = self.run(*args, code=code)
        assert done.stdout.strip() == "" or code == 2, _describe(done)
        return " ".join(done.stderr.split())

    def run_many(
        self, commands: Sequence[Sequence[str]], *, fresh: bool = False
    ) -> list[subprocess.CompletedProcess[str]]:
        """Run independent commands at the same time (they share two cores, not a queue)."""
        processes = [self.popen(*args, fresh=fresh) for args in commands]
        return [_finish(process, None) for process in processes]

    @property
    def app(self) -> App:
        """The application in this process, on the same database, with the directory imported."""
        if self._app is None:
            settings = Settings(
                data=self.data,
                workflows=WORKFLOWS,
                database_url=self.url if self.kind == "postgres" else None,
            )
            self._app = build(settings)
            self._app.service.directory.import_file(DIRECTORY)
        return self._app

    def declare(self, actor: str = "anna.andersson", **values: str) -> str:
        """Declare an incident in-process; returns its id."""
        result = self.app.service.declare(actor_id=actor, values={**DECLARE_VALUES, **values})
        return result.incident_id

    def fire(
        self, incident_id: str, trigger: str, actor: str = "anna.andersson", **values: str
    ) -> Any:
        """Fire a trigger in-process."""
        return self.app.service.fire(
            incident_id=incident_id, trigger=trigger, actor_id=actor, values=values
        )

    def close(self) -> None:
        if self._app is not None:
            self._app.database.dispose()


def _finish(
    process: ForkedProcess | subprocess.Popen[str], input: str | None
) -> subprocess.CompletedProcess[str]:
    """Wait for a CLI process as `subprocess.run(timeout=CLI_TIMEOUT)` does: kill it on timeout."""
    try:
        if isinstance(process, ForkedProcess):
            out, err = process.communicate(timeout=CLI_TIMEOUT)
        else:
            out, err = process.communicate(input=input, timeout=CLI_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise
    assert process.returncode is not None
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def _describe(done: subprocess.CompletedProcess[str]) -> str:
    return (
        f"exit {done.returncode} from {' '.join(map(str, done.args))}\n"
        f"stdout: {done.stdout}\nstderr: {done.stderr}"
    )


def _environment(root: Path, url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTPLAN_")}
    env.update(
        DRIFTPLAN_DATA=str(root / "data"),
        DRIFTPLAN_WORKFLOWS=str(WORKFLOWS),
        DRIFTPLAN_AUDIT_KEY=TEST_AUDIT_KEY.hex(),
        COLUMNS="200",  # rich wraps long error messages at the terminal width
        # The tests read English messages; Swedish (the default) is tested with --lang sv.
        DRIFTPLAN_LANG="en",
        PYTHONIOENCODING="utf-8",
    )
    if url is not None:
        env["DRIFTPLAN_DATABASE_URL"] = url
    return env


def _workspace(
    root: Path, url: str | None, monkeypatch: pytest.MonkeyPatch, zygote: Zygote | None
) -> Iterator[Workspace]:
    # The in-process app reads the audit key from the environment, as the CLI does.
    monkeypatch.setenv("DRIFTPLAN_AUDIT_KEY", TEST_AUDIT_KEY.hex())
    for name in ("DATA", "DATABASE_URL", "WORKFLOWS", "LANG", "PUBLIC_URL"):
        monkeypatch.delenv(f"DRIFTPLAN_{name}", raising=False)
    if url is None:
        kind, db_url = "sqlite", f"sqlite:///{root / 'data' / 'driftplan.db'}"
    else:
        kind, db_url = "postgres", url
    workspace = Workspace(root, kind, db_url, _environment(root, url), zygote)
    try:
        yield workspace
    finally:
        workspace.close()


@pytest.fixture(scope="session")
def cli_zygote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Zygote | None]:
    """The session's zygote for CLI processes; None (fresh interpreters) where it cannot fork.

    DRIFTPLAN_TEST_CLI=exec starts every CLI call in a fresh interpreter instead.
    """
    if os.environ.get("DRIFTPLAN_TEST_CLI") == "exec" or not hasattr(os, "pidfd_open"):
        yield None
        return
    scratch = tmp_path_factory.mktemp("cli-zygote")
    base = {k: v for k, v in _environment(scratch, None).items() if not k.startswith("DRIFTPLAN_")}
    zygote = Zygote(DRIFTPLAN, base, scratch)
    try:
        yield zygote
    finally:
        zygote.close()


@pytest.fixture
def workspace(
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    cli_zygote: Zygote | None,
) -> Iterator[Workspace]:
    """A fresh installation on each database: SQLite (the data folder's default) or PostgreSQL."""
    url = None if database_url.startswith("sqlite") else database_url
    yield from _workspace(tmp_path, url, monkeypatch, cli_zygote)


@pytest.fixture
def sqlite_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli_zygote: Zygote | None
) -> Iterator[Workspace]:
    """A fresh installation on a SQLite file, for behaviour that does not depend on the database."""
    yield from _workspace(tmp_path, None, monkeypatch, cli_zygote)
