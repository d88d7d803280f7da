"""Usage errors in the operator's language, and the terminal's share of the log.

Typer prints its usage errors ("Missing option", "No such command", "Usage:") in English, in
a box, itself. `run_app` runs the application with Typer's own error printing turned off
(`standalone_mode=False`), prints those errors here, in Swedish or English (the Swedish is
`engine.texts.usage`'s), and exits with Typer's exit code (2 for usage).

The language is the command's `--lang`, else the installation's (DRIFTPLAN_LANG), else Swedish,
as for driftplan's own errors (`engine.cli.common.run`): a usage error happens before the options
are parsed, so `--lang` is read from the raw arguments.

Logging: one-shot commands print their outcome in the operator's language, so the terminal gets
only log records from ERROR up (the English of a log is for the service log, DESIGN.md §4);
the long-running `worker` and `serve` are services whose output is a log, and keep warnings.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

import typer

from engine.cli.common import err_console, error_language, escape, t

SERVICES = ("worker", "serve")  # commands that run until stopped: their output is a log


def _language(args: Sequence[str]) -> str:
    for i, arg in enumerate(args):
        if arg == "--lang" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--lang="):
            return arg.split("=", 1)[1]
    return error_language()


def _log_to_terminal(args: Sequence[str]) -> None:
    service = bool(args) and args[0] in SERVICES
    logging.basicConfig(
        level=logging.WARNING if service else logging.ERROR,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def print_usage_error(error: typer.TyperException, language: str) -> None:
    """A usage error as three lines: the usage, where help is, and what is wrong."""
    from engine.texts.usage import swedish_usage, swedish_usage_line

    ctx = getattr(error, "ctx", None)  # set on usage errors; click documents it
    message = error.format_message()
    if ctx is not None:
        usage = ctx.get_usage()
        err_console.print(escape(swedish_usage_line(usage) if language == "sv" else usage))
        err_console.print(escape(t("usage_help", language, command=ctx.command_path)))
    text = (swedish_usage(message) if language == "sv" else None) or message
    err_console.print(f"[bold red]{t('usage_error', language)}:[/] {escape(text)}")


def run_app(
    app: typer.Typer, args: Sequence[str] | None = None, prog_name: str = "driftplan"
) -> None:
    """Run the command line and exit with its code; usage errors in the user's language.

    `prog_name` is how usage lines name the command: a group's app run as the root of its
    command lines (`engine.cli.app.main`) is `driftplan GROUP`, and `args` are its own."""
    argv = list(sys.argv[1:] if args is None else args)
    _log_to_terminal(argv)
    try:
        code = app(argv, standalone_mode=False, prog_name=prog_name)
    except typer.TyperException as error:
        # With no arguments a group raises this, carrying its help page, to end with code 2;
        # Typer tells it from other errors by its name, and so do we (its class is private).
        # The page goes to standard output, where `--help` prints it.
        if type(error).__name__ == "NoArgsIsHelpError":
            typer.echo(error.format_message())
        else:
            print_usage_error(error, _language(argv))
        sys.exit(getattr(error, "exit_code", 2))
    except typer.Abort:
        err_console.print(t("aborted", _language(argv)))
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
