"""Fixtures of the web tests: the real app served by a real uvicorn on loopback.

`live` wires the application (engine.bootstrap.build) on a temporary data folder and the
database of `database_url` (SQLite file and PostgreSQL), imports the example directory, and
serves `create_app` on a free loopback port in a thread; its public URL is that address, so
decision links in messages point at it. The clock is a `FakeClock` the test can move (links
and requests expire by it). `Live.client(person)` is an httpx client with that person's API
token.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import uvicorn

from engine.bootstrap import App, build
from engine.settings import Settings
from engine.web.app import create_app
from tests.app_helpers import EXAMPLE_DIRECTORY, WORKFLOWS, FakeClock

PASSWORD = "rätt häst batteri häftstift"  # a test password of the required length


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class ServerThread:
    """A uvicorn server in a thread, stopped on `stop()`."""

    def __init__(self, app: object, port: int) -> None:
        config = uvicorn.Config(
            app,  # type: ignore[arg-type]
            host="127.0.0.1",
            port=port,
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@dataclass
class Live:
    """A served application: its App, URL, clock and per-person API clients."""

    app: App
    url: str
    clock: FakeClock
    tokens: dict[str, str] = field(default_factory=dict)
    clients: list[httpx.Client] = field(default_factory=list)

    def token(self, person: str) -> str:
        if person not in self.tokens:
            self.tokens[person] = self.app.service.accounts.create_token(person, "test").secret
        return self.tokens[person]

    def client(self, person: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token(person)}"} if person else {}
        client = httpx.Client(base_url=self.url, headers=headers, timeout=30)
        self.clients.append(client)
        return client

    def password(self, person: str) -> str:
        self.app.service.accounts.set_password(person, PASSWORD)
        return PASSWORD


def serve(tmp_path: Path, database_url: str) -> Iterator[Live]:
    """Build, serve, yield, and tear down one live application."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    clock = FakeClock()
    settings = Settings(
        data=tmp_path / "data", workflows=WORKFLOWS, public_url=url, database_url=database_url
    )
    app = build(settings, clock=clock, origin={"via": "web"})
    app.service.directory.import_file(EXAMPLE_DIRECTORY)
    server = ServerThread(create_app(app), port)
    server.start()
    live = Live(app, url, clock)
    try:
        yield live
    finally:
        for client in live.clients:
            client.close()
        server.stop()
        app.close()


@pytest.fixture
def live(tmp_path: Path, database_url: str) -> Iterator[Live]:
    """The application served on loopback, on SQLite and on PostgreSQL."""
    yield from serve(tmp_path, database_url)


@pytest.fixture
def live_sqlite(tmp_path: Path) -> Iterator[Live]:
    """The application served on loopback on a SQLite file (tests not about the database)."""
    yield from serve(tmp_path, f"sqlite:///{tmp_path / 'driftplan.db'}")
