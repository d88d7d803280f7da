"""Draw a plan's state machine as a Mermaid flowchart or Graphviz DOT text.

Written by hand rather than through transitions' GraphMachine: the output must be deterministic
(it is compared with a golden file and reviewed in pull requests) and must show what only the plan
knows — gates with their approvers and scope, timers, internal transitions. States and
transitions appear in plan order; `source: '*'` is drawn as one edge per non-final state.
States, triggers and roles are shown by their titles with the ids beside them (the titles are
what people say, the ids what the CLI takes); only Latin-1 letters and common punctuation are
drawn, since a glyph a font lacks shows as an empty box.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.definition.definition import Definition
from engine.definition.durations import format_duration
from engine.definition.schema import Gate, StateDef, TimerDef, TransitionDef, localized


@dataclass(frozen=True)
class _Words:
    approved_by: str
    approved_by_all: str
    scope: str
    each: str
    any: str
    remind: str
    expires: str
    every: str
    after: str
    at: str
    condition: str
    rule: str
    timer: str
    fires: str
    internal: str
    or_: str
    and_: str


_WORDS = {
    "sv": _Words(
        approved_by="godkänns av",
        approved_by_all="godkänns av alla",
        scope="omfång",
        each="varje delregion",
        any="någon delregion",
        remind="påminnelse efter",
        expires="förfaller efter",
        every="var",
        after="efter",
        at="vid",
        condition="villkor",
        rule="regel",
        timer="timer",
        fires="utför",
        internal="utan lägesbyte",
        or_="eller",
        and_="och",
    ),
    "en": _Words(
        approved_by="approved by",
        approved_by_all="approved by all of",
        scope="scope",
        each="each sub-region",
        any="any sub-region",
        remind="reminder after",
        expires="expires after",
        every="every",
        after="after",
        at="at",
        condition="condition",
        rule="rule",
        timer="timer",
        fires="fires",
        internal="without a change of state",
        or_="or",
        and_="and",
    ),
}


def _words(language: str) -> _Words:
    return _WORDS.get(language, _WORDS["en"])


def _timer_line(timer: TimerDef, words: _Words) -> str:
    if timer.every is not None:
        when = f"{words.every} {format_duration(timer.every)}"
    elif timer.after is not None:
        when = f"{words.after} {format_duration(timer.after)}"
    else:
        when = f"{words.at} {timer.at}"
    fires = f", {words.fires} {timer.fire}" if timer.fire else ""
    return f"{words.timer} {timer.id}: {when}{fires}"


def _role(definition: Definition, role: str, language: str) -> str:
    spec = definition.workflow.roles.get(role)
    title = localized(spec.title, language) if spec is not None else ""
    return f"{title} ({role})" if title else role


def _gate_lines(
    definition: Definition, gate: Gate, words: _Words, language: str, *, timing: bool = True
) -> list[str]:
    lines = []
    # One approver a line: role titles are long, and a wide label crowds the drawing.
    for lead, joiner, roles in (
        (words.approved_by, words.or_, gate.any_of),
        (words.approved_by_all, words.and_, gate.all_of),
    ):
        for i, role in enumerate(roles or []):
            lines.append(f"{lead if i == 0 else joiner} {_role(definition, role, language)}")
    if gate.scope is not None:
        mode = words.each if gate.scope.mode == "each" else words.any
        lines.append(f"{words.scope} {gate.scope.field} ({mode})")
    if not timing:
        return lines
    times = []
    if gate.remind:
        times.append(f"{words.remind} {', '.join(format_duration(r.after) for r in gate.remind)}")
    if gate.expires is not None:
        times.append(f"{words.expires} {format_duration(gate.expires)}")
    if times:
        lines.append(", ".join(times))
    return lines


def _rule_lines(definition: Definition, trigger: str, words: _Words) -> list[str]:
    """Rules that fire `trigger` by themselves: worth seeing, since no person decides them."""
    rules = [rule.id for rule in definition.workflow.rules if rule.fire == trigger]
    return [f"{words.rule} {', '.join(rules)}"] if rules else []


def _titled(title: str, name: str) -> str:
    """A title with its id beside it (the id alone when there is no title)."""
    return f"{title} ({name})" if title and title != name else name


def _trigger(transition: TransitionDef, language: str) -> str:
    return _titled(localized(transition.title, language), transition.trigger)


def _edge_lines(
    definition: Definition, transition: TransitionDef, words: _Words, language: str
) -> list[str]:
    head = _trigger(transition, language)
    if transition.conditions is not None:
        head += f" [{words.condition}]"
    gate = (
        _gate_lines(definition, transition.gate, words, language)
        if transition.gate is not None
        else []
    )
    return [head, *gate, *_rule_lines(definition, transition.trigger, words)]


def _state_lines(
    name: str, state: StateDef, definition: Definition, words: _Words, language: str
) -> list[str]:
    """The text shown inside a state: its timers, then its internal transitions."""
    lines = [_timer_line(timer, words) for timer in state.timers]
    for transition in definition.workflow.transitions:
        if transition.internal and name in _sources(definition, transition):
            # Only who decides, and for what: the reminder timing is on the gate's own edge.
            gate = transition.gate
            notes = _gate_lines(definition, gate, words, language, timing=False) if gate else []
            notes += _rule_lines(definition, transition.trigger, words)
            lines.append(f"{words.internal}: {_trigger(transition, language)}")
            lines.extend(f"- {note}" for note in notes)
    return lines


def _sources(definition: Definition, transition: TransitionDef) -> list[str]:
    """The states a transition leaves from, in plan order, with '*' expanded."""
    states = definition.workflow.states
    named = transition.source or []
    if "*" in named:
        return [s for s, d in states.items() if not d.final]
    return [s for s in states if s in named]


def _edges(definition: Definition) -> list[tuple[str | None, str, TransitionDef]]:
    """(source or None for the start node, dest, transition) for every state-changing edge."""
    edges: list[tuple[str | None, str, TransitionDef]] = []
    for transition in definition.workflow.transitions:
        if transition.dest is None:
            continue
        if transition.initial:
            edges.append((None, transition.dest, transition))
            continue
        edges.extend(
            (source, transition.dest, transition) for source in _sources(definition, transition)
        )
    return edges


# Node and end-point ids of the drawing's own; plan names are lower_snake_case, never these.
_START, _END = "start__", "end__"


def _mermaid_text(text: str) -> str:
    """Text inside a quoted Mermaid label: one line, and the double quote (which would end
    it) as Mermaid's entity code. `<br/>` between lines is added by the caller."""
    return " ".join(text.split()).replace('"', "#quot;")


