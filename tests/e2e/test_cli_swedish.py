"""Swedish mode speaks Swedish: every command of the CLI, on success and on the usual mistakes.

The commands are read from the Typer application itself, so a command added later has no
Swedish cases until someone writes them, and `test_every_command_has_swedish_cases` says so.
English is found with a list of English function words that Swedish text never contains, after
ids, paths, commands, option names and placeholders are taken out (`english_words`).

Left out on purpose: `--help` pages and the help a group prints when called without a command
(Typer builds them from docstrings at import time, in English; the issue is about messages and
errors), the body of `driftplan diagram` (Mermaid source) and the findings of `driftplan
validate` (plan-check errors are for plan authors, who read the plan's English keys; a Swedish
wording of every checker message would be machine-made), and the exercise's success run (half
a minute; its texts are the catalogue's, covered by tests/integration/test_exercise.py).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import typer
import typer.core

from engine.cli.app import app as cli_app
from tests.e2e.conftest import DECLARE_SETS, DIRECTORY, Workspace

# Words that are English and never Swedish (so "for", "by", "in", "plan", "status", "data",
# "incident", "version" and "live", which Swedish shares, are not here).
# A word list reads best as words; ruff would have it a list of 130 quoted strings.
ENGLISH = frozenset(
    """
    the is not with must unknown found should please use run does exist exists cannot invalid
    expected missing error usage options option argument arguments command commands such got and
    of to be are was were has have this that which there your you it its would could may from
    into only already nothing needs required allowed known possible try see show given none yet
    when what while pending confirmed unsubscribed sent retrying dead failed delivered declared
    waiting approved rejected done password token tokens revoked active subscribers subscriber
    audience audiences name field value state trigger triggers roles one give expected got value
    values mismatch differ missing aborted help
    """.split()  # noqa: SIM905
)

# Taken out before looking for words: URLs, e-mail addresses, quoted names ('x', "x", `x`),
# options (--set), KEY=VALUE, environment variables and placeholders (DRIFTPLAN_DATA, ID),
# paths and ids (anything with _ / @ or a digit in it, or . or : between letters).
_NOT_WORDS = (
    r"https?://\S+",
    r"\S+@\S+",
    r"'[^'\n]*'",
    r'"[^"\n]*"',
    r"`[^`\n]*`",
    r"--?[A-Za-z][\w-]*",
    r"\S+=\S*",
    r"\{[^}\s]*\}",  # Typer's placeholders for arguments: {incident_id}
    r"\[[a-z_]+\]",  # and for optional ones: [trigger]
    r"\([a-z][a-z_]*\)",  # an id beside its title: "Prenumeranter (subscribers)"
    r"\b[A-Z][A-Z0-9_]+\b",
    r"\S*[_/@0-9]\S*",
    r"\S*\w[.:]\w\S*",
)
LOG_RECORD = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ [A-Z]+ [\w.]+: ")
_WORD = re.compile(r"[A-Za-zÅÄÖåäöÉéÜü]+")


def english_words(text: str) -> list[str]:
    """The English words in `text`, after ids, paths, commands and options are taken out."""
    return [w for w in _WORD.findall(_strip().sub(" ", text)) if w.lower() in ENGLISH]


@functools.cache
def _strip() -> re.Pattern[str]:
    """`_NOT_WORDS` and command lines: "driftplan" and the command's words after it."""
    words = sorted({w for name in leaf_commands() for w in name.split()}, key=len, reverse=True)
    command = rf"driftplan(?: (?:{'|'.join(map(re.escape, words))})\b)*"
    return re.compile("|".join((command, *_NOT_WORDS)))


@functools.cache
def leaf_commands() -> dict[str, typer.core.TyperCommand]:
    """Every runnable command of `driftplan`, by its words ("incident declare")."""
    root = typer.main.get_command(cli_app)
    found: dict[str, typer.core.TyperCommand] = {}

    def walk(command: object, words: tuple[str, ...]) -> None:
        if isinstance(command, typer.core.TyperGroup):
            for name, sub in command.commands.items():
                walk(sub, (*words, name))
        else:
            assert isinstance(command, typer.core.TyperCommand)
            found[" ".join(words)] = command

    walk(root, ())
    return found


