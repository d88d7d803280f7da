"""driftplan's engine: runs an outage communication plan written as a YAML state machine.

The public API, for embedding driftplan or writing tools around it:

- `load_definition(path)` loads and checks a plan (`Definition`), `Evaluator` / `evaluator_for`
  decide what a trigger does without any I/O;
- `build(Settings.load())` wires an application (`App`) whose `service` declares incidents,
  fires triggers and decides approvals, each in one transaction;
- `Dispatcher` delivers the outbox; `TimerRunner` fires due timers;
- every deliberate error derives from `DriftplanError` (see `engine.errors`).

The submodules are imported lazily so that `import engine` stays cheap for the CLI.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "load_definition": "engine.definition.loader",
    "Definition": "engine.definition.loader",
    "Evaluator": "engine.domain.machine",
    "evaluator_for": "engine.domain.machine",
    "Actor": "engine.domain.outcome",
    "App": "engine.bootstrap",
    "build": "engine.bootstrap",
    "Settings": "engine.settings",
    "Service": "engine.service.facade",
    "Dispatcher": "engine.service.delivery",
    "TimerRunner": "engine.service.timers",
    "DriftplanError": "engine.errors",
}

__all__ = [
    "Actor",
    "App",
    "Definition",
    "Dispatcher",
    "DriftplanError",
    "Evaluator",
    "Service",
    "Settings",
    "TimerRunner",
    "build",
    "evaluator_for",
    "load_definition",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    return getattr(import_module(module), name)
