"""`driftplan users ...`: web sign-in for directory people — passwords and API tokens.

An account is a directory person with a password (argon2id) or API tokens (shown once, kept
only as a hash). What they may do comes from their roles in the directory, as everywhere.
"""

from __future__ import annotations

import getpass
import sys
from typing import Annotated

import typer

from engine.cli.commands import Commands
from engine.cli.common import (
    DataOpt,
    JsonOpt,
    LangOpt,
    app_from,
    emit_json,
    escape,
    out_console,
    run,
)
from engine.cli.common import t as _t

commands = Commands("users")


@commands.command("set-password")
def set_password(
    person: Annotated[str, typer.Argument(help="The person's id in the directory.")],
    stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    data: DataOpt = None,
    lang: LangOpt = None,
) -> None:
    """Set a person's password for signing in to the web service (argon2id)."""

    def body() -> None:
        application = app_from(data, lang)
        language = application.settings.lang
        if stdin:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = getpass.getpass(_t("user_prompt", language, person=person))
            if getpass.getpass(_t("user_again", language)) != password:
                from engine.errors import CommandError

                raise CommandError(_t("user_mismatch", "en"), sv=_t("user_mismatch", "sv"))
        application.service.accounts.set_password(person, password)
        out_console.print(escape(_t("user_password_set", language, person=person)))

    run(body)


@commands.command("token")
def token(
    person: Annotated[str, typer.Argument(help="The person's id in the directory.")],
    name: Annotated[str, typer.Option("--name", help="What the token is for.")] = "api",
    data: DataOpt = None,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """Make an API token for a person; it is printed once and stored only as a hash."""

    def body() -> None:
        application = app_from(data, lang)
        made = application.service.accounts.create_token(person, name)
        if as_json:
            emit_json({"id": made.token.id, "name": made.token.name, "token": made.secret})
            return
        language = application.settings.lang
        out_console.print(
            escape(
                _t(
                    "user_token_made",
                    language,
                    id=made.token.id,
                    name=made.token.name,
                    person=person,
                )
            )
        )
        out_console.print(made.secret, markup=False)

    run(body)


@commands.command("tokens")
def tokens(
    person: Annotated[str, typer.Argument(help="The person's id in the directory.")],
    revoke: Annotated[
        str | None, typer.Option("--revoke", help="Revoke the token with this id.")
    ] = None,
    data: DataOpt = None,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """List a person's API tokens (never their secrets), or revoke one with --revoke ID."""

    def body() -> None:
        application = app_from(data, lang)
        language = application.settings.lang
        accounts = application.service.accounts
        if revoke:
            accounts.revoke_token(person, revoke)
            out_console.print(escape(_t("user_revoked", language, id=revoke)))
            return
        items = accounts.tokens(person)
        if as_json:
            emit_json(
                [
                    {
                        "id": t.id,
                        "name": t.name,
                        "created_at": t.created_at.isoformat(),
                        "revoked_at": t.revoked_at.isoformat() if t.revoked_at else None,
                    }
                    for t in items
                ]
            )
            return
        if not items:
            out_console.print(escape(_t("user_no_tokens", language, person=person)))
        for t in items:
            status = (
                _t("user_token_active", language)
                if t.active
                else _t("user_token_revoked_at", language, at=f"{t.revoked_at:%Y-%m-%d %H:%M}")
            )
            out_console.print(escape(f"{t.id}  {t.name}  {t.created_at:%Y-%m-%d %H:%M}  {status}"))

    run(body)


# The whole group, every command (`engine.cli.app.main` builds only the one invoked).
app = commands.app()
