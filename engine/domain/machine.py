"""The evaluator: what a trigger does to an incident, decided without any I/O.

Given a definition, the incident's state, data and flags, a trigger, the actor and the trigger's
data, `Evaluator.evaluate` returns an `Outcome` — the new state and the actions to record
(messages, timers, an approval request) — or raises a precise `CommandError`.

The state change itself runs through the plan's `transitions.Machine`, compiled once per
definition version (`engine.domain.compiled_machine`); its callbacks only *record*.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from typing import Any

from engine.definition.definition import Definition
from engine.definition.schema import Gate, TransitionDef
from engine.domain.compiled_machine import CompiledMachine
from engine.domain.conditions import explain_failure, holds
from engine.domain.field_rules import check_fields, merge_changes
from engine.domain.outcome import Actor, GateRequest, Outcome, Slot
from engine.errors import (
    ConditionFailed,
    MissingField,
    NotAuthorized,
    TransitionNotAllowed,
    UnknownTrigger,
)


class Evaluator:
    """The compiled form of one definition: indexes, the transitions machine, and evaluation."""

    def __init__(self, definition: Definition) -> None:
        self.definition = definition
        wf = definition.workflow
        self.workflow = wf
        self.final_states = frozenset(n for n, s in wf.states.items() if s.final)
        self.triggers = frozenset(t.trigger for t in wf.transitions)
        self._candidates: dict[tuple[str, str | None], list[int]] = {}
        for index, t in enumerate(wf.transitions):
            for source in self._sources(t):
                self._candidates.setdefault((t.trigger, source), []).append(index)
        self._principals = self._deputy_closure()
        self._effective: dict[frozenset[str], frozenset[str]] = {}
        # What every evaluation would otherwise rebuild from the plan, per transition / state.
        required = [n for n, f in wf.fields.items() if f.required]
        self._accepted = [
            None if t.accepts is None else frozenset({*t.accepts, *t.requires})
            for t in wf.transitions
        ]
        self._needed = [tuple(t.requires) for t in wf.transitions]
        self._needed_declaring = [(*t.requires, *required) for t in wf.transitions]
        self._resets = {
            (name, t.trigger): tuple(timer for timer in state.timers if t.trigger in timer.reset_on)
            for name, state in wf.states.items()
            for t in wf.transitions
            if t.internal
        }
        self._arms = {name: tuple(state.timers) for name, state in wf.states.items()}
        self._machine = CompiledMachine(wf, self._sources)

    # ----------------------------------------------------------------- building
    def _sources(self, t: TransitionDef) -> list[str | None]:
        if t.initial:
            return [None]
        if t.source == ["*"]:
            return [n for n in self.workflow.states if n not in self.final_states]
        return list(t.source or [])

    def _deputy_closure(self) -> dict[str, frozenset[str]]:
        """For each role, itself plus every role it deputises for (transitively)."""
        roles = self.workflow.roles
        closure: dict[str, frozenset[str]] = {}
        for name in roles:
            seen = {name}
            current = roles[name].deputy_of
            while current and current not in seen and current in roles:
                seen.add(current)
                current = roles[current].deputy_of
            closure[name] = frozenset(seen)
        return closure

    # --------------------------------------------------------------- questions
    def effective_roles(self, actor: Actor) -> frozenset[str]:
        """The actor's roles plus the roles they deputise for."""
        return self.with_deputies(actor.roles)

    def with_deputies(self, roles: frozenset[str]) -> frozenset[str]:
        """`roles` plus every role they deputise for (memoised per role set)."""
        found = self._effective.get(roles)
        if found is None:
            out: set[str] = set()
            for role in roles:
                out |= self._principals.get(role, frozenset({role}))
            found = frozenset(out)
            if len(self._effective) < 1024:  # bounded: role sets are few in any directory
                self._effective[roles] = found
        return found

    def candidates(self, trigger: str, state: str | None) -> list[TransitionDef]:
        return [self.workflow.transitions[i] for i in self._candidates.get((trigger, state), [])]

    def available(self, state: str | None) -> list[TransitionDef]:
        """Every transition that can start from `state` (None: the declaring transitions)."""
        seen: list[TransitionDef] = []
        for (_, source), indexes in self._candidates.items():
            if source == state:
                seen.extend(self.workflow.transitions[i] for i in indexes)
        return seen

    def may_fire(self, actor: Actor, t: TransitionDef) -> bool:
        if actor.is_system:
            return True
        roles = self.effective_roles(actor)
        return not roles.isdisjoint(t.allowed) or (
            t.gate is not None and not roles.isdisjoint(t.gate.any_of + t.gate.all_of)
        )

    def slots(self, gate: Gate, data: Mapping[str, Any]) -> tuple[Slot, ...]:
        """The decisions a gate needs for this data (one per sub-region with mode `each`)."""
        groups: list[frozenset[str]] = [frozenset({r}) for r in gate.all_of]
        if gate.any_of:
            groups.append(frozenset(gate.any_of))
        if gate.scope is None:
            return tuple(Slot(g) for g in groups)
        raw = data.get(gate.scope.field)
        values = raw if isinstance(raw, list) else ([raw] if raw else [])
        if gate.scope.mode == "any":
            return tuple(Slot(g, frozenset(values)) for g in groups)
        return tuple(Slot(g, frozenset({v})) for v in values for g in groups)

    def can_fill(self, actor: Actor, slot: Slot) -> bool:
        """Whether this actor's decision counts for this slot (role and sub-region)."""
        if not self.effective_roles(actor) & slot.roles:
            return False
        return slot.subregions is None or actor.subregion in slot.subregions

    def rules_due(
        self,
        state: str,
        data: Mapping[str, Any],
        flags: Collection[str],
        fired: Collection[str],
        now: datetime,
    ) -> list[str]:
        """Triggers that automatic rules fire now (each `once` rule at most once)."""
        due = []
        for rule in self.workflow.rules:
            if rule.once and rule.id in fired:
                continue
            if not self.candidates(rule.fire, state):
                continue
            if holds(rule.when, data, flags, now):
                due.append(rule.id)
        return due

    # --------------------------------------------------------------- evaluation
    def evaluate(
        self,
        *,
        state: str | None,
        data: Mapping[str, Any],
        flags: Collection[str],
        trigger: str,
        actor: Actor,
        changes: Mapping[str, Any],
        now: datetime,
        approved: bool = False,
    ) -> Outcome:
        """Decide what `trigger` does; `changes` must already be parsed (see engine.domain.fields).

        With `approved=True` the gate is treated as decided (the service passes it once every
        slot of the approval request is filled). Raises a `CommandError` subclass otherwise.
        """
        if trigger not in self.triggers:
            raise UnknownTrigger(trigger, self.triggers)
        candidates = self._candidates.get((trigger, state), [])
        if not candidates:
            possible = sorted({t.trigger for t in self.available(state)})
            raise TransitionNotAllowed(trigger, state or "(new incident)", possible)
        transitions = [self.workflow.transitions[i] for i in candidates]
        if not any(self.may_fire(actor, t) for t in transitions):
            allowed = {r for t in transitions for r in t.allowed}
            raise NotAuthorized(
                actor.name or actor.id,
                f"fire '{trigger}'",
                allowed,
                action_sv=f"utföra '{trigger}'",
            )
        merged = merge_changes(transitions[0], data, changes)
        chosen = self._choose(candidates, merged, flags, now, trigger)
        t = self.workflow.transitions[chosen]
        needed = self._needed_declaring[chosen] if state is None else self._needed[chosen]
        # Stamps are the moment the transition happens: they count for `requires` now, but a
        # gated request stores only what the command gave, and is stamped when it is decided.
        stamped = {n: now.astimezone(UTC).isoformat() for n in t.stamps if n not in changes}
        merged.update(stamped)
        given = {**changes, **stamped}
        check_fields(self.workflow, t, self._accepted[chosen], needed, data, merged, given)
        new_flags = frozenset(flags) | frozenset(t.flags)
        applied = {k: merged[k] for k in changes}
        if t.gate is not None and not approved:
            request = self._gate_request(t, actor, data, merged, changes)
            if request.open_slots:
                if not (self.effective_roles(actor) & set(t.allowed)) and not actor.is_system:
                    raise NotAuthorized(
                        actor.name or actor.id,
                        f"fire '{trigger}'",
                        set(t.allowed) | set(t.gate.any_of) | set(t.gate.all_of),
                        "Their role does not cover the decision needed here.",
                        action_sv=f"utföra '{trigger}'",
                        detail_sv="Rollen omfattar inte det beslut som behövs här.",
                    )
                dest = (state if t.internal else t.dest) or ""
                return Outcome(
                    trigger,
                    t,
                    state,
                    dest,
                    t.internal,
                    dict(data),
                    applied,
                    frozenset(flags),
                    pending=request,
                )
        return self._apply(chosen, t, state, merged, {**applied, **stamped}, new_flags)

    def _choose(
        self,
        candidates: list[int],
        merged: Mapping[str, Any],
        flags: Collection[str],
        now: datetime,
        trigger: str,
    ) -> int:
        for index in candidates:
            cond = self.workflow.transitions[index].conditions
            if cond is None or holds(cond, merged, flags, now):
                return index
        first = self.workflow.transitions[candidates[0]].conditions
        assert first is not None  # a candidate without conditions would have been chosen
        raise ConditionFailed(trigger, explain_failure(first, merged, flags, now))

    def _gate_request(
        self,
        t: TransitionDef,
        actor: Actor,
        data: Mapping[str, Any],
        merged: Mapping[str, Any],
        changes: Mapping[str, Any],
    ) -> GateRequest:
        assert t.gate is not None
        # A scoped gate decides over the values this trigger brings; for an appended field only
        # the values that are new (adding skaraborg to fyrbodal asks skaraborg's decider only).
        scope_data = dict(merged)
        field = t.gate.scope.field if t.gate.scope is not None else None
        if field is not None and field in changes:
            new = changes[field]
            if field in t.append and isinstance(new, list):
                old = data.get(field) or []
                new = [v for v in new if v not in old]
            scope_data[field] = new
        slots = self.slots(t.gate, scope_data)
        if field is not None and not slots:
            # A scoped decision about nothing must not pass as decided.
            raise MissingField([field], f"'{t.trigger}'")
        filled = tuple(i for i, s in enumerate(slots) if self.can_fill(actor, s))
        return GateRequest(t.trigger, t.gate, slots, filled)

    def _apply(
        self,
        index: int,
        t: TransitionDef,
        state: str | None,
        merged: dict[str, Any],
        applied: dict[str, Any],
        flags: frozenset[str],
    ) -> Outcome:
        dest, intents = self._machine.fire(state, t.trigger, index)
        if state is None or not t.internal:
            return Outcome(
                t.trigger,
                t,
                state,
                dest,
                False,
                merged,
                applied,
                flags,
                intents,
                arm_timers=self._arms[dest],
                leaves_state=state is not None,
            )
        resets = self._resets.get((state, t.trigger), ())
        return Outcome(
            t.trigger, t, state, state, True, merged, applied, flags, intents, reset_timers=resets
        )


_lock = threading.Lock()
_evaluators: dict[str, Evaluator] = {}


def evaluator_for(definition: Definition) -> Evaluator:
    """The cached evaluator of a definition version (keyed by its sha256)."""
    found = _evaluators.get(definition.sha256)
    if found is None:
        with _lock:
            found = _evaluators.get(definition.sha256)
            if found is None:
                found = Evaluator(definition)
                _evaluators[definition.sha256] = found
    return found
