"""The evaluator on the SAMSA plan: one evaluator per plan version, shared safely by threads."""

from __future__ import annotations

import threading

import pytest

from engine.definition.definition import Definition
from engine.domain.machine import Evaluator, evaluator_for
from tests.machine_helpers import FOLLOW_UP, NOW, OPERATOR, fire, samsa


@pytest.fixture(scope="module")
def definition() -> Definition:
    """The SAMSA plan."""
    return samsa()


@pytest.fixture(scope="module")
def ev() -> Evaluator:
    """An evaluator of the SAMSA plan, private to this module."""
    return Evaluator(samsa())


def test_evaluators_are_cached_per_definition_version(definition: Definition) -> None:
    """The same plan version shares one evaluator (one transitions machine)."""
    assert evaluator_for(definition) is evaluator_for(definition)


def test_concurrent_evaluations_do_not_mix_states(ev: Evaluator) -> None:
    """Threads evaluating different incidents at once each get their own state and notices."""
    errors: list[str] = []

    def work(state: str, trigger: str, expected: str) -> None:
        for _ in range(200):
            changes = {"resolved_at": NOW.isoformat()} if trigger == "restore" else {}
            out = fire(ev, state, trigger, OPERATOR, changes, data=FOLLOW_UP)
            if out.dest != expected:
                errors.append(f"{state}/{trigger} -> {out.dest}")

    threads = [
        threading.Thread(target=work, args=args)
        for args in [
            ("outage", "restore", "restored"),
            ("total_reserve", "post_update", "total_reserve"),
            ("restored", "start_follow_up", "follow_up"),
        ]
        * 3
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
