"""Draw a plan's state machine as Mermaid (`stateDiagram-v2`) or Graphviz DOT text.

Written by hand rather than through transitions' GraphMachine: the output must be deterministic
(it is compared with a golden file and reviewed in pull requests) and must show what only the plan
knows — gates with their approvers and scope, timers, internal transitions. States and
transitions appear in plan order; `source: '*'` is drawn as one edge per non-final state.
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
    fires = f" → {timer.fire}" if timer.fire else ""
    return f"⏲ {timer.id} {when}{fires}"


def _gate_lines(gate: Gate, words: _Words, *, timing: bool = True) -> list[str]:
    lines = []
    if gate.any_of:
        lines.append(f"{words.approved_by}: {' | '.join(gate.any_of)}")
    if gate.all_of:
        lines.append(f"{words.approved_by_all}: {' + '.join(gate.all_of)}")
    if gate.scope is not None:
        mode = words.each if gate.scope.mode == "each" else words.any
        lines.append(f"{words.scope}: {gate.scope.field} ({mode})")
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
    return [f"{words.rule}: {', '.join(rules)}"] if rules else []


def _edge_lines(definition: Definition, transition: TransitionDef, words: _Words) -> list[str]:
    head = transition.trigger
    if transition.conditions is not None:
        head += f" [{words.condition}]"
    gate = _gate_lines(transition.gate, words) if transition.gate is not None else []
    return [head, *gate, *_rule_lines(definition, transition.trigger, words)]


def _state_lines(name: str, state: StateDef, definition: Definition, words: _Words) -> list[str]:
    """The text shown inside a state: its timers, then its internal transitions."""
    lines = [_timer_line(timer, words) for timer in state.timers]
    for transition in definition.workflow.transitions:
        if transition.internal and name in _sources(definition, transition):
            # Only who decides, and for what: the reminder timing is on the gate's own edge.
            notes = _gate_lines(transition.gate, words, timing=False) if transition.gate else []
            notes += _rule_lines(definition, transition.trigger, words)
            suffix = f" ({', '.join(notes)})" if notes else ""
            lines.append(f"↻ {transition.trigger}{suffix}")
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


_MERMAID_ENTITIES = {ord("#"): "#35;", ord(":"): "#58;", ord(";"): "#59;"}


def _mermaid_text(text: str) -> str:
    """Text after `id :` or `-->` ... `:`, where Mermaid's grammar ends at `:` or `;`.

    Mermaid has no backslash escapes but decodes entity codes such as `#58;` when it renders.
    """
    return " ".join(text.split()).translate(_MERMAID_ENTITIES)


def _mermaid_title(text: str) -> str:
    """Text inside `state "..." as id`: only the double quote would end it."""
    return " ".join(text.split()).replace('"', "#quot;")


def to_mermaid(definition: Definition, language: str = "sv") -> str:
    """The plan as a Mermaid `stateDiagram-v2`; the same plan always gives the same text."""
    words = _words(language)
    wf = definition.workflow
    out = [
        "stateDiagram-v2",
        f"    %% {wf.document.name} v{wf.document.version}: "
        f"{' '.join(localized(wf.document.title, language).split())}",
    ]
    for name, state in wf.states.items():
        title = _mermaid_title(localized(state.title, language))
        out.append(f'    state "{title}" as {name}')
        out.extend(
            f"    {name} : {_mermaid_text(line)}"
            for line in _state_lines(name, state, definition, words)
        )
    for source, dest, transition in _edges(definition):
        label = "<br/>".join(
            _mermaid_text(line) for line in _edge_lines(definition, transition, words)
        )
        out.append(f"    {source or '[*]'} --> {dest} : {label}")
    out.extend(f"    {name} --> [*]" for name, state in wf.states.items() if state.final)
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
        lines = [localized(state.title, language), *_state_lines(name, state, definition, words)]
        label = "\\n".join(_dot_text(line) for line in lines)
        extra = ", peripheries=2" if state.final else ""
        out.append(f'  {name} [label="{label}"{extra}];')
    for source, dest, transition in _edges(definition):
        label = "\\n".join(_dot_text(line) for line in _edge_lines(definition, transition, words))
        out.append(f'  {source or "__start__"} -> {dest} [label="{label}"];')
    out.append("}")
    return "\n".join(out) + "\n"
