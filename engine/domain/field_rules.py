"""The rules a trigger's data must follow: which fields it may set, which it must fill, and how
appended fields (such as the sub-regions on reserve) grow. Pure functions for the evaluator."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from engine.definition.schema import TransitionDef, Workflow
from engine.errors import InvalidField, MissingField


def merge_changes(
    t: TransitionDef, data: Mapping[str, Any], changes: Mapping[str, Any]
) -> dict[str, Any]:
    """The incident's data with a trigger's changes: appended fields gain only new values."""
    merged = dict(data)
    for key, value in changes.items():
        if key in t.append and isinstance(value, list):
            old = list(merged.get(key) or [])
            merged[key] = old + [v for v in value if v not in old]
        else:
            merged[key] = value
    return merged


def check_fields(
    workflow: Workflow,
    t: TransitionDef,
    accepted: Collection[str] | None,
    needed: Collection[str],
    data: Mapping[str, Any],
    merged: Mapping[str, Any],
    changes: Mapping[str, Any],
) -> None:
    """Refuse changes the trigger does not set, required fields left empty, and appends that
    add nothing, each with the field named and what is expected."""
    for key in changes:
        if key not in workflow.fields:
            # Callers parse input by the plan's fields first; this guards the store anyway.
            known = ", ".join(sorted(workflow.fields))
            raise InvalidField(
                key,
                f"unknown field. Known fields: {known}",
                detail_sv=f"okänd uppgift. Kända uppgifter: {known}",
            )
        if accepted is not None and key not in accepted:
            sets = ", ".join(sorted(accepted)) or "(nothing)"
            raise InvalidField(
                key,
                f"'{t.trigger}' does not set this field. It sets: {sets}",
                detail_sv=f"'{t.trigger}' ändrar inte den här uppgiften. Den ändrar: {sets}",
            )
    # A required field the trigger appends to must bring new values in this very trigger:
    # what the incident already holds does not count (add_reserve_subregion adds one).
    missing = sorted(
        {
            n
            for n in needed
            if merged.get(n) in (None, "", [])
            or (n in t.append and changes.get(n) in (None, "", []))
        }
    )
    if missing:
        raise MissingField(missing, f"'{t.trigger}'")
    for key in t.append:
        # Appending must add something new, or the decision would be about nothing.
        old = data.get(key) or []
        if key in changes and changes[key] and all(v in old for v in changes[key]):
            raise InvalidField(key, f"every value given is already set ({', '.join(old)})")
