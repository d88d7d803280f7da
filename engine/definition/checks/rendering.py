"""Every template rendered up front, as `driftplan validate` does, in the engine's own sandbox.

Each template is rendered in every language it is written in, against sample data built from the
plan: every field with a value of its type (each choice in turn, "unknown" where a time allows
it, both truths of a bool), and once with every field unset; the approval variables filled and
empty; the decision and timer variables likewise; the service block; with and without an
incident link. The sandbox and its limits are the
ones messages render with (`engine.definition.sandbox`), so a sandbox refusal, a name the
template prints that no message would have, a template that fails on some value, or one that
runs away (time, output or size) is an error here, located at the template, instead of a command
refused when an incident is declared. Like rendering, the check also makes sure every item of
`requires` shows in the body when it has a value.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import timedelta
from types import TracebackType
from typing import Any, NamedTuple

from jinja2 import Template, TemplateError, TemplateSyntaxError, UndefinedError
from jinja2.exceptions import SecurityError, TemplateAssertionError

from engine.definition.checks.context import Context
from engine.definition.checks.paths import PathKey
from engine.definition.definition import TemplateSource
from engine.definition.durations import format_duration
from engine.definition.sandbox import (
    APPROVAL_KEYS,
    DECISION_KEYS,
    TIMER_KEYS,
    FieldText,
    RenderLimitExceeded,
    compile_template,
    render_bounded,
)
from engine.definition.schema import FieldDef, Workflow, localized
from engine.definition.wording import FieldList

_TIME = {"sv": "28 juni 2022 kl. 14.30", "en": "28 June 2022 at 14:30"}
_UNKNOWN = {"sv": "okänd", "en": "unknown"}
_YES_NO = {"sv": ("ja", "nej"), "en": ("yes", "no")}


def _choices(workflow: Workflow, spec: FieldDef, language: str) -> list[str]:
    """A choice field's values as readers see them (sub-regions by title)."""
    if spec.choices_from == "subregions":
        return [localized(s.title, language) for s in workflow.subregions.values()]
    return list(spec.choices or [])


def _field_value(workflow: Workflow, name: str, spec: FieldDef, language: str, variant: int) -> str:
    """Field `name` displayed as build_context would show it, varied by `variant`."""
    if spec.type == "datetime":
        if spec.unknown_allowed and variant % 2:
            return _UNKNOWN.get(language, _UNKNOWN["en"])
        return _TIME.get(language, _TIME["en"])
    if spec.type == "bool":
        yes, no = _YES_NO.get(language, _YES_NO["en"])
        return FieldText(yes if variant % 2 == 0 else no, variant % 2 == 0)
    if spec.type == "int":
        return str(variant + 1)
    if spec.type == "duration":
        return format_duration(timedelta(minutes=15 * (variant + 1)))
    if spec.type in ("choice", "multichoice"):
        values = _choices(workflow, spec, language) or [name]
        if spec.type == "multichoice":  # all of them, then one at a time, as messages word them
            return FieldList(values if variant == 0 else [values[variant % len(values)]], language)
        return values[variant % len(values)]
    return f"[{localized(spec.title, language) or name}]"


def sample_contexts(workflow: Workflow, title: str, language: str) -> Iterator[dict[str, Any]]:
    """The sample values a template is rendered with: one complete set per choice (at least
    two, for both truths of a bool and a known and an unknown time), then all fields unset."""
    widest = max(
        [len(_choices(workflow, spec, language)) for spec in workflow.fields.values()] + [2]
    )
    states: list[tuple[str, Any]] = list(workflow.states.items()) or [("", None)]
    for variant in range(widest + 1):
        complete = variant < widest
        values: dict[str, Any] = {
            name: _field_value(workflow, name, spec, language, variant)
            if complete
            else (FieldText("", False) if spec.type == "bool" else "")
            for name, spec in workflow.fields.items()
        }
        state, state_def = states[variant % len(states)]
        filled = complete and variant % 2 == 0
        approval = {key: f"[approval.{key}]" if filled else "" for key in APPROVAL_KEYS}
        approval["trigger"] = "[approval.trigger]" if filled else ""
        decision = {key: f"[decision.{key}]" if filled else "" for key in DECISION_KEYS}
        timer: dict[str, Any] = {key: f"[timer.{key}]" if filled else "" for key in TIMER_KEYS}
        if filled:  # a timer's durations are timedeltas, for `| duration`
            timer.update(every=timedelta(minutes=90), after=timedelta(days=1))
        values.update(
            service={
                "name": workflow.service.name,
                "description": localized(workflow.service.description, language),
                "inbound_mailbox": workflow.service.inbound_mailbox or "",
                "url": workflow.service.url or "",
            },
            incident={
                "id": "20220628-abc123",
                "state": state,
                "state_title": localized(state_def.title, language) if state_def else state,
                "url": "",
            },
            document={"title": title, "timezone": workflow.document.timezone},
            approval=approval,
            decision=decision,
            timer=timer,
            now=_TIME.get(language, _TIME["en"]),
            exercise=variant % 2 == 1,
            language=language,
        )
        if filled:  # the engine adds the incident's link when the installation has a public URL
            values["url"] = "https://driftplan.example/incidents/20220628-abc123"
        yield values


