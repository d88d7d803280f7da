"""The `driftplan` root command: every command group attached in one place, and `main`.

Each group is a module with its own `typer.Typer`. The top-level commands (validate, diagram,
init, exercise, channels, worker, serve, doctor) come from groups attached without a name
(`TOP_LEVEL`), which Typer merges into the root; the others are attached as subcommand groups
(`engine.cli.help.GROUPS`). The order here is the order `driftplan --help` lists them in.

Start-up (issue #13): each time the program starts, Typer builds every command it is given,
options and all, and each group's module must be imported for that. So `main` gives Typer only
what the command line asks for. `driftplan incident ...` runs the `incident` group's app as
the root of the command line, named `driftplan incident` (so usage lines and errors read as
before); anything else (`--help`, a top-level command, a mistake) runs a root of the top-level
commands and, for each named group, a stand-in with its name and help line only, which is all
the root's help and its "No such command" need of it. Within a group, Typer is given only the
invoked command (`group_for`, `engine.cli.commands`). `app` is the whole command line, every
group real, for tests and tools that drive it in-process; it is built on first use.
"""

from __future__ import annotations

import sys
from functools import cache
from importlib import import_module

import typer

from engine.cli.collection import starting
from engine.cli.commands import Commands
from engine.cli.help import GROUPS, command_app
from engine.cli.usage import SERVICES, run_app

HELP = "driftplan – run an outage communication plan."
# Modules whose nameless apps hold the top-level commands.
TOP_LEVEL = ("plans", "exercise", "channels", "worker", "serve", "doctor")


def _module_app(module: str) -> typer.Typer:
    app: typer.Typer = import_module(f"engine.cli.{module}").app
    return app


def root(*, stand_ins: bool = False) -> typer.Typer:
    """The root command: the top-level commands and the named groups (with `stand_ins`, each
    group only its name and help line, and its module is not imported)."""
    app = command_app(HELP, no_args_is_help=True)
    for module in TOP_LEVEL:
        app.add_typer(_module_app(module))
    for name, help_line in GROUPS.items():
        group = command_app() if stand_ins else _module_app(name)
        app.add_typer(group, name=name, help=help_line)
    return app


@cache
def whole() -> typer.Typer:
    """The whole command line, every group real (what `app` is)."""
    return root()


def __getattr__(name: str) -> typer.Typer:
    # `from engine.cli.app import app`: the whole command line, built when first asked for.
    if name == "app":
        return whole()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    """Console-script entry point: usage errors in the user's language (`engine.cli.usage`);
    garbage collection off while the command starts (`engine.cli.collection`)."""
    args = sys.argv[1:]
    starting(service=bool(args) and args[0] in SERVICES)
    if args and args[0] in GROUPS:
        run_app(group_for(args[0], args[1:]), args[1:], prog_name=f"driftplan {args[0]}")
    else:
        run_app(root(stand_ins=True), args)


def group_for(name: str, args: list[str]) -> typer.Typer:
    """The app that runs `driftplan NAME ARGS`: the invoked command alone when `ARGS` begin
    with one of the group's commands, else the whole group (`engine.cli.commands`)."""
    commands: Commands = import_module(f"engine.cli.{name}").commands
    if args and args[0] in commands.names():
        return commands.app(only=args[0])
    return commands.app()
