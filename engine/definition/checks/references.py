"""Reference checks: every role, audience, channel, template and field a plan names must exist.

Beyond existence, this module checks that references make sense for what they point at: a gate's
scope is a field over the sub-regions and has a sub-regional approver, `append` targets a
multichoice field, a condition compares a field with a value of the field's type, and deputies do
not stand in for each other in a circle.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from engine.definition.checks.context import Context
from engine.definition.checks.paths import PathKey, dotted
from engine.definition.people_labels import PEOPLE_LABELS
from engine.definition.schema import Condition, FieldDef, Gate, Notify, Workflow


def notifies(workflow: Workflow) -> Iterator[tuple[PathKey, Notify]]:
    """Every `notify` in the plan, with its path: on_enter/on_exit, timers, actions, reminders."""
    for name, state in workflow.states.items():
        for hook in ("on_enter", "on_exit"):
            for i, action in enumerate(getattr(state, hook)):
                yield ("states", name, hook, i, "notify"), action.notify
        for i, timer in enumerate(state.timers):
            if timer.notify is not None:
                yield ("states", name, "timers", i, "notify"), timer.notify
    for t_index, transition in enumerate(workflow.transitions):
        for i, action in enumerate(transition.actions):
            yield ("transitions", t_index, "actions", i, "notify"), action.notify
        if transition.gate is not None:
            # The request itself (sent when the gate opens), then each reminder.
            if transition.gate.notify is not None:
                yield ("transitions", t_index, "gate", "notify"), transition.gate.notify
            for i, reminder in enumerate(transition.gate.remind):
                yield ("transitions", t_index, "gate", "remind", i, "notify"), reminder.notify
            if transition.gate.on_expire is not None:
                notify = transition.gate.on_expire.notify
                yield ("transitions", t_index, "gate", "on_expire", "notify"), notify


def conditions(workflow: Workflow) -> Iterator[tuple[PathKey, Condition]]:
    """Every top-level condition: transition `conditions` and rule `when`."""
    for i, transition in enumerate(workflow.transitions):
        if transition.conditions is not None:
            yield ("transitions", i, "conditions"), transition.conditions
    for i, rule in enumerate(workflow.rules):
        yield ("rules", i, "when"), rule.when


def check_references(ctx: Context) -> None:
    """Run every reference check, recording what is used for the unused-definition warnings."""
    _roles(ctx)
    _fields(ctx)
    _states(ctx)
    _transitions(ctx)
    _notifies(ctx)
    for path, condition in conditions(ctx.workflow):
        _condition(ctx, path, condition)
    anchor = ctx.workflow.audit.anchor if ctx.workflow.audit is not None else None
    if anchor is not None:  # the channel the audit chain's head is sent on
        ctx.ref("channel", anchor.channel, ("audit", "anchor", "channel"))


def _roles(ctx: Context) -> None:
    wf = ctx.workflow
    for name, role in wf.roles.items():
        if role.deputy_of is not None:
            ctx.ref("role", role.deputy_of, ("roles", name, "deputy_of"))
    reported: set[str] = set()
    for start in wf.roles:
        chain = [start]
        current = wf.roles[start].deputy_of
        while current is not None and current in wf.roles and current not in chain:
            chain.append(current)
            current = wf.roles[current].deputy_of
        if current is not None and current in chain:
            cycle = chain[chain.index(current) :]
            if not reported.isdisjoint(cycle):
                continue  # the same circle, found from another of its members
            reported.update(cycle)
            circle = " -> ".join([*cycle, current])
            first = cycle[0]
            ctx.error(
                ("roles", first, "deputy_of"),
                f"deputy cycle: {circle}; a deputy must lead to a role that has none",
            )
    for name, audience in wf.audiences.items():
        ctx.refs("role", audience.roles, ("audiences", name, "roles"))
        if name in PEOPLE_LABELS:
            ctx.error(
                ("audiences", name),
                f"audience name '{name}' is reserved: the outbox labels messages to a "
                f"decision's {name} so; rename the audience",
                key=True,
            )


def _fields(ctx: Context) -> None:
    wf = ctx.workflow
    for name, field_def in wf.fields.items():
        if field_def.choices_from == "subregions" and not wf.subregions:
            ctx.error(
                ("fields", name, "choices_from"),
                f"field '{name}' takes its choices from the sub-regions, but the plan defines "
                "none; add a `subregions` section",
            )


def _states(ctx: Context) -> None:
    for name, state in ctx.workflow.states.items():
        ctx.refs("role", state.responsible, ("states", name, "responsible"))
        ctx.refs("audience", state.audiences, ("states", name, "audiences"))
        seen: dict[str, int] = {}
        for i, timer in enumerate(state.timers):
            path: PathKey = ("states", name, "timers", i)
            if timer.id in seen:
                ctx.error(
                    (*path, "id"),
                    f"duplicate timer id '{timer.id}' in state '{name}' "
                    f"(also timers[{seen[timer.id]}])",
                )
            seen.setdefault(timer.id, i)
            if timer.at is not None and ctx.ref("field", timer.at, (*path, "at")):
                kind = ctx.workflow.fields[timer.at].type
                if kind != "datetime":
                    ctx.error(
                        (*path, "at"),
                        f"timer '{timer.id}' runs at field '{timer.at}', which is a {kind} "
                        "field; `at` needs a datetime field",
                    )


def _transitions(ctx: Context) -> None:
    wf = ctx.workflow
    for i, transition in enumerate(wf.transitions):
        path: PathKey = ("transitions", i)
        ctx.refs("role", transition.allowed, (*path, "allowed"))
        ctx.refs("field", transition.requires, (*path, "requires"))
        ctx.refs("field", transition.accepts or [], (*path, "accepts"))
        for j, name in enumerate(transition.append):
            if ctx.ref("field", name, (*path, "append", j)):
                kind = wf.fields[name].type
                if kind != "multichoice":
                    ctx.error(
                        (*path, "append", j),
                        f"`append` adds items to a list, but field '{name}' is a {kind} "
                        "field; only multichoice fields can be appended to",
                    )
        if transition.gate is not None:
            _gate(ctx, (*path, "gate"), transition.trigger, transition.gate)


def _gate(ctx: Context, path: PathKey, trigger: str, gate: Gate) -> None:
    wf = ctx.workflow
    ctx.refs("role", gate.any_of, (*path, "any_of"))
    ctx.refs("role", gate.all_of, (*path, "all_of"))
    ctx.refs("role", gate.recordable_by, (*path, "recordable_by"))
    if not gate.any_of and not gate.all_of:
        ctx.error(
            path,
            f"the gate of '{trigger}' has no approver: give `any_of` or `all_of` roles. "
            f"Known roles: {', '.join(sorted(wf.roles))}",
            key=True,
        )
    _per_slot(ctx, path, trigger, gate)
    if gate.scope is None:
        return
    scope_path: PathKey = (*path, "scope", "field")
    name = gate.scope.field
    if ctx.ref("field", name, scope_path):
        field_def = wf.fields[name]
        if (
            field_def.type not in ("choice", "multichoice")
            or field_def.choices_from != "subregions"
        ):
            ctx.error(
                scope_path,
                f"gate scope field '{name}' must be a choice or multichoice field with "
                "`choices_from: subregions`",
            )
    approvers = [r for r in (*gate.any_of, *gate.all_of) if r in wf.roles]
    if approvers and not any(wf.roles[r].scope == "subregion" for r in approvers):
        ctx.error(
            (*path, "scope"),
            f"the gate of '{trigger}' is scoped to sub-regions, but none of its approver roles "
            f"({', '.join(approvers)}) has `scope: subregion`",
        )


def _per_slot(ctx: Context, path: PathKey, trigger: str, gate: Gate) -> None:
    """`apply: per_slot` needs one slot per value (`scope` with `mode: each`), and its `join`
    must be a trigger that adds values to the scope field where the first part leads."""
    if gate.join is not None and gate.apply != "per_slot":
        ctx.error((*path, "join"), "`join` applies to `apply: per_slot` gates only")
    if gate.apply != "per_slot":
        return
    if gate.scope is None or gate.scope.mode != "each":
        ctx.error(
            (*path, "apply"),
            f"`apply: per_slot` on the gate of '{trigger}' needs `scope: {{field: ..., "
            "mode: each}`: one decision per value, each taking effect alone",
        )
    if gate.join is None or not ctx.ref("trigger", gate.join, (*path, "join")):
        return
    field = gate.scope.field if gate.scope is not None else ""
    joins = [t for t in ctx.workflow.transitions if t.trigger == gate.join]
    if not any(t.internal and field in t.append for t in joins):
        ctx.error(
            (*path, "join"),
            f"join trigger '{gate.join}' must be `internal: true` with `append: [{field}]`, so "
            "that a later decision adds its values to those already in effect",
        )


def _notifies(ctx: Context) -> None:
    wf = ctx.workflow
    if wf.inbound_reports is not None:  # the public report form's notice to the operators
        ctx.refs("channel", wf.inbound_reports.channels, ("inbound_reports", "channels"))
        ctx.refs("audience", wf.inbound_reports.audience, ("inbound_reports", "audience"))
    for path, notify in notifies(wf):
        ctx.ref("template", notify.template, (*path, "template"))
        ctx.refs("channel", notify.channels, (*path, "channels"))
        ctx.refs("role", notify.roles, (*path, "roles"))
        if notify.audience:
            ctx.refs("audience", notify.audience, (*path, "audience"))
            twice = sorted({a for a in notify.audience if notify.audience.count(a) > 1})
            if twice:
                ctx.error(
                    (*path, "audience"),
                    f"audience {', '.join(twice)} named twice in {dotted((*path, 'audience'))}: "
                    "name each audience once (everyone in any of them gets one copy)",
                )
            continue
        if notify.roles or notify.to_approvers:
            continue  # addressed to people, not to an audience
        missing = [
            c for c in notify.channels if c in wf.channels and wf.channels[c].audience is None
        ]
        if missing:
            ctx.error(
                path,
                f"notify needs an audience: channel(s) {', '.join(missing)} have no default "
                f"`audience`. Known audiences: {', '.join(sorted(wf.audiences)) or '(none)'}",
            )


# --- conditions ---------------------------------------------------------------------------------


def _condition(ctx: Context, path: PathKey, condition: Condition) -> None:
    """Walk all / any / not down to field tests, checking each against its field's type."""
    for key in ("all", "any"):
        for i, child in enumerate(getattr(condition, key) or []):
            _condition(ctx, (*path, key, i), child)
    if condition.not_ is not None:
        _condition(ctx, (*path, "not"), condition.not_)
    if condition.flag is not None:
        flags = {f for t in ctx.workflow.transitions for f in t.flags}
        if condition.flag not in flags:
            ctx.error(
                (*path, "flag"),
                f"unknown flag '{condition.flag}' in {dotted(path)}: no transition sets it. "
                f"Known flags: {', '.join(sorted(flags)) or '(none)'}",
            )
    if condition.field is None or not ctx.ref("field", condition.field, (*path, "field")):
        return
    field_def = ctx.workflow.fields[condition.field]
    operator, operand = condition.comparison
    problem = _comparison_problem(ctx, field_def, operator, operand)
    if problem:
        ctx.error(
            (*path, operator), f"condition on '{condition.field}' in {dotted(path)}: {problem}"
        )


