"""Properties of the evaluator on the SAMSA plan, explored by hypothesis.

A rule-based state machine drives one incident with random people, triggers and payloads. Its
model is written from the plan's YAML alone (transitions, roles and their deputies, gates, field
requirements), not from the evaluator, and predicts for every command whether it is refused (and
how), waits for a decision, or applies — and what the incident looks like afterwards.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from engine.definition.loader import load_definition
from engine.definition.schema import TransitionDef
from engine.domain.machine import Evaluator
from engine.domain.outcome import SYSTEM_ACTOR, Actor
from engine.errors import (
    CommandError,
    InvalidField,
    MissingField,
    NotAuthorized,
    TransitionNotAllowed,
    UnknownTrigger,
)
from tests.conftest import examples

PLAN = Path(__file__).resolve().parents[2] / "workflows" / "samsa_outage.yaml"
NOW = datetime(2022, 6, 28, 12, 30, tzinfo=UTC)


DEFINITION = load_definition(PLAN)
WF = DEFINITION.workflow
EV = Evaluator(DEFINITION)

ROLES = sorted(WF.roles)
SUBREGIONS = sorted(WF.subregions)
TRIGGERS = sorted({t.trigger for t in WF.transitions})
BOGUS = ["to_closed", "to_outage", "Declare", "partial_reserve", "restore_"]
FINAL = {name for name, s in WF.states.items() if s.final}

# The plan's transitions by (trigger, source); None is the source of `declare`.
BY_KEY: dict[tuple[str, str | None], TransitionDef] = {}
for _t in WF.transitions:
    for _source in [None] if _t.initial else (_t.source or []):
        BY_KEY[(_t.trigger, _source)] = _t
# Every state change the plan declares: (source, dest).
EDGES = {(source, t.dest) for (_, source), t in BY_KEY.items() if not t.internal}


def roles_acted_as(roles: Iterable[str]) -> frozenset[str]:
    """Roles plus those they deputise for, followed through `deputy_of` in the YAML."""
    out: set[str] = set()
    for held in roles:
        role: str | None = held
        while role and role not in out:
            out.add(role)
            role = WF.roles[role].deputy_of if role in WF.roles else None
    return frozenset(out)


def gate_roles(t: TransitionDef) -> frozenset[str]:
    return frozenset(t.gate.any_of + t.gate.all_of) if t.gate else frozenset()


def merge(t: TransitionDef, data: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """The incident's data with the changes applied; `append` fields gain only new items."""
    merged = dict(data)
    for key, value in changes.items():
        if key in t.append:
            old = list(merged.get(key) or [])
            merged[key] = old + [v for v in value if v not in old]
        else:
            merged[key] = value
    for name in t.stamps:  # the moment the transition happens, unless given
        if name not in changes:
            merged[name] = NOW.isoformat()
    return merged


def new_items(
    t: TransitionDef, key: str, data: Mapping[str, Any], changes: Mapping[str, Any]
) -> list[Any]:
    old = data.get(key) or []
    return [v for v in changes.get(key) or [] if v not in old]


def decides(
    t: TransitionDef, actor: Actor, data: Mapping[str, Any], changes: Mapping[str, Any]
) -> bool:
    """Whether this actor alone makes every decision the gate asks for.

    A scoped gate asks one decision per value of its field: the values this trigger brings (only
    the new ones, for an `append` field), else those on the incident. A gate with nothing to
    decide is never decided by anyone.
    """
    assert t.gate is not None
    acting = roles_acted_as(actor.roles)
    groups = [{r} for r in t.gate.all_of] + ([set(t.gate.any_of)] if t.gate.any_of else [])
    if not all(acting & g for g in groups):
        return False
    if t.gate.scope is None:
        return True
    key = t.gate.scope.field
    if key in t.append:
        values = new_items(t, key, data, changes)
    else:
        raw = changes[key] if key in changes else data.get(key)
        values = raw if isinstance(raw, list) else ([raw] if raw else [])
    if not values:
        return False
    if t.gate.scope.mode == "any":
        return actor.subregion in values
    return all(v == actor.subregion for v in values)


