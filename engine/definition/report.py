"""The logic behind `driftplan validate` and `driftplan diagram`, as plain functions.

The Typer CLI (`engine/cli/`) only parses arguments and prints: these functions return the exit
code and the text, so they are tested without a terminal. Validation reports warnings as well as
errors, which is why it runs the checks itself instead of relying on `load_definition` (that one
raises on errors only and drops the warnings of a failing plan).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from engine.definition.checks.workflow import check_workflow
from engine.definition.diagram import to_dot, to_mermaid
from engine.definition.loader import load_definition, parse_definition
from engine.errors import DefinitionError, Problem

# Used when the channels package cannot be imported (a trimmed install, or tools run without it).
BUILTIN_KINDS = frozenset({"email", "newsletter", "banner", "news", "webhook", "calendar"})

DIAGRAM_FORMATS = ("mermaid", "dot")


def default_known_kinds() -> frozenset[str]:
    """The channel kinds installed: the registry's built-ins and plug-ins, else the built-ins."""
    try:
        from channels.registry import known_kind_names  # noqa: PLC0415  (optional at runtime)
    except ImportError:
        return BUILTIN_KINDS
    return frozenset(known_kind_names())


def default_plan_paths() -> list[str]:
    """`*.yaml` in $DRIFTPLAN_WORKFLOWS, or in ./workflows, sorted."""
    folder = Path(os.environ.get("DRIFTPLAN_WORKFLOWS") or "workflows")
    return sorted(str(p) for p in [*folder.glob("*.yaml"), *folder.glob("*.yml")])


def check_file(path: str, known_kinds: Iterable[str]) -> list[Problem]:
    """Every error and warning for the plan at `path` (an unreadable file is one error)."""
    plan = Path(path)
    try:
        data = plan.read_bytes()
    except OSError as exc:
        return [Problem(path, 1, 1, f"cannot read plan: {exc.strerror or exc}")]
    try:
        definition = parse_definition(
            data, path, base=plan.parent, known_kinds=known_kinds, check=False
        )
    except DefinitionError as exc:
        return exc.problems
    return check_workflow(definition, known_kinds=known_kinds)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def run_validate(
    paths: list[str], *, as_json: bool = False, known_kinds: Iterable[str] | None = None
) -> tuple[int, str]:
    """Validate plans; returns (exit code, output). Exit 0 when all are valid, else 1."""
    kinds = frozenset(known_kinds) if known_kinds is not None else default_known_kinds()
    targets = list(paths) or default_plan_paths()
    if not targets:
        folder = os.environ.get("DRIFTPLAN_WORKFLOWS") or "workflows"
        message = f"no plans found: {folder}/ holds no *.yaml file; name the plans to check"
        if as_json:
            return 1, json.dumps({"files": [], "error": message}, ensure_ascii=False)
        return 1, f"error: {message}"
    results = [(path, check_file(path, kinds)) for path in targets]
    invalid = [path for path, problems in results if any(p.severity == "error" for p in problems)]
    code = 1 if invalid else 0
    if as_json:
        files = [
            {
                "path": path,
                "valid": path not in invalid,
                "problems": [p.as_dict() for p in problems],
            }
            for path, problems in results
        ]
        return code, json.dumps({"files": files}, ensure_ascii=False, indent=2)
    lines = [str(problem) for _, problems in results for problem in problems]
    errors = sum(p.severity == "error" for _, ps in results for p in ps)
    warnings = sum(p.severity == "warning" for _, ps in results for p in ps)
    verdict = "all valid" if not invalid else f"{len(invalid)} invalid"
    lines.append(
        f"{_plural(len(results), 'plan')} checked, {verdict}: "
        f"{_plural(errors, 'error')}, {_plural(warnings, 'warning')}"
    )
    return code, "\n".join(lines)


def run_diagram(path: str, fmt: str = "mermaid", *, language: str | None = None) -> str:
    """The plan at `path` drawn as Mermaid or DOT text, in `language` (default: the plan's).

    Raises `DefinitionError` for an invalid plan, and ValueError for an unknown format.
    """
    if fmt not in DIAGRAM_FORMATS:
        raise ValueError(
            f"unknown diagram format {fmt!r}; choose one of {', '.join(DIAGRAM_FORMATS)}"
        )
    definition = load_definition(path, known_kinds=default_known_kinds())
    draw = to_mermaid if fmt == "mermaid" else to_dot
    return draw(definition, language or definition.language)