def to_mermaid(definition: Definition, language: str = "sv") -> str:
    """The plan as a Mermaid flowchart; the same plan always gives the same text.

    A flowchart rather than a `stateDiagram-v2`: Mermaid lays a flowchart's edge labels out as
    boxes of their own (`A -->|"label"| B`), so a long gate label sits beside its edge, where a
    state diagram draws it across other edges. Each state is a box with its title, its id and
    its timers; the start is a small circle and every final state leads to a double circle.
    """
    words = _words(language)
    wf = definition.workflow
    out = [
        "flowchart TD",
        f"    %% {wf.document.name} v{wf.document.version}: "
        f"{' '.join(localized(wf.document.title, language).split())}",
        f'    {_START}((" "))',
    ]
    for name, state in wf.states.items():
        lines = [
            _titled(localized(state.title, language), name),
            *_state_lines(name, state, definition, words, language),
        ]
        out.append(f'    {name}["{"<br/>".join(_mermaid_text(line) for line in lines)}"]')
    if any(state.final for state in wf.states.values()):
        out.append(f'    {_END}(((" ")))')
    for source, dest, transition in _edges(definition):
        label = "<br/>".join(
            _mermaid_text(line) for line in _edge_lines(definition, transition, words, language)
        )
        out.append(f'    {source or _START} -->|"{label}"| {dest}')
    out.extend(f"    {name} --> {_END}" for name, state in wf.states.items() if state.final)
    return "\n".join(out) + "\n"


def _dot_text(text: str) -> str:
    return " ".join(text.split()).replace("\\", "\\\\").replace('"', '\\"')


def to_dot(definition: Definition, language: str = "sv") -> str:
    """The plan as a Graphviz digraph; final states have a double border."""
    words = _words(language)
    wf = definition.workflow
    title = _dot_text(localized(wf.document.title, language))
    out = [
        f'digraph "{wf.document.name}" {{',
        f'  label="{title} ({wf.document.name} v{wf.document.version})";',
        "  labelloc=t;",
        "  rankdir=LR;",
        '  node [shape=box, style=rounded, fontname="Helvetica"];',
        '  edge [fontname="Helvetica", fontsize=10];',
        '  __start__ [shape=point, width=0.2, label=""];',
    ]
    for name, state in wf.states.items():
        lines = [
            _titled(localized(state.title, language), name),
            *_state_lines(name, state, definition, words, language),
        ]
        label = "\\n".join(_dot_text(line) for line in lines)
        extra = ", peripheries=2" if state.final else ""
        out.append(f'  {name} [label="{label}"{extra}];')
    for source, dest, transition in _edges(definition):
        label = "\\n".join(
            _dot_text(line) for line in _edge_lines(definition, transition, words, language)
        )
        out.append(f'  {source or "__start__"} -> {dest} [label="{label}"];')
    out.append("}")
    return "\n".join(out) + "\n"
