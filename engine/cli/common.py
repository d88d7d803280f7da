"""The `driftplan` command line: the operator's and the administrator's tool.

Every command builds the app from settings (env DRIFTPLAN_* plus --data), runs one use case and
prints a readable table (Swedish by default, English with --lang en) or JSON with --json.
Errors map to exit codes here and only here: 0 success, 1 refused / invalid / not found /
conflict (message on stderr), 2 usage.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from engine.bootstrap import App, build
from engine.errors import DriftplanError
from engine.settings import Settings
from engine.texts import t

T = TypeVar("T")

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="driftplan – run an outage communication plan."
)
incident_app = typer.Typer(no_args_is_help=True, help="Declare, advance and inspect incidents.")
directory_app = typer.Typer(no_args_is_help=True, help="People, roles and contact lists.")
audit_app = typer.Typer(no_args_is_help=True, help="Check the tamper-evident event log.")
app.add_typer(incident_app, name="incident")
app.add_typer(directory_app, name="directory")
app.add_typer(audit_app, name="audit")

DataOpt = Annotated[Path | None, typer.Option("--data", help="Data folder (DRIFTPLAN_DATA).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for tools.")]
AsOpt = Annotated[str, typer.Option("--as", help="Your person id in the directory.")]
SetOpt = Annotated[list[str] | None, typer.Option("--set", help="KEY=VALUE (repeatable).")]
LangOpt = Annotated[str | None, typer.Option("--lang", help="sv or en (DRIFTPLAN_LANG).")]

err_console = Console(stderr=True, highlight=False)
out_console = Console(highlight=False, soft_wrap=True)


_language = {"current": ""}  # the language of the running command, for its error messages


def _settings(data: Path | None, lang: str | None = None) -> Settings:
    settings = Settings.load(data=data, lang=lang)
    _language["current"] = settings.lang
    return settings


def _app(data: Path | None, lang: str | None = None) -> App:
    return build(_settings(data, lang))


def run(body: Callable[[], T]) -> T:
    """Run a command body; print a DriftplanError on stderr and exit 1 (the one mapping)."""
    try:
        return body()
    except DriftplanError as exc:
        language = _language["current"] or os.environ.get("DRIFTPLAN_LANG", "sv")
        label = "fel" if language == "sv" else "error"
        err_console.print(f"[bold red]{label}:[/] {escape(exc.text(language))}", highlight=False)
        raise typer.Exit(1) from None


def parse_sets(items: list[str] | None) -> dict[str, str]:
    """`--set KEY=VALUE` pairs; a malformed one is a usage error (exit 2)."""
    values: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint="--set")
        values[key.strip()] = value
    return values


def emit_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2, default=str) + "\n")


# --------------------------------------------------------------------- plans
@app.command()
def validate(
    paths: Annotated[
        list[str] | None, typer.Argument(help="Plan files (default workflows/*.yaml)")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Check plan files; prints path:line:col: error: message for every problem."""
    from engine.definition.report import run_validate  # noqa: PLC0415

    code, text = run_validate(list(paths or []), as_json=as_json, known_kinds=None)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    raise typer.Exit(code)


@app.command()
def diagram(
    path: str,
    fmt: Annotated[str, typer.Option("--format", help="mermaid or dot")] = "mermaid",
) -> None:
    """Draw a plan's state machine with triggers, gates and timers."""
    from engine.definition.report import run_diagram  # noqa: PLC0415

    if fmt not in ("mermaid", "dot"):
        raise typer.BadParameter("use mermaid or dot", param_hint="--format")
    text = run(lambda: run_diagram(path, fmt))
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


@app.command()
def init(data: DataOpt = None) -> None:
    """Create the data folder and the database (idempotent)."""

    def body() -> None:
        application = _app(data)
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


# ----------------------------------------------------------------- directory
@directory_app.command("import")
def directory_import(file: Path, data: DataOpt = None) -> None:
    """Validate and load a directory file (people, roles, contact lists)."""

    def body() -> None:
        from engine.service.directory_admin import import_directory  # noqa: PLC0415

        application = _app(data)
        summary = import_directory(application, file)
        out_console.print(t("directory_imported", application.settings.lang, **summary))

    run(body)


@directory_app.command("show")
def directory_show(data: DataOpt = None, as_json: JsonOpt = False, lang: LangOpt = None) -> None:
    """Print the people and contact lists in the directory."""

    def body() -> None:
        from engine.service.directory_admin import directory_snapshot  # noqa: PLC0415

        application = _app(data, lang)
        snapshot = directory_snapshot(application)
        if as_json:
            emit_json(snapshot)
            return
        language = application.settings.lang
        table = Table(title=t("people", language))
        for col in ("id", "name", "email", "roles", "subregion"):
            table.add_column(t(col, language))
        for p in snapshot["people"]:
            table.add_row(
                p["id"], p["name"], p["email"], ", ".join(p["roles"]), p.get("subregion") or ""
            )
        out_console.print(table)
        lists = Table(title=t("lists", language))
        lists.add_column(t("list", language))
        lists.add_column(t("members", language))
        for name, members in snapshot["lists"].items():
            lists.add_row(name, str(len(members)))
        out_console.print(lists)

    run(body)


from engine.cli import exercise as _cli_exercise  # noqa: E402
from engine.cli import incident as _cli_incident  # noqa: E402  (registers incident commands)
from engine.cli import more as _cli_more  # noqa: E402  (audit, outbox, worker, ...)
from engine.cli import subscribers as _cli_subscribers  # noqa: E402

_ = (_cli_incident, _cli_more, _cli_subscribers, _cli_exercise)


def main() -> None:
    """Console-script entry point."""
    app()
