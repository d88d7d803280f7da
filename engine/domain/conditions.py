"""Evaluate a plan's structured conditions over an incident's data, and explain failures.

Conditions are data (`all` / `any` / `not` over field tests), never code: nothing from a plan
is ever `eval`-ed. Datetimes in incident data are ISO 8601 strings; `before`/`after` compare a
datetime field with another field or with "now".
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from engine.definition.schema import Condition


def _as_time(value: Any, now: datetime) -> datetime | None:
    if value == "now":
        return now
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def _is_set(value: Any) -> bool:
    return value is not None and value not in ("", [])


def _test(cond: Condition, data: Mapping[str, Any], now: datetime) -> bool:
    op, operand = cond.comparison
    value = data.get(cond.field or "")
    if op == "is_set":
        return _is_set(value) == bool(operand)
    if op == "equals":
        return bool(value == operand)
    if op == "not_equals":
        return bool(value != operand)
    if op == "in":
        return value in operand
    if op == "contains":
        return isinstance(value, list) and operand in value
    if op in ("min_items", "max_items"):
        count = len(value) if isinstance(value, list) else 0
        return bool(count >= operand if op == "min_items" else count <= operand)
    # before / after: the operand names another field, or "now".
    mine = _as_time(value, now)
    other = _as_time(now if operand == "now" else data.get(operand), now)
    if mine is None or other is None:
        return False
    return mine < other if op == "before" else mine > other


def holds(cond: Condition, data: Mapping[str, Any], flags: Collection[str], now: datetime) -> bool:
    """Whether `cond` is true for this incident's data and flags at `now`."""
    if cond.all is not None:
        return all(holds(c, data, flags, now) for c in cond.all)
    if cond.any is not None:
        return any(holds(c, data, flags, now) for c in cond.any)
    if cond.not_ is not None:
        return not holds(cond.not_, data, flags, now)
    if cond.flag is not None:
        return cond.flag in flags
    return _test(cond, data, now)


def describe(cond: Condition) -> str:
    """A short human reading of a condition, for errors and diagrams."""
    if cond.all is not None:
        return " and ".join(f"({describe(c)})" for c in cond.all)
    if cond.any is not None:
        return " or ".join(f"({describe(c)})" for c in cond.any)
    if cond.not_ is not None:
        return f"not {describe(cond.not_)}"
    if cond.flag is not None:
        return f"flag {cond.flag} is set"
    op, operand = cond.comparison
    return f"{cond.field} {op.replace('_', ' ')} {operand!r}"


def explain_failure(
    cond: Condition, data: Mapping[str, Any], flags: Collection[str], now: datetime
) -> str:
    """Name the part of a failed condition that does not hold, with the value found."""
    if cond.all is not None:
        for part in cond.all:
            if not holds(part, data, flags, now):
                return explain_failure(part, data, flags, now)
    if cond.any is not None:
        return "none of these holds: " + "; ".join(describe(c) for c in cond.any)
    if cond.not_ is not None:
        return f"it must not be that {describe(cond.not_)}"
    if cond.flag is not None:
        return f"flag '{cond.flag}' is not set"
    if cond.field is None:
        return describe(cond)
    return f"{describe(cond)} does not hold (it is {data.get(cond.field)!r})"
