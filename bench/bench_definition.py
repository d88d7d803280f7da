"""Benchmark the plan loader and the evaluator against a bare `transitions.Machine`.

Run: ``PYTHONPATH=. .venv/bin/python bench/bench_definition.py [--runs N] [--strict]``.

It prints
  * the time to load and check the SAMSA plan (median of N runs, in ms);
  * the evaluator's cost per trigger on an incident in `outage` — `post_update` (an internal
    transition) and `restore` (a state change) — next to a bare `transitions.Machine` with the
    same states and transitions, a plain model attached, firing the same trigger and being put
    back into `outage` the way the evaluator puts its runner there, all measured in this run;
  * the ratio of the two and whether it meets the target (<= 3x).

The exit code is 0 unless `--strict` is given and a ratio misses the target. `--profile` (or a
missed target) prints the top of a cProfile of the evaluator running both triggers.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from transitions import Machine  # noqa: E402

from engine.definition.definition import Definition  # noqa: E402
from engine.definition.loader import load_definition  # noqa: E402
from engine.domain.machine import Evaluator  # noqa: E402
from engine.domain.outcome import Actor  # noqa: E402

PLAN = ROOT / "workflows" / "samsa_outage.yaml"
TARGET = 3.0
NOW = datetime(2022, 6, 28, 12, 30, tzinfo=UTC)
OPERATOR = Actor("olle", frozenset({"operator"}), name="Olle Operatör")
DATA = {
    "started_at": "2022-06-28T12:00:00+00:00",
    "scope": "Inga användare i Fyrbodal når SAMSA",
    "expected_resolution": "2022-06-28T16:00:00+00:00",
}


def load_plan() -> Definition:
    """The SAMSA plan, read, parsed and checked."""
    return load_definition(PLAN)


def per_op_ns(fn: Callable[[], Any], number: int, repeat: int) -> float:
    """Median over `repeat` timed batches of `number` calls, in ns per call, after a warm-up."""
    for _ in range(min(number, 200)):
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter_ns()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter_ns() - start) / number)
    return statistics.median(samples)


def bench_load(runs: int) -> float:
    """Median milliseconds to read, parse and check the plan file."""
    samples = []
    load_plan()  # warm imports and caches
    for _ in range(runs):
        start = time.perf_counter_ns()
        load_plan()
        samples.append((time.perf_counter_ns() - start) / 1e6)
    return statistics.median(samples)


class _Model:
    """A plain transitions model, as bare as the library allows."""

    state: str


def bare_machine(definition: Definition) -> tuple[Machine, _Model]:
    """A Machine with the plan's states and transitions, no callbacks, a model in `outage`."""
    wf = definition.workflow
    transitions = []
    for t in wf.transitions:
        if t.initial:
            continue
        sources = (
            [s for s in wf.states if not wf.states[s].final] if t.source == ["*"] else t.source
        )
        transitions.extend(
            {"trigger": t.trigger, "source": s, "dest": None if t.internal else t.dest}
            for s in sources or []
        )
    model = _Model()
    machine = Machine(
        model=model,
        states=list(wf.states),
        transitions=transitions,
        initial="outage",
        auto_transitions=False,
    )
    return machine, model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=15, help="plan loads to time (median)")
    parser.add_argument("--number", type=int, default=2000, help="triggers per timed batch")
    parser.add_argument("--repeat", type=int, default=7, help="timed batches (median)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a ratio misses 3x")
    parser.add_argument("--profile", action="store_true", help="cProfile the evaluator")
    args = parser.parse_args(argv)

    load_ms = bench_load(args.runs)
    print(f"plan {PLAN.relative_to(ROOT)}: load + check: {load_ms:.2f} ms (median of {args.runs})")

    definition = load_plan()
    evaluator = Evaluator(definition)
    restore_changes = {"resolved_at": "2022-06-28T15:00:00+00:00"}

    def ev_internal() -> Any:
        return evaluator.evaluate(
            state="outage",
            data=DATA,
            flags=(),
            trigger="post_update",
            actor=OPERATOR,
            changes={},
            now=NOW,
        )

    def ev_external() -> Any:
        return evaluator.evaluate(
            state="outage",
            data=DATA,
            flags=(),
            trigger="restore",
            actor=OPERATOR,
            changes=restore_changes,
            now=NOW,
        )

    assert ev_internal().dest == "outage"
    assert ev_external().dest == "restored"

    machine, model = bare_machine(definition)

    def bare_internal() -> None:
        machine.set_state("outage", model=model)
        model.post_update()  # type: ignore[attr-defined]

    def bare_external() -> None:
        machine.set_state("outage", model=model)
        model.restore()  # type: ignore[attr-defined]

    bare_external()
    assert model.state == "restored"

    failed = False
    print(f"per trigger (median of {args.repeat} batches of {args.number}):")
    for label, ours, bare in (
        ("post_update (internal)", ev_internal, bare_internal),
        ("restore (outage -> restored)", ev_external, bare_external),
    ):
        bare_ns = per_op_ns(bare, args.number, args.repeat)
        ours_ns = per_op_ns(ours, args.number, args.repeat)
        ratio = ours_ns / bare_ns
        verdict = "PASS" if ratio <= TARGET else "FAIL"
        failed |= ratio > TARGET
        print(
            f"  {label:30s} evaluator {ours_ns / 1000:8.2f} µs/op   bare Machine "
            f"{bare_ns / 1000:8.2f} µs/op   ratio {ratio:5.2f}x   target: <= {TARGET:g}x "
            f"{verdict}"
        )

    if args.profile or failed:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.number):
            ev_internal()
            ev_external()
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(15)
        print(out.getvalue())
    return 1 if failed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
