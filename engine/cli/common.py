"""What every command of the `driftplan` command line shares.

Every command builds the app from settings (env DRIFTPLAN_* plus --data), runs one use case and
prints a readable table (Swedish by default, English with --lang en) or JSON with --json.
Errors map to exit codes here and only here (`run`): 0 success, 1 refused / invalid / not found /
conflict (message on stderr), 2 usage.

The command groups live in their own modules, each with its own `typer.Typer`; the root
application that gathers them is `engine.cli.app`.
"""

from __future__ import annotations

import json
import os
import pwd
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console, ConsoleDimensions
from rich.markup import escape

if TYPE_CHECKING:
    from engine.bootstrap import App
    from engine.settings import Settings
from engine.cli.terminal import escape_for_json, safe_stderr, safe_stdout
from engine.errors import DriftplanError

T = TypeVar("T")

DataOpt = Annotated[Path | None, typer.Option("--data", help="Data folder (DRIFTPLAN_DATA).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for tools.")]
AsOpt = Annotated[str, typer.Option("--as", help="Your person id in the directory.")]
SetOpt = Annotated[list[str] | None, typer.Option("--set", help="KEY=VALUE (repeatable).")]
LangOpt = Annotated[str | None, typer.Option("--lang", help="sv or en (DRIFTPLAN_LANG).")]

# Piped output is read by programs (grep, awk, a shell loop over ids): with no terminal there is
# no width to fit, and fitting to rich's default 80 columns cut ids short with "…".
PIPED_WIDTH = 1000


class _OutConsole(Console):
    """Standard output's console: a terminal's width on a terminal, `PIPED_WIDTH` otherwise."""

    @property
    def size(self) -> ConsoleDimensions:
        measured = super().size
        if self.is_terminal:
            return measured
        return ConsoleDimensions(max(measured.width, PIPED_WIDTH), measured.height)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        Console.size.fset(self, new_size)  # type: ignore[attr-defined]


err_console = Console(file=safe_stderr(), highlight=False)
out_console = _OutConsole(file=safe_stdout(), highlight=False, soft_wrap=True)


_language = {"current": ""}  # the language of the running command, for its error messages


def settings_from(data: Path | None, lang: str | None = None) -> Settings:
    """The settings of this command (environment plus --data/--lang); its errors' language."""
    from engine.settings import Settings

    settings = Settings.load(data=data, lang=lang)
    _language["current"] = settings.lang
    return settings


def app_from(data: Path | None, lang: str | None = None) -> App:
    """The wired application for this command's options (see `engine.bootstrap.build`)."""
    from engine.bootstrap import build

    return build(settings_from(data, lang), origin=cli_origin())


def cli_origin() -> dict[str, str]:
    """Who really ran this command: `--as` names a directory person, but anyone with a shell
    on the server can claim any id, so the event log also records the operating-system user
    and host (the local CLI is an administrator's tool; the web service signs people in)."""
    try:
        user = pwd.getpwuid(os.getuid()).pw_name
    except KeyError:  # a uid without a passwd entry (containers)
        user = str(os.getuid())
    return {"via": "cli", "os_user": user, "host": socket.gethostname()}


def error_language() -> str:
    """The command's language, else the installation's (DRIFTPLAN_LANG), else Swedish."""
    from engine.settings import Settings

    if _language["current"]:
        return _language["current"]
    try:
        return Settings.load().lang
    except Exception:  # settings that cannot even be read must not hide the error itself
        return "sv"


def run(body: Callable[[], T]) -> T:
    """Run a command body; print a DriftplanError on stderr and exit 1 (the one mapping)."""
    try:
        return body()
    except DriftplanError as exc:
        language = error_language()
        label = "fel" if language == "sv" else "error"
        err_console.print(f"[bold red]{label}:[/] {escape(exc.text(language))}", highlight=False)
        raise typer.Exit(1) from None


def audience_title(application: App, audience: str, language: str) -> str:
    """An audience by its title in the plan with its id beside it; the id if it is unclear."""
    from engine.definition.schema import localized

    try:
        spec = application.plans.current().workflow.audiences.get(audience)
    except DriftplanError:  # several plans, or none valid: the id still says which
        spec = None
    if spec is None:
        return audience
    return f"{localized(spec.title, language)} ({audience})"


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
    text = json.dumps(value, ensure_ascii=False, indent=2, default=str)
    sys.stdout.write(escape_for_json(text) + "\n")
