"""The rich consoles the command line prints through, built when the first line is printed.

Imported by `engine.cli.common`'s console handles on their first use, never at start-up: rich
costs a command that prints nothing through it (`--help`, a usage error) tens of milliseconds
(issue #13, tests/unit/test_cli_startup.py).
"""

from __future__ import annotations

from rich.console import Console, ConsoleDimensions

from engine.cli.terminal import safe_stderr, safe_stdout

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


def standard_output() -> Console:
    """Standard output's console (control sequences stripped, `engine.cli.terminal`)."""
    return _OutConsole(file=safe_stdout(), highlight=False, soft_wrap=True)


def standard_error() -> Console:
    """Standard error's console (control sequences stripped, `engine.cli.terminal`)."""
    return Console(file=safe_stderr(), highlight=False)