@dataclass(frozen=True)
class Case:
    """One command line; `code` is the exit code it must end with (None: any)."""

    args: tuple[str, ...]
    code: int | None = 0
    stdin: str | None = None


def ok(*args: str, stdin: str | None = None) -> Case:
    return Case(args, 0, stdin)


def refused(*args: str, stdin: str | None = None) -> Case:
    return Case(args, 1, stdin)


def usage(*args: str) -> Case:
    return Case(args, 2)


OPERATOR, CHAIR, NOBODY = "anna.andersson", "margareta.lund", "ingen.alls"
SETS = tuple(a for pair in DECLARE_SETS for a in ("--set", pair))

# {incident}, {approval}, {message} and {confirm} are filled in from the workspace's setup.
CASES: dict[str, list[Case]] = {
    "validate": [refused("validate", "finns-inte.yaml")],
    "diagram": [
        refused("diagram", "finns-inte.yaml"),
        usage("diagram", "workflows/samsa_outage.yaml", "--format", "svg"),
    ],
    "init": [ok("init")],
    "exercise": [
        usage("exercise"),
        refused("exercise", "--script", "finns-inte.yaml"),
    ],
    "channels": [ok("channels")],
    "worker": [ok("worker", "--once"), usage("worker", "--interval", "noll")],
    "serve": [refused("serve", "--host", "0.0.0.0"), usage("serve", "--port", "0")],
    "doctor": [Case(("doctor",), None)],
    "incident declare": [
        ok("incident", "declare", "--as", OPERATOR, *SETS),
        refused("incident", "declare", "--as", OPERATOR),
        refused("incident", "declare", "--as", OPERATOR, *SETS, "--set", "started_at=igår"),
        refused("incident", "declare", "--as", OPERATOR, *SETS, "--set", "okänd=1"),
        refused("incident", "declare", "--as", NOBODY, *SETS),
        refused("incident", "declare", "--as", CHAIR, *SETS),
        usage("incident", "declare", "--as", OPERATOR, "--set", "utan-likhetstecken"),
        refused("incident", "declare", "--as", OPERATOR, "--workflow", "finns_inte", *SETS),
    ],
    "incident list": [ok("incident", "list"), ok("incident", "list", "--all")],
    "incident show": [ok("incident", "show", "{incident}"), refused("incident", "show", "X1")],
    "incident actions": [
        ok("incident", "actions", "{incident}", "--as", OPERATOR),
        refused("incident", "actions", "X1", "--as", OPERATOR),
        refused("incident", "actions", "{incident}", "--as", NOBODY),
    ],
    "incident fire": [
        ok("incident", "fire", "{incident}", "post_update", "--as", OPERATOR),
        ok("incident", "fire", "{incident}", "enter_total_reserve", "--as", OPERATOR),
        refused("incident", "fire", "{incident}", "finns_inte", "--as", OPERATOR),
        refused("incident", "fire", "{incident}", "close", "--as", OPERATOR),
        refused("incident", "fire", "{incident}", "post_update", "--as", CHAIR),
        refused("incident", "fire", "X1", "post_update", "--as", OPERATOR),
        refused(
            "incident",
            "fire",
            "{incident}",
            "post_update",
            "--as",
            OPERATOR,
            "--set",
            "expected_resolution=imorgon bitti kanske",
        ),
    ],
    "incident approve": [
        refused("incident", "approve", "{approval}", "--as", OPERATOR),
        ok("incident", "approve", "{approval}", "--as", CHAIR),
        refused("incident", "approve", "{approval}", "--as", CHAIR),
        refused("incident", "approve", "X1", "--as", CHAIR),
        usage("incident", "approve", "{approval}", "--as", CHAIR, "--on-behalf-of"),
    ],
    "incident log": [ok("incident", "log", "{incident}"), refused("incident", "log", "X1")],
    "incident note": [
        ok("incident", "note", "{incident}", "--as", OPERATOR, "--text", "Ringt Cerner."),
        refused("incident", "note", "X1", "--as", OPERATOR, "--text", "Ringt Cerner."),
        refused("incident", "note", "{incident}", "--as", NOBODY, "--text", "Ringt Cerner."),
    ],
    "incident report": [
        ok(
            "incident",
            "report",
            "{incident}",
            "--as",
            OPERATOR,
            "--from",
            "Vårdcentral Ale",
            "--text",
            "Ingen åtkomst sedan 08.00.",
            "--via",
            "phone",
        ),
        refused(
            "incident",
            "report",
            "{incident}",
            "--as",
            OPERATOR,
            "--from",
            "Vårdcentral Ale",
            "--text",
            "Ingen åtkomst.",
            "--subregion",
            "finns_inte",
        ),
        usage(
            "incident",
            "report",
            "{incident}",
            "--as",
            OPERATOR,
            "--from",
            "Vårdcentral Ale",
            "--text",
            "Ingen åtkomst.",
            "--via",
            "brevduva",
        ),
    ],
    "incident messages": [
        ok("incident", "messages", "{incident}"),
        refused("incident", "messages", "X1"),
    ],
    "incident preview": [
        ok("incident", "preview", "--as", OPERATOR, "--declare", *SETS),
        ok("incident", "preview", "{incident}", "post_update", "--as", OPERATOR),
        usage("incident", "preview", "--as", OPERATOR),
        usage("incident", "preview", "{incident}", "--as", OPERATOR),
        refused("incident", "preview", "X1", "post_update", "--as", OPERATOR),
    ],
    "directory import": [
        ok("directory", "import", str(DIRECTORY)),
        refused("directory", "import", "finns-inte.yaml"),
    ],
    "directory show": [ok("directory", "show")],
    "audit verify": [
        ok("audit", "verify"),
        ok("audit", "verify", "{incident}"),
        refused("audit", "verify", "X1"),
        usage("audit", "verify", "--anchor", "inget-ankare"),
    ],
    "audit head": [ok("audit", "head")],
    "outbox deliver": [ok("outbox", "deliver", "--once")],
    "outbox retry": [
        refused("outbox", "retry", "X1", "--as", OPERATOR),
        refused("outbox", "retry", "{message}", "--as", OPERATOR),
        refused("outbox", "retry", "{message}", "--as", NOBODY),
    ],
    "outbox dead": [ok("outbox", "dead")],
    "subscribers add": [
        ok("subscribers", "add", "ny@example.se"),
        refused("subscribers", "add", "inte-en-adress"),
        refused("subscribers", "add", "ny@example.se", "--audience", "finns_inte"),
    ],
    "subscribers confirm": [
        ok("subscribers", "confirm", "{confirm}"),
        refused("subscribers", "confirm", "felaktig-nyckel"),
    ],
    "subscribers unsubscribe": [refused("subscribers", "unsubscribe", "felaktig-nyckel")],
    "subscribers list": [
        ok("subscribers", "list"),
        refused("subscribers", "list", "--status", "glad"),
    ],
    "users set-password": [
        ok("users", "set-password", OPERATOR, "--password-stdin", stdin="ett långt lösenord\n"),
        refused("users", "set-password", NOBODY, "--password-stdin", stdin="ett långt lösenord\n"),
    ],
    "users token": [ok("users", "token", OPERATOR), refused("users", "token", NOBODY)],
    "users tokens": [
        ok("users", "tokens", OPERATOR),
        refused("users", "tokens", OPERATOR, "--revoke", "X1"),
    ],
}