def _template_line(traceback: TracebackType | None) -> int | None:
    """The line of the template source where a render failed, from jinja's rewritten frames."""
    line = None
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == "<template>":
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line


def _explain(exc: BaseException) -> str:
    if isinstance(exc, RenderLimitExceeded):
        return (
            f"rendering it went past {exc.limit} (a runaway loop or a huge value); "
            "make the template print the plan's values, not compute with them"
        )
    if isinstance(exc, SecurityError) or (isinstance(exc, UndefinedError) and "unsafe" in str(exc)):
        return (
            f"the sandbox refused it: {exc} Templates may print values and use Jinja's "
            "filters and tests, never reach Python internals"
        )
    if isinstance(exc, UndefinedError):
        return (
            f"it prints a name no message has: {exc}. Available: the plan's fields, service, "
            "incident, document, approval, decision, timer, now, exercise, language"
        )
    return f"it fails on sample data: {type(exc).__name__}: {exc}"


def _lookup(values: Mapping[str, Any], dotted: str) -> str:
    node: Any = values
    for step in dotted.split("."):
        if not isinstance(node, Mapping) or step not in node:
            return ""
        node = node[step]
    return str(node).strip()


class _Failure(NamedTuple):
    """Where and how a template failed: "subject" or "body", the explanation, the line."""

    part: str
    problem: str
    line: int | None


# What a template can do wrong while rendering; the same list `render_message` turns into a
# MessageError. Anything else is a bug of ours and should surface as one.
_RENDER_FAILURES = (
    TemplateError,
    RenderLimitExceeded,
    ArithmeticError,
    LookupError,
    TypeError,
    ValueError,
    AttributeError,
    RecursionError,
)


def _compiled(source: TemplateSource) -> list[Template] | _Failure | None:
    """Both parts compiled, or what only compiling finds (an unknown filter or test); None for
    a syntax error, which the template check reports with its line."""
    compiled = []
    for part, text in (("subject", source.subject), ("body", source.body)):
        try:
            compiled.append(compile_template(text))
        except TemplateAssertionError as exc:
            return _Failure(part, f"it does not compile: {exc.message}", exc.lineno)
        except TemplateSyntaxError:
            return None
    return compiled


def _render_all(
    compiled: list[Template],
    requires: list[str],
    workflow: Workflow,
    language: str,
    title: str,
) -> _Failure | None:
    """(part, problem, line) for the first sample the template fails on; None when none."""
    for values in sample_contexts(workflow, title, language):
        for part, template in zip(("subject", "body"), compiled, strict=True):
            try:
                output = render_bounded(template, values)
            except _RENDER_FAILURES as exc:
                return _Failure(part, _explain(exc), _template_line(exc.__traceback__))
        flat = " ".join(output.split())  # `output` is the body's
        absent = [
            item
            for item in requires
            if _lookup(values, item) and " ".join(_lookup(values, item).split()) not in flat
        ]
        if absent:
            return _Failure(
                "body",
                f"it does not show its required content {', '.join(absent)} with sample "
                "values (a message would be refused); print each item of `requires`",
                None,
            )
    return None


def _where(ctx: Context, name: str, language: str, part: str, line: int | None) -> str:
    """`templates/sv/x.txt:7` for file templates, `its body, line 2` for inline ones (without
    the line when the failure has none, e.g. the output limit)."""
    template = ctx.workflow.templates[name]
    relative = (template.file or {}).get(language)
    files = ctx.definition.snapshot.get("files", {})
    if relative is None or relative not in files:
        return f"its {part}" if line is None else f"its {part}, line {line}"
    if line is None:
        return f"{relative} (its {part})"
    text = str(files[relative])
    source: TemplateSource = ctx.definition.templates[name][language]
    if part == "subject":
        return f"{relative}:1"
    offset = text[: len(text) - len(source.body)].count("\n") if text.endswith(source.body) else 0
    return f"{relative}:{offset + line}"


def check_rendering(ctx: Context) -> None:
    """Render every template in every language against the samples; report the first failure
    of each (template, language) at the template's place in the plan."""
    definition = ctx.definition
    workflow = ctx.workflow
    for name, template in workflow.templates.items():
        for language, source in definition.templates.get(name, {}).items():
            compiled = _compiled(source)
            if compiled is None:
                continue  # a syntax error: reported by the template check, with its line
            speaks = language or definition.language
            problem = (
                compiled
                if isinstance(compiled, _Failure)
                else _render_all(
                    compiled, template.requires, workflow, speaks, definition.title(speaks)
                )
            )
            if problem is None:
                continue
            part, text, line = problem
            kind = "file" if template.file is not None else "body"
            path: PathKey = (
                ("templates", name, kind, language) if language else ("templates", name, kind)
            )
            shown = f" ({language})" if language else ""
            ctx.error(
                path,
                f"template '{name}'{shown}, {_where(ctx, name, language, part, line)}: {text}",
            )
