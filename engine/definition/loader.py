"""Load a plan: YAML -> schema -> consistency checks -> an immutable `Definition`.

A `Definition` carries a snapshot (the plan text and its template files) and its sha256, so that
an incident can keep exactly the plan it started with even after the YAML on disk changes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from engine.definition.channel_settings import ChannelSettings, PathRoots
from engine.definition.definition import Definition, TemplateSource
from engine.definition.schema import Workflow, localized
from engine.definition.yaml_loader import Positions, load_checked_yaml, load_yaml
from engine.errors import DefinitionError, Problem


def _data_path(raw: Any, loc: Iterable[str | int]) -> tuple[str | int, ...]:
    """Reduce a pydantic error location to the steps that exist in the raw YAML data.

    Pydantic adds union member names and validator tags to `loc`; those are not places in the
    file, so they are dropped to find the line and column.
    """
    path: list[str | int] = []
    node = raw
    for step in loc:
        if isinstance(node, dict) and step in node:
            node = node[step]
            path.append(step)
        elif isinstance(node, dict) and isinstance(step, str) and f"{step}_" in node:
            node = node[f"{step}_"]
            path.append(f"{step}_")
        elif isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
            node = node[step]
            path.append(step)
        elif isinstance(node, dict) and isinstance(step, str) and step.rstrip("_") in node:
            node = node[step.rstrip("_")]
            path.append(step.rstrip("_"))
    return tuple(path)


def _dotted(path: Iterable[str | int]) -> str:
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out


def schema_problems(raw: Any, positions: Positions, exc: ValidationError) -> list[Problem]:
    """Turn pydantic's errors into located problems with plain-language messages."""
    problems: list[Problem] = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        path = _data_path(raw, loc)
        kind = error["type"]
        if kind == "extra_forbidden":
            key = loc[-1]
            parent = _data_path(raw, loc[:-1])
            line, col = positions.at((*parent, key), key=True)
            where = _dotted(parent) or "the top level"
            message = f"unknown key '{key}' in {where}"
        elif kind == "missing":
            line, col = positions.at(path)
            message = f"missing key '{loc[-1]}' in {_dotted(path) or 'the top level'}"
        else:
            line, col = positions.at(path)
            text = str(error["msg"]).removeprefix("Value error, ")
            message = f"{_dotted(path) or 'plan'}: {text}"
        problems.append(Problem(positions.source, line, col, message, location=_dotted(path)))
    # Pydantic may report one mistake once per union branch; say it once.
    unique: dict[tuple[int, int, str], Problem] = {}
    for problem in problems:
        unique.setdefault((problem.line, problem.column, problem.message), problem)
    return list(unique.values())


def _read_template_files(workflow: Workflow, base: Path, positions: Positions) -> dict[str, str]:
    files: dict[str, str] = {}
    problems: list[Problem] = []
    for name, template in workflow.templates.items():
        for language, relative in (template.file or {}).items():
            target = (base / relative).resolve()
            line, col = positions.at(("templates", name, "file", language))
            if base.resolve() not in target.parents:
                problems.append(
                    Problem(
                        positions.source,
                        line,
                        col,
                        f"template file '{relative}' must lie inside the plan's folder",
                    )
                )
                continue
            try:
                files[relative] = target.read_text(encoding="utf-8")
            except OSError as exc:
                problems.append(
                    Problem(
                        positions.source,
                        line,
                        col,
                        f"cannot read template file '{relative}' of template '{name}': "
                        f"{exc.strerror or exc}",
                    )
                )
    if problems:
        raise DefinitionError(problems)
    return files


def _split_template(text: str) -> TemplateSource:
    """A template file holds `Subject: ...` on its first line, a blank line, then the body."""
    first, _, rest = text.partition("\n")
    if first.lower().startswith("subject:"):
        return TemplateSource(subject=first.split(":", 1)[1].strip(), body=rest.lstrip("\n"))
    return TemplateSource(subject="", body=text)