# Mistakes any command can meet, run for every command: an option it does not have, and
# (for commands with required parameters) nothing at all.
GENERIC = ("--finns-inte",)


def _setup(ws: Workspace) -> dict[str, str]:
    """An incident with a message and a pending decision, and a pending subscriber."""
    incident = ws.declare()
    fired = ws.fire(incident, "enter_total_reserve")
    message = ws.app.service.messages(incident)[0]
    subscriptions = ws.app.service.subscriptions
    pending = subscriptions.subscribe(
        audience=subscriptions.audiences()[0], email="vantar@example.se", name="Väntar"
    )
    return {
        "incident": incident,
        "approval": str(fired.approval_id),
        "message": message.id,
        "confirm": pending.token,
    }


def _swedish(ws: Workspace) -> Workspace:
    """The workspace with the installation's default language (Swedish) instead of English."""
    ws.env.pop("DRIFTPLAN_LANG", None)
    return ws


def _run_all(ws: Workspace, cases: Iterator[tuple[str, Case]]) -> list[str]:
    """Run each case; describe every wrong exit code and every line with English in it."""
    found: list[str] = []
    for name, case in cases:
        done = ws.run(*case.args, code=None, input=case.stdin)
        shown = " ".join(case.args)
        if case.code is not None and done.returncode != case.code:
            found.append(f"{shown}: exit {done.returncode}, not {case.code}: {done.stderr}")
        output = done.stderr if name in ("validate", "diagram") else done.stdout + done.stderr
        for line in output.splitlines():
            if LOG_RECORD.match(line):  # a service's log (worker, serve) is English: DESIGN §4
                continue
            if english_words(line):
                found.append(f"{shown}: {english_words(line)} in {line.strip()!r}")
    return found


