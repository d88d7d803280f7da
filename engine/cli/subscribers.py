"""`driftplan subscribers ...`: newsletter subscribers with double opt-in (add, confirm, ...).

A thin layer over the subscription use cases (`App.service.subscriptions`). Until the web
endpoint and a confirmation e-mail exist, `add` prints the confirmation link, and whoever adds a
subscriber passes it on (or opens it, after checking with the person). `confirm` takes the
confirmation token, `unsubscribe` the token of a newsletter's unsubscribe link (a confirmation
token unsubscribes nobody). `list` never prints tokens: a token lets its holder confirm or end a
subscription, and a subscriber list gets pasted into tickets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from engine.bootstrap import App
    from engine.domain.model import Subscriber
from engine.cli.commands import Commands
from engine.cli.common import (
    DataOpt,
    JsonOpt,
    LangOpt,
    app_from,
    audience_title,
    emit_json,
    escape,
    label,
    new_table,
    out_console,
    run,
    t,
)

commands = Commands("subscribers")

TokenArg = Annotated[
    str,
    typer.Argument(
        help="The token, or the whole link it came in. An older token that begins with '-' "
        "goes after `--` (e.g. `unsubscribe -- -Ab3…`).",
        show_default=False,
    ),
]
AudienceOpt = Annotated[
    str | None,
    typer.Option("--audience", help="An audience with `subscribers: true` in the plan."),
]


def subscriber_view(subscriber: Subscriber) -> dict[str, Any]:
    """The JSON shape of `subscribers list --json` (no token: see the module docstring)."""
    return {
        "id": subscriber.id,
        "audience": subscriber.audience,
        "email": subscriber.email,
        "name": subscriber.name,
        "status": subscriber.status,
        "created_at": subscriber.created_at.isoformat(),
        "confirmed_at": subscriber.confirmed_at.isoformat() if subscriber.confirmed_at else None,
    }


def _zone(application: App) -> ZoneInfo:
    """The plan's timezone for showing times (stored times are UTC); UTC if it is unclear."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from engine.errors import DriftplanError

    try:
        return ZoneInfo(application.plans.current().workflow.document.timezone)
    except (DriftplanError, ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _default_audience(valid: list[str]) -> str:
    if len(valid) == 1:
        return valid[0]
    from engine.errors import CommandError

    known = ", ".join(f"'{name}'" for name in valid) or "-"
    raise CommandError(
        t("subscriber_name_audience", "en", known=known),
        sv=t("subscriber_name_audience", "sv", known=known),
    )


@commands.command("add")
def add(
    email: str,
    audience: AudienceOpt = None,
    name: Annotated[str, typer.Option("--name", help="The subscriber's name.")] = "",
    data: DataOpt = None,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """Subscribe an address (pending until confirmed); the confirmation link is mailed to it."""
    from engine.domain.model import RecipientStatus, SubscriberStatus

    def body() -> None:
        application = app_from(data, lang)
        subscriptions = application.service.subscriptions
        chosen = audience if audience is not None else _default_audience(subscriptions.audiences())
        stored = subscriptions.subscribe(audience=chosen, email=email, name=name)
        done = stored.status == SubscriberStatus.CONFIRMED
        # Double opt-in: the link goes to the address, never to whoever typed it here.
        mailed = None
        if not done:
            report = application.confirmation_mail().send(
                application.plans.current(), stored, application.clock.now()
            )
            mailed = all(r.status == RecipientStatus.SENT for r in report.results)
        if as_json:
            emit_json({**subscriber_view(stored), "confirmation_mailed": mailed})
            return
        language = application.settings.lang
        key = "already" if done else "pending" if mailed else "pending_unmailed"
        shown = audience_title(application, stored.audience, language)
        out_console.print(
            escape(t(f"subscriber_{key}", language, email=stored.email, audience=shown))
        )
        if mailed is False:
            raise typer.Exit(1)

    run(body)


def _report(application: App, stored: Subscriber, text_key: str, as_json: bool) -> None:
    """A subscriber after a change: its JSON view, or one sentence for people."""
    if as_json:
        emit_json(subscriber_view(stored))
        return
    language = application.settings.lang
    audience = audience_title(application, stored.audience, language)
    out_console.print(escape(t(text_key, language, email=stored.email, audience=audience)))


@commands.command("confirm")
def confirm_command(
    token: TokenArg, data: DataOpt = None, as_json: JsonOpt = False, lang: LangOpt = None
) -> None:
    """Confirm a subscription with the token from its confirmation link."""

    def body() -> None:
        application = app_from(data, lang)
        from engine.domain.tokens import token_from_link

        stored = application.service.subscriptions.confirm(token_from_link(token))
        _report(application, stored, "subscriber_confirmed", as_json)

    run(body)


@commands.command("unsubscribe")
def unsubscribe_command(
    token: TokenArg, data: DataOpt = None, as_json: JsonOpt = False, lang: LangOpt = None
) -> None:
    """End a subscription with the token from its unsubscribe link (repeating is harmless)."""

    def body() -> None:
        application = app_from(data, lang)
        from engine.domain.tokens import token_from_link

        stored = application.service.subscriptions.unsubscribe(token_from_link(token))
        _report(application, stored, "subscriber_unsubscribed", as_json)

    run(body)


@commands.command("list")
def list_command(
    audience: AudienceOpt = None,
    status: Annotated[
        str | None, typer.Option("--status", help="pending, confirmed or unsubscribed.")
    ] = None,
    data: DataOpt = None,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """List subscribers with their status (tokens are never shown)."""

    def body() -> None:
        application = app_from(data, lang)
        found = application.service.subscriptions.list(audience=audience, status=status)
        if as_json:
            emit_json([subscriber_view(s) for s in found])
            return
        language = application.settings.lang
        if not found:
            out_console.print(t("subscriber_none", language))
            return
        zone = _zone(application)
        table = new_table()
        for column in ("audience", "email", "name", "status", "created", "confirmed_at"):
            table.add_column(t(f"subscriber_{column}", language))
        for s in found:
            confirmed = (
                f"{s.confirmed_at.astimezone(zone):%Y-%m-%d %H:%M}" if s.confirmed_at else ""
            )
            table.add_row(
                escape(audience_title(application, s.audience, language)),
                escape(s.email),
                escape(s.name),
                label("subscriber_status_", s.status, language),
                f"{s.created_at.astimezone(zone):%Y-%m-%d %H:%M}",
                confirmed,
            )
        out_console.print(table)

    run(body)


# The whole group, every command (`engine.cli.app.main` builds only the one invoked).
app = commands.app()
