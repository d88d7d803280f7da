"""HTTP requests per second: driftplan's API next to a bare FastAPI endpoint on the same database.

Run: ``PYTHONPATH=. .venv/bin/python bench/bench_http.py [--seconds 4] [--clients 50]
[--approvals 300] [--client raw|httpx] [--profile] [--strict]``.

Both servers run the same way, each in a child process of its own (so the load generator in
this process does not share a GIL with them): uvicorn, one worker, asyncio + h11, on loopback,
no access log, no lifespan.

- **bare**: a FastAPI app with one synchronous route, ``GET /state/{id}``, doing one SQLite
  read (``SELECT state FROM incidents WHERE id=?``, a sqlite3 connection per thread) on the
  same database file. Measured before and after driftplan's runs; the faster run is the
  baseline.
- **driftplan**: ``engine.web.app.create_app`` around ``engine.bootstrap.build`` on a temporary
  data folder with the SAMSA plan and the example directory (the worker is not started, so
  nothing is delivered meanwhile):
  - ``GET /api/v1/incidents/{id}`` with anna.andersson's bearer token, over open incidents;
  - ``POST /api/v1/approvals/{id}`` approving a pending ``enter_total_reserve`` request as
    margareta.lund (council chair): the decision, the transition to total_reserve, its six
    notices in the outbox — each request on an approval of its own, made beforehand;
  - ``POST /api/v1/approvals/{id}`` by johan.berg on an ``enter_partial_reserve`` request for
    Fyrbodal and Skaraborg: the decision is recorded, the request stays open (no transition).

Each run: ``--clients`` concurrent keep-alive connections for ``--seconds`` after a
one-second warm-up (a POST run ends early when its prepared requests run out); requests per
second, p50/p99 latency, the server process's CPU per request (from /proc) and this process's
CPU (if it nears 100 %, the client is the limit). The load comes from a minimal asyncio
HTTP/1.1 client: httpx.AsyncClient (``--client httpx``) spends more CPU per request than the
bare server does, so on a small machine it would cap the baseline. Ratio = driftplan's
requests per second / the bare endpoint's; target >= 0.5. The server CPU per request, bare /
driftplan, is printed beside it: it does not depend on the client or on other load.

Exit code 0 unless ``--strict`` and a target is missed. On a miss (or with ``--profile``) a
driftplan server runs once more under cProfile (every thread) and the summary is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import itertools
import json
import os
import pstats
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import uvicorn  # noqa: E402
from fastapi import FastAPI, HTTPException  # noqa: E402

from engine.bootstrap import build  # noqa: E402
from engine.errors import Conflict  # noqa: E402
from engine.settings import Settings  # noqa: E402
from engine.web.app import create_app  # noqa: E402
from engine.web.auth import SESSION_COOKIE  # noqa: E402

TARGET = 0.5
WARMUP = 1.0
WORKFLOWS = ROOT / "workflows"
DIRECTORY = ROOT / "examples" / "directory.yaml"
OPERATOR = "anna.andersson"
CHAIR = "margareta.lund"
FYRBODAL = "johan.berg"
SESSION_PASSWORD = "bench-password-long-enough"
DECLARE = {
    "started_at": "now",
    "scope": "Ingen åtkomst till SAMSA i Fyrbodal och Skaraborg",
    "expected_resolution": "okänd",
    "affected_subregions": "fyrbodal,skaraborg",
}
TWO_SUBREGIONS = {"reserve_subregions": "fyrbodal,skaraborg"}
PROFILE_SECONDS = 2.0
PROFILE_POOL = 40
PROFILE_CLIENTS = 8  # enough to keep the server busy; fewer stragglers to wait for


@dataclass
class Options:
    client: str = "raw"  # --client


OPTIONS = Options()


# ----------------------------------------------------------------------------- the servers
def bare_app(database: Path) -> FastAPI:
    """A FastAPI app doing one SQLite read per request, as driftplan's routes run (sync)."""
    local = threading.local()
    web = FastAPI()

    @web.get("/state/{incident_id}")
    def state(incident_id: str) -> dict[str, str]:
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = sqlite3.connect(database)
        row = conn.execute("SELECT state FROM incidents WHERE id=?", (incident_id,)).fetchone()
        if row is None:
            raise HTTPException(404)
        return {"state": row[0]}

    return web


