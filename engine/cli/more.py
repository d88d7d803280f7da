"""`driftplan audit verify`, the outbox, previews, message lists and channel status."""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from engine.bootstrap import App
from engine.cli.common import (
    AsOpt,
    DataOpt,
    JsonOpt,
    LangOpt,
    SetOpt,
    _app,
    app,
    audit_app,
    emit_json,
    err_console,
    incident_app,
    out_console,
    parse_sets,
    run,
)
from engine.domain.model import Message
from engine.service.delivery import Dispatcher
from engine.service.outbox import retry_dead_letter
from engine.texts import label, t


@audit_app.command("verify")
def verify(incident_id: str | None = typer.Argument(None), data: DataOpt = None) -> None:
    """Check the hash chain of the event log; names the first altered event (exit 1)."""
    from engine.store.audit import verify as verify_chain  # noqa: PLC0415

    def body() -> int:
        application = _app(data)
        report = verify_chain(application.database, application.audit_key, incident_id)
        language = application.settings.lang
        if report.intact:
            out_console.print(t("audit_ok", language, count=report.incidents_checked))
            return 0
        err_console.print(t("audit_bad", language))
        for finding in report.findings:
            err_console.print(f"  {finding}")
        return 1

    raise typer.Exit(run(body))


outbox_app = typer.Typer(no_args_is_help=True, help="Deliver and inspect outgoing messages.")
app.add_typer(outbox_app, name="outbox")


def _dispatcher(application: App) -> Dispatcher:
    return Dispatcher(
        database=application.database,
        plans=application.plans,
        clock=application.clock,
        data_dir=str(application.settings.data),
        environ=dict(os.environ),
        public_url=application.settings.public_url,
    )


@outbox_app.command("deliver")
def outbox_deliver(
    once: Annotated[
        bool, typer.Option("--once", help="Deliver what is due now, then exit.")
    ] = False,
    interval: Annotated[float, typer.Option(help="Seconds between rounds when not --once.")] = 5.0,
    data: DataOpt = None,
) -> None:
    """Deliver due messages (for cron and tests: --once)."""

    def body() -> None:
        application = _app(data)
        dispatcher = _dispatcher(application)
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


@outbox_app.command("retry")
def outbox_retry(
    message_id: str, as_user: AsOpt, data: DataOpt = None, lang: LangOpt = None
) -> None:
    """Put a dead letter back in the queue (only its failed recipients)."""

    def body() -> None:
        application = _app(data, lang)
        retry_dead_letter(application.service, message_id, as_user)
        out_console.print(t("requeued", application.settings.lang, id=message_id))

    run(body)


@outbox_app.command("dead")
def outbox_dead(data: DataOpt = None, as_json: JsonOpt = False) -> None:
    """List dead letters: messages that need an operator's attention."""

    def body() -> None:
        application = _app(data)
        with application.database.unit_of_work(read_only=True) as uow:
            items = [message_view(m) for m in uow.messages.list_dead()]
        _print_messages(items, as_json, application.settings.lang)

    run(body)


def message_view(m: Message) -> dict[str, Any]:
    """The JSON shape of `incident messages`."""
    return {
        "id": m.id,
        "channel": m.channel,
        "kind": m.kind,
        "audience": m.audience,
        "subject": m.subject,
        "status": m.status,
        "attempts": m.attempts,
        "recipients": len(m.recipients),
        "results": m.results,
        "last_error": m.last_error,
        "created_at": m.created_at.isoformat(),
    }


def _print_messages(items: list[dict[str, Any]], as_json: bool, language: str) -> None:
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


@incident_app.command("messages")
def incident_messages(
    incident_id: str, data: DataOpt = None, as_json: JsonOpt = False, lang: LangOpt = None
) -> None:
    """Messages of an incident: channel, audience, subject, status, attempts, results."""

    def body() -> None:
        application = _app(data, lang)
        with application.database.unit_of_work(read_only=True) as uow:
            uow.incidents.get(incident_id)
            items = [message_view(m) for m in uow.messages.list(incident_id)]
        _print_messages(items, as_json, application.settings.lang)

    run(body)


