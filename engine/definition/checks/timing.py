"""Checks of the plan's time options: transition `stamps` and a gate's deputy escalation.

A stamp sets a datetime field to the moment its transition happens, so it must name a datetime
field the transition may set. `escalate_to_deputy_after` asks a gate's deputies later than its
principals, so the gate must have a deputy among its approvers, and the escalation must come
before the request expires.
"""

from __future__ import annotations

from engine.definition.checks.context import Context
from engine.definition.checks.paths import PathKey
from engine.definition.deputies import gate_deputies
from engine.definition.durations import format_duration
from engine.definition.schema import TransitionDef


def check_timing(ctx: Context) -> None:
    """Report stamps that cannot be set and escalations that cannot happen."""
    for index, transition in enumerate(ctx.workflow.transitions):
        _stamps(ctx, index, transition)
        _escalation(ctx, index, transition)


def _stamps(ctx: Context, index: int, transition: TransitionDef) -> None:
    wf = ctx.workflow
    accepted = None if transition.accepts is None else {*transition.accepts, *transition.requires}
    for j, name in enumerate(transition.stamps):
        path: PathKey = ("transitions", index, "stamps", j)
        if not ctx.ref("field", name, path):
            continue
        kind = wf.fields[name].type
        if kind != "datetime":
            ctx.error(
                path,
                f"'{transition.trigger}' stamps '{name}', a {kind} field; a stamp sets the "
                "moment the transition happens, so it takes datetime fields only",
            )
        elif accepted is not None and name not in accepted:
            ctx.error(
                path,
                f"'{transition.trigger}' stamps '{name}' but does not set it; add '{name}' to "
                f"its `accepts` (it sets: {', '.join(sorted(accepted)) or 'nothing'})",
            )


def _escalation(ctx: Context, index: int, transition: TransitionDef) -> None:
    gate = transition.gate
    if gate is None or gate.escalate_to_deputy_after is None:
        return
    path: PathKey = ("transitions", index, "gate", "escalate_to_deputy_after")
    after = gate.escalate_to_deputy_after
    if not gate_deputies(ctx.workflow, gate):
        ctx.error(
            path,
            f"the gate of '{transition.trigger}' escalates to deputies, but none of its `any_of` "
            f"roles ({', '.join(gate.any_of) or 'none'}) is `deputy_of` another of them; add "
            "the deputy role to `any_of`, or remove `escalate_to_deputy_after`",
        )
    if gate.expires is not None and after >= gate.expires:
        ctx.error(
            path,
            f"the gate of '{transition.trigger}' escalates to deputies after "
            f"{format_duration(after)}, but its requests expire after "
            f"{format_duration(gate.expires)}; escalate earlier, or let requests live longer",
        )
