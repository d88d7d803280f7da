"""Message rendering: the plan's templates, filled with an incident's data, in a sandbox.

Owns two promises. First, safety: templates come from the plan file and render in a Jinja2
`SandboxedEnvironment` with a time and size budget (`engine.definition.sandbox`, shared with
`driftplan validate`, which renders every template up front); what operators type is only ever a
context *value*, never template source, so `{{ 7*7 }}` in a scope arrives as those seven
characters; the HTML body is built by escaping the text body, never by trusting it. A template
that runs past a limit is a `MessageError` naming it and the limit. Second, the grundmall:
every template lists the content it `requires` (service description, start, scope, expected
resolution, ...), and `render_message` refuses — with a `MessageError` naming each missing item
and how to set it — rather than produce a message without it. The service renders before it
commits, so a refused message means nothing happened.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from jinja2 import Template, TemplateError
from jinja2.exceptions import SecurityError

from engine.definition.definition import Definition
from engine.definition.sandbox import (
    APPROVAL_KEYS,
    DECISION_KEYS,
    RESERVED,
    TIMER_KEYS,
    FieldText,
    RenderLimitExceeded,
    compile_template,
    render_bounded,
)
from engine.definition.schema import Workflow, localized
from engine.definition.wording import FieldList, and_list
from engine.domain.fields import display_value, format_time
from engine.errors import MessageError

MAX_SUBJECT = 250
EXERCISE_SUBJECT = {"sv": "ÖVNING: ", "en": "EXERCISE: "}
EXERCISE_LINE = {
    "sv": "ÖVNING – detta är en övning, inte en verklig driftstörning.",
    "en": "EXERCISE – this is a drill, not a real outage.",
}


_CACHE: dict[tuple[str, str, str], tuple[Template, Template]] = {}
_CACHE_LIMIT = 2048


@dataclass(frozen=True)
class MessageContext:
    """Everything a template may print, already display-ready, for one language."""

    language: str
    values: Mapping[str, Any]
    exercise: bool = False

    def lookup(self, dotted: str) -> Any:
        """The value at `service.description`-style paths; None when any step is missing."""
        node: Any = self.values
        for step in dotted.split("."):
            if not isinstance(node, Mapping) or step not in node:
                return None
            node = node[step]
        return node


@dataclass(frozen=True)
class RenderedMessage:
    """A rendered message: one-line subject, text body and the same body as safe HTML."""

    subject: str
    body_text: str
    body_html: str
    language: str
    required: Mapping[str, str] = field(default_factory=dict)  # grundmall item -> its text


def _format_moment(moment: datetime, workflow: Workflow, language: str) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # the model keeps UTC; naive means UTC
    return format_time(moment.isoformat(), workflow, language)


def _approval_values(
    workflow: Workflow, approval: Mapping[str, Any] | None, language: str
) -> dict[str, str]:
    values = dict.fromkeys(APPROVAL_KEYS, "")
    for key, value in (approval or {}).items():
        if value is None:
            text = ""
        elif isinstance(value, datetime):
            text = _format_moment(value, workflow, language)
        elif isinstance(value, list | tuple):
            names = [
                localized(workflow.subregions[v].title, language)
                if key == "subregions" and v in workflow.subregions
                else str(v)
                for v in value
            ]
            text = and_list(names, language)
        else:
            text = str(value)
        values[key] = text
    return values


def _field_values(workflow: Workflow, data: Mapping[str, Any], language: str) -> dict[str, Any]:
    """Every plan field's display text ("" when unset); lists worded with "och"/"and"."""
    values: dict[str, Any] = {}
    for name, spec in workflow.fields.items():
        raw = data.get(name)
        if spec.type == "multichoice" and isinstance(raw, list):
            titles = [
                localized(workflow.subregions[v].title, language)
                if spec.choices_from == "subregions" and v in workflow.subregions
                else str(v)
                for v in raw
            ]
            values[name] = FieldList(titles, language)
            continue
        shown = display_value(workflow, name, raw, language) if raw is not None else ""
        values[name] = FieldText(shown, bool(raw)) if spec.type == "bool" else shown
    return values


