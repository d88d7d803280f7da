"""Templates checked up front and bounded at run time.

`driftplan validate` renders every template of a plan in every language against sample data, in
the sandbox messages render with, so sandbox escapes, undefined names and runaway templates are
errors located at the template file's line. At run time the same limits (time, output size,
size of what a template builds) turn a runaway template into a `MessageError` naming the
template and the limit, within seconds. Time bounds here are loose on purpose (a slow machine
must not fail them): they tell "stopped by the limit" from "ran for minutes or for ever".
"""

from __future__ import annotations

import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from engine.bootstrap import default_channels
from engine.definition.channel_settings import PathRoots
from engine.definition.definition import Definition
from engine.definition.loader import parse_definition
from engine.definition.report import run_validate
from engine.definition.sandbox import (
    MAX_OUTPUT,
    RENDER_SECONDS,
    RenderLimitExceeded,
    compile_template,
    render_bounded,
)
from engine.errors import MessageError
from engine.service.messages import build_context, render_message

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / "workflows"
TEMPLATE = "templates/sv/outage_notice.txt"
# Well above the 2 s limit plus interpreter noise, far below "hangs".
SOON = 20.0

CPU_BOMB = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
CPU_BOMB_SET = "{% set r = range(100000) %}{% for i in r %}{% for j in r %}{% endfor %}{% endfor %}"
MEMORY_BOMB = "{% for i in range(100000) %}{{ 'x' * 10000 }}{% endfor %}"
HIDDEN_MEMORY_BOMB = (
    "{% set kept = [] %}{% for i in range(100000) %}{{ kept.append('x' * 10000) or '' }}"
    "{% endfor %}"
)
HOSTILE = [
    ("sandbox escape", "{{ ''.__class__.__mro__ }}", "the sandbox refused it: access to "),
    ("undefined name", "{{ scop }}", "it prints a name no message has: 'scop' is undefined"),
    ("unknown filter", "{{ scope|shout }}", "it does not compile: No filter named 'shout'"),
    ("CPU bomb", CPU_BOMB, "the time limit of 2 s per message"),
    ("memory bomb", MEMORY_BOMB, "the size limit of 256 KiB of text per message"),
    ("hidden memory bomb", HIDDEN_MEMORY_BOMB, "MiB built in total by one template"),
    ("huge value", "{{ 'x'|center(100000000) }}", "the size limit of 256 KiB for one value"),
]


def samsa_with(folder: Path, line: str) -> Path:
    """The SAMSA plan under `folder`, `line` added as line 3 of the Swedish outage notice."""
    shutil.copytree(WORKFLOWS, folder)
    template = folder / TEMPLATE
    lines = template.read_text("utf-8").split("\n")
    lines.insert(2, line)
    template.write_text("\n".join(lines), "utf-8")
    return folder / "samsa_outage.yaml"


