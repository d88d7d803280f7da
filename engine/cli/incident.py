"""`driftplan incident ...`: declare, list, show, actions, fire, approve, messages, preview.

The timeline commands (log, note, report) are in `engine.cli.incident_timeline`, on this app.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING, Annotated

import typer

from engine.cli import incident_timeline
from engine.cli.commands import Commands
from engine.cli.common import (
    AsOpt,
    DataOpt,
    JsonOpt,
    LangOpt,
    SetOpt,
    app_from,
    audience_title,
    emit_json,
    err_console,
    escape,
    label,
    new_table,
    out_console,
    parse_sets,
    run,
    t,
)
from engine.cli.outbox import print_messages
from engine.domain.paging import DEFAULT_LIMIT, MAX_LIMIT, RECENT_CLOSED

if TYPE_CHECKING:
    from engine.service.queries import Listing

commands = Commands("incident")


@commands.command("declare")
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


@commands.command(
    "list",
    help=f"List incidents a page at a time: open ones first, then the {RECENT_CLOSED} most "
    "recently closed (every closed one with --all), the most recently updated first. A footer "
    "says how many more there are and the command that shows them. --json prints a list, as "
    "before paging: open incidents only unless --all, with the footer on stderr.",
)
def list_incidents(
    all_: Annotated[
        bool, typer.Option("--all", help="Include every closed incident, not only the latest.")
    ] = False,
    limit: Annotated[
        int, typer.Option("--limit", help=f"Incidents per page (1-{MAX_LIMIT}).")
    ] = DEFAULT_LIMIT,
    since: Annotated[
        str | None,
        typer.Option("--since", help="Only those updated since: -2h, 14:00, 2026-11-01."),
    ] = None,
    cursor: Annotated[
        str | None, typer.Option("--cursor", help="Continue where the previous page ended.")
    ] = None,
    data: DataOpt = None,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    def body() -> None:
        application = app_from(data, lang)
        language = application.settings.lang
        listing = application.service.incident_page(
            limit=limit,
            cursor=cursor,
            since=since,
            # JSON keeps its contract from before paging (open ones unless --all): scripts
            # that count open incidents must not start counting closed ones.
            closed=None if all_ else 0 if as_json else RECENT_CLOSED,
            language=None if as_json else language,
        )
        footer = _page_footer(
            listing, language, all_=all_, limit=limit, since=since, as_json=as_json
        )
        if as_json:
            emit_json(listing.items)
            for line in footer:
                err_console.print(escape(line))
            return
        if not listing.items:
            none = "no_incidents" if cursor is None and since is None else "paging_none"
            out_console.print(t(none, language))
        else:
            table = new_table(title=t("incidents", language))
            for col in ("id", "state", "scope", "created", "updated"):
                table.add_column(t(col, language), no_wrap=col == "id")
            for item, labels in zip(listing.items, listing.labels, strict=True):
                table.add_row(
                    item["id"],
                    labels.state(item["state"]),
                    str(item["data"].get("scope", "")),
                    labels.time(item["created_at"]),
                    labels.time(item["updated_at"]),
                )
            out_console.print(table)
        for line in footer:
            out_console.print(escape(line))

    run(body)


def _page_footer(
    listing: Listing,
    language: str,
    *,
    all_: bool,
    limit: int,
    since: str | None,
    as_json: bool,
) -> list[str]:
    """What the page left out, each with the command that shows it (the same options)."""
    options = ["driftplan incident list"]
    if all_:
        options.append("--all")
    if limit != DEFAULT_LIMIT:
        options.append(f"--limit {limit}")
    if since is not None:
        options.append(f"--since {shlex.quote(since)}")
    if as_json:
        options.append("--json")
    lines = []
    if listing.next_cursor is not None:
        command = " ".join([*options, f"--cursor {listing.next_cursor}"])
        lines.append(
            t(
                "paging_more",
                language,
                shown=len(listing.items),
                remaining=listing.remaining,
                command=command,
            )
        )
    if listing.closed_left_out:
        command = " ".join([*options[:1], "--all", *options[1:]])
        lines.append(
            t("paging_closed_left_out", language, count=listing.closed_left_out, command=command)
        )
    return lines


@commands.command("show")
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
        table = new_table(title=f"{view['id']} – {described['state_title']} ({view['state']})")
        table.add_column(t("field", language))
        table.add_column(t("value", language))
        for title, value in described["rows"]:
            table.add_row(title, value)
        out_console.print(table)
        if view["pending_approvals"]:
            pending = new_table(title=t("pending", language))
            for col in ("id", "trigger", "status", "approvers", "expires"):
                pending.add_column(t(col, language), no_wrap=col == "id")
            for a in view["pending_approvals"]:
                who = "; ".join(
                    labels.roles(s["roles"])
                    + (f" ({labels.subregions(s['subregions'])})" if s.get("subregions") else "")
                    + (" ✓" if s.get("decision") == "approved" else "")
                    for s in a["approvers"]
                )
                # "delvis godkänd" when some sub-regions decided and their part is in effect.
                decisions = [s.get("decision") for s in a["approvers"]]
                status = labels.request_status(a["trigger"], "pending", decisions)
                pending.add_row(
                    a["id"],
                    labels.trigger(a["trigger"]),
                    label("approval_status_", status, language),
                    who,
                    labels.time(a["expires_at"]),
                )
            out_console.print(pending)

    run(body)


@commands.command("actions")
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
        table = new_table()
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


@commands.command("fire")
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


@commands.command("approve")
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


@commands.command("messages")
def incident_messages(
    incident_id: str, data: DataOpt = None, as_json: JsonOpt = False, lang: LangOpt = None
) -> None:
    """Messages of an incident: channel, audience, subject, status, attempts, results."""
    from engine.service.outbox import message_view

    def body() -> None:
        application = app_from(data, lang)
        items = [message_view(m) for m in application.service.messages(incident_id)]
        print_messages(items, as_json, application.settings.lang)

    run(body)


@commands.command("preview")
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


# log, note and report (engine.cli.incident_timeline) join this group.
commands.include(incident_timeline.commands)

# The whole group, every command (`engine.cli.app.main` builds only the one invoked).
app = commands.app()
