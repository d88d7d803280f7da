"""Help pages in plain text, by click's formatter, not in rich's boxes; the groups' help lines.

Typer draws help with rich when rich is installed (`typer.rich_utils`, which imports rich's
Markdown and traceback renderers): about 70 ms of every `driftplan --help` (issue #13). Every
app of the command line is made here with Typer's documented switch for plain help
(`rich_markup_mode=None`), and click's formatter prints the same pages as text. One difference
is mended here: in a group's list of commands click cuts each command's line at its first full
stop or at the terminal's width ("Fire a trigger (e.g."), where rich showed the whole first
paragraph; `CommandGroup` lists it whole, wrapped, as rich did.

`GROUPS` holds each named group's help line, so that the root's help can list the groups
without importing them (`engine.cli.app`).
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

# The named groups (each in engine.cli.<name>) and their help lines, in `driftplan --help` order.
GROUPS = {
    "incident": "Declare, advance and inspect incidents.",
    "directory": "People, roles and contact lists.",
    "audit": "Check the tamper-evident event log.",
    "outbox": "Deliver and inspect outgoing messages.",
    "subscribers": "Newsletter subscribers (double opt-in: add, then confirm).",
    "users": "Web sign-in: passwords and API tokens.",
}


def summary(help_text: str) -> str:
    """A command's line in its group's list: the first paragraph of its help, on one line."""
    words = help_text.split("\n\n", 1)[0].split()
    if words and words[0] == "\b":  # click's "do not rewrap" marker, not text
        words = words[1:]
    return " ".join(words)


class CommandGroup(TyperGroup):
    """A command group whose help lists every command with its whole first paragraph."""

    # click's documented hook for a group's command list. The context and formatter are click's
    # (typer's own copy of click, which it does not export by name: hence Any).
    def format_commands(self, ctx: Any, formatter: Any) -> None:
        rows: list[tuple[str, str]] = []
        for name in self.list_commands(ctx):
            command: Any = self.get_command(ctx, name)
            if command is None or command.hidden:
                continue
            rows.append((name, summary(command.short_help or command.help or "")))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def command_app(help_text: str | None = None, **options: Any) -> typer.Typer:
    """A Typer app of this command line: plain help, a full command list, no shell-completion
    options. A named group's app (`help_text` from `GROUPS`) also runs as the root of its
    command lines (`engine.cli.app.main`), so it needs all of that itself."""
    return typer.Typer(
        cls=CommandGroup,
        rich_markup_mode=None,  # plain help: no typer.rich_utils
        add_completion=False,
        help=help_text,
        **options,
    )


def group_app(name: str) -> typer.Typer:
    """The app of the named group `name`, with its help line; without arguments it shows its
    help."""
    return command_app(GROUPS[name], no_args_is_help=True)
