"""Terminal safety: stored text (an operator's scope, a subscriber's name, a plan's title) must
not be able to drive another operator's terminal.

Everything the CLI prints for people goes through `SafeStream`, which passes text and rich's own
colour codes (SGR, `ESC [ ... m`) and drops every other control sequence and control character:
cursor movement, screen clearing, OSC window titles, hyperlinks and clipboard writes (OSC 52),
8-bit C1 controls, backspace and carriage return. JSON for tools escapes the same characters
instead, so the data stays whole.
"""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Callable
from typing import TextIO, cast

# Order matters: whole escape sequences first, then lone control characters.
_SEQUENCES = re.compile(
    r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC ... BEL/ST (titles, hyperlinks, clipboard)
    r"|\x1b[P^_X][^\x1b]*(?:\x1b\\)?"  # DCS, PM, APC, SOS strings
    r"|\x1b\[(?![0-9;]*m)[0-?]*[ -/]*[@-~]"  # CSI other than SGR (cursor, erase, ...)
    r"|\x1b(?!\[[0-9;]*m)[ -/]*[0-~]?"  # any other ESC (two-character sequences, a lone ESC)
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
    r"|[\x90\x9d\x9e\x9f][^\x07\x1b\x9c]*(?:\x07|\x9c|\x1b\\)?"  # 8-bit DCS/OSC/PM/APC
)
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1a\x1c-\x1f\x7f-\x9f]")
_JSON_UNSAFE = re.compile(r"[\x7f-\x9f]")  # json.dumps escapes C0 itself, not DEL and C1


def strip_controls(text: str) -> str:
    """`text` without control sequences or characters, except SGR colours, newline and tab."""
    return _CONTROLS.sub("", _SEQUENCES.sub("", text))


def escape_for_json(text: str) -> str:
    """JSON text with DEL and C1 controls as \\u escapes (still the same JSON value)."""
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class SafeStream(io.TextIOBase):
    """A text stream that strips control sequences on the way to the real stream.

    The real stream is looked up on every write (`sys.stdout` may be replaced by a test
    runner), and terminal detection is the real stream's, so rich still colours a terminal.
    """

    def __init__(self, target: Callable[[], TextIO]) -> None:
        self._target = target

    def write(self, text: str) -> int:
        self._target().write(strip_controls(text))
        return len(text)

    def flush(self) -> None:
        self._target().flush()

    def isatty(self) -> bool:
        return self._target().isatty()

    def fileno(self) -> int:
        return self._target().fileno()


def safe_stdout() -> TextIO:
    """Standard output, made safe."""
    return cast(TextIO, SafeStream(lambda: sys.stdout))


def safe_stderr() -> TextIO:
    """Standard error, made safe."""
    return cast(TextIO, SafeStream(lambda: sys.stderr))
