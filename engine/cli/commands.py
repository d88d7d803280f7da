"""`Commands`: a command group's commands, put on a Typer app when it is built — every one of
them, or only the one the command line invokes.

Typer turns each command it is given into a click command, options, types and all, before it
runs any (about a millisecond each: 13 ms for the `incident` group's eleven, issue #13). A
group module records its commands here (`@commands.command(NAME)` instead of
`@app.command(NAME)`); `engine.cli.app.main` then gives Typer only the invoked one
(`commands.app(only=NAME)`), which parses, helps and errs exactly as in the whole group, where
a command line of that group names that command anyway. Anything else (the group's help, an
unknown command and its "did you mean", no command) runs the whole group (`commands.app()`),
as tests and `engine.cli.app.whole` always do. Registration uses only Typer's `app.command`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import typer

from engine.cli.help import command_app, group_app

F = TypeVar("F", bound=Callable[..., Any])


class Commands:
    """The commands of the group `name` (or, without a name, commands that another group
    `include`s), in the order they were recorded."""

    def __init__(self, name: str | None = None) -> None:
        self.name = name
        self._entries: list[tuple[str, dict[str, Any], Callable[..., Any]]] = []

    def command(self, name: str, **options: Any) -> Callable[[F], F]:
        """Record the decorated function as the command `name` (`typer.Typer.command`'s
        options); the function itself is unchanged."""

        def record(function: F) -> F:
            self._entries.append((name, options, function))
            return function

        return record

    def include(self, other: Commands) -> None:
        """Add every command `other` has recorded, after this group's own."""
        self._entries.extend(other._entries)

    def names(self) -> list[str]:
        return [name for name, _, _ in self._entries]

    def app(self, only: str | None = None) -> typer.Typer:
        """A Typer app of the group (its help line from `engine.cli.help.GROUPS`) with every
        command, or with the command `only` alone."""
        app = group_app(self.name) if self.name is not None else command_app()
        if only is not None:
            # Typer runs an app of one command as that command, not as a group of one
            # ("driftplan incident [OPTIONS]" in its usage): a callback keeps it a group.
            app.callback()(_group)
        for name, options, function in self._entries:
            if only is None or name == only:
                app.command(name, **options)(function)
        return app


def _group() -> None:
    """The group itself does nothing: its command does."""
