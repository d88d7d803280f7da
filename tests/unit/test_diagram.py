"""Diagrams of a plan: Mermaid and DOT text that shows states, triggers, gates and timers.

The SAMSA diagram is compared with the reviewed golden file `tests/golden/samsa_outage.mmd`.
After an intended change, regenerate it with `UPDATE_GOLDEN=1 pytest tests/unit/test_diagram.py`
and review the diff before committing it.
"""

from __future__ import annotations

import os
from pathlib import Path

from engine.definition.diagram import to_dot, to_mermaid
from engine.definition.loader import load_definition
from tests.plan_fixtures import VALID_PLAN, broken, parse

ROOT = Path(__file__).resolve().parents[2]
SAMSA = ROOT / "workflows" / "samsa_outage.yaml"
GOLDEN = ROOT / "tests" / "golden" / "samsa_outage.mmd"


def test_samsa_mermaid_matches_the_golden_file() -> None:
    """The SAMSA plan's Mermaid diagram is exactly the reviewed golden file."""
    text = to_mermaid(load_definition(SAMSA))
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8")


def test_mermaid_is_deterministic() -> None:
    """Loading the same plan twice gives byte-identical diagrams in both formats."""
    first, second = parse(VALID_PLAN), parse(VALID_PLAN)
    assert to_mermaid(first) == to_mermaid(second)
    assert to_dot(first) == to_dot(second)


def test_mermaid_shows_start_final_triggers_gates_and_timers() -> None:
    """The diagram has the start edge, the final marker, gate approvers and scope, and timers."""
    lines = to_mermaid(parse(VALID_PLAN)).splitlines()
    assert lines[0] == "stateDiagram-v2"
    assert "    [*] --> outage : declare" in lines
    assert "    closed --> [*]" in lines
    assert (
        "    outage --> reserve : escalate [villkor]<br/>godkänns av#58; decider"
        "<br/>omfång#58; affected (varje delregion)<br/>påminnelse efter 15m, förfaller efter 2h"
    ) in lines
    assert "    outage : ⏲ update_due var 1h" in lines
    assert "    outage : ⏲ eta_passed vid expected_resolution" in lines
    assert "    reserve : ⏲ auto_close efter 1d → resolve" in lines
    assert "    outage : ↻ post_update" in lines
    assert "    reserve : ↻ alert_council (regel#58; council_alert)" in lines
    assert '    state "Störning" as outage' in lines


def test_mermaid_in_english() -> None:
    """With language='en' the diagram uses English titles and words."""
    text = to_mermaid(parse(VALID_PLAN), language="en")
    assert "approved by#58; decider" in text
    assert "⏲ update_due every 1h" in text


def test_all_of_gate_joins_approvers_with_plus() -> None:
    """A gate that needs every listed role says so, distinct from any-of."""
    plan = broken("      any_of: [decider]\n", "      all_of: [decider, chair]\n")
    assert "godkänns av alla#58; decider + chair" in to_mermaid(parse(plan))


def test_label_text_cannot_break_the_mermaid_syntax() -> None:
    """Quotes in titles and colons or semicolons in labels are written as entity codes."""
    plan = broken("    title: Störning\n", "    title: 'Störning \"akut\"'\n")
    assert '    state "Störning #quot;akut#quot;" as outage' in to_mermaid(parse(plan))


def test_dot_marks_final_states_and_the_start_node() -> None:
    """The DOT graph starts at a point node and draws final states with a double border."""
    text = to_dot(parse(VALID_PLAN))
    assert text.startswith('digraph "mini_outage" {\n')
    assert '  __start__ -> outage [label="declare"];' in text
    assert '  closed [label="Avslutad", peripheries=2];' in text
    assert "godkänns av: decider\\nomfång: affected (varje delregion)" in text
    assert text.rstrip().endswith("}")