def _template_sources(
    workflow: Workflow, files: Mapping[str, str]
) -> dict[str, dict[str, TemplateSource]]:
    sources: dict[str, dict[str, TemplateSource]] = {}
    for name, template in workflow.templates.items():
        per_language: dict[str, TemplateSource] = {}
        if template.file is not None:
            for language, relative in template.file.items():
                per_language[language] = _split_template(files[relative])
        else:
            for language, body in (template.body or {}).items():
                subject = localized(template.subject, language) if template.subject else ""
                per_language[language] = TemplateSource(subject=subject, body=body)
        sources[name] = per_language
    return sources


def _digest(snapshot: Mapping[str, Any]) -> str:
    canonical = json.dumps(snapshot, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def parse_definition(
    text: str | bytes,
    source: str,
    *,
    files: Mapping[str, str] | None = None,
    base: Path | None = None,
    known_kinds: Iterable[str] | None = None,
    declarations: Mapping[str, ChannelSettings] | None = None,
    roots: PathRoots | None = None,
    check: bool = True,
) -> Definition:
    """Parse and check a plan from text. Template files come from `files` or from `base`;
    channel settings are checked against `declarations` and `roots` when given."""
    raw, positions = load_yaml(text, source)
    if not isinstance(raw, dict):
        raise DefinitionError.single(
            source,
            1,
            1,
            "a plan is a mapping with keys such as document, roles, states and transitions",
        )
    try:
        workflow = Workflow.model_validate(raw)
    except ValidationError as exc:
        raise DefinitionError(schema_problems(raw, positions, exc)) from None
    if files is None:
        files = _read_template_files(workflow, base or Path(), positions)
    plan_text = text.decode("utf-8") if isinstance(text, bytes) else text
    snapshot = {"plan": plan_text, "files": dict(files), "source": source}
    definition = Definition(
        workflow=workflow,
        source=source,
        positions=positions,
        snapshot=snapshot,
        sha256=_digest({"plan": plan_text, "files": dict(files)}),
        templates=_template_sources(workflow, files),
    )
    if not check:
        return definition

    # The checker (every check module) is imported only to check a plan file: a command on
    # a running incident rebuilds its pinned plan unchecked (`definition_from_snapshot`).
    from engine.definition.checks.workflow import check_workflow  # noqa: PLC0415

    problems = check_workflow(
        definition, known_kinds=known_kinds, declarations=declarations, roots=roots
    )
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise DefinitionError(errors)
    return Definition(**{**definition.__dict__, "warnings": tuple(problems)})


def load_definition(
    path: str | Path,
    *,
    known_kinds: Iterable[str] | None = None,
    declarations: Mapping[str, ChannelSettings] | None = None,
    roots: PathRoots | None = None,
) -> Definition:
    """Load and check the plan file at `path` (template files are read beside it)."""
    plan_path = Path(path)
    try:
        data = plan_path.read_bytes()
    except OSError as exc:
        raise DefinitionError.single(
            str(path), 1, 1, f"cannot read plan: {exc.strerror or exc}"
        ) from None
    return parse_definition(
        data,
        str(path),
        base=plan_path.parent,
        known_kinds=known_kinds,
        declarations=declarations,
        roots=roots,
    )


def definition_from_snapshot(
    snapshot: Mapping[str, Any], *, parse: Callable[[str], Any] = load_checked_yaml
) -> Definition:
    """Rebuild the exact plan an incident started with, from its stored snapshot.

    The snapshot was checked when it was first loaded, so it is parsed with the fast loader and
    without positions (they only serve the checker's error messages); `parse` may be one that
    keeps its parses (`engine.service.parsed_plans`).
    """
    plan_text: str = snapshot["plan"]
    source = str(snapshot.get("source", "<snapshot>"))
    files: dict[str, str] = dict(snapshot["files"])
    workflow = Workflow.model_validate(parse(plan_text))
    return Definition(
        workflow=workflow,
        source=source,
        positions=Positions(source),
        snapshot={"plan": plan_text, "files": files, "source": source},
        sha256=_digest({"plan": plan_text, "files": files}),
        templates=_template_sources(workflow, files),
    )
