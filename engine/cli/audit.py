"""`driftplan audit verify` and `driftplan audit head`: the tamper-evident event log."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from engine.cli.commands import Commands
from engine.cli.common import DataOpt, LangOpt, app_from, err_console, escape, out_console, run, t

if TYPE_CHECKING:
    from engine.store.audit import Anchor

commands = Commands("audit")

AnchorOpt = Annotated[
    str | None,
    typer.Option(
        "--anchor",
        metavar="SEQ:HASH",
        help="An anchor sent off the machine earlier: proves the chain up to it unchanged, "
        "even against a holder of the audit key.",
    ),
]


def _anchor(value: str | None) -> Anchor | None:
    from engine.store.audit import Anchor

    if value is None:
        return None
    try:
        return Anchor.parse(value)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--anchor") from None


@commands.command("verify")
def verify(
    incident_id: str | None = typer.Argument(None),
    anchor: AnchorOpt = None,
    data: DataOpt = None,
    lang: LangOpt = None,
) -> None:
    """Check the event log: each incident's chain and row, the installation's chain, and an
    anchor; names the first altered event or link (exit 1)."""
    from engine.store.audit import verify as verify_chain

    pinned = _anchor(anchor)
    if pinned is not None and incident_id is not None:
        raise typer.BadParameter(
            "an anchor proves the whole chain; leave out the incident id", param_hint="--anchor"
        )

    def body() -> int:
        application = app_from(data, lang)
        report = verify_chain(
            application.database, application.audit_key, incident_id, anchor=pinned
        )
        language = application.settings.lang
        if report.intact:
            out_console.print(t("audit_ok", language, count=report.incidents_checked))
            if pinned is not None:
                out_console.print(t("audit_anchor_ok", language, anchor=pinned))
            return 0
        err_console.print(t("audit_bad", language))
        for line in report.lines(language):
            err_console.print(f"  {escape(line)}")
        return 1

    raise typer.Exit(run(body))


@commands.command("head")
def head(data: DataOpt = None) -> None:
    """Print the head of the installation's chain as SEQ:HASH (an anchor to keep elsewhere)."""

    def body() -> None:
        out_console.print(str(app_from(data).database.chain_head()))

    run(body)


# The whole group, every command (`engine.cli.app.main` builds only the one invoked).
app = commands.app()
