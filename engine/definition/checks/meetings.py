"""Checks of meeting invitations: the incident fields a `meeting` reads its start and place from.

A meeting's `starts_at` names a datetime field and its `location` a text field (a link, or
telephone-conference details). A name that is no field, or a field of another type, would send
every invitation at the default time or with no place, so both are errors.
"""

from __future__ import annotations

from engine.definition.checks.context import Context
from engine.definition.checks.paths import PathKey
from engine.definition.checks.references import notifies

_EXPECTED = {"starts_at": ("datetime",), "location": ("text",)}


def check_meetings(ctx: Context) -> None:
    """Report meeting fields that are unknown or of a type the meeting cannot use."""
    for path, notify in notifies(ctx.workflow):
        meeting = notify.meeting
        if meeting is None:
            continue
        for option, types in _EXPECTED.items():
            name = getattr(meeting, option)
            if name is None:
                continue
            where: PathKey = (*path, "meeting", option)
            if not ctx.ref("field", name, where):
                continue
            kind = ctx.workflow.fields[name].type
            if kind not in types:
                ctx.error(
                    where,
                    f"meeting {option} '{name}' is a {kind} field; a meeting's {option} reads "
                    f"a {' or '.join(types)} field",
                )
