"""What every command of the `driftplan` command line shares.

Every command builds the app from settings (env DRIFTPLAN_* plus --data), runs one use case and
prints a readable table (Swedish by default, English with --lang en) or JSON with --json.
Errors map to exit codes here and only here (`run`): 0 success, 1 refused / invalid / not found /
conflict (message on stderr), 2 usage.

The command groups live in their own modules, each with its own `typer.Typer`; the root
application that gathers them is `engine.cli.app`.

Every command module imports this one, and all of them are imported to print `--help`, so it
imports nothing heavy itself (issue #13): rich (the consoles, `new_table`, `escape`), the text
catalogue (`t`, `label`), the settings and the engine are imported when first used.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TextIO, TypeVar

import typer

if TYPE_CHECKING:
    from pydantic import ValidationError
    from rich.console import Console
    from rich.table import Table

    from engine.bootstrap import App
    from engine.errors import DriftplanError
    from engine.settings import Settings
from engine.cli.terminal import escape_for_json, safe_stdout

T = TypeVar("T")

DataOpt = Annotated[Path | None, typer.Option("--data", help="Data folder (DRIFTPLAN_DATA).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for tools.")]
AsOpt = Annotated[str, typer.Option("--as", help="Your person id in the directory.")]
SetOpt = Annotated[list[str] | None, typer.Option("--set", help="KEY=VALUE (repeatable).")]
LangOpt = Annotated[str | None, typer.Option("--lang", help="sv or en (DRIFTPLAN_LANG).")]


class LazyConsole:
    """A rich console made on first use (`engine.cli.consoles`): commands that print nothing
    through rich, such as `--help`, never import it (issue #13).

    With `plain`, a line that rich would print exactly as it is (`is_plain`) is written to that
    stream instead, without importing rich: a command that prints one line of text, such as
    `incident fire`, starts without it. Only standard output's console does this: it never
    wraps (soft wrap), so rich prints such a line unchanged at any width, on a terminal or not
    (tests/unit/test_plain_lines.py compares the two).
    """

    def __init__(
        self, make: Callable[[], Console], plain: Callable[[], TextIO] | None = None
    ) -> None:
        self._make = make
        self._plain = plain
        self._console: Console | None = None

    @property
    def console(self) -> Console:
        """The rich console itself, made now if this is its first use."""
        if self._console is None:
            self._console = self._make()
        return self._console

    def print(self, *objects: Any, **options: Any) -> None:
        """`rich.console.Console.print`."""
        if (
            self._plain is not None
            and not options
            and len(objects) == 1
            and isinstance(objects[0], str)
            and is_plain(objects[0])
        ):
            stream = self._plain()
            stream.write(objects[0].translate(_RICH_STRIPS) + "\n")
            stream.flush()  # as rich does after each print
            return
        self.console.print(*objects, **options)

    def rule(self, title: str = "", **options: Any) -> None:
        """`rich.console.Console.rule`."""
        self.console.rule(title, **options)


def _standard_output() -> Console:
    from engine.cli.consoles import standard_output

    return standard_output()


def _standard_error() -> Console:
    from engine.cli.consoles import standard_error

    return standard_error()


# What rich's print would change in a line of text: markup and its escapes (`[`), tabs (set to
# the next tab stop) and emoji codes (`:name:`, any two colons with no space between them).
_RICH_SYNTAX = re.compile(r"[\[\t]|:\S*:")
# The control characters rich drops from any text before the stream strips the rest (BEL, BS,
# VT, FF, CR): dropped first here too, since what remains can then form an escape sequence.
_RICH_STRIPS = dict.fromkeys((7, 8, 11, 12, 13))


def is_plain(text: str) -> bool:
    """Whether rich (markup and emoji codes on, no highlighting, no wrapping) prints `text`
    exactly as it is; control characters are the stream's to strip (`engine.cli.terminal`)."""
    return _RICH_SYNTAX.search(text) is None


err_console = LazyConsole(_standard_error)
out_console = LazyConsole(_standard_output, plain=safe_stdout)


def t(key: str, language: str, **values: object) -> str:
    """`engine.texts.t`: the catalogue is imported when a command prints, not by `--help`."""
    from engine.texts import t as text

    return text(key, language, **values)


def label(prefix: str, value: str, language: str) -> str:
    """`engine.texts.label`, imported on first use as `t` is."""
    from engine.texts import label as text_label

    return text_label(prefix, value, language)


def new_table(**options: Any) -> Table:
    """A `rich.table.Table` (rich is imported when a command prints, not by `--help`)."""
    from rich.table import Table

    return Table(**options)


def escape(text: str) -> str:
    """`rich.markup.escape`: `text` printed as it is, never read as rich markup."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


_language = {"current": ""}  # the language of the running command, for its error messages


def settings_from(data: Path | None, lang: str | None = None) -> Settings:
    """The settings of this command (environment plus --data/--lang); its errors' language.

    An invalid environment variable is a ConfigurationError that names it (exit 1, in the
    operator's language), not pydantic's traceback."""
    from pydantic import ValidationError

    from engine.settings import Settings

    if lang:  # so that an error reading the rest is told in it too
        _language["current"] = lang
    try:
        settings = Settings.load(data=data, lang=lang)
    except ValidationError as error:
        raise invalid_settings(error) from None
    _language["current"] = settings.lang
    return settings


def invalid_settings(error: ValidationError) -> DriftplanError:
    """What is wrong with the settings, by environment variable: `DRIFTPLAN_POLL_SECONDS='x'`
    is not a number (the English detail is pydantic's)."""
    from engine.errors import ConfigurationError
    from engine.settings import variable

    found = [
        (variable(str(problem["loc"][0])) if problem["loc"] else "DRIFTPLAN_*", problem)
        for problem in error.errors(include_url=False)
    ]
    english = "; ".join(f"{name}={p['input']!r} is not valid: {p['msg']}" for name, p in found)
    swedish = "; ".join(f"{name}={p['input']!r} är inte giltig ({p['msg']})" for name, p in found)
    return ConfigurationError(english, sv=swedish)


def app_from(data: Path | None, lang: str | None = None) -> App:
    """The wired application for this command's options (see `engine.bootstrap.build`)."""
    from engine.bootstrap import build
    from engine.cli.collection import started

    application = build(settings_from(data, lang), origin=cli_origin())
    started()
    return application


def cli_origin() -> dict[str, str]:
    """Who really ran this command: `--as` names a directory person, but anyone with a shell
    on the server can claim any id, so the event log also records the operating-system user
    and host (the local CLI is an administrator's tool; the web service signs people in)."""
    import pwd
    import socket

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
    from engine.errors import DriftplanError

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
    from engine.errors import DriftplanError

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
    import json

    text = json.dumps(value, ensure_ascii=False, indent=2, default=str)
    sys.stdout.write(escape_for_json(text) + "\n")