def _choices_of(ctx: Context, field_def: FieldDef) -> list[str] | None:
    if field_def.choices is not None:
        return list(field_def.choices)
    if field_def.choices_from == "subregions":
        return list(ctx.workflow.subregions)
    return None


def _value_problem(ctx: Context, field_def: FieldDef, value: Any) -> str:
    """Why `value` can never be a value of the field (one item, for multichoice), or ''."""
    if value is None:
        return ""
    kind = field_def.type
    if kind in ("choice", "multichoice"):
        allowed = _choices_of(ctx, field_def) or []
        if value not in allowed:
            return f"{value!r} is not one of its choices: {', '.join(allowed) or '(none)'}"
    elif kind == "bool" and not isinstance(value, bool):
        return f"{value!r} is not true or false"
    elif kind == "int" and (isinstance(value, bool) or not isinstance(value, int)):
        return f"{value!r} is not a whole number"
    elif kind == "text" and not isinstance(value, str):
        return f"{value!r} is not a text"
    return ""


def _comparison_problem(ctx: Context, field_def: FieldDef, operator: str, operand: Any) -> str:
    kind = field_def.type
    if operator in ("min_items", "max_items"):
        if kind != "multichoice":
            return f"{operator} needs a multichoice field, but it is a {kind} field"
    elif operator in ("before", "after"):
        if kind != "datetime":
            return f"{operator} needs a datetime field, but it is a {kind} field"
        other = ctx.workflow.fields.get(operand)
        if operand != "now" and (other is None or other.type != "datetime"):
            known = sorted(n for n, f in ctx.workflow.fields.items() if f.type == "datetime")
            return (
                f"{operator} compares with 'now' or a datetime field, not {operand!r}. "
                f"Datetime fields: {', '.join(known) or '(none)'}"
            )
    elif operator == "contains":
        if kind not in ("multichoice", "text"):
            return f"contains needs a multichoice or text field, but it is a {kind} field"
        return _value_problem(ctx, field_def, operand)
    elif operator in ("equals", "not_equals"):
        if kind == "multichoice":
            if not isinstance(operand, list):
                return (
                    f"{operator} on a multichoice field takes a list; use `contains` for one item"
                )
            return next((p for v in operand if (p := _value_problem(ctx, field_def, v))), "")
        return _value_problem(ctx, field_def, operand)
    elif operator == "in":
        if kind == "multichoice":
            return "`in` tests one value; use `contains` on a multichoice field"
        return next((p for v in operand or [] if (p := _value_problem(ctx, field_def, v))), "")
    return ""