def driftplan_app(data: Path, public_url: str) -> FastAPI:
    settings = Settings(data=data, workflows=WORKFLOWS, public_url=public_url, database_url=None)
    application = build(settings, migrate=False, origin={"via": "web"})
    return create_app(application)


class ThreadProfiles:
    """cProfile in every thread started from now on (anyio's worker threads run the routes),
    plus the main thread's event loop."""

    def __init__(self) -> None:
        self.profiles: list[cProfile.Profile] = []
        self.lock = threading.Lock()

    def _hook(self, *_: object) -> None:
        sys.setprofile(None)
        profile = cProfile.Profile()
        with self.lock:
            self.profiles.append(profile)
        profile.enable()

    def start(self) -> None:
        threading.setprofile(self._hook)
        self._hook()

    def dump(self, path: str) -> None:
        threading.setprofile(None)
        with self.lock:
            stats = pstats.Stats(*self.profiles)
        stats.dump_stats(path)


def serve_child(args: argparse.Namespace) -> int:
    """The `--serve KIND` mode: run one server until SIGINT."""
    data = Path(args.data)
    if args.serve == "bare":
        web = bare_app(data / "driftplan.db")
    else:
        web = driftplan_app(data, f"http://127.0.0.1:{args.port}")
    config = uvicorn.Config(
        web,
        host="127.0.0.1",
        port=args.port,
        workers=1,
        log_level="warning",
        access_log=False,
        lifespan="off",
        server_header=False,
    )
    profiles = ThreadProfiles() if args.profile_out else None
    if profiles is not None:
        profiles.start()
    try:
        uvicorn.Server(config).run()
    except KeyboardInterrupt:  # uvicorn re-raises the SIGINT it shut down on
        pass
    finally:
        if profiles is not None:
            profiles.dump(args.profile_out)
    return 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Child:
    """A server child process."""

    def __init__(self, kind: str, data: Path, *, profile_out: str = "") -> None:
        self.kind = kind
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, __file__, "--serve", kind, "--port", str(self.port)]
        command += ["--data", str(data)]
        if profile_out:
            command += ["--profile-out", profile_out]
        env = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTPLAN_")}
        env["PYTHONPATH"] = str(ROOT)
        self.process = subprocess.Popen(command, env=env, cwd=ROOT)

    def wait_ready(self, path: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the {self.kind} server exited ({self.process.returncode})")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(self.url + path, timeout=5).status_code < 500:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"the {self.kind} server did not answer within {timeout} s")
            time.sleep(0.1)

    def warm(self, inst: Installation) -> None:
        """One request alone first: the plan is loaded once, not by 40 threads at once."""
        headers = {"Authorization": f"Bearer {inst.tokens[OPERATOR]}"}
        url = f"{self.url}/api/v1/incidents/{inst.incidents[0]}"
        httpx.get(url, headers=headers, timeout=120).raise_for_status()

    def cpu_seconds(self) -> float:
        """User + system CPU of the server process so far (all threads), from /proc."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# ----------------------------------------------------------------------------- setup
@dataclass
class Installation:
    data: Path
    incidents: list[str]
    approve_pool: list[str]  # enter_total_reserve requests margareta.lund approves
    record_pool: list[str]  # two-sub-region requests johan.berg records a decision on
    tokens: dict[str, str]
    sessions: list[str]  # the operator's signed-in browser sessions, one per client


def install(data: Path, public_url: str, approvals: int) -> Installation:
    """The SAMSA plan, the example directory, tokens, and incidents with pending requests."""
    settings = Settings(data=data, workflows=WORKFLOWS, public_url=public_url, database_url=None)
    application = build(settings)
    service = application.service
    service.directory.import_file(DIRECTORY)
    tokens = {p: service.accounts.create_token(p, "bench").secret for p in (OPERATOR, CHAIR)}
    tokens[FYRBODAL] = service.accounts.create_token(FYRBODAL, "bench").secret
    # Browser sessions for the incident page: one per client, as 50 operators' laptops.
    service.accounts.set_password(OPERATOR, SESSION_PASSWORD)
    sessions = [service.accounts.sign_in(OPERATOR, SESSION_PASSWORD).secret for _ in range(200)]

    def requests(trigger: str, values: dict[str, str], n: int) -> tuple[list[str], list[str]]:
        incidents, pool = [], []
        for _ in range(n):
            try:
                incident = service.declare(actor_id=OPERATOR, values=DECLARE).incident_id
            except Conflict:  # a random 24-bit id met an earlier one today: a new id
                incident = service.declare(actor_id=OPERATOR, values=DECLARE).incident_id
            result = service.fire(
                incident_id=incident, trigger=trigger, actor_id=OPERATOR, values=values
            )
            assert result.approval_id, result
            incidents.append(incident)
            pool.append(result.approval_id)
        return incidents, pool

    _, approve_pool = requests("enter_total_reserve", {}, approvals + PROFILE_POOL)
    incidents, record_pool = requests(
        "enter_partial_reserve", TWO_SUBREGIONS, approvals + PROFILE_POOL
    )
    application.close()
    return Installation(data, incidents, approve_pool, record_pool, tokens, sessions)


# ----------------------------------------------------------------------------- the load
@dataclass
class Run:
    name: str
    completed: int = 0
    errors: int = 0
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)  # seconds
    client_cpu: float = 0.0
    server_cpu: float = 0.0
    first_error: str = ""
    exhausted: bool = False

    @property
    def rate(self) -> float:
        return self.completed / self.elapsed if self.elapsed else 0.0

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


Request = tuple[str, str, dict[str, str] | None]


def cycling(paths: list[str]) -> Callable[[], Request | None]:
    """GETs over `paths`, round robin, without end."""
    items = itertools.cycle(paths)
    return lambda: ("GET", next(items), None)


def draining(pool: deque[str], body: dict[str, str]) -> Callable[[], Request | None]:
    """One POST per approval in `pool`; None once it is empty."""

    def take() -> Request | None:
        if not pool:
            return None
        return "POST", f"/api/v1/approvals/{pool.popleft()}", body

    return take


class RawClient:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams, one connection per client.

    httpx's pool costs the load generator several times the bare server's CPU per request at
    50 connections, so on a small machine the client, not the server, would set the baseline.
    """

    def __init__(self, port: int, token: str | None, cookie: str = "") -> None:
        self.port = port
        auth = f"Authorization: Bearer {token}\r\n" if token else ""
        auth += f"Cookie: {SESSION_COOKIE}={cookie}\r\n" if cookie else ""
        self.common = f"Host: 127.0.0.1:{port}\r\n{auth}".encode()
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def request(self, method: str, path: str, body: dict[str, str] | None) -> tuple[int, str]:
        if self.streams is None:
            self.streams = await asyncio.open_connection("127.0.0.1", self.port)
        reader, writer = self.streams
        payload = json.dumps(body).encode() if body is not None else b""
        head = f"{method} {path} HTTP/1.1\r\n".encode() + self.common
        if body is not None:
            head += b"Content-Type: application/json\r\n"
        head += f"Content-Length: {len(payload)}\r\n\r\n".encode()
        writer.write(head + payload)
        status = int((await reader.readline()).split(b" ", 2)[1])
        length, close = 0, False
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
            elif name == b"transfer-encoding":
                raise RuntimeError("chunked responses are not expected here")
        data = await reader.readexactly(length) if length else b""
        if close:
            await self.close()
        return status, data.decode(errors="replace")

    async def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()
            self.streams = None


class HttpxClient:
    """The same requests through one shared httpx.AsyncClient (`--client httpx`)."""

    def __init__(self, shared: httpx.AsyncClient) -> None:
        self.shared = shared

    async def request(self, method: str, path: str, body: dict[str, str] | None) -> tuple[int, str]:
        response = await self.shared.request(method, path, json=body)
        return response.status_code, response.text

    async def close(self) -> None:
        pass


async def _load(
    child: Child,
    run: Run,
    token: str | None,
    next_request: Callable[[], Request | None],
    warm_request: Callable[[], Request | None],
    clients: int,
    seconds: float,
    kind: str,
    cookies: list[str] | None = None,
) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(
        base_url=child.url, headers=headers, limits=limits, timeout=120
    ) as shared:
        connections: list[RawClient | HttpxClient] = [
            RawClient(child.port, token, cookies[i] if cookies else "")
            if kind == "raw" or cookies
            else HttpxClient(shared)
            for i in range(clients)
        ]

        async def worker(client: RawClient | HttpxClient, until: float, record: bool) -> None:
            while time.perf_counter() < until:
                request = next_request() if record else warm_request()
                if request is None:
                    run.exhausted = run.exhausted or record
                    return
                started = time.perf_counter()
                status, text = await client.request(*request)
                took = time.perf_counter() - started
                if not record:
                    continue
                if status != 200:
                    run.errors += 1
                    run.first_error = run.first_error or f"{status} {text}"
                    continue
                run.completed += 1
                run.latencies.append(took)

        warm = time.perf_counter() + WARMUP
        await asyncio.gather(*(worker(c, warm, False) for c in connections))
        cpu, server = time.process_time(), child.cpu_seconds()
        started = time.perf_counter()
        await asyncio.gather(*(worker(c, started + seconds, True) for c in connections))
        run.elapsed = time.perf_counter() - started
        run.client_cpu = time.process_time() - cpu
        run.server_cpu = child.cpu_seconds() - server
        for c in connections:
            await c.close()


def load(
    child: Child,
    name: str,
    token: str | None,
    next_request: Callable[[], Request | None],
    clients: int,
    seconds: float,
    warm_request: Callable[[], Request | None] | None = None,
    cookies: list[str] | None = None,
) -> Run:
    """Warm up (with `warm_request`, else `next_request`), then measure for `seconds`.
    With `cookies`, each client sends its own session cookie (a signed-in browser)."""
    run = Run(name)
    warm = warm_request or next_request
    asyncio.run(
        _load(child, run, token, next_request, warm, clients, seconds, OPTIONS.client, cookies)
    )
    return run


# ----------------------------------------------------------------------------- report
def row(run: Run) -> str:
    per_request = 1000 * run.server_cpu / run.completed if run.completed else float("nan")
    client = 100 * run.client_cpu / run.elapsed if run.elapsed else float("nan")
    note = "  (pool ran out)" if run.exhausted else ""
    return (
        f"  {run.name:40} {run.rate:8.0f} {1000 * run.pct(0.5):8.1f} {1000 * run.pct(0.99):8.1f}"
        f" {per_request:9.2f} {client:7.0f}% {run.errors:6d}{note}"
    )


@contextlib.contextmanager
def servers(install_: Installation) -> Iterator[tuple[Child, Child]]:
    bare = Child("bare", install_.data)
    ours = Child("driftplan", install_.data)
    try:
        bare.wait_ready(f"/state/{install_.incidents[0]}")
        ours.wait_ready("/api/v1/health")
        ours.warm(install_)
        yield bare, ours
    finally:
        bare.stop()
        ours.stop()


def profile(
    install_: Installation,
    targets: list[str],
    clients: int,
) -> str:
    """Serve driftplan once more under cProfile, load the missed endpoints, and summarise."""
    with tempfile.NamedTemporaryFile(suffix=".prof", delete=False) as handle:
        out = handle.name
    child = Child("driftplan", install_.data, profile_out=out)
    try:
        child.wait_ready("/api/v1/health")
        child.warm(install_)
        for target in targets:
            run_one(child, install_, target, clients, PROFILE_SECONDS, PROFILE_POOL)
    finally:
        child.stop()
    text = io.StringIO()
    stats = pstats.Stats(out, stream=text)
    text.write(f"cProfile of the driftplan server (every thread), {', '.join(targets)}:\n")
    # Idle worker threads and the event loop wait in lock.acquire and epoll: not work.
    stats.sort_stats("cumulative").print_stats(r"engine/|channels/", 30)
    stats.sort_stats("tottime").print_stats(20)
    Path(out).unlink()
    return text.getvalue()


GET_INCIDENT = "GET /api/v1/incidents/{id}"
POST_APPROVE = "POST /api/v1/approvals/{id} approves"
POST_RECORD = "POST /api/v1/approvals/{id} records"
GET_PAGE = "GET /incidenter/{id} (page, session)"


def run_one(
    child: Child, inst: Installation, target: str, clients: int, seconds: float, n: int
) -> Run:
    """One measured run of `target`; a POST run uses up to `n` of the prepared requests."""
    if target == GET_INCIDENT:
        paths = [f"/api/v1/incidents/{i}" for i in inst.incidents]
        return load(child, target, inst.tokens[OPERATOR], cycling(paths), clients, seconds)
    if target == GET_PAGE:
        # The operator's incident page (state, data, actions, pending decision, timeline,
        # messages), rendered from Jinja2 for a signed-in session: what a browser refreshes.
        paths = [f"/incidenter/{i}" for i in inst.incidents]
        return load(
            child, target, None, cycling(paths), clients, seconds, cookies=inst.sessions[:clients]
        )
    if target == POST_APPROVE:
        source, token = inst.approve_pool, inst.tokens[CHAIR]
    else:
        source, token = inst.record_pool, inst.tokens[FYRBODAL]
    # The warm-up gets its own share, so that it cannot use up the measured run's requests.
    warm_n = min(max(clients, n // 5), n // 2)
    warm, pool = deque(source[:warm_n]), deque(source[warm_n:n])
    del source[:n]
    body = {"decision": "approve"}
    run = load(child, target, token, draining(pool, body), clients, seconds, draining(warm, body))
    source[:0] = [*warm, *pool]  # what this run did not use
    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="seconds per measured run")
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients")
    parser.add_argument(
        "--approvals", type=int, default=300, help="pending requests made for each POST run"
    )
    parser.add_argument(
        "--client",
        choices=["raw", "httpx"],
        default="raw",
        help="load generator: a minimal asyncio HTTP/1.1 client (default) or httpx",
    )
    parser.add_argument("--profile", action="store_true", help="always print a profile")
    parser.add_argument("--strict", action="store_true", help="exit 1 below target")
    parser.add_argument("--serve", choices=["bare", "driftplan"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--profile-out", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve_child(args)

    OPTIONS.client = args.client
    for name in [k for k in os.environ if k.startswith("DRIFTPLAN_")]:
        del os.environ[name]  # the children see none either: one key, one database
    with tempfile.TemporaryDirectory(prefix="bench-http-") as tmp:
        data = Path(tmp) / "data"
        started = time.perf_counter()
        inst = install(data, "http://127.0.0.1:1", args.approvals)
        setup = time.perf_counter() - started
        with servers(inst) as (bare, ours):
            bare_paths = [f"/state/{i}" for i in inst.incidents]

            def bare_run(name: str) -> Run:
                paths = cycling(bare_paths)
                return load(bare, name, None, paths, args.clients, args.seconds)

            runs = [bare_run("bare GET /state/{id} (run 1)")]
            ours_runs = [
                run_one(ours, inst, target, args.clients, args.seconds, args.approvals)
                for target in (GET_INCIDENT, GET_PAGE, POST_APPROVE, POST_RECORD)
            ]
            runs.append(bare_run("bare GET /state/{id} (run 2)"))
        baseline = max(runs[0].rate, runs[1].rate)
        print(
            f"HTTP API vs a bare FastAPI endpoint doing one SQLite read; uvicorn (1 worker, "
            f"h11) per server in its own process, loopback, {args.clients} clients "
            f"({args.client}), "
            f"{args.seconds:g} s per run after {WARMUP:g} s warm-up. POST approves: "
            f"margareta.lund approves enter_total_reserve (-> total_reserve, six notices); "
            f"POST records: johan.berg's decision, 1 of 2 sub-regions (no transition)"
        )
        print(f"setup: {len(inst.incidents) * 2} incidents with pending requests in {setup:.1f} s")
        print(
            f"  {'':40} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'srv CPU':>9} "
            f"{'client':>8} {'errors':>6}"
        )
        print(f"  {'':40} {'':>8} {'':>8} {'':>8} {'ms/req':>9} {'CPU':>8}")
        for run in [runs[0], *ours_runs, runs[1]]:
            print(row(run))
        bare_cpu = min(r.server_cpu / r.completed for r in runs if r.completed)
        print(
            f"ratio vs the bare endpoint ({baseline:.0f} req/s, the faster run), "
            f"target >= {TARGET}; and bare / driftplan server CPU per request "
            f"({1000 * bare_cpu:.2f} ms bare):"
        )
        missed = []
        for run in ours_runs:
            ratio = run.rate / baseline if baseline else 0.0
            cpu_ratio = bare_cpu / (run.server_cpu / run.completed) if run.completed else 0.0
            verdict = "PASS" if ratio >= TARGET else "FAIL"
            if ratio < TARGET:
                missed.append(run.name)
            print(
                f"  {run.name:40} req/s {ratio:6.3f}  target >= {TARGET}  {verdict}"
                f"   (CPU/request {cpu_ratio:6.3f})"
            )
        for run in [*runs, *ours_runs]:
            if run.errors:
                print(f"  {run.name}: {run.errors} errors, first: {run.first_error[:300]}")
        if missed or args.profile:
            targets = missed or [GET_INCIDENT, POST_APPROVE, POST_RECORD]
            print()
            print(profile(inst, targets, min(args.clients, PROFILE_CLIENTS)))
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
