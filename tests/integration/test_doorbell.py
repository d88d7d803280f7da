"""The SQLite doorbell: a commit in another process pokes the listening worker at once.

With the `data_version` safety net an hour apart, only the poke through the socket beside the
database file (`engine.store.doorbell`) can wake the listener within seconds. Real SQLite files,
a real `driftplan` CLI process and real Unix datagram sockets.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.bootstrap import App, build
from engine.settings import Settings
from engine.store import doorbell, wakeups
from engine.store.doorbell import Doorbell
from tests.app_helpers import DECLARE, EXAMPLE_DIRECTORY, OPERATOR, WORKFLOWS

DRIFTPLAN = str(Path(sys.executable).parent / "driftplan")


@pytest.fixture
def short_path() -> Iterator[Path]:
    """A folder with a short path: pytest's own (with xdist's worker folder) can be too long
    for a Unix socket beside a database in it, where the doorbell rightly falls back to
    polling (tested below)."""
    folder = Path(tempfile.mkdtemp(prefix="dp-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def app(short_path: Path) -> Iterator[App]:
    settings = Settings(data=short_path / "data", workflows=WORKFLOWS)
    application = build(settings)
    application.service.directory.import_file(EXAMPLE_DIRECTORY)
    try:
        yield application
    finally:
        application.close()


def cli_declare(folder: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTPLAN_")}
    env.update(DRIFTPLAN_DATA=str(folder / "data"), DRIFTPLAN_WORKFLOWS=str(WORKFLOWS))
    sets = [arg for key, value in DECLARE.items() for arg in ("--set", f"{key}={value}")]
    done = subprocess.run(
        [DRIFTPLAN, "incident", "declare", "--as", OPERATOR, *sets],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def sockets(app: App) -> list[str]:
    folder = Path(f"{Path(app.database.engine.url.database or '').resolve()}-wake")
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_a_cli_commit_pokes_the_listener_although_the_poll_is_an_hour_away(
    app: App, short_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(wakeups, "SQLITE_SAFETY_SECONDS", 3600.0)
    with app.wakeups.listening():
        deadline = time.monotonic() + 10
        while not sockets(app):  # the watcher has bound its socket
            assert time.monotonic() < deadline, "no wake-up socket appeared"
            time.sleep(0.01)
        app.wakeups.wait_outbox(0)
        cli_declare(short_path)
        started = time.monotonic()
        assert app.wakeups.wait_outbox(10), "the CLI's commit did not poke the listener"
        assert time.monotonic() - started < 5
    assert sockets(app) == [], "the socket is removed when listening ends"


def test_leaving_the_listener_is_prompt_with_the_poll_an_hour_away(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stopping pokes the process's own socket: the watcher does not sleep out its hour."""
    monkeypatch.setattr(wakeups, "SQLITE_SAFETY_SECONDS", 3600.0)
    listening = app.wakeups.listening()
    listening.__enter__()
    time.sleep(0.3)
    started = time.monotonic()
    listening.__exit__(None, None, None)
    assert time.monotonic() - started < 2


def test_a_socket_left_by_a_killed_listener_is_removed_by_the_next_ring(tmp_path: Path) -> None:
    bell = Doorbell(str(tmp_path / "driftplan.db"))
    bell.folder.mkdir()
    stale = bell.folder / "999999.1"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as dead:
        dead.bind(str(stale))  # closed without unlinking, as a killed process leaves it
    assert stale.exists()
    with bell.listening() as own:
        assert own is not None
        bell.ring()  # its own socket is skipped, the dead one refuses and is removed
        assert [p.name for p in bell.folder.iterdir()] == [Path(own.getsockname()).name]
    bell.close()


def test_without_a_socket_the_watcher_still_hears_commits_by_polling(
    app: App, short_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database path too long for a socket beside it: `data_version` every 100 ms."""
    monkeypatch.setattr(doorbell, "MAX_SOCKET_PATH", 1)
    other = build(Settings(data=short_path / "data", workflows=WORKFLOWS), migrate=False)
    try:
        with app.wakeups.listening():
            time.sleep(0.5)  # the watcher is connected and has seen the current state
            app.wakeups.wait_outbox(0)
            assert sockets(app) == []
            other.service.declare(actor_id=OPERATOR, values=DECLARE)
            assert app.wakeups.wait_outbox(10), "the poll did not notice the commit"
    finally:
        other.close()
