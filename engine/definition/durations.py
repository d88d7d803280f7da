"""Durations as plans write them: `90s`, `15m`, `2h`, `7d`, or ISO 8601 (`PT15M`, `P1DT2H`)."""

from __future__ import annotations

import re
from datetime import timedelta

_SHORT = re.compile(r"^\s*(\d+)\s*(s|m|h|d|w)\s*$")
_ISO = re.compile(
    r"^P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}

DURATION_HELP = "a duration such as 90s, 15m, 2h, 7d or ISO 8601 like PT15M"


def parse_duration(text: object) -> timedelta:
    """Parse a plan duration; raises ValueError with the accepted forms on anything else."""
    if isinstance(text, bool) or not isinstance(text, str | int):
        raise ValueError(f"expected {DURATION_HELP}, got {text!r}")
    if isinstance(text, int):
        raise ValueError(f"expected {DURATION_HELP}, got the bare number {text} (add a unit)")
    match = _SHORT.match(text)
    if match:
        value = timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    else:
        iso = _ISO.match(text.strip())
        if not iso or text.strip() in ("P", "PT") or text.strip().endswith("T"):
            raise ValueError(f"expected {DURATION_HELP}, got {text!r}")
        parts = {k: float(v) for k, v in iso.groupdict().items() if v}
        value = timedelta(**parts)
    if value <= timedelta(0):
        raise ValueError(f"a duration must be positive, got {text!r}")
    return value


def format_duration(value: timedelta) -> str:
    """The shortest plan spelling of a duration (`1h`, `90s`), for diagrams and messages."""
    seconds = int(value.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
