"""Swedish for command-line usage errors: Typer's (missing options, unknown commands, values
it cannot convert) and our own `typer.BadParameter` messages.

Typer words these in English and offers no catalogue to swap, so `engine.cli.usage` catches the
error and finds its Swedish here by the English sentence's shape, as `engine.texts.errors` does
for driftplan's own errors. A shape that Typer rewords in a later release stops matching and the
message stays English; tests/e2e/test_cli_swedish.py meets every kind of usage error and says so.
"""

from __future__ import annotations

import re
from functools import cache

TEXTS: dict[str, dict[str, str]] = {
    "usage": {"sv": "Användning:", "en": "Usage:"},
    "usage_help": {"sv": "Hjälp: {command} --help", "en": "Help: {command} --help"},
    "usage_error": {"sv": "fel", "en": "error"},
    "aborted": {"sv": "Avbrutet.", "en": "Aborted."},
}

# Typer's placeholders in a usage line, and what a Swedish reader sees instead.
USAGE_WORDS = {
    "[OPTIONS]": "[FLAGGOR]",
    "COMMAND [ARGS]...": "KOMMANDO [ARGUMENT]...",
}

_KIND = {"option": "Flaggan", "argument": "Argumentet", "parameter": "Parametern"}

# (English shape, Swedish wording); the whole message must match. `{value_sv}` is the Swedish
# of a nested `value` part (a value error inside "Invalid value for ...").
SHAPES: list[tuple[str, str]] = [
    (
        r"Missing (?P<kind>option|argument|parameter) (?P<name>'[^']*')\.",
        "{kind_sv} {name} saknas.",
    ),
    (r"No such option: (?P<name>\S+)", "Flaggan {name} finns inte."),
    (
        r"No such option: (?P<name>\S+) \(Possible options: (?P<known>.*)\)",
        "Flaggan {name} finns inte (menar du någon av {known}?).",
    ),
    (r"No such command (?P<name>'[^']*')\.", "Kommandot {name} finns inte."),
    (
        r"No such command (?P<name>'[^']*')\. Did you mean (?P<known>.*)\?",
        "Kommandot {name} finns inte. Menar du {known}?",
    ),
    (r"Missing command\.", "Ange ett kommando."),
    (r"Got unexpected extra argument\(s\) \((?P<extra>.*)\)", "Okända extra argument: {extra}."),
    (r"Option (?P<name>'[^']*') requires an argument\.", "Flaggan {name} behöver ett värde."),
    (
        r"Option (?P<name>'[^']*') requires (?P<n>\d+) arguments\.",
        "Flaggan {name} behöver {n} värden.",
    ),
    (r"Option (?P<name>'[^']*') does not take a value\.", "Flaggan {name} tar inget värde."),
    (r"Invalid value for (?P<name>\S+): (?P<value>.*)", "Ogiltigt värde för {name}: {value_sv}"),
    (r"Invalid value: (?P<value>.*)", "Ogiltigt värde: {value_sv}"),
]

# The reasons inside "Invalid value for X: ...": Typer's conversions and our own checks.
VALUE_SHAPES: list[tuple[str, str]] = [
    (r"Input should be greater than or equal to (?P<n>\S+)", "värdet ska vara minst {n}."),
    (r"Input should be less than or equal to (?P<n>\S+)", "värdet ska vara högst {n}."),
    (r"Input should be greater than (?P<n>\S+)", "värdet ska vara större än {n}."),
    (r"Input should be less than (?P<n>\S+)", "värdet ska vara mindre än {n}."),
    (r"Input should be a valid number.*", "ange ett tal."),
    (r"Input should be a valid integer.*", "ange ett heltal."),
    (r"Input should be a valid boolean.*", "ange true eller false."),
    (
        r"(?:Value error, )?(?P<value>'[^']*') is not one of (?P<known>.*)\.",
        "{value} är inte något av {known}.",
    ),
    (r"expected KEY=VALUE, got (?P<value>.*)", "skriv NYCKEL=VÄRDE, inte {value}."),
    (r"use mermaid or dot", "välj mermaid eller dot."),
    (r"must be positive", "värdet måste vara större än noll."),
    (r"give ID TRIGGER, or --declare", "ange ID och åtgärd, eller --declare."),
    (r"give the trigger to preview", "ange åtgärden som ska förhandsgranskas."),
    (
        r"expected SEQ:HASH \(e\.g\. (?P<example>\S+)\), got (?P<value>.*)",
        "skriv SEQ:HASH (t.ex. {example}), inte {value}.",
    ),
]


# Compiled when a usage error is first worded, not when the catalogue is imported (every
# command that prints imports it: issue #13).
@cache
def _compiled(shapes: tuple[tuple[str, str], ...]) -> list[tuple[re.Pattern[str], str]]:
    return [(re.compile(shape, re.DOTALL), sv) for shape, sv in shapes]


def _first(shapes: list[tuple[str, str]], message: str) -> tuple[str, dict[str, str]] | None:
    for shape, sv in _compiled(tuple(shapes)):
        found = shape.fullmatch(message)
        if found is not None:
            return sv, found.groupdict()
    return None


def swedish_value(reason: str) -> str | None:
    """The Swedish for why a value was refused, or None when its shape is not known."""
    found = _first(VALUE_SHAPES, reason)
    return None if found is None else found[0].format(**found[1])


def swedish_usage(message: str) -> str | None:
    """The Swedish for a usage error's message, or None when its shape is not known."""
    found = _first(SHAPES, message)
    if found is None:
        return None
    sv, parts = found
    if "kind" in parts:
        parts["kind_sv"] = _KIND[parts["kind"]]
    if "value" in parts:
        value_sv = swedish_value(parts["value"])
        if value_sv is None:
            return None
        parts["value_sv"] = value_sv
    return sv.format(**parts)


def swedish_usage_line(line: str) -> str:
    """A usage line ("Usage: driftplan x [OPTIONS] ...") in Swedish."""
    line = line.replace("Usage:", TEXTS["usage"]["sv"], 1)
    for english, words in USAGE_WORDS.items():
        line = line.replace(english, words)
    return line
