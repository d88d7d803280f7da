"""The logic behind `driftplan validate` and `driftplan diagram`, as plain functions.

The Typer CLI (`engine/cli/`) only parses arguments and prints: these functions return the exit
code and the text, so they are tested without a terminal. Validation reports warnings as well as
errors, which is why it runs the checks itself instead of relying on `load_definition` (that one
raises on errors only and drops the warnings of a failing plan).

Validation also renders every template against sample data in the engine's sandbox
(`checks/rendering.py`), which loading a plan does not.

Like the rest of the definition layer they do no I/O beyond reading plan files: the caller says
which folder holds the installed plans, which channel kinds exist with the settings each declares,
and where path settings may point (the CLI passes `Settings.workflows`, the channel registry's
names and declarations, and the data folder and publish root).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path

from engine.definition.channel_settings import ChannelSettings, PathRoots
from engine.definition.checks.workflow import check_workflow
from engine.definition.diagram import to_dot, to_mermaid
from engine.definition.loader import load_definition, parse_definition
from engine.errors import DefinitionError, Problem

DIAGRAM_FORMATS = ("mermaid", "dot")


def default_plan_paths(folder: Path) -> list[str]:
    """`*.yaml` (and `*.yml`) in the workflows folder, sorted."""
    return sorted(str(p) for p in [*folder.glob("*.yaml"), *folder.glob("*.yml")])


def check_file(
    path: str,
    known_kinds: Iterable[str],
    *,
    declarations: Mapping[str, ChannelSettings] | None = None,
    roots: PathRoots | None = None,
) -> list[Problem]:
    """Every error and warning for the plan at `path` (an unreadable file is one error), its
    templates rendered against sample data."""
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
    return check_workflow(
        definition, known_kinds=known_kinds, declarations=declarations, roots=roots, render=True
    )


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def run_validate(
    paths: list[str],
    *,
    workflows: Path,
    known_kinds: Iterable[str],
    declarations: Mapping[str, ChannelSettings] | None = None,
    roots: PathRoots | None = None,
    as_json: bool = False,
) -> tuple[int, str]:
    """Validate plans; returns (exit code, output). Exit 0 when all are valid, else 1.

    Without `paths`, every plan in the `workflows` folder is checked; channel kinds are checked
    against `known_kinds`, their settings against `declarations` (each kind's settings by
    class) and path settings against `roots` (the data folder and the publish root).
    """
    kinds = frozenset(known_kinds)
    targets = list(paths) or default_plan_paths(workflows)
    if not targets:
        folder = workflows
        message = f"no plans found: {folder}/ holds no *.yaml file; name the plans to check"
        if as_json:
            return 1, json.dumps({"files": [], "error": message}, ensure_ascii=False)
        return 1, f"error: {message}"
    results = [
        (path, check_file(path, kinds, declarations=declarations, roots=roots)) for path in targets
    ]
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


def run_diagram(
    path: str,
    fmt: str = "mermaid",
    *,
    known_kinds: Iterable[str],
    language: str | None = None,
) -> str:
    """The plan at `path` drawn as Mermaid or DOT text, in `language` (default: the plan's);
    its channel kinds are checked against `known_kinds`.

    Raises `DefinitionError` for an invalid plan, and ValueError for an unknown format.
    """
    if fmt not in DIAGRAM_FORMATS:
        raise ValueError(
            f"unknown diagram format {fmt!r}; choose one of {', '.join(DIAGRAM_FORMATS)}"
        )
    definition = load_definition(path, known_kinds=known_kinds)
    draw = to_mermaid if fmt == "mermaid" else to_dot
    return draw(definition, language or definition.language)
