"""`driftplan serve` end to end: the installed console script serves the API and, in the same
process, runs the worker that delivers what a web request recorded.

The server runs as a subprocess on a free loopback port of a fresh installation, as `make run`
starts it; the test talks to it over HTTP with a token made by `driftplan users token`.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.e2e.conftest import DECLARE_VALUES, DIRECTORY, Workspace, _describe

START_TIMEOUT = 90  # interpreter start, imports and migrations on a busy two-core machine
DELIVERY_TIMEOUT = 10  # the worker delivers every second
STOP_TIMEOUT = 10


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Served:
    """A running `driftplan serve` child: its process, address and captured output."""

    def __init__(self, ws: Workspace, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        # Files, not pipes: uvicorn's access log must never block on a full pipe.
        self.stdout_path = ws.root / "serve.out"
        self.stderr_path = ws.root / "serve.err"
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.process = subprocess.Popen(
                ws.command("serve", "--port", str(port)),
                cwd=ws.root,
                env=ws.env,
                stdout=out,
                stderr=err,
            )

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text(encoding="utf-8", errors="replace")

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def describe(self) -> str:
        return f"exit {self.process.poll()}\nstdout: {self.stdout}\nstderr: {self.stderr}"

    def health(self, timeout: float = START_TIMEOUT) -> dict[str, object]:
        """The first answer of /api/v1/health, waiting for the server to come up."""
        deadline = time.monotonic() + timeout
        while True:
            assert self.process.poll() is None, f"serve exited early\n{self.describe()}"
            try:
                response = httpx.get(f"{self.url}/api/v1/health", timeout=5)
            except httpx.TransportError:
                response = None
            if response is not None and response.status_code == 200:
                body: dict[str, object] = response.json()
                return body
            assert time.monotonic() < deadline, f"no health answer\n{self.describe()}"
            time.sleep(0.2)

    def stop(self) -> int | None:
        """SIGTERM, then the exit code (None if it did not stop within STOP_TIMEOUT)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            return None

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


@pytest.fixture
def served(workspace: Workspace) -> Iterator[tuple[Workspace, Served]]:
    """A fresh installation with the example directory, served by `driftplan serve`."""
    workspace.run("init")
    workspace.run("directory", "import", str(DIRECTORY))
    server = Served(workspace, free_port())
    try:
        yield workspace, server
    finally:
        server.kill()


def wait_for(check: Callable[[], bool], timeout: float, what: str, server: Served) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what} within {timeout} s\n{server.describe()}"
        time.sleep(0.1)


@pytest.mark.slow
def test_serve_answers_the_api_and_delivers_in_the_same_process(
    served: tuple[Workspace, Served],
) -> None:
    """A declaration made over the API reaches the login-page banner through the worker that
    `serve` runs beside the web app; health says this process leads; SIGTERM stops it."""
    ws, server = served
    token = ws.json("users", "token", "anna.andersson")["token"]
    health = server.health()
    assert health["status"] == "ok" and health["database"] == "ok", health

    # The ready message says where the service is and how to sign in.
    ready = " ".join(server.stdout.split())
    assert f"driftplan is running at {server.url}" in ready, server.describe()
    assert "driftplan users set-password PERSON" in ready
    assert f"{server.url}/logga-in" in ready
    assert "driftplan users token PERSON" in ready
    assert f"{server.url}/docs" in ready

    # The worker thread takes the leader lock (timers) shortly after start.
    wait_for(
        lambda: server.health(10)["leader"] is True, 15, "health did not report leader", server
    )

    banner = ws.data / "public" / "banner.json"
    assert not banner.exists()
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as client:
        declared = client.post("/api/v1/incidents", json={"data": DECLARE_VALUES})
        assert declared.status_code == 201, declared.text
        incident_id = declared.json()["id"]
        assert declared.headers["location"] == f"/api/v1/incidents/{incident_id}"

        # No `outbox deliver` and no separate worker: serve's own worker publishes the banner.
        wait_for(banner.exists, DELIVERY_TIMEOUT, "banner.json did not appear", server)
        document = json.loads(banner.read_text(encoding="utf-8"))
        assert document["active"] is True
        assert document["incident_id"] == incident_id
        assert document["state"] == "outage"

        def banner_sent() -> bool:
            messages = client.get(f"/api/v1/incidents/{incident_id}/messages").json()
            return any(m["channel"] == "login_page" and m["status"] == "sent" for m in messages)

        wait_for(banner_sent, DELIVERY_TIMEOUT, "the banner message is not marked sent", server)

    # SIGTERM: uvicorn shuts down gracefully, then the worker stops and the process exits 0
    # (serve ignores the SIGTERM uvicorn re-raises after its shutdown).
    code = server.stop()
    assert code == 0, server.describe()
    assert "Finished server process" in server.stderr, server.describe()


def test_serve_refuses_public_urls_that_links_cannot_use(sqlite_workspace: Workspace) -> None:
    """Links in messages must work for their readers and not travel in clear text: a plain
    http public URL for another machine is refused (exit 1, naming the setting and https), and
    so is listening beyond loopback without DRIFTPLAN_PUBLIC_URL (links would point nowhere)."""
    ws = sqlite_workspace
    clear_text = {**ws.env, "DRIFTPLAN_PUBLIC_URL": "http://example.se"}
    # Both at once: each is a CLI process of its own.
    processes = [
        ws.popen("serve", "--port", str(free_port()), env=clear_text),
        ws.popen("serve", "--host", "0.0.0.0", "--port", str(free_port())),
    ]
    results = []
    for process in processes:
        try:
            out, err = process.communicate(timeout=START_TIMEOUT)
        except subprocess.TimeoutExpired:  # it started serving instead of refusing
            process.kill()
            process.wait()
            raise
        assert process.returncode is not None
        results.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    for done in results:
        assert done.returncode == 1, _describe(done)
        assert "driftplan is running" not in done.stdout, _describe(done)
    http, public = (" ".join(done.stderr.split()) for done in results)
    assert "DRIFTPLAN_PUBLIC_URL='http://example.se'" in http, http
    assert "https" in http, http
    assert "DRIFTPLAN_PUBLIC_URL" in public, public
