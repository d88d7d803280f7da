"""A plain line printed without rich reads exactly as rich prints it (issue #13).

`engine.cli.common.out_console` writes a line that rich would print unchanged straight to
standard output, so that a command printing one line (`incident fire`) does not import rich.
These tests render the same lines through the real standard-output console, to a file and to
a terminal of any width, and compare; and check that everything rich would change (markup,
escapes, emoji codes, tabs) still goes through rich.
"""

from __future__ import annotations

import io
import sys
from typing import TextIO, cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.cli import consoles
from engine.cli.common import LazyConsole, is_plain, out_console
from engine.cli.terminal import SafeStream

# Letters, digits, spaces (trailing too), punctuation with ':' and ']', newlines, wide and
# combining characters, control characters (the stream strips those, as for rich).
ALPHABET = st.sampled_from(
    [
        *"abcåäöÅ 019 .,;:]()–—-_/\\'\"!?*#<>{}=\n",
        *("漢", "字", "\u0301", "\u200b", "😀"),
        *("\x07", "\x08", "\r", "\x1b", "\x9b", "\x00"),
    ]
)


def safe(buffer: io.StringIO) -> TextIO:
    """`buffer` behind the control-stripping stream standard output has."""
    return cast(TextIO, SafeStream(lambda: buffer))


def rich_printed(text: str, *, terminal: bool, width: int) -> str:
    """`text` as the standard-output console (`engine.cli.consoles`) prints it."""
    buffer = io.StringIO()
    console = consoles._OutConsole(
        file=safe(buffer),
        highlight=False,
        soft_wrap=True,
        force_terminal=terminal,
        width=width,
    )
    console.print(text)
    return buffer.getvalue()


def plain_printed(text: str) -> str:
    buffer = io.StringIO()
    console = LazyConsole(consoles.standard_output, plain=lambda: safe(buffer))
    console.print(text)
    return buffer.getvalue()


@given(st.text(ALPHABET, max_size=120), st.booleans(), st.integers(10, 200))
def test_a_plain_line_reads_as_rich_prints_it(text: str, terminal: bool, width: int) -> None:
    if not is_plain(text):
        return
    assert plain_printed(text) == rich_printed(text, terminal=terminal, width=width)


def test_the_fire_line_is_plain_and_long_lines_are_not_wrapped() -> None:
    line = "Klart: Lägesuppdatering (post_update) – läge nu: Avbrott i IT-tjänsten (outage). " * 3
    assert is_plain(line)
    assert plain_printed(line) == rich_printed(line, terminal=True, width=40) == line + "\n"


@pytest.mark.parametrize(
    "text",
    ["[bold]x[/]", "a \\[b]", "tab\there", ":smile:", "a :+1: b", "Klart:x:", "::"],
)
def test_what_rich_would_change_is_not_plain(text: str) -> None:
    assert not is_plain(text)


def test_a_line_with_markup_is_printed_by_rich(capsys: pytest.CaptureFixture[str]) -> None:
    """Markup is still rich's (here: its styles dropped on a pipe), and so are options."""
    out_console.print("[bold]fet[/] text :smile:")
    out_console.print("a", "b")
    assert capsys.readouterr().out == "fet text 😄\na b\n"


def test_plain_lines_go_to_the_current_standard_output(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Looked up on every line, as rich's console does (a test runner may replace it)."""
    out_console.print("första raden")
    replaced = io.StringIO()
    saved, sys.stdout = sys.stdout, replaced
    try:
        out_console.print("andra raden\x1b]0;titel\x1b\\")
    finally:
        sys.stdout = saved
    assert capsys.readouterr().out == "första raden\n"
    assert replaced.getvalue() == "andra raden\n"
