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
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from engine.definition.loader import Definition, load_definition, parse_definition
from engine.definition.schema import TransitionDef
from engine.errors import (
    CommandError,
    InvalidField,
    MissingField,
    NotAuthorized,
    TransitionNotAllowed,
    UnknownTrigger,
)
from engine.machine import SYSTEM_ACTOR, Actor, Evaluator

PLAN = Path(__file__).resolve().parents[2] / "workflows" / "samsa_outage.yaml"
NOW = datetime(2022, 6, 28, 12, 30, tzinfo=UTC)


def load_samsa() -> Definition:
    """The SAMSA plan, checked when the checker is importable (it is written concurrently)."""
    try:
        return load_definition(PLAN)
    except ImportError:
        return parse_definition(PLAN.read_bytes(), str(PLAN), base=PLAN.parent, check=False)


DEFINITION = load_samsa()
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
    for role in roles:
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
    return merged


def new_items(t: TransitionDef, key: str, data: Mapping[str, Any], changes: Mapping[str, Any]
              ) -> list[Any]:
    old = data.get(key) or []
    return [v for v in changes.get(key) or [] if v not in old]


def decides(t: TransitionDef, actor: Actor, data: Mapping[str, Any],
            changes: Mapping[str, Any]) -> bool:
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


def predict(state: str | None, trigger: str, actor: Actor, data: Mapping[str, Any],
            changes: Mapping[str, Any], approved: bool) -> type[CommandError] | str:
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

times = st.datetimes(min_value=datetime(2022, 1, 1), max_value=datetime(2023, 1, 1),
                     timezones=st.just(UTC)).map(lambda d: d.astimezone(UTC).isoformat())


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
    return draw(st.fixed_dictionaries(
        {n: value_of(n) for n in required},
        optional={n: value_of(n) for n in optional[:4] + ([] if len(optional) <= 4 else
                                                           [draw(st.sampled_from(optional))])},
    ))


def actors_with(roles: Iterable[str]) -> st.SearchStrategy[Actor]:
    return st.builds(
        Actor,
        id=st.sampled_from(["anna", "bo", "cecilia"]),
        roles=st.frozensets(st.sampled_from(sorted(roles)), min_size=1, max_size=2),
        subregion=st.one_of(st.none(), st.sampled_from(SUBREGIONS)),
    )


ANY_ACTOR = st.one_of(
    actors_with(ROLES),
    st.builds(Actor, id=st.just("nobody"), subregion=st.one_of(st.none(),
                                                              st.sampled_from(SUBREGIONS))),
    st.just(SYSTEM_ACTOR),
)


def snapshot(*values: Any) -> Any:
    return copy.deepcopy(values)


# -------------------------------------------------------------------------------- state machine


