"""`driftplan incident log | note | report`: the incident's timeline, and writing into it.

A note (an operator's) and a report (an organisation's, received by mail or phone) go into the
incident's event log and nowhere else: nothing is sent, the state does not move. Who may write
is the plan's rule, checked by the service (`engine.service.notes`). The log's table shows,
beside who did what when, the fields each event set and its words (a note's text, a decision's
comment and phone reference); `--json` gives the same with ids and UTC times.

These commands belong to the `incident` group (`engine.cli.incident` includes this module's
`commands` in its own), so this module imports nothing from `engine.cli.incident`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from engine.cli.commands import Commands
from engine.cli.common import (
    AsOpt,
    DataOpt,
    JsonOpt,
    LangOpt,
    app_from,
    emit_json,
    label,
    new_table,
    out_console,
    run,
    t,
)
from engine.cli.terminal import strip_controls

if TYPE_CHECKING:
    from rich.text import Text

    from engine.definition.schema import Workflow
    from engine.domain.labels import Labels

commands = Commands()

TextOpt = Annotated[str, typer.Option("--text", help="What was noted or reported (kept verbatim).")]

# `strip_controls` keeps rich's own colour codes; stored text gets none of its own either.
_SGR = re.compile(r"\x1b\[[0-9;]*m")


class Via(StrEnum):
    """How a report came in."""

    phone = "phone"
    email = "email"


def plain(value: object) -> Text:
    """Stored text for a table cell: no control sequence, no colour, no rich markup."""
    from rich.text import Text

    return Text(_SGR.sub("", strip_controls("" if value is None else str(value))))


@commands.command("note")
def note(
    incident_id: str,
    as_user: AsOpt,
    text: TextOpt,
    data: DataOpt = None,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """Write a note into the incident's log (nothing is sent)."""

    def body() -> None:
        application = app_from(data, lang)
        event = application.service.note(incident_id=incident_id, actor_id=as_user, text=text)
        if as_json:
            emit_json(event)
            return
        language = application.settings.lang
        out_console.print(
            plain(t("timeline_note_added", language, id=incident_id, seq=event["seq"]))
        )

    run(body)


@commands.command("report")
def report(
    incident_id: str,
    as_user: AsOpt,
    organisation: Annotated[str, typer.Option("--from", help="The organisation that reported.")],
    text: TextOpt,
    contact: Annotated[
        str | None, typer.Option("--contact", help="Who reported: name, phone, e-mail.")
    ] = None,
    subregion: Annotated[
        str | None, typer.Option("--subregion", help="The plan's sub-region it concerns.")
    ] = None,
    via: Annotated[Via | None, typer.Option("--via", help="How it came in.")] = None,
    data: DataOpt = None,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """Record an organisation's report received by mail or phone (nothing is sent)."""

    def body() -> None:
        application = app_from(data, lang)
        event = application.service.report(
            incident_id=incident_id,
            actor_id=as_user,
            text=text,
            organisation=organisation,
            contact=contact,
            subregion=subregion,
            via=via.value if via is not None else None,
        )
        if as_json:
            emit_json(event)
            return
        language = application.settings.lang
        message = t(
            "timeline_report_added",
            language,
            organisation=event["data"]["organisation"],
            id=incident_id,
            seq=event["seq"],
        )
        out_console.print(plain(message))

    run(body)


@commands.command("log")
def log(
    incident_id: str, data: DataOpt = None, as_json: JsonOpt = False, lang: LangOpt = None
) -> None:
    """The incident's event log, oldest first: who, what, the data changed and comments."""

    def body() -> None:
        application = app_from(data, lang)
        events = application.service.log(incident_id)
        if as_json:
            emit_json(events)
            return
        language = application.settings.lang
        labels = application.service.labels(incident_id, language)
        table = new_table()
        for col in ("seq", "at", "actor", "kind", "trigger", "state"):
            table.add_column(t(col, language))
        table.add_column(t("timeline_changed", language))
        table.add_column(t("timeline_text", language))
        for e in events:
            to_state = labels.state_title(e["to_state"])
            moved = (
                to_state
                if e["from_state"] == e["to_state"]
                else f"{labels.state_title(e['from_state'])} → {to_state}".lstrip()
            )
            table.add_row(
                str(e["seq"]),
                labels.time(e["at"], seconds=True),
                plain(who(e, language)),
                label("event_", e["kind"], language),
                plain(e["trigger"] or ""),
                moved,
                plain(changed(e["changed"], labels.workflow, language)),
                plain(words(e, labels, language)),
            )
        out_console.print(table)

    run(body)


def who(event: Mapping[str, Any], language: str) -> str:
    """The actor by name (the id for the system and unknown ids); a phone decision names the
    decider beside the person who recorded it."""
    recorder = event.get("actor_name") or event["actor"]
    decider = event.get("on_behalf_of")
    if decider:
        return t("timeline_on_behalf", language, recorder=recorder, decider=decider)
    return str(recorder)


def changed(items: list[Mapping[str, Any]], workflow: Workflow, language: str) -> str:
    """One line per field the event set: `Title: old → new`, or `Title = value` when it had no
    value before (or kept it)."""
    from engine.definition.schema import localized
    from engine.domain.fields import display_value

    lines = []
    order = {name: i for i, name in enumerate(workflow.fields)}
    for item in sorted(items, key=lambda item: order.get(item["field"], len(order))):
        name = item["field"]
        field = workflow.fields.get(name)
        title = (localized(field.title, language) if field else "") or name
        new = display_value(workflow, name, item["new"], language)
        old = item["old"]
        if old in (None, "", []) or old == item["new"]:
            lines.append(f"{title} = {new}")
        else:
            lines.append(f"{title}: {display_value(workflow, name, old, language)} → {new}")
    return "\n".join(lines)


def words(event: Mapping[str, Any], labels: Labels, language: str) -> str:
    """The event's words: a report's sender and how it came in, the text or comment, a
    refusal's reason and a phone decision's reference."""
    data = event.get("data") or {}
    parts = []
    if event["kind"] == "report":
        details = [
            label("timeline_via_", str(data["via"]), language) if data.get("via") else "",
            labels.subregions([data["subregion"]]) if data.get("subregion") else "",
            t("timeline_contact", language, contact=data["contact"]) if data.get("contact") else "",
        ]
        sender = t("timeline_from", language, organisation=data.get("organisation", ""))
        shown = ", ".join(d for d in details if d)
        parts.append(f"{sender} ({shown}):" if shown else f"{sender}:")
    if event.get("text"):
        parts.append(str(event["text"]))
    elif event["kind"] == "refused":
        # The engine's message in the reader's language: `message_sv` where the refusal's
        # writer kept the Swedish wording; never English in a Swedish table.
        said = data.get("message_sv") if language == "sv" else data.get("message")
        if said:
            parts.append(str(said))
    if event.get("reference"):
        parts.append(f"({t('timeline_reference', language, reference=event['reference'])})")
    return " ".join(parts)
