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
    """The flowchart has the start edge, the final marker, gate approvers and scope, and
    timers, with states, triggers and roles shown by their titles and their ids beside them."""
    lines = to_mermaid(parse(VALID_PLAN)).splitlines()
    assert lines[0] == "flowchart TD"
    assert '    start__ -->|"declare"| outage' in lines
    assert "    closed --> end__" in lines
    assert (
        '    outage -->|"escalate [villkor]<br/>godkänns av Delregional beslutsfattare (decider)'
        '<br/>omfång affected (varje delregion)<br/>påminnelse efter 15m, förfaller efter 2h"|'
        " reserve"
    ) in lines
    assert (
        '    outage["Störning (outage)<br/>timer update_due: var 1h<br/>timer eta_passed: vid '
        "expected_resolution<br/>utan lägesbyte: post_update<br/>utan lägesbyte: alert_council"
        '<br/>- regel council_alert"]'
    ) in lines
    assert "timer auto_close: efter 1d, utför resolve" in lines[4]


def test_mermaid_in_english() -> None:
    """With language='en' the diagram uses English titles and words."""
    text = to_mermaid(parse(VALID_PLAN), language="en")
    assert "approved by " in text
    assert "timer update_due: every 1h" in text


def test_all_of_gate_lists_every_approver_with_and() -> None:
    """A gate that needs every listed role says so, one role a line, distinct from any-of."""
    plan = broken("      any_of: [decider]\n", "      all_of: [decider, chair]\n")
    text = to_mermaid(parse(plan))
    assert "<br/>godkänns av alla Delregional beslutsfattare (decider)<br/>och " in text


def test_label_text_cannot_break_the_mermaid_syntax() -> None:
    """A double quote in a title, which would end Mermaid's quoted label, is an entity code."""
    plan = broken("    title: Störning\n", "    title: 'Störning \"akut\"'\n")
    assert '    outage["Störning #quot;akut#quot; (outage)<br/>' in to_mermaid(parse(plan))


def test_samsa_diagram_draws_only_glyphs_common_fonts_have() -> None:
    """Every character of the SAMSA diagram, in both formats and languages, is Latin-1 or
    common punctuation (no clock, arrow or check-mark symbols a font may lack)."""
    common = set("–—‘’“”…")
    definition = load_definition(SAMSA)
    for draw in (to_mermaid, to_dot):
        for language in ("sv", "en"):
            text = draw(definition, language=language)
            assert {c for c in text if ord(c) > 0xFF} <= common, (draw.__name__, language)


def test_dot_marks_final_states_and_the_start_node() -> None:
    """The DOT graph starts at a point node and draws final states with a double border."""
    text = to_dot(parse(VALID_PLAN))
    assert text.startswith('digraph "mini_outage" {\n')
    assert '  __start__ -> outage [label="declare"];' in text
    assert '  closed [label="Avslutad (closed)", peripheries=2];' in text
    assert "godkänns av Delregional beslutsfattare (decider)\\nomfång affected (varje" in text
    assert text.rstrip().endswith("}")