class SamsaIncident(RuleBasedStateMachine):
    """One incident under random commands; the model predicts each outcome from the YAML."""

    def __init__(self) -> None:
        super().__init__()
        self.state: str | None = None
        self.data: dict[str, Any] = {}
        self.flags: frozenset[str] = frozenset()
        self.fired: set[str] = set()

    def _fire(self, trigger: str, actor: Actor, changes: dict[str, Any], approved: bool) -> None:
        expected = predict(self.state, trigger, actor, self.data, changes, approved)
        data, flags = copy.deepcopy(self.data), set(self.flags)
        before = snapshot(data, flags, changes)
        try:
            outcome = EV.evaluate(state=self.state, data=data, flags=flags, trigger=trigger,
                                  actor=actor, changes=changes, now=NOW, approved=approved)
        except CommandError as err:
            assert snapshot(data, flags, changes) == before, "a refused command changed its input"
            assert isinstance(expected, type), f"refused ({err}) but the plan says {expected}"
            assert type(err) is expected, f"{type(err).__name__}: {err}; expected {expected}"
            return
        assert snapshot(data, flags, changes) == before, "evaluation changed its input"
        t = BY_KEY[(trigger, self.state)]
        assert outcome.transition is t and outcome.source == self.state
        if outcome.is_pending:
            assert expected == "pending", f"pending, but the plan says {expected}"
            assert outcome.pending is not None and outcome.pending.open_slots
            assert (outcome.data, outcome.flags) == (self.data, self.flags)
            assert outcome.notifications == () and outcome.arm_timers == ()
            return  # nothing changes until the decision
        assert expected == "applied", f"applied, but the plan says {expected}"
        if t.internal:
            assert outcome.dest == self.state
        else:
            assert (self.state, outcome.dest) in EDGES
        assert outcome.data == merge(t, self.data, changes)
        assert outcome.flags == self.flags | set(t.flags)
        self.state, self.data, self.flags = outcome.dest, dict(outcome.data), outcome.flags

    @rule(choice=st.data(), approved=st.sampled_from([False, False, True]))
    def command(self, choice: st.DataObject, approved: bool) -> None:
        """Someone fires a trigger, usually one the current state offers."""
        offered = sorted({trig for (trig, source) in BY_KEY if source == self.state})
        everything = st.sampled_from(TRIGGERS + BOGUS)
        trigger = choice.draw(st.one_of(st.sampled_from(offered), everything) if offered
                              else everything, label="trigger")
        t = BY_KEY.get((trigger, self.state))
        likely = sorted(set(t.allowed) | gate_roles(t)) if t and (t.allowed or t.gate) else ROLES
        actor = choice.draw(st.one_of(actors_with(likely), ANY_ACTOR), label="actor")
        changes = choice.draw(payloads(trigger, self.state), label="changes")
        self._fire(trigger, actor, changes, approved)

    @rule()
    def automatic_rules(self) -> None:
        """The rule runner fires every due rule's trigger as the system, once per rule."""
        if self.state is None:
            return
        due = EV.rules_due(self.state, self.data, self.flags, self.fired, NOW)
        expected = []
        if self.state in {s for (trig, s) in BY_KEY if trig == "notify_crisis"} and (
            "council_alert" not in self.fired and "crisis" not in self.flags
            and (self.data.get("total_it_breakdown") is True
                 or len(self.data.get("affected_subregions") or []) >= 3)
        ):
            expected = ["council_alert"]
        assert due == expected
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
                EV.evaluate(state=self.state, data=self.data, flags=self.flags, trigger=trigger,
                            actor=SYSTEM_ACTOR, changes={}, now=NOW, approved=True)


SamsaIncident.TestCase.settings = settings(max_examples=100, stateful_step_count=30,
                                           deadline=None)
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


@settings(max_examples=200, deadline=None)
@given(key=st.sampled_from(sorted(BY_KEY, key=str)), choice=st.data())
def test_an_actor_with_no_allowed_role_and_no_gate_role_is_never_authorised(
    key: tuple[str, str | None], choice: st.DataObject
) -> None:
    """Whoever holds none of a transition's roles (deputies included) nor its gate's is refused."""
    trigger, state = key
    t = BY_KEY[key]
    entitled = set(t.allowed) | gate_roles(t)
    outsiders = [r for r in ROLES if not roles_acted_as([r]) & entitled]
    roles = choice.draw(st.frozensets(st.sampled_from(outsiders), max_size=3) if outsiders
                        else st.just(frozenset()), label="roles")
    actor = Actor("someone", roles, choice.draw(st.one_of(st.none(), st.sampled_from(SUBREGIONS))))
    changes = choice.draw(payloads(trigger, state), label="changes")
    data = {} if state is None else BASE_DATA

    with pytest.raises(NotAuthorized) as err:
        EV.evaluate(state=state, data=data, flags=frozenset(), trigger=trigger, actor=actor,
                    changes=changes, now=NOW, approved=choice.draw(st.booleans()))
    assert set(t.allowed) <= set(err.value.allowed)