def test_the_detector_finds_english_and_passes_swedish() -> None:
    """The English detector flags an English error and a click usage error, and passes their
    Swedish wordings, ids, paths and options included."""
    assert english_words("error: Incident 'X1' does not exist.")
    assert english_words("Error: Missing option '--as'.")
    assert english_words("Usage: driftplan incident declare [OPTIONS]")
    assert not english_words("fel: Incidenten 'X1' finns inte. Se driftplan incident list.")
    assert not english_words("Användning: driftplan incident show [FLAGGOR] INCIDENT_ID")
    assert not english_words("Ange --set started_at=now i workflows/samsa_outage.yaml:12.")


def test_every_command_has_swedish_cases() -> None:
    """Each command of the CLI has Swedish cases here (a new command needs them)."""
    assert sorted(leaf_commands()) == sorted(CASES)


@pytest.mark.slow
def test_every_command_speaks_swedish_in_swedish_mode(sqlite_workspace: Workspace) -> None:
    """Every command, on success and on its usual mistakes (missing or unknown options, an
    unknown incident or person, a bad --set value, a refused action), ends with the expected
    exit code and prints no English line when the installation's language is Swedish."""
    ws = _swedish(sqlite_workspace)
    values = _setup(ws)
    commands = leaf_commands()

    def cases() -> Iterator[tuple[str, Case]]:
        for name in commands:
            for case in CASES.get(name, []):
                yield (
                    name,
                    Case(tuple(a.format(**values) for a in case.args), case.code, case.stdin),
                )
            yield name, usage(*name.split(), *GENERIC)
            if any(p.required for p in commands[name].params):
                yield name, usage(*name.split())
        yield "incident", usage("incident", "finns-inte")
        yield "", usage("finns-inte")

    found = _run_all(ws, cases())
    assert not found, "\n".join(found)


def test_statuses_audiences_and_fields_are_shown_by_their_titles(
    sqlite_workspace: Workspace,
) -> None:
    """Subscriber statuses print as Swedish words, audiences by their titles with the ids
    beside them, and an incident's fields by their titles in the plan."""
    ws = _swedish(sqlite_workspace)
    values = _setup(ws)
    listed = ws.run("subscribers", "list").stdout
    assert "väntar på bekräftelse" in listed and "pending" not in listed
    assert "Prenumeranter på GITS nyhetsbrev (subscribers)" in listed
    shown = ws.run("incident", "show", values["incident"]).stdout
    assert "Störningen startade" in shown and "started_at" not in shown