def _section(keys: list[str], given: Mapping[str, Any] | None) -> dict[str, Any]:
    """A context section with every key present ("" when not given): a template may test
    `{% if decision.by %}` in any message, and prints "" where a message has no decision."""
    section: dict[str, Any] = dict.fromkeys(keys, "")
    section.update({k: v for k, v in (given or {}).items() if v is not None})
    return section


def build_context(
    definition: Definition,
    *,
    incident_id: str,
    state: str,
    data: Mapping[str, Any],
    language: str,
    now: datetime,
    exercise: bool = False,
    approval: Mapping[str, Any] | None = None,
    decision: Mapping[str, Any] | None = None,
    timer: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> MessageContext:
    """Build the display-ready context for `language` from an incident's stored data.

    Every plan field becomes a top-level name (its display text, "" when unset). `decision`
    holds who decided what a message announces (`engine.service.approval_view`), `timer` the
    state timer that sends it (its `every`/`after` as timedeltas, for `| duration`). `extra`
    adds names a caller needs (`incident_url` fills `incident.url`); it cannot shadow plan
    fields or the reserved names, since that would let a caller silently change required content.
    """
    workflow = definition.workflow
    values = _field_values(workflow, data, language)
    state_def = workflow.states.get(state)
    extras = dict(extra or {})
    clash = sorted(k for k in extras if k in values or k in RESERVED)
    if clash:
        raise ValueError(f"extra context names clash with plan fields or reserved names: {clash}")
    values.update(
        service={
            "name": workflow.service.name,
            "description": localized(workflow.service.description, language),
            "inbound_mailbox": workflow.service.inbound_mailbox or "",
            "url": workflow.service.url or "",
        },
        incident={
            "id": incident_id,
            "state": state,
            "state_title": localized(state_def.title, language) if state_def else state,
            "url": str(extras.pop("incident_url", "") or ""),
        },
        document={"title": definition.title(language), "timezone": workflow.document.timezone},
        approval=_approval_values(workflow, approval, language),
        decision=_section(DECISION_KEYS, decision),
        timer=_section(TIMER_KEYS, timer),
        now=_format_moment(now, workflow, language),
        exercise=exercise,
        language=language,
    )
    values.update(extras)
    return MessageContext(language=language, values=values, exercise=exercise)


def _compiled(definition: Definition, name: str, language: str) -> tuple[Template, Template]:
    key = (definition.sha256, name, language)
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    source = definition.template(name, language)
    try:
        pair = (compile_template(source.subject), compile_template(source.body))
    except TemplateError as exc:
        raise MessageError(
            f"Template '{name}' ({language}) of plan '{definition.name}' does not compile: {exc}"
        ) from exc
    if len(_CACHE) >= _CACHE_LIMIT:
        _CACHE.clear()  # plans change rarely; a full reset is simpler than LRU bookkeeping
    _CACHE[key] = pair
    return pair


def _actual_language(definition: Definition, name: str, language: str) -> str:
    """The language the template text is really in, after `Definition.template`'s fallback."""
    per_language = definition.templates[name]
    for key in (language, definition.language):
        if key in per_language:
            return key
    return definition.language


def _missing_required(
    definition: Definition, name: str, requires: list[str], context: MessageContext
) -> dict[str, str]:
    """Check the grundmall items; returns item -> text, raising for every empty item at once."""
    workflow = definition.workflow
    found: dict[str, str] = {}
    missing: list[str] = []
    for item in requires:
        value = context.lookup(item)
        text = "" if value is None else str(value).strip()
        if text:
            found[item] = text
            continue
        spec = workflow.fields.get(item)
        if spec is not None:
            title = localized(spec.title, context.language) if spec.title else item
            missing.append(f"{item} ({title}): set it with --set {item}=...")
        elif item.startswith("service."):
            missing.append(f"{item}: set it in the plan's service section")
        else:
            missing.append(f"{item}: not provided")
    if missing:
        raise MessageError(
            f"Template '{name}' cannot be sent without its required content. Missing: "
            + "; ".join(missing)
        )
    return found


def _render(template: Template, values: Mapping[str, Any], name: str, language: str) -> str:
    where = f"Template '{name}' ({language})"
    try:
        return render_bounded(template, values)
    except RenderLimitExceeded as exc:
        raise MessageError(
            f"{where} was stopped by the sandbox: it went past {exc.limit}. Fix the template "
            "(driftplan validate renders every template and finds such ones)."
        ) from exc
    except SecurityError as exc:
        raise MessageError(f"{where} tried something the sandbox forbids: {exc}") from exc
    except (
        TemplateError,  # includes UndefinedError: a name the template prints does not exist
        TypeError,
        ValueError,
        ArithmeticError,
        LookupError,
        AttributeError,
        RecursionError,
    ) as exc:
        # A template is plan data: its mistakes are the plan's, reported, never a crash.
        raise MessageError(f"{where} failed: {type(exc).__name__}: {exc}") from exc


# Compiled once: these run for every message a command renders.
_THREE_OR_MORE_NEWLINES = re.compile(r"\n{3,}")
_PARAGRAPH_BREAK = re.compile(r"\n{2,}")


def _one_line(text: str) -> str:
    # The per-character pass only when needed: subjects rarely hold control characters.
    cleaned = (
        text if text.isprintable() else "".join(ch if ch.isprintable() else " " for ch in text)
    )
    line = _squash(cleaned)
    if len(line) > MAX_SUBJECT:
        line = line[: MAX_SUBJECT - 1].rstrip() + "…"
    return line


def _tidy_body(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    # Optional blocks (`{% if details %}`) leave blank lines behind when they are empty.
    return _THREE_OR_MORE_NEWLINES.sub("\n\n", text).strip()


def _to_html(text: str) -> str:
    """Escape everything, then paragraphs -> <p>, line breaks -> <br>; no auto-linking."""
    paragraphs = [p for p in _PARAGRAPH_BREAK.split(text) if p.strip()]
    parts = []
    for paragraph in paragraphs:
        lines = [html.escape(line) for line in paragraph.split("\n")]
        parts.append("<p>" + "<br>\n".join(lines) + "</p>")
    return "\n".join(parts)


def _squash(text: str) -> str:
    r"""Runs of whitespace as one space, none at the ends: `re.sub(r"\s+", " ", text).strip()`,
    which it equals (both use str.isspace's notion of whitespace), at a fraction of the cost."""
    return " ".join(text.split())


def render_message(
    definition: Definition, template_name: str, *, language: str, context: MessageContext
) -> RenderedMessage:
    """Render one template of the plan, enforcing its required content (grundmall).

    Raises `MessageError` when the template is unknown, a required item is empty, the
    template breaks the sandbox or fails, or the output does not show a required value.
    """
    spec = definition.workflow.templates.get(template_name)
    if spec is None or template_name not in definition.templates:
        known = ", ".join(sorted(definition.workflow.templates)) or "(none)"
        raise MessageError(f"Unknown template '{template_name}'. Known templates: {known}.")
    if context.language != language:
        raise ValueError(
            f"context was built for {context.language!r}, not {language!r}: build one per language"
        )
    found = _missing_required(definition, template_name, spec.requires, context)
    actual = _actual_language(definition, template_name, language)
    subject_tpl, body_tpl = _compiled(definition, template_name, language)
    subject = _render(subject_tpl, context.values, template_name, actual)
    body = _tidy_body(_render(body_tpl, context.values, template_name, actual))
    flat_body = _squash(body)
    absent = [item for item, text in found.items() if _squash(text) not in flat_body]
    if absent:
        raise MessageError(
            f"Template '{template_name}' ({actual}) does not show its required content "
            f"{', '.join(absent)} in the message; the plan's template must print it."
        )
    if context.exercise:
        prefix_language = "sv" if actual == "sv" else "en"
        subject = EXERCISE_SUBJECT[prefix_language] + subject
        body = f"{EXERCISE_LINE[prefix_language]}\n\n{body}"
    return RenderedMessage(
        subject=_one_line(subject),
        body_text=body,
        body_html=_to_html(body),
        language=actual,
        required=found,
    )
