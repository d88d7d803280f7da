"""The plan's states and transitions compiled into a `transitions.Machine`, and firing it.

One machine per definition version (`auto_transitions=False`, so no `to_<state>` trigger can
bypass a gate). A transitions model is an object the library mutates, so each thread keeps one
plain runner object attached to the machine and moves it to the stored state before every
firing; the callbacks only *record* the notifications the plan attaches to what happened.
Which transition applies is decided by `engine.domain.machine.Evaluator` first: the machine
follows that choice rather than re-deciding it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from transitions import Machine

from engine.definition.schema import Action, TransitionDef, Workflow
from engine.domain.outcome import NotifyIntent

# The machine's state for "not yet created"; no plan name can collide (names are [a-z0-9_]).
NEW = "@new"


@dataclass
class _Runner:
    """The per-thread transitions model; callbacks append to `recorded`."""

    state: str = ""
    recorded: list[NotifyIntent] = field(default_factory=list)


def _record(actions: Sequence[Action], origin: str) -> Any:
    intents = [NotifyIntent(a.notify, f"{origin}[{i}]") for i, a in enumerate(actions)]

    def callback(event: Any) -> None:
        event.model.recorded.extend(intents)

    return callback


def _chosen(index: int) -> Any:
    def condition(event: Any) -> bool:
        return bool(event.kwargs.get("chosen") == index)

    return condition


class CompiledMachine:
    """A plan's transitions machine, safe to share between threads."""

    def __init__(
        self, workflow: Workflow, sources: Callable[[TransitionDef], list[str | None]]
    ) -> None:
        """`sources` gives each transition's source states (None: the declaring pseudo-state)."""
        states = []
        for name, state in workflow.states.items():
            on_enter = [_record(state.on_enter, f"states.{name}.on_enter")]
            on_exit = [_record(state.on_exit, f"states.{name}.on_exit")]
            states.append({"name": name, "on_enter": on_enter, "on_exit": on_exit})
        states.append({"name": NEW})
        transitions: list[dict[str, Any]] = []
        for index, t in enumerate(workflow.transitions):
            before = _record(t.actions, f"transitions[{index}].actions")
            for source in sources(t):
                transitions.append(
                    {
                        "trigger": t.trigger,
                        "source": NEW if source is None else source,
                        "dest": None if t.internal else t.dest,
                        "conditions": [_chosen(index)],
                        "before": [before],
                    }
                )
        self._machine = Machine(
            model=None,
            states=states,
            transitions=transitions,
            initial=None,
            auto_transitions=False,
            send_event=True,
            ignore_invalid_triggers=False,
            model_attribute="state",
        )
        self._local = threading.local()

    def fire(
        self, state: str | None, trigger: str, index: int
    ) -> tuple[str, tuple[NotifyIntent, ...]]:
        """Fire transitions[`index`] (named `trigger`) from `state` (None: a new incident);
        returns the state reached and the notifications recorded on the way."""
        runner = self._runner(NEW if state is None else state)
        runner.trigger(trigger, chosen=index)  # type: ignore[attr-defined]
        return runner.state, tuple(runner.recorded)

    def _runner(self, state: str) -> _Runner:
        runner: _Runner | None = getattr(self._local, "runner", None)
        if runner is None:
            runner = _Runner()
            self._machine.add_model(runner, initial=state)
            self._local.runner = runner
        else:
            self._machine.set_state(state, model=runner)
        runner.recorded = []
        return runner
