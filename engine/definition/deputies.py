"""Who a gate asks first when it escalates to deputies (`escalate_to_deputy_after`).

A gate's `any_of` may name a role and its deputy (the chair and the vice chair). The deputies of
a gate are the roles in `any_of` whose `deputy_of` chain leads to another role in `any_of`; the
principals are the rest. The plan checker and the service both ask this, so it lives with the
plan's definitions.
"""

from __future__ import annotations

from engine.definition.schema import Gate, Workflow


def gate_deputies(workflow: Workflow, gate: Gate) -> frozenset[str]:
    """The roles of `gate.any_of` that stand in for another role of `gate.any_of`."""
    approvers = set(gate.any_of)
    found: set[str] = set()
    for name in gate.any_of:
        seen = {name}
        role = workflow.roles.get(name)
        current = role.deputy_of if role else None
        while current is not None and current not in seen:
            if current in approvers:
                found.add(name)
                break
            seen.add(current)
            role = workflow.roles.get(current)
            current = role.deputy_of if role else None
    return frozenset(found)