def predict(
    state: str | None,
    trigger: str,
    actor: Actor,
    data: Mapping[str, Any],
    changes: Mapping[str, Any],
    approved: bool,
) -> type[CommandError] | str:
    """The error the plan says this command meets, or "pending" / "applied"."""
    if trigger not in TRIGGERS:
        return UnknownTrigger
    t = BY_KEY.get((trigger, state))
    if t is None:
        return TransitionNotAllowed
    acting = roles_acted_as(actor.roles)
    may = actor.is_system or bool(acting & set(t.allowed))
    if not may and not acting & gate_roles(t):
        return NotAuthorized
    if t.accepts is not None and set(changes) - set(t.accepts) - set(t.requires):
        return InvalidField
    merged = merge(t, data, changes)
    needed = list(t.requires)
    if state is None:
        needed += [name for name, f in WF.fields.items() if f.required]
    if any(merged.get(name) in (None, "", []) for name in needed):
        return MissingField
    for key in t.append:
        if changes.get(key) and not new_items(t, key, data, changes):
            return InvalidField  # every value given is already there
        if key in t.requires and not new_items(t, key, data, changes):
            return MissingField  # an addition must add something
    if t.gate is None or approved or decides(t, actor, data, changes):
        return "applied"
    return "pending" if may else NotAuthorized


# ----------------------------------------------------------------------------------- strategies

times = st.datetimes(
    min_value=datetime(2022, 1, 1), max_value=datetime(2023, 1, 1), timezones=st.just(UTC)
).map(lambda d: d.astimezone(UTC).isoformat())


def value_of(name: str) -> st.SearchStrategy[Any]:
    """Valid stored values of a plan field (blank text and empty lists included)."""
    field = WF.fields[name]
    if field.type == "datetime":
        return st.one_of(times, st.just("unknown")) if field.unknown_allowed else times
    if field.type == "bool":
        return st.booleans()
    if field.type == "multichoice":
        return st.lists(st.sampled_from(SUBREGIONS), unique=True, max_size=len(SUBREGIONS))
    assert field.type == "text", field.type
    return st.text(alphabet="abcåäö .", max_size=8)


@st.composite
def payloads(draw: st.DrawFn, trigger: str, state: str | None) -> dict[str, Any]:
    """The data a trigger is given: usually its required fields, and some it accepts."""
    t = BY_KEY.get((trigger, state))
    if t is None:
        return draw(st.fixed_dictionaries({}, optional={"scope": value_of("scope")}))
    required = list(t.requires)
    if state is None:
        required += [n for n, f in WF.fields.items() if f.required and n not in required]
    accepted = list(WF.fields) if t.accepts is None else list(t.accepts)
    optional = [n for n in accepted if n not in required]
    if draw(st.sampled_from([False, False, False, True])):
        keep = draw(st.sets(st.sampled_from(required))) if required else set()
        required = [n for n in required if n in keep]
    return draw(
        st.fixed_dictionaries(
            {n: value_of(n) for n in required},
            optional={
                n: value_of(n)
                for n in optional[:4]
                + ([] if len(optional) <= 4 else [draw(st.sampled_from(optional))])
            },
        )
    )


# States an incident may be stored in when a command arrives (the final one is tested alone);
# the reserve stages, where the gates are, are drawn twice as often.
STORED = [name for name in WF.states if name not in FINAL]
RESERVE = [name for name in STORED if any(t.gate for (_, s), t in BY_KEY.items() if s == name)]


@st.composite
def stored_data(draw: st.DrawFn, state: str) -> dict[str, Any]:
    """Data an incident in `state` can hold: what reaching it required, and perhaps more."""
    needed = {n for n, f in WF.fields.items() if f.required}
    for t in BY_KEY.values():
        if t.dest == state and not t.initial:
            needed |= set(t.requires)
    if state == "follow_up":
        needed.add("resolved_at")
    data = {}
    for name in sorted(needed):
        value = draw(value_of(name).filter(lambda v: v not in ("", [])))
        data[name] = value
    extra = draw(
        st.fixed_dictionaries(
            {},
            optional={
                n: value_of(n) for n in ("affected_subregions", "total_it_breakdown", "details")
            },
        )
    )
    return {**data, **extra}


