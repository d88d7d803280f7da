"""`driftplan worker`: run the timers and the outbox until stopped (the loop is `engine.worker`).

Commits wake the worker; `--interval` and `--sweep` only set how often it looks anyway.
"""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer

from engine.cli.common import DataOpt, app_from, out_console, run, t

app = typer.Typer()

DEFAULT_SECONDS = 2.0  # both safety-net polls; commits wake the worker at once


@app.command("worker")
def worker(
    once: Annotated[bool, typer.Option("--once", help="Fire due timers and deliver once.")] = False,
    interval: Annotated[
        float | None,
        typer.Option(
            min=0.01,
            help="Seconds between outbox rounds when no commit woke the worker (a safety net; "
            "default DRIFTPLAN_POLL_SECONDS, else 2).",
        ),
    ] = None,
    sweep: Annotated[
        float | None,
        typer.Option(
            min=0.1,
            help="Seconds between timer sweeps: taking over leadership from a dead worker, and "
            "timers a wake-up missed (default DRIFTPLAN_SWEEP_SECONDS, else 2).",
        ),
    ] = None,
    data: DataOpt = None,
) -> None:
    """Run the timers (APScheduler, leader-locked) and the outbox dispatcher."""

    def body() -> None:
        from engine.worker import Worker

        application = app_from(data)
        language = application.settings.lang
        runner = Worker(application)
        if once:
            done = runner.run_once()
            out_console.print(
                t(
                    "worker_once",
                    language,
                    timers=done.timers_fired,
                    sent=done.delivery.sent,
                    retrying=done.delivery.retrying,
                    dead=done.delivery.dead,
                )
            )
            application.dispatcher.close()
            return
        settings = application.settings
        poll = interval if interval is not None else settings.poll_seconds or DEFAULT_SECONDS
        sweeps = sweep if sweep is not None else settings.sweep_seconds or DEFAULT_SECONDS
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        runner.run(
            stop,
            interval=poll,
            sweep=sweeps,
            on_start=lambda: out_console.print(
                t("worker_started", language, data=str(application.settings.data))
            ),
            on_stop=lambda: out_console.print(t("worker_stopped", language)),
        )

    run(body)
