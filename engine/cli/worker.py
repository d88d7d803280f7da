"""`driftplan worker`: run the timers and the outbox until stopped (the loop is `engine.worker`)."""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer

from engine.cli.common import DataOpt, app_from, out_console, run
from engine.texts import t
from engine.worker import Worker

app = typer.Typer()


@app.command("worker")
def worker(
    once: Annotated[bool, typer.Option("--once", help="Fire due timers and deliver once.")] = False,
    interval: Annotated[float, typer.Option(min=0.01, help="Seconds between outbox rounds.")] = 2.0,
    sweep: Annotated[
        float,
        typer.Option(
            min=0.1,
            help="Seconds between timer sweeps: taking over leadership from a dead worker, "
            "and picking up timers other processes armed.",
        ),
    ] = 2.0,
    data: DataOpt = None,
) -> None:
    """Run the timers (APScheduler, leader-locked) and the outbox dispatcher."""

    def body() -> None:
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
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        runner.run(
            stop,
            interval=interval,
            sweep=sweep,
            on_start=lambda: out_console.print(
                t("worker_started", language, data=str(application.settings.data))
            ),
            on_stop=lambda: out_console.print(t("worker_stopped", language)),
        )

    run(body)