def actors_with(roles: Iterable[str]) -> st.SearchStrategy[Actor]:
    return st.builds(
        Actor,
        id=st.sampled_from(["anna", "bo", "cecilia"]),
        roles=st.frozensets(st.sampled_from(sorted(roles)), min_size=1, max_size=2),
        subregion=st.one_of(st.none(), st.sampled_from(SUBREGIONS)),
    )


# One person per role (a decider per sub-region), a person with no role, and the system.
PERSONAS = [
    *[Actor(f"decider_{r}", frozenset({"subregional_decider"}), r) for r in SUBREGIONS],
    *[Actor(role, frozenset({role})) for role in ROLES if role != "subregional_decider"],
    Actor("nobody", subregion=SUBREGIONS[0]),
    SYSTEM_ACTOR,
]
ANY_ACTOR = st.one_of(st.sampled_from(PERSONAS), actors_with(ROLES))


def draw_command(
    choice: st.DataObject, state: str | None, trigger: str, data: Mapping[str, Any]
) -> tuple[Actor, dict[str, Any]]:
    """Someone, often holding a role the trigger names, and the data they give.

    For a sub-regional gate the actor is, half the time, a decider of one of the sub-regions the
    decision is about, so that deciding one's own part of a wider request is explored.
    """
    t = BY_KEY.get((trigger, state))
    likely = sorted(set(t.allowed) | gate_roles(t)) if t and (t.allowed or t.gate) else ROLES
    actor = choice.draw(st.one_of(actors_with(likely), ANY_ACTOR), label="actor")
    changes = choice.draw(payloads(trigger, state), label="changes")
    if t is not None and t.gate is not None and t.gate.scope is not None:
        key = t.gate.scope.field
        values = list(changes.get(key) or []) + list(data.get(key) or [])
        if values and choice.draw(st.booleans(), label="local decider"):
            region = choice.draw(st.sampled_from(values), label="their sub-region")
            actor = Actor(f"decider_{region}", frozenset(t.gate.any_of), region)
    return actor, changes


def snapshot(*values: Any) -> Any:
    return copy.deepcopy(values)


def expected_notices(t: TransitionDef, source: str | None, dest: str) -> list[str]:
    """Where the plan says a trigger's messages come from, in the order transitions runs them."""
    index = WF.transitions.index(t)
    origins = [f"transitions[{index}].actions[{i}]" for i in range(len(t.actions))]
    if not t.internal:
        for state, hook in ((source, "on_exit"), (dest, "on_enter")):
            if state is not None:
                actions = getattr(WF.states[state], hook)
                origins += [f"states.{state}.{hook}[{i}]" for i in range(len(actions))]
    return origins


def check_command(
    state: str | None,
    data: Mapping[str, Any],
    flags: frozenset[str],
    trigger: str,
    actor: Actor,
    changes: dict[str, Any],
    approved: bool,
) -> tuple[str, dict[str, Any], frozenset[str]] | None:
    """Evaluate one command, check it against the model; the incident afterwards, or None."""
    expected = predict(state, trigger, actor, data, changes, approved)
    data_in, flags_in = copy.deepcopy(dict(data)), set(flags)
    before = snapshot(data_in, flags_in, changes)
    try:
        outcome = EV.evaluate(
            state=state,
            data=data_in,
            flags=flags_in,
            trigger=trigger,
            actor=actor,
            changes=changes,
            now=NOW,
            approved=approved,
        )
    except CommandError as err:
        assert snapshot(data_in, flags_in, changes) == before, "a refused command changed input"
        assert isinstance(expected, type), f"refused ({err}) but the plan says {expected}"
        assert type(err) is expected, f"{type(err).__name__}: {err}; expected {expected}"
        return None
    assert snapshot(data_in, flags_in, changes) == before, "evaluation changed its input"
    t = BY_KEY[(trigger, state)]
    assert outcome.transition is t and outcome.source == state
    if outcome.is_pending:
        assert expected == "pending", f"pending, but the plan says {expected}"
        assert outcome.pending is not None and outcome.pending.open_slots
        assert (outcome.data, outcome.flags) == (data, flags)
        assert outcome.notifications == () and outcome.arm_timers == ()
        return None  # nothing changes until the decision
    assert expected == "applied", f"applied, but the plan says {expected}"
    if t.internal:
        assert outcome.dest == state
        resets = [tm.id for tm in WF.states[state].timers if trigger in tm.reset_on]
        assert [tm.id for tm in outcome.reset_timers] == resets
        assert outcome.arm_timers == ()
    else:
        assert (state, outcome.dest) in EDGES
        assert [tm.id for tm in outcome.arm_timers] == [
            tm.id for tm in WF.states[outcome.dest].timers
        ]
    assert [n.origin for n in outcome.notifications] == expected_notices(t, state, outcome.dest)
    assert outcome.data == merge(t, data, changes)
    assert outcome.flags == flags | set(t.flags)
    return outcome.dest, dict(outcome.data), outcome.flags


