"""Graph checks: the states and transitions must form a machine an incident can run through.

Semantics followed here (the evaluator's): an `initial: true` transition creates an incident in
its `dest`; `source: '*'` means every non-final state; an `internal: true` transition stays where
it is. transitions itself accepts dangling targets, so these checks are what stops a plan from
stranding an incident.

Ambiguous triggers: two transitions with the same trigger whose sources overlap are an *error*
when neither or only one has `conditions` — then one of them can never fire, or which one fires
depends on the order of the file, which a reader does not see. When both have conditions it is a
*warning*: the checker cannot prove the conditions exclusive, and the first whose conditions hold
wins.
"""

from __future__ import annotations

from collections.abc import Iterable

from engine.definition.checks.context import Context
from engine.definition.checks.paths import PathKey, dotted
from engine.definition.schema import TransitionDef

NEW = "(new incident)"  # the pseudo-source of initial transitions


def check_graph(ctx: Context) -> None:
    """Run every graph check; reference errors in sources and destinations come first."""
    endpoints_ok = _endpoints(ctx)
    _initial(ctx)
    _ambiguous(ctx)
    if endpoints_ok:
        # A misspelt state would also strand the states behind it; report only the typo.
        _reachability(ctx)
    _trigger_references(ctx)


def sources_of(ctx: Context, transition: TransitionDef) -> set[str]:
    """The existing states a transition leaves from ('*' expanded); {NEW} for initial ones."""
    states = ctx.workflow.states
    if transition.initial:
        return {NEW}
    result: set[str] = set()
    for name in transition.source or []:
        if name == "*":
            result |= {s for s, d in states.items() if not d.final}
        elif name in states:
            result.add(name)
    return result


def _endpoints(ctx: Context) -> bool:
    """Sources and destinations name existing states; returns whether all of them do."""
    states = ctx.workflow.states
    ok = True
    for i, transition in enumerate(ctx.workflow.transitions):
        for j, name in enumerate(transition.source or []):
            if name == "*":
                continue
            path: PathKey = ("transitions", i, "source", j)
            ok = ctx.ref("state", name, path) and ok
            if name in states and states[name].final and not transition.internal:
                ctx.error(
                    path,
                    f"'{transition.trigger}' leaves final state '{name}'; a final state ends "
                    "the incident (only `internal: true` transitions may start there)",
                )
        if transition.dest is not None:
            ok = ctx.ref("state", transition.dest, ("transitions", i, "dest")) and ok
    return ok


def _initial(ctx: Context) -> None:
    if not any(t.initial for t in ctx.workflow.transitions):
        ctx.error(
            ("transitions",),
            "no transition creates an incident: mark one `initial: true` with a `dest`",
            key=True,
        )
    if not any(s.final for s in ctx.workflow.states.values()):
        ctx.error(
            ("states",),
            "no state is final: mark the state that closes an incident `final: true`",
            key=True,
        )


def _ambiguous(ctx: Context) -> None:
    transitions = ctx.workflow.transitions
    for i, first in enumerate(transitions):
        for j in range(i + 1, len(transitions)):
            second = transitions[j]
            if first.trigger != second.trigger:
                continue
            overlap = sources_of(ctx, first) & sources_of(ctx, second)
            if not overlap:
                continue
            both = first.conditions is not None and second.conditions is not None
            where = ", ".join(sorted(overlap))
            message = (
                f"trigger '{first.trigger}' is ambiguous in {where}: transitions[{i}] and "
                f"transitions[{j}] both apply"
            )
            if both:
                ctx.warning(
                    ("transitions", j, "trigger"),
                    f"{message}; make sure their conditions exclude each other "
                    "(the first whose conditions hold wins)",
                )
            else:
                ctx.error(
                    ("transitions", j, "trigger"),
                    f"{message}; give both exclusive `conditions`, or rename one trigger",
                )


def _edges(ctx: Context) -> dict[str, set[str]]:
    """State -> states one non-internal transition away (self-loops included)."""
    edges: dict[str, set[str]] = {name: set() for name in ctx.workflow.states}
    for transition in ctx.workflow.transitions:
        if transition.initial or transition.dest not in edges:
            continue
        for source in sources_of(ctx, transition):
            edges[source].add(transition.dest)
    return edges


def _closure(start: Iterable[str], edges: dict[str, set[str]]) -> set[str]:
    seen = set(start)
    todo = list(seen)
    while todo:
        for nxt in edges.get(todo.pop(), set()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _reachability(ctx: Context) -> None:
    states = ctx.workflow.states
    edges = _edges(ctx)
    entries = {
        t.dest for t in ctx.workflow.transitions if t.initial and t.dest in states and t.dest
    }
    reachable = _closure(entries, edges)
    reverse: dict[str, set[str]] = {name: set() for name in states}
    for source, targets in edges.items():
        for target in targets:
            reverse[target].add(source)
    finals = {name for name, state in states.items() if state.final}
    can_finish = _closure(finals, reverse)
    for name, state in states.items():
        path: PathKey = ("states", name)
        if entries and name not in reachable:
            ctx.error(
                path,
                f"state '{name}' is unreachable: no transition from an `initial` transition's "
                f"destination ({', '.join(sorted(entries))}) leads to it",
                key=True,
            )
        if state.final:
            continue
        if not edges[name] - {name}:
            ctx.error(
                path,
                f"state '{name}' is not final but no transition leaves it; add one, or mark it "
                "`final: true`",
                key=True,
            )
        elif finals and name not in can_finish:
            ctx.error(
                path,
                f"state '{name}' has no path to a final state "
                f"({', '.join(sorted(finals))}); an incident there could never be closed",
                key=True,
            )


def _trigger_references(ctx: Context) -> None:
    """Timers and rules fire triggers, and timers reset on triggers: those triggers must exist."""
    transitions = ctx.workflow.transitions
    for name, state in ctx.workflow.states.items():
        for i, timer in enumerate(state.timers):
            path: PathKey = ("states", name, "timers", i)
            ctx.refs("trigger", timer.reset_on, (*path, "reset_on"))
            if timer.fire is None or not ctx.ref("trigger", timer.fire, (*path, "fire")):
                continue
            leaving = [
                t for t in transitions if t.trigger == timer.fire and name in sources_of(ctx, t)
            ]
            if not leaving:
                ctx.error(
                    (*path, "fire"),
                    f"timer '{timer.id}' in {dotted(('states', name))} fires '{timer.fire}', "
                    f"but no '{timer.fire}' transition starts in state '{name}'",
                )
    for i, rule in enumerate(ctx.workflow.rules):
        path = ("rules", i, "fire")
        if ctx.ref("trigger", rule.fire, path) and all(
            t.initial for t in transitions if t.trigger == rule.fire
        ):
            ctx.error(
                path,
                f"rule '{rule.id}' fires '{rule.fire}', which only creates incidents; a rule "
                "acts on a running incident",
            )
    seen: dict[str, int] = {}
    for i, rule in enumerate(ctx.workflow.rules):
        if rule.id in seen:
            ctx.error(
                ("rules", i, "id"), f"duplicate rule id '{rule.id}' (also rules[{seen[rule.id]}])"
            )
        seen.setdefault(rule.id, i)