@pytest.mark.parametrize(("name", "line", "message"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_validate_refuses_a_hostile_template_at_its_file_and_line(
    name: str, line: str, message: str, tmp_path: Path
) -> None:
    """The error names the template, its file and line (where the render shows it), and why;
    a runaway template costs validate one time limit, not minutes."""
    path = samsa_with(tmp_path / "plan", line)
    kinds = default_channels()
    started = time.monotonic()
    code, output = run_validate(
        [str(path)],
        workflows=WORKFLOWS,
        known_kinds=kinds.names(),
        declarations=kinds.declarations(),
        roots=PathRoots.of(str(tmp_path / "data")),
    )
    assert time.monotonic() - started < SOON
    assert code == 1, output
    errors = [row for row in output.splitlines() if ": error: " in row]
    assert len(errors) == 1, output
    error = errors[0]
    assert error.startswith(f"{path}:"), error  # at the template's entry in the plan
    assert "template 'outage_notice' (sv), templates/sv/outage_notice.txt" in error
    assert message in error
    if name not in ("memory bomb", "hidden memory bomb"):  # output limits know no line
        assert f"{TEMPLATE}:3:" in error


# ------------------------------------------------------------------------------ run time

NOW = datetime(2022, 6, 28, 13, 0, tzinfo=UTC)
DATA: dict[str, Any] = {
    "started_at": "2022-06-28T12:30:00+00:00",
    "scope": "Användare i Fyrbodal kan inte logga in",
    "affected_subregions": ["fyrbodal"],
    "expected_resolution": "unknown",
}


def plan_with(body_line: str) -> Definition:
    """The SAMSA plan (unchecked, as a pinned snapshot would be) with a hostile line."""
    files = {
        f"templates/{p.parent.name}/{p.name}": p.read_text("utf-8")
        for p in (WORKFLOWS / "templates").glob("*/*.txt")
    }
    lines = files[TEMPLATE].split("\n")
    lines.insert(2, body_line)
    files[TEMPLATE] = "\n".join(lines)
    plan = WORKFLOWS / "samsa_outage.yaml"
    return parse_definition(plan.read_bytes(), str(plan), files=files, check=False)


def render(definition: Definition) -> float:
    """Render the outage notice; returns how long it took (it is expected to raise)."""
    context = build_context(
        definition, incident_id="INC-1", state="outage", data=DATA, language="sv", now=NOW
    )
    started = time.monotonic()
    try:
        render_message(definition, "outage_notice", language="sv", context=context)
    finally:
        elapsed = time.monotonic() - started
    return elapsed


@pytest.mark.parametrize(
    ("bomb", "limit"),
    [
        (CPU_BOMB, "the time limit of 2 s per message"),
        (CPU_BOMB_SET, "the time limit of 2 s per message"),
        (MEMORY_BOMB, "the size limit of 256 KiB of text per message"),
        (HIDDEN_MEMORY_BOMB, "MiB built in total by one template"),
        ("{{ ('x' * 10000)|replace('x', 'y' * 10000) }}", "256 KiB for one value"),
        ("{{ '{:>999999999}'.format(1) }}", "256 KiB for one value"),
    ],
    ids=["nested ranges", "nested loops over one range", "printed", "kept", "replace", "format"],
)
def test_a_runaway_template_is_a_message_error_naming_template_and_limit(
    bomb: str, limit: str
) -> None:
    """Rendering stops at the limit with a MessageError, soon, instead of hanging or swapping."""
    definition = plan_with(bomb)
    started = time.monotonic()
    with pytest.raises(MessageError) as caught:
        render(definition)
    assert time.monotonic() - started < SOON
    message = str(caught.value)
    assert message.startswith("Template 'outage_notice' (sv) was stopped by the sandbox")
    assert limit in message
    assert isinstance(caught.value.__cause__, RenderLimitExceeded)


def test_the_time_limit_is_the_documented_one() -> None:
    """An endless template runs for about RENDER_SECONDS, not much less, before it stops."""
    template = compile_template(CPU_BOMB)
    started = time.monotonic()
    with pytest.raises(RenderLimitExceeded, match="time limit"):
        render_bounded(template, {})
    assert RENDER_SECONDS * 0.9 <= time.monotonic() - started < SOON


def test_output_up_to_the_limit_is_fine() -> None:
    """A long but bounded message renders; one character more than the limit does not."""
    template = compile_template("{% for i in range(n) %}{{ 'x' * 1024 }}{% endfor %}")
    assert len(render_bounded(template, {"n": MAX_OUTPUT // 1024})) == MAX_OUTPUT
    with pytest.raises(RenderLimitExceeded, match="256 KiB of text per message"):
        render_bounded(compile_template("{{ text }}x"), {"text": "y" * MAX_OUTPUT})


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{% for x in items if x %}{{ loop.index }}{{ x }}{% else %}none{% endfor %}", "1a2b"),
        ("{% for x in [] %}{{ x }}{% else %}none{% endfor %}", "none"),
        ("{% for a, b in pairs %}{{ a }}={{ b }};{% endfor %}", "1=2;3=4;"),
        ("{% for k in {'a': 1} %}{{ k }}{% endfor %}{% for x in 1, 2 %}{{ x }}{% endfor %}", "a12"),
        ("{% for x in items|reverse %}{{ x }}{{ loop.revindex }}{% endfor %}", "b32a1"),
        (
            "{% for n in tree recursive %}{{ n.name }}{{ loop(n.kids) }}{% endfor %}",
            "rootleaf",
        ),
    ],
)
def test_loops_still_mean_what_jinja_says(source: str, expected: str) -> None:
    """Guarding every loop step changes no loop's result (filters, else, unpacking, recursion)."""
    values = {
        "items": ["a", "", "b"],
        "pairs": [(1, 2), (3, 4)],
        "tree": [{"name": "root", "kids": [{"name": "leaf", "kids": []}]}],
    }
    assert render_bounded(compile_template(source), values) == expected