def council_alert_due(
    state: str, data: Mapping[str, Any], flags: Iterable[str], fired: Iterable[str]
) -> list[str]:
    """The plan's one rule, read aloud: alert the council once, until the council was alerted,
    when SAMSA is down for most sub-regions (three or more), in a total IT breakdown, or in a
    total reserve (flag crisis)."""
    where = {source for (trigger, source) in BY_KEY if trigger == "notify_crisis"}
    if state not in where or "council_alert" in fired or "council_alerted" in flags:
        return []
    broken = data.get("total_it_breakdown") is True
    most = len(data.get("affected_subregions") or []) >= 3
    return ["council_alert"] if broken or most or "crisis" in flags else []


# -------------------------------------------------------------------------------- state machine


class SamsaIncident(RuleBasedStateMachine):
    """One incident under random commands; the model predicts each outcome from the YAML."""

    def __init__(self) -> None:
        super().__init__()
        self.state: str | None = None
        self.data: dict[str, Any] = {}
        self.flags: frozenset[str] = frozenset()
        self.fired: set[str] = set()

    @initialize(choice=st.data())
    def open_incident(self, choice: st.DataObject) -> None:
        """Start from nothing, or from an incident already stored in some open state."""
        start = choice.draw(st.sampled_from([None, *STORED, *RESERVE]), label="start")
        if start is not None:
            self.state = start
            self.data = choice.draw(stored_data(start), label="data")
            self.flags = frozenset({"crisis"}) if start == "total_reserve" else frozenset()

    def _fire(self, trigger: str, actor: Actor, changes: dict[str, Any], approved: bool) -> None:
        after = check_command(self.state, self.data, self.flags, trigger, actor, changes, approved)
        if after is not None:
            self.state, self.data, self.flags = after

    @rule(choice=st.data(), approved=st.sampled_from([False, False, True]))
    def command(self, choice: st.DataObject, approved: bool) -> None:
        """Someone fires a trigger, usually one the current state offers."""
        offered = sorted({trig for (trig, source) in BY_KEY if source == self.state})
        everything = st.sampled_from(TRIGGERS + BOGUS)
        trigger = choice.draw(
            st.one_of(st.sampled_from(offered), st.sampled_from(offered), everything)
            if offered
            else everything,
            label="trigger",
        )
        actor, changes = draw_command(choice, self.state, trigger, self.data)
        self._fire(trigger, actor, changes, approved)

    @rule()
    def automatic_rules(self) -> None:
        """The rule runner fires every due rule's trigger as the system, once per rule."""
        if self.state is None:
            return
        due = EV.rules_due(self.state, self.data, self.flags, self.fired, NOW)
        assert due == council_alert_due(self.state, self.data, self.flags, self.fired)
        for rule_id in due:
            [plan_rule] = [r for r in WF.rules if r.id == rule_id]
            self._fire(plan_rule.fire, SYSTEM_ACTOR, {}, approved=False)
            self.fired.add(rule_id)
            assert "crisis" in self.flags

    @invariant()
    def state_is_a_plan_state(self) -> None:
        """The incident is either not yet declared or in a state the plan names."""
        assert self.state is None or self.state in WF.states

    @invariant()
    def final_state_admits_no_trigger(self) -> None:
        """A closed incident refuses every trigger, whoever fires it."""
        if self.state not in FINAL:
            return
        for trigger in TRIGGERS:
            with pytest.raises(TransitionNotAllowed):
                EV.evaluate(
                    state=self.state,
                    data=self.data,
                    flags=self.flags,
                    trigger=trigger,
                    actor=SYSTEM_ACTOR,
                    changes={},
                    now=NOW,
                    approved=True,
                )


