"""`driftplan incident ...`: declare, list, show, actions, fire, approve, messages, preview.

The timeline commands (log, note, report) are in `engine.cli.incident_timeline`, on this app.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from engine.cli.common import (
    AsOpt,
    DataOpt,
    JsonOpt,
    LangOpt,
    SetOpt,
    app_from,
    audience_title,
    emit_json,
    out_console,
    parse_sets,
    run,
)
from engine.cli.outbox import print_messages
from engine.service.outbox import message_view
from engine.texts import label, t

app = typer.Typer(no_args_is_help=True, help="Declare, advance and inspect incidents.")


@app.command("declare")
def declare(
    as_user: AsOpt,
    sets: SetOpt = None,
    workflow: Annotated[str | None, typer.Option("--workflow", help="Plan document name.")] = None,
    data: DataOpt = None,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """Declare a new incident (the plan's initial transition)."""
    values = parse_sets(sets)

    def body() -> None:
        application = app_from(data, lang)
        result = application.service.declare(actor_id=as_user, values=values, workflow=workflow)
        if as_json:
            emit_json(application.service.show(result.incident_id))
            return
        language = application.settings.lang
        labels = application.service.labels(result.incident_id, language)
        out_console.print(
            t("declared", language, id=result.incident_id, state=labels.state(result.state))
        )

    run(body)


@app.command("list")
def list_incidents(
    all_: Annotated[bool, typer.Option("--all", help="Include closed incidents.")] = False,
    data: DataOpt = None,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """List open incidents (or all with --all)."""

    def body() -> None:
        application = app_from(data, lang)
        if as_json:
            emit_json(application.service.incidents(include_closed=all_))
            return
        language = application.settings.lang
        items = application.service.incidents_labelled(include_closed=all_, language=language)
        if not items:
            out_console.print(t("no_incidents", language))
            return
        table = Table(title=t("incidents", language))
        for col in ("id", "state", "scope", "created", "updated"):
            table.add_column(t(col, language), no_wrap=col == "id")
        for item, labels in items:
            table.add_row(
                item["id"],
                labels.state(item["state"]),
                str(item["data"].get("scope", "")),
                labels.time(item["created_at"]),
                labels.time(item["updated_at"]),
            )
        out_console.print(table)

    run(body)


@app.command("show")
def show(
    incident_id: str, data: DataOpt = None, as_json: JsonOpt = False, lang: LangOpt = None
) -> None:
    """Show one incident: state, data, pending decisions."""

    def body() -> None:
        application = app_from(data, lang)
        view = application.service.show(incident_id)
        if as_json:
            emit_json(view)
            return
        language = application.settings.lang
        described = application.service.describe(incident_id, language)
        labels = application.service.labels(incident_id, language)
        table = Table(title=f"{view['id']} – {described['state_title']} ({view['state']})")
        table.add_column(t("field", language))
        table.add_column(t("value", language))
        for title, value in described["rows"]:
            table.add_row(title, value)
        out_console.print(table)
        if view["pending_approvals"]:
            pending = Table(title=t("pending", language))
            for col in ("id", "trigger", "approvers", "expires"):
                pending.add_column(t(col, language), no_wrap=col == "id")
            for a in view["pending_approvals"]:
                who = "; ".join(
                    labels.roles(s["roles"])
                    + (f" ({labels.subregions(s['subregions'])})" if s.get("subregions") else "")
                    + (" ✓" if s.get("decision") == "approved" else "")
                    for s in a["approvers"]
                )
                pending.add_row(
                    a["id"], labels.trigger(a["trigger"]), who, labels.time(a["expires_at"])
                )
            out_console.print(pending)

    run(body)


@app.command("actions")
def actions(
    incident_id: str,
    as_user: AsOpt,
    data: DataOpt = None,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """What you may do now on this incident."""

    def body() -> None:
        application = app_from(data, lang)
        items = application.service.actions(incident_id=incident_id, actor_id=as_user)
        if as_json:
            emit_json(items)
            return
        language = application.settings.lang
        labels = application.service.labels(incident_id, language)
        table = Table()
        for col in ("trigger", "dest", "gated"):
            table.add_column(t(col, language), no_wrap=col == "id")
        for item in items:
            table.add_row(
                labels.trigger(item["trigger"]),
                labels.state(item["dest"]),
                labels.roles(item["approvers"]),
            )
        out_console.print(table)

    run(body)


@app.command("fire")
def fire(
    incident_id: str,
    trigger: str,
    as_user: AsOpt,
    sets: SetOpt = None,
    data: DataOpt = None,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """Fire a trigger (e.g. post_update, enter_total_reserve, restore)."""
    values = parse_sets(sets)

    def body() -> None:
        application = app_from(data, lang)
        result = application.service.fire(
            incident_id=incident_id, trigger=trigger, actor_id=as_user, values=values
        )
        if as_json:
            emit_json(
                {"result": result.result, "state": result.state, "approval_id": result.approval_id}
            )
            return
        language = application.settings.lang
        labels = application.service.labels(incident_id, language)
        state = labels.state(result.state)
        if result.result == "pending_approval":
            out_console.print(
                t("pending_approval", language, approval=result.approval_id, state=state)
            )
        else:
            out_console.print(t("done", language, trigger=labels.trigger(trigger), state=state))

    run(body)


@app.command("approve")
def approve(
    approval_id: str,
    as_user: AsOpt,
    reject: Annotated[bool, typer.Option("--reject", help="Reject instead of approve.")] = False,
    comment: Annotated[str, typer.Option("--comment", help="Why.")] = "",
    on_behalf_of: Annotated[
        str | None,
        typer.Option("--on-behalf-of", help="Record a decision taken by phone by this person."),
    ] = None,
    reference: Annotated[
        str | None,
        typer.Option("--reference", help="Mandatory with --on-behalf-of: call time, number, ..."),
    ] = None,
    data: DataOpt = None,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """Approve (or --reject) a pending decision."""

    def body() -> None:
        application = app_from(data, lang)
        result = application.service.decide(
            approval_id=approval_id,
            actor_id=as_user,
            approve=not reject,
            comment=comment,
            on_behalf_of=on_behalf_of,
            reference=reference,
        )
        if as_json:
            emit_json({"result": result.result, "state": result.state})
            return
        language = application.settings.lang
        labels = application.service.labels(result.incident_id, language)
        out_console.print(t(result.result, language, state=labels.state(result.state)))

    run(body)


@app.command("messages")
def incident_messages(
    incident_id: str, data: DataOpt = None, as_json: JsonOpt = False, lang: LangOpt = None
) -> None:
    """Messages of an incident: channel, audience, subject, status, attempts, results."""

    def body() -> None:
        application = app_from(data, lang)
        items = [message_view(m) for m in application.service.messages(incident_id)]
        print_messages(items, as_json, application.settings.lang)

    run(body)


@app.command("preview")
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
        application = app_from(data, lang)
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
            audience = audience_title(application, m["audience"], application.settings.lang)
            out_console.rule(escape(f"{m['channel']} – {audience} ({m['recipients']})"))
            out_console.print(f"[bold]{escape(m['subject'])}[/]")
            out_console.print(escape(m["body"]))
        out_console.print(
            t(
                "preview_done",
                application.settings.lang,
                count=len(preview["messages"]),
                result=label("preview_result_", preview["result"], application.settings.lang),
            )
        )

    run(body)
