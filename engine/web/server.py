"""`driftplan serve`'s engine: the web app on uvicorn and the worker's duties in one process.

The worker (timers behind the leader lock, outbox delivery, anchors) runs in a thread beside
uvicorn, so one command runs everything; stopping uvicorn (SIGINT/SIGTERM) stops the worker
too. Also the one place that checks the public URL every link is built from.
"""

from __future__ import annotations

import ipaddress
import signal
import threading
from collections.abc import Callable
from urllib.parse import urlsplit

import uvicorn

from engine.bootstrap import App
from engine.errors import ConfigurationError
from engine.web.app import create_app
from engine.worker import Worker

LOOPBACK_NAMES = {"localhost", "ip6-localhost"}


def is_loopback(host: str) -> bool:
    """Whether `host` names this machine only (127.0.0.0/8, ::1, localhost)."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_public_url(url: str) -> None:
    """Links in messages must work for their readers and not travel in clear text: the public
    URL must be an absolute https URL, or http on loopback (a developer's machine)."""
    parts = urlsplit(url)
    problem = ""
    if parts.scheme not in ("http", "https") or not parts.hostname:
        problem = "it is not an absolute http(s) URL"
    elif parts.scheme == "http" and not is_loopback(parts.hostname):
        problem = "links to another machine must use https"
    elif parts.query or parts.fragment:
        problem = "it must not have a query or fragment"
    if problem:
        raise ConfigurationError(
            f"DRIFTPLAN_PUBLIC_URL={url!r} cannot be used: {problem}. Set it to the address "
            "people reach this service at, e.g. https://driftplan.example.se.",
            sv=f"DRIFTPLAN_PUBLIC_URL={url!r} går inte att använda: "
            + {
                "it is not an absolute http(s) URL": "det är ingen fullständig http(s)-adress",
                "links to another machine must use https": "länkar till en annan dator måste "
                "använda https",
                "it must not have a query or fragment": "den får inte ha frågedel eller fragment",
            }[problem]
            + ". Ange adressen som människor når tjänsten på, t.ex. "
            "https://driftplan.example.se.",
        )


def serve(
    app: App,
    *,
    host: str,
    port: int,
    interval: float | None = None,
    sweep: float | None = None,
    on_ready: Callable[[], None] | None = None,
) -> None:
    """Serve until interrupted; the worker runs beside the web app and stops with it.

    The worker delivers as soon as a request's command commits messages (the commit wakes
    it); `interval` and `sweep` (default: the settings, else 1 s and 2 s) are its safety nets.
    """
    settings = app.settings
    if interval is None:
        interval = settings.poll_seconds if settings.poll_seconds is not None else 1.0
    if sweep is None:
        sweep = settings.sweep_seconds if settings.sweep_seconds is not None else 2.0
    check_public_url(app.settings.public_url)
    web = create_app(app)
    config = uvicorn.Config(
        web,
        host=host,
        port=port,
        log_level="info",
        lifespan="off",
        server_header=False,
    )
    try:
        # Bound before anything says "running": a taken port is a clear error (exit 1).
        sock = config.bind_socket()
    except (OSError, SystemExit) as error:
        raise ConfigurationError(
            f"Cannot listen on {host}:{port} ({error}); choose another --port or stop what "
            "uses it.",
            sv=f"Kan inte lyssna på {host}:{port} ({error}); välj en annan --port eller stoppa "
            "det som använder den.",
        ) from None
    worker = Worker(app)
    web.state.leader = lambda: worker.leader
    stop = threading.Event()
    thread = threading.Thread(
        target=worker.run,
        args=(stop,),
        kwargs={"interval": interval, "sweep": sweep},
        name="driftplan-worker",
        daemon=True,
    )
    server = uvicorn.Server(config)
    # uvicorn re-raises the SIGTERM it handled once it has shut down; with Python's default
    # action that would kill the process before the worker is stopped and the database closed.
    previous = signal.signal(signal.SIGTERM, lambda *_: None)
    thread.start()
    try:
        if on_ready is not None:
            on_ready()
        server.run(sockets=[sock])
    finally:
        stop.set()
        thread.join(30)
        sock.close()
        signal.signal(signal.SIGTERM, previous)