# No explain phase: it re-runs failing examples under tracing, which takes minutes here. The
# state machine shrinks one failure only: shrinking several sequences at once can take minutes.
QUICK_PHASES = [Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink]
SamsaIncident.TestCase.settings = settings(
    max_examples=examples(100),
    stateful_step_count=30,
    deadline=None,
    phases=QUICK_PHASES,
    report_multiple_bugs=False,
)
TestSamsaIncident = SamsaIncident.TestCase
TestSamsaIncident.__doc__ = "Random command sequences on one incident behave as the plan predicts."


# ------------------------------------------------------------------------------- authorisation

BASE_DATA = {
    "started_at": "2022-06-28T12:00:00+00:00",
    "scope": "SAMSA otillgänglig",
    "expected_resolution": "unknown",
    "reserve_subregions": ["fyrbodal"],
    "resolved_at": "2022-06-28T15:00:00+00:00",
}


@settings(max_examples=examples(200), deadline=None, phases=QUICK_PHASES)
@given(key=st.sampled_from(sorted(BY_KEY, key=str)), choice=st.data())
def test_an_actor_with_no_allowed_role_and_no_gate_role_is_never_authorised(
    key: tuple[str, str | None], choice: st.DataObject
) -> None:
    """Whoever holds none of a transition's roles (deputies included) nor its gate's is refused."""
    trigger, state = key
    t = BY_KEY[key]
    entitled = set(t.allowed) | gate_roles(t)
    outsiders = [r for r in ROLES if not roles_acted_as([r]) & entitled]
    roles = choice.draw(
        st.frozensets(st.sampled_from(outsiders), max_size=3)
        if outsiders
        else st.just(frozenset()),
        label="roles",
    )
    actor = Actor("someone", roles, choice.draw(st.one_of(st.none(), st.sampled_from(SUBREGIONS))))
    changes = choice.draw(payloads(trigger, state), label="changes")
    data = {} if state is None else BASE_DATA

    with pytest.raises(NotAuthorized) as err:
        EV.evaluate(
            state=state,
            data=data,
            flags=frozenset(),
            trigger=trigger,
            actor=actor,
            changes=changes,
            now=NOW,
            approved=choice.draw(st.booleans()),
        )
    assert set(t.allowed) <= set(err.value.allowed)


KEYS = sorted(BY_KEY, key=str)
GATED = [key for key in KEYS if BY_KEY[key].gate is not None]


@settings(max_examples=examples(400), deadline=None, phases=QUICK_PHASES)
@given(key=st.sampled_from(KEYS + GATED * 3), approved=st.booleans(), choice=st.data())
def test_any_single_command_does_what_the_plan_says(
    key: tuple[str, str | None], approved: bool, choice: st.DataObject
) -> None:
    """Any trigger from any source, by anyone, with any valid data, acts as the plan predicts."""
    trigger, state = key
    data = {} if state is None else choice.draw(stored_data(state), label="data")
    flags = frozenset({"crisis"}) if state == "total_reserve" else frozenset()
    actor, changes = draw_command(choice, state, trigger, data)
    check_command(state, data, flags, trigger, actor, changes, approved)


@settings(max_examples=examples(300), deadline=None, phases=QUICK_PHASES)
@given(
    state=st.sampled_from(sorted(WF.states)),
    data=st.fixed_dictionaries(
        {},
        optional={
            "total_it_breakdown": st.booleans(),
            "affected_subregions": value_of("affected_subregions"),
        },
    ),
    flags=st.frozensets(st.sampled_from(["crisis", "drill"])),
    fired=st.frozensets(st.sampled_from(["council_alert", "other"])),
)
def test_council_alert_is_due_exactly_when_the_plan_says(
    state: str, data: dict[str, Any], flags: frozenset[str], fired: frozenset[str]
) -> None:
    """The council alert is due in an open stage, once, without a crisis, on breakdown or 3+."""
    assert EV.rules_due(state, data, flags, fired, NOW) == council_alert_due(
        state, data, flags, fired
    )
