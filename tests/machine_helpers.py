"""The SAMSA plan, the people who act on it, and `fire`: shared by the evaluator's unit tests.

tests/unit/test_machine_*.py, test_conditions.py and test_fields.py each test one subject of
engine.domain (the evaluator, its conditions, its fields) on the example plan
workflows/samsa_outage.yaml, loaded and checked once per session by `samsa()`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from engine.definition.definition import Definition
from engine.definition.loader import load_definition
from engine.domain.machine import Evaluator
from engine.domain.outcome import Actor, Outcome

PLAN = Path(__file__).resolve().parents[1] / "workflows" / "samsa_outage.yaml"
NOW = datetime(2022, 6, 28, 12, 30, tzinfo=UTC)

OPERATOR = Actor("olle", frozenset({"operator"}), name="Olle Operatör")
SUPPLIER = Actor("cerner", frozenset({"supplier_support"}), name="Cerner Support")
VGR_IT = Actor("vgrit", frozenset({"vgr_it"}), name="VGR-IT")
OSIT = Actor("osit", frozenset({"osit"}), name="OSIT")
CHAIR = Actor("chair", frozenset({"council_chair"}), name="Ordförande")
VICE_CHAIR = Actor("vice", frozenset({"council_vice_chair"}), name="Vice ordförande")
ADMIN = Actor("admin", frozenset({"admin"}), name="Admin")
NOBODY = Actor("nobody", name="Ingen Roll")
DECIDER_FY = Actor("fia", frozenset({"subregional_decider"}), "fyrbodal", "Fia Fyrbodal")
DECIDER_SK = Actor("sven", frozenset({"subregional_decider"}), "skaraborg", "Sven Skaraborg")
DECIDER_NOWHERE = Actor("nils", frozenset({"subregional_decider"}), None, "Nils")

DECLARED = {
    "started_at": "2022-06-28T12:00:00+00:00",
    "scope": "Inga användare i Fyrbodal når SAMSA",
    "expected_resolution": "2022-06-28T16:00:00+00:00",
}
PARTIAL = {**DECLARED, "reserve_subregions": ["fyrbodal"]}
FOLLOW_UP = {**DECLARED, "resolved_at": "2022-06-28T15:00:00+00:00"}
CLOSING = {
    "feedback_summary": "Arbetsgrupperna saknade telefonlistor.",
    "evaluation_summary": "Utvärderat med Cerner och VGR-IT.",
    "lessons_learned": "Reservrutinen behöver övas.",
}
TOTAL_SLOT_ROLES = frozenset({"council_chair", "council_vice_chair"})
DECIDER_ROLES = frozenset({"subregional_decider"})


@cache
def samsa() -> Definition:
    """The SAMSA plan, loaded and checked (a plan the checker refuses fails every test)."""
    return load_definition(PLAN)


def fire(
    ev: Evaluator,
    state: str | None,
    trigger: str,
    actor: Actor = OPERATOR,
    changes: Mapping[str, Any] | None = None,
    *,
    data: Mapping[str, Any] | None = None,
    flags: frozenset[str] = frozenset(),
    approved: bool = False,
) -> Outcome:
    """Evaluate `trigger` at NOW; `data` defaults to a declared incident (none when new)."""
    if data is None:
        data = {} if state is None else DECLARED
    return ev.evaluate(
        state=state,
        data=data,
        flags=flags,
        trigger=trigger,
        actor=actor,
        changes=changes or {},
        now=NOW,
        approved=approved,
    )


def templates(outcome: Outcome) -> list[tuple[str, list[str]]]:
    """(template, channels) of each notification, in order."""
    return [(n.notify.template, list(n.notify.channels)) for n in outcome.notifications]


def timer_ids(timers: Any) -> list[str]:
    """The ids of timer definitions, in order."""
    return [t.id for t in timers]
