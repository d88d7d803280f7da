"""Where a finding sits in a plan: a path of keys and indexes, and its dotted spelling."""

from __future__ import annotations

from collections.abc import Iterable

PathKey = tuple[str | int, ...]


def dotted(path: Iterable[str | int]) -> str:
    """`("states", "outage", "on_enter", 0)` -> `states.outage.on_enter[0]`."""
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out