@incident_app.command("preview")
def incident_preview(
    as_user: AsOpt,
    incident_id: Annotated[
        str | None, typer.Argument(help="Incident (omit with --declare)")
    ] = None,
    trigger: Annotated[str | None, typer.Argument(help="Trigger to preview")] = None,
    declare: Annotated[bool, typer.Option("--declare", help="Preview a declaration.")] = False,
    sets: SetOpt = None,
    workflow: Annotated[str | None, typer.Option("--workflow")] = None,
    data: DataOpt = None,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """Show every message firing would send — and send nothing."""
    values = parse_sets(sets)
    if declare == (incident_id is not None):
        raise typer.BadParameter("give ID TRIGGER, or --declare", param_hint="ID")
    if incident_id is not None and trigger is None:
        raise typer.BadParameter("give the trigger to preview", param_hint="TRIGGER")

    def body() -> None:
        application = _app(data, lang)
        preview = application.service.preview(
            actor_id=as_user,
            values=values,
            incident_id=incident_id,
            trigger=trigger,
            workflow=workflow,
        )
        if as_json:
            emit_json(preview)
            return
        for m in preview["messages"]:
            out_console.rule(f"{m['channel']} → {m['audience']} ({m['recipients']})")
            out_console.print(f"[bold]{escape(m['subject'])}[/]")
            out_console.print(escape(m["body"]))
        out_console.print(
            t(
                "preview_done",
                application.settings.lang,
                count=len(preview["messages"]),
                result=preview["result"],
            )
        )

    run(body)


@app.command("channels")
def channels_status(data: DataOpt = None, as_json: JsonOpt = False, lang: LangOpt = None) -> None:
    """Each channel of each plan: live, or the file outbox and what is missing to go live."""

    def body() -> None:
        from channels.registry import load_channel_kinds, resolve_settings, unset_variables  # noqa: PLC0415
        from engine.definition.loader import load_definition  # noqa: PLC0415

        application = _app(data, lang)
        kinds = load_channel_kinds()
        rows: list[dict[str, Any]] = []
        for path in application.plans.files():
            definition = load_definition(path)
            for name, spec in definition.workflow.channels.items():
                settings = resolve_settings(spec.kind, spec.settings, dict(os.environ))
                settings.setdefault("channel", name)
                status = kinds[spec.kind].status(settings, data_dir=str(application.settings.data))
                missing = sorted(
                    set(status.missing) | set(unset_variables(spec.settings, dict(os.environ)))
                )
                rows.append(
                    {
                        "plan": definition.name,
                        "channel": name,
                        "kind": spec.kind,
                        "live": status.live,
                        "target": status.target,
                        "missing": missing,
                    }
                )
        if as_json:
            emit_json(rows)
            return
        language = application.settings.lang
        table = Table()
        for col in ("plan", "channel", "channel_kind", "mode", "target", "missing"):
            table.add_column(t(col, language), no_wrap=col == "id")
        for r in rows:
            mode = t("live", language) if r["live"] else t("file_outbox", language)
            table.add_row(
                r["plan"], r["channel"], r["kind"], mode, r["target"], ", ".join(r["missing"])
            )
        out_console.print(table)

    run(body)


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
        # Here, not at the top: only the worker needs APScheduler, every CLI call would pay it.
        from engine.scheduler.alarm import AlarmClock, LeaderLock  # noqa: PLC0415
        from engine.service.timers import TimerRunner  # noqa: PLC0415

        application = _app(data)
        runner = TimerRunner(application.service)
        dispatcher = _dispatcher(application)
        language = application.settings.lang
        if once:
            fired = sum(1 for r in runner.fire_due() if r.fired)
            summary = dispatcher.deliver_due()
            out_console.print(
                t(
                    "worker_once",
                    language,
                    timers=fired,
                    sent=summary.sent,
                    retrying=summary.retrying,
                    dead=summary.dead,
                )
            )
            dispatcher.close()
            return
        alarm = AlarmClock(
            runner,
            lock=LeaderLock(application.database, application.settings.data),
            sweep_seconds=sweep,
        )
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        alarm.start()
        out_console.print(t("worker_started", language, data=str(application.settings.data)))
        try:
            while not stop.is_set():
                dispatcher.deliver_due()
                stop.wait(interval)
        finally:
            alarm.stop()
            dispatcher.close()
            out_console.print(t("worker_stopped", language))

    run(body)
