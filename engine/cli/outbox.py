"""`driftplan outbox ...`: deliver due messages, retry dead letters, list them.

`print_messages` (with `engine.service.outbox.message_view`) is also how
`driftplan incident messages` shows an incident's messages.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer

from engine.cli.commands import Commands
from engine.cli.common import (
    AsOpt,
    DataOpt,
    JsonOpt,
    LangOpt,
    app_from,
    emit_json,
    escape,
    label,
    out_console,
    run,
    t,
)

commands = Commands("outbox")


def print_messages(items: list[dict[str, Any]], as_json: bool, language: str) -> None:
    """Message views as JSON, or two lines each for people."""
    if as_json:
        emit_json(items)
        return
    # Two lines per message rather than a table: the whole id (what `outbox retry` takes; ids
    # share their time prefix, so a cut one is useless) and the subject both stay readable on
    # an 80-column terminal. The audience and the results are in --json.
    attempts, recipients = t("attempts", language), t("recipients", language)
    for m in items:
        out_console.print(
            f"[bold]{escape(m['id'])}[/bold]  {escape(m['channel'])}  "
            f"{label('message_', m['status'], language)}  "
            f"{attempts}: {m['attempts']}  {recipients}: {m['recipients']}",
            highlight=False,
        )
        out_console.print(f"    {escape(m['subject'])}", highlight=False)


@commands.command("deliver")
def outbox_deliver(
    once: Annotated[
        bool, typer.Option("--once", help="Deliver what is due now, then exit.")
    ] = False,
    interval: Annotated[float, typer.Option(help="Seconds between rounds when not --once.")] = 5.0,
    data: DataOpt = None,
) -> None:
    """Deliver due messages (for cron and tests: --once)."""

    def body() -> None:
        application = app_from(data)
        dispatcher = application.dispatcher
        try:
            while True:
                summary = dispatcher.deliver_due()
                if summary.handled or once:
                    out_console.print(
                        t(
                            "delivered",
                            application.settings.lang,
                            sent=summary.sent,
                            retrying=summary.retrying,
                            dead=summary.dead,
                        )
                    )
                if once:
                    return
                time.sleep(interval)
        finally:
            dispatcher.close()

    run(body)


@commands.command("retry")
def outbox_retry(
    message_id: str, as_user: AsOpt, data: DataOpt = None, lang: LangOpt = None
) -> None:
    """Put a dead letter back in the queue (only its failed recipients)."""

    def body() -> None:
        application = app_from(data, lang)
        application.service.outbox.retry(message_id, as_user)
        out_console.print(t("requeued", application.settings.lang, id=message_id))

    run(body)


@commands.command("dead")
def outbox_dead(data: DataOpt = None, as_json: JsonOpt = False) -> None:
    """List dead letters: messages that need an operator's attention."""
    from engine.service.outbox import message_view

    def body() -> None:
        application = app_from(data)
        items = [message_view(m) for m in application.service.outbox.dead_letters()]
        print_messages(items, as_json, application.settings.lang)

    run(body)


# The whole group, every command (`engine.cli.app.main` builds only the one invoked).
app = commands.app()
