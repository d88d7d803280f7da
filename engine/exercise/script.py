"""Exercise scripts: the YAML that says who does what, and when, in a rehearsal of a plan.

A script lists steps at virtual offsets from the start (`at: 30m`, `at: "14d 6h"`, or `+5m` from
the previous step): who acts (`as`), what they do (`do`: declare, fire, approve, reject,
silence, restore, wait, or a trigger name as shorthand for fire), the data they give (`set`),
which approval request they decide (`approval`: "last" or a trigger), and an optional note,
speed change and expected state. Parsed with the plan loader's safe YAML reader, so errors name
`file:line:col`. Run by engine.exercise.runner.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from engine.definition.durations import parse_duration
from engine.definition.yaml_loader import load_yaml
from engine.errors import ConfigurationError

ACTIONS = ("declare", "fire", "approve", "reject", "silence", "restore", "wait")
DEFAULT_SPEED = 1200.0  # a virtual hour in three real seconds
_STEP_KEYS = {"at", "as", "do", "trigger", "set", "approval", "note", "speed", "expect"}
_SCRIPT_KEYS = {
    "title",
    "plan",
    "directory",
    "speed",
    "start",
    "steps",
    "expect",
    "allow_real_recipients",
}


Where = tuple[str | int, ...]
Fail = Callable[[Where, str], ConfigurationError]


@dataclass(frozen=True)
class Step:
    """One scripted action at a virtual offset from the start of the exercise."""

    offset: timedelta
    action: str
    actor: str = ""
    trigger: str = ""
    values: Mapping[str, Any] = field(default_factory=dict)
    approval: str = "last"
    note: str = ""
    speed: float | None = None
    expect_state: str | None = None
    line: int = 0


@dataclass(frozen=True)
class Script:
    """A parsed exercise script."""

    title: str
    steps: tuple[Step, ...]
    directory: Path
    plan: str | None = None
    speed: float = DEFAULT_SPEED
    start: datetime | None = None
    expect_state: str | None = None
    expect_timers: tuple[str, ...] = ()
    allow_real_recipients: bool = False
    source: str = ""


def parse_offset(text: object) -> timedelta:
    """`0m`, `90s`, `2h`, `14d 7h` or ISO 8601; a leading `+` is handled by the caller."""
    spec = str(text).strip()
    if re.fullmatch(r"0+\s*[smhdw]?", spec):
        return timedelta(0)
    return sum((parse_duration(part) for part in spec.split()), timedelta(0))


def load_script(path: Path, *, repo_root: Path | None = None) -> Script:
    """Read and check an exercise script; errors name `file:line` and what is accepted."""
    source = str(path)
    try:
        raw, positions = load_yaml(path.read_bytes(), source)
    except OSError as exc:
        raise ConfigurationError(f"{source}: cannot read the script: {exc.strerror}") from None

    def fail(where: Where, message: str) -> ConfigurationError:
        line, col = positions.at(where)
        return ConfigurationError(f"{source}:{line}:{col}: {message}")

    if not isinstance(raw, dict) or not isinstance(raw.get("steps"), list) or not raw["steps"]:
        raise fail((), "an exercise script is a mapping with a non-empty list `steps`")
    unknown = set(raw) - _SCRIPT_KEYS
    if unknown:
        raise fail(
            (sorted(unknown)[0],),
            f"unknown key(s) {sorted(unknown)}; known: {', '.join(sorted(_SCRIPT_KEYS))}",
        )
    steps: list[Step] = []
    previous = timedelta(0)
    for index, item in enumerate(raw["steps"]):
        where: Where = ("steps", index)
        steps.append(_parse_step(item, where, previous, fail, positions.at(where)[0]))
        previous = steps[-1].offset
    expect = raw.get("expect") or {}
    base = path.resolve().parent
    directory = Path(str(raw.get("directory", "examples/directory.yaml")))
    if not directory.is_absolute():
        candidates = [
            base / directory,
            *([repo_root / directory] if repo_root else []),
            Path.cwd() / directory,
        ]
        directory = next((c for c in candidates if c.is_file()), candidates[0])
    start = raw.get("start")
    return Script(
        title=str(raw.get("title", path.stem)),
        steps=tuple(steps),
        directory=directory,
        plan=str(raw["plan"]) if raw.get("plan") else None,
        speed=float(raw.get("speed", DEFAULT_SPEED)),
        start=datetime.fromisoformat(str(start)).astimezone(UTC) if start else None,
        expect_state=expect.get("state"),
        expect_timers=tuple(expect.get("timers", ())),
        allow_real_recipients=raw.get("allow_real_recipients") is True,
        source=source,
    )


def fired_timer_names(events: list[dict[str, Any]]) -> set[str]:
    """Fired timers as scripts name them: `lessons_due`, `enter_total_reserve:remind:0`."""
    names: set[str] = set()
    for event in events:
        if event["kind"] == "timer":
            names.add(event["data"]["timer"].rsplit(":", 1)[-1])
        elif event["kind"] == "reminder":
            names.add(f"{event['trigger']}:{event['data']['timer'].split(':', 2)[2]}")
    return names


def _parse_step(item: Any, where: Where, previous: timedelta, fail: Fail, line: int) -> Step:
    """One step of a script; `previous` is the offset of the step before (for `+5m`)."""
    if not isinstance(item, dict):
        raise fail(where, "a step is a mapping such as {at: 5m, as: anna, do: fire, ...}")
    extra = set(item) - _STEP_KEYS
    if extra:
        raise fail(
            where,
            f"unknown step key(s) {sorted(extra)}; known: {', '.join(sorted(_STEP_KEYS))}",
        )
    at = str(item.get("at", "+0m"))
    try:
        delta = parse_offset(at.lstrip("+"))
    except ValueError as exc:
        raise fail((*where, "at"), f"`at`: {exc}") from None
    offset = previous + delta if at.startswith("+") else delta
    if offset < previous:
        raise fail(
            (*where, "at"),
            f"steps must be in time order ({at} is before the "
            "previous step); use `+5m` for an offset from the previous step",
        )
    action = str(item.get("do", "fire"))
    trigger = str(item.get("trigger", ""))
    if action not in ACTIONS:
        trigger, action = action, "fire"  # `do: post_update` is short for fire post_update
    if action == "fire" and not trigger:
        raise fail(where, "`do: fire` needs `trigger: NAME`")
    if action not in ("wait", "silence") and not item.get("as"):
        raise fail(where, f"`do: {action}` needs `as: PERSON_ID` (who acts)")
    values = item.get("set") or {}
    if not isinstance(values, dict):
        raise fail((*where, "set"), "`set` is a mapping of field: value")
    speed = item.get("speed")
    if speed is not None and (not isinstance(speed, int | float) or speed <= 0):
        raise fail((*where, "speed"), "`speed` is a positive number")
    return Step(
        offset=offset,
        action=action,
        actor=str(item.get("as", "")),
        trigger=trigger,
        values={k: _value(v) for k, v in values.items()},
        approval=str(item.get("approval", "last")),
        note=str(item.get("note", "")),
        speed=float(speed) if speed is not None else None,
        expect_state=item.get("expect"),
        line=line,
    )


def _value(value: Any) -> str:
    """Field values as the command line gives them: lists comma-separated, bools as words."""
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
