"""Plan-as-code: load a YAML plan, check it as a whole, and draw it.

`load_definition(path)` is the usual entry point: it parses the file safely, validates it against
the schema, runs the whole-plan checks and returns an immutable `Definition` (or raises
`DefinitionError` listing every error with `path:line:col`).
"""

from engine.definition.checks.workflow import check_workflow
from engine.definition.diagram import to_dot, to_mermaid
from engine.definition.loader import (
    Definition,
    definition_from_snapshot,
    load_definition,
    parse_definition,
)
from engine.definition.schema import Workflow, localized

__all__ = [
    "Definition",
    "Workflow",
    "check_workflow",
    "definition_from_snapshot",
    "load_definition",
    "localized",
    "parse_definition",
    "to_dot",
    "to_mermaid",
]
