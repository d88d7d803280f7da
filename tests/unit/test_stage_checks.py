"""The plan language for stages as the seed means them: per-slot gates, their `join`, expiry
notices and `carried` notifications are checked before anything runs."""

from __future__ import annotations

import re

import pytest

from engine.errors import DefinitionError
from tests.plan_fixtures import VALID_PLAN, broken, parse

GATE = "      scope: {field: affected}\n"


def per_slot(extra: str = "", scope: str = "{field: affected}") -> str:
    return broken(GATE, f"      scope: {scope}\n      apply: per_slot\n{extra}")


def test_a_per_slot_gate_with_a_joining_append_trigger_is_valid() -> None:
    """`apply: per_slot` on an each-scoped gate, joining through an internal appending trigger,
    loads."""
    definition = parse(per_slot("      join: post_update\n"))
    [gate] = [t.gate for t in definition.workflow.transitions if t.gate is not None]
    assert (gate.apply, gate.join) == ("per_slot", "post_update")


def test_per_slot_needs_one_slot_per_value() -> None:
    """A per-slot gate scoped with `mode: any` is refused: it has no slot per value."""
    with pytest.raises(DefinitionError, match=re.escape("needs `scope: {field: ..., mode: each}`")):
        parse(per_slot(scope="{field: affected, mode: any}"))


def test_the_join_trigger_must_append_to_the_scope_field() -> None:
    """A join trigger that does not append to the scope field is refused, naming the fix."""
    with pytest.raises(
        DefinitionError, match=re.escape("must be `internal: true` with `append: [affected]`")
    ):
        parse(per_slot("      join: resolve\n"))


def test_an_unknown_join_trigger_is_refused() -> None:
    """`join` names a trigger of the plan."""
    with pytest.raises(DefinitionError, match="nosuch"):
        parse(per_slot("      join: nosuch\n"))


def test_join_without_per_slot_is_refused() -> None:
    """`join` means nothing on a gate that applies all at once."""
    with pytest.raises(DefinitionError, match="`join` applies to `apply: per_slot` gates only"):
        parse(broken(GATE, GATE + "      join: post_update\n"))


def test_an_expiry_notice_naming_an_unknown_template_is_refused() -> None:
    """The gate's `on_expire` notify is checked like every other notify."""
    notice = "      on_expire: {notify: {template: nosuch_template, channels: [mail]}}\n"
    with pytest.raises(DefinitionError, match="nosuch_template"):
        parse(broken(GATE, GATE + notice))


def test_a_carried_notify_loads() -> None:
    """`carried: true` is a notify option of the plan language."""
    text = broken(
        "      - notify: {template: resolved, channels: [banner, mail]}",
        "      - notify: {template: resolved, channels: [banner, mail], carried: true}",
        VALID_PLAN,
    )
    closed = parse(text).workflow.states["closed"]
    assert closed.on_enter[0].notify.carried is True
