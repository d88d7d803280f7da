"""`driftplan validate`, `driftplan diagram` and `driftplan init`: plans and the installation.

Validation and drawing are `engine.definition.report`'s; this module hands them the workflows
folder (from `Settings`), the channel kinds the installation knows and the settings each declares
(from the registry, without importing any built-in channel), and where path settings may point
(the data folder and the publish root, from `Settings`).
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from engine.cli.common import DataOpt, JsonOpt, app_from, out_console, run, t

app = typer.Typer()


def _print(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


@app.command()
def validate(
    paths: Annotated[
        list[str] | None, typer.Argument(help="Plan files (default workflows/*.yaml)")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Check plan files and render their templates; prints path:line:col: error: message for
    every problem."""
    from engine.definition.report import run_validate
    from engine.plan_context import default_channels, path_roots
    from engine.settings import Settings

    settings = Settings.load()
    kinds = default_channels(settings.publish_root)
    code, text = run_validate(
        list(paths or []),
        workflows=settings.workflows,
        known_kinds=kinds.names(),
        declarations=kinds.declarations(),
        roots=path_roots(settings),
        as_json=as_json,
    )
    _print(text)
    raise typer.Exit(code)


@app.command()
def diagram(
    path: str,
    fmt: Annotated[str, typer.Option("--format", help="mermaid or dot")] = "mermaid",
) -> None:
    """Draw a plan's state machine with triggers, gates and timers."""
    from engine.definition.report import run_diagram
    from engine.plan_context import default_channels

    if fmt not in ("mermaid", "dot"):
        raise typer.BadParameter("use mermaid or dot", param_hint="--format")
    _print(run(lambda: run_diagram(path, fmt, known_kinds=default_channels().names())))


@app.command()
def init(data: DataOpt = None) -> None:
    """Create the data folder and the database (idempotent)."""

    def body() -> None:
        application = app_from(data)
        out_console.print(
            t(
                "init_done",
                application.settings.lang,
                data=str(application.settings.data.resolve()),
                db=application.settings.database_url
                or str((application.settings.data / "driftplan.db").resolve()),
            )
        )

    run(body)
