"""Whole-plan consistency checks: does every piece of a schema-valid plan fit the others?

The schema (`schema.py`) judges each value alone. This module owns the checks that need the whole
plan: references between sections (`references.py`), the shape of the state graph
(`graph.py`), stamps and deputy escalation (`timing.py`), channel settings against their kinds'
declarations (`settings.py`), templates
rendered against sample data (`rendering.py`, for `validate`), and here the template texts,
channel kinds and unused definitions. Every
finding is a `Problem` located at the line and column of the offending YAML node, so an author can
jump straight to it; errors block loading, warnings do not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import jinja2
from jinja2 import nodes

from engine.definition.channel_settings import ChannelSettings, PathRoots
from engine.definition.checks import graph as checks_graph
from engine.definition.checks import references as checks_refs
from engine.definition.checks.context import PLURALS, Context, choices
from engine.definition.checks.meetings import check_meetings
from engine.definition.checks.paths import PathKey
from engine.definition.checks.rendering import check_rendering
from engine.definition.checks.settings import check_channel_settings
from engine.definition.checks.timing import check_timing
from engine.definition.definition import Definition
from engine.errors import Problem

# What `service.<attr>` may mean in a template's `requires`: the attributes of the service block.
SERVICE_ATTRIBUTES = ("service.name", "service.description", "service.inbound_mailbox")

# --- template texts -----------------------------------------------------------------------------


def _used_names(tree: nodes.Template) -> set[str]:
    """Variables a template reads: `x` for `{{ x }}` / `{{ x|f }}`, `service.y` for attributes."""
    found: set[str] = set()
    for name_node in tree.find_all(nodes.Name):
        if name_node.ctx == "load":
            found.add(name_node.name)
    for attr_node in tree.find_all(nodes.Getattr):
        if isinstance(attr_node.node, nodes.Name):
            found.add(f"{attr_node.node.name}.{attr_node.attr}")
    for item_node in tree.find_all(nodes.Getitem):
        if isinstance(item_node.node, nodes.Name) and isinstance(item_node.arg, nodes.Const):
            found.add(f"{item_node.node.name}.{item_node.arg.value}")
    return found


def _check_templates(ctx: Context) -> set[str]:
    """Parse every template text; report syntax errors and unmet `requires`. Returns names read."""
    env = jinja2.Environment()  # noqa: S701  (parsing only; rendering happens sandboxed elsewhere)
    read: set[str] = set()
    for name, template in ctx.workflow.templates.items():
        sources = ctx.definition.templates.get(name, {})
        _check_template_languages(ctx, name, template.file is not None, sources)
        for language, source in sources.items():
            if template.file is not None:
                base: PathKey = ("templates", name, "file", language)
            else:
                base = ("templates", name, "body", language)
            lang = f" ({language})" if language else ""
            names: set[str] = set()
            broken = False
            for part, text in (("subject", source.subject), ("body", source.body)):
                try:
                    names |= _used_names(env.parse(text))
                except jinja2.TemplateSyntaxError as exc:
                    broken = True
                    ctx.error(
                        base,
                        f"template '{name}'{lang}: Jinja syntax error in its {part} "
                        f"on line {exc.lineno}: {exc.message}",
                    )
            read |= names
            if broken:
                continue
            for index, needed in enumerate(template.requires):
                if needed not in names:
                    ctx.error(
                        ("templates", name, "requires", index),
                        f"template '{name}'{lang} does not use '{needed}', which its `requires` "
                        f"lists; write {{{{ {needed} }}}} in its subject or body",
                    )
    return read


def _check_languages(ctx: Context) -> None:
    """The plan's own language is one of the languages it declares."""
    document = ctx.workflow.document
    if document.language not in document.languages:
        ctx.error(
            ("document", "language"),
            f"document.language is '{document.language}', which document.languages does not "
            f"list; add it there or pick one of: {', '.join(document.languages)}",
        )


def _check_template_languages(
    ctx: Context, name: str, from_files: bool, sources: Mapping[str, object]
) -> None:
    """Each language a template is written in is declared, and the plan's own one is there.

    A text in an undeclared language would never be chosen (or is a typo such as `se` for
    `sv`); a template without the plan's language sends recipients the fallback language.
    """
    document = ctx.workflow.document
    part = "file" if from_files else "body"
    languages = [language for language in sources if language]
    for language in languages:
        if language not in document.languages:
            ctx.error(
                ("templates", name, part, language),
                f"template '{name}' has a text in '{language}', which document.languages does "
                f"not list; languages: {', '.join(document.languages)}",
                key=True,
            )
    if languages and document.language not in languages:
        ctx.warning(
            ("templates", name, part),
            f"template '{name}' has no text in the plan's language '{document.language}'; "
            f"its readers get '{languages[0]}' instead",
        )


def _check_template_requires(ctx: Context) -> None:
    """A template's `requires` names fields, or one of the service block's attributes."""
    for name, template in ctx.workflow.templates.items():
        for index, needed in enumerate(template.requires):
            path: PathKey = ("templates", name, "requires", index)
            if needed.startswith("service."):
                if needed not in SERVICE_ATTRIBUTES:
                    ctx.error(
                        path,
                        f"unknown service attribute '{needed}' in templates.{name}.requires. "
                        f"Known: {', '.join(SERVICE_ATTRIBUTES)}",
                    )
            else:
                ctx.ref("field", needed, path)


# --- channels -----------------------------------------------------------------------------------


def _check_channels(ctx: Context) -> None:
    for name, channel in ctx.workflow.channels.items():
        if ctx.known_kinds is not None and channel.kind not in ctx.known_kinds:
            ctx.error(
                ("channels", name, "kind"),
                f"unknown channel kind '{channel.kind}' for channel '{name}'. "
                f"Known kinds: {choices(ctx.known_kinds)}",
            )
        if channel.audience is not None:
            ctx.ref("audience", channel.audience, ("channels", name, "audience"))
    check_channel_settings(ctx)


# --- unused definitions -------------------------------------------------------------------------


def _check_unused(ctx: Context, template_reads: set[str]) -> None:
    wf = ctx.workflow
    used_roles = ctx.used.get("role", set())
    used_roles |= {name for name, role in wf.roles.items() if role.may}
    # A deputy stands in for a used role, so the deputy is used too (transitively).
    changed = True
    while changed:
        changed = False
        for name, role in wf.roles.items():
            if name not in used_roles and role.deputy_of in used_roles:
                used_roles.add(name)
                changed = True
    used_fields = ctx.used.get("field", set()) | template_reads
    for name, field_def in wf.fields.items():
        if field_def.required:
            used_fields.add(name)  # the operator must fill it in, so it is part of the record
    uses_subregions = any(f.choices_from == "subregions" for f in wf.fields.values())
    sections: list[tuple[str, Iterable[str], set[str]]] = [
        ("role", wf.roles, used_roles),
        ("audience", wf.audiences, ctx.used.get("audience", set())),
        ("channel", wf.channels, ctx.used.get("channel", set())),
        ("template", wf.templates, ctx.used.get("template", set())),
        ("field", wf.fields, used_fields),
        ("subregion", wf.subregions, set(wf.subregions) if uses_subregions else set()),
    ]
    for kind, defined, used in sections:
        for name in defined:
            if name not in used:
                ctx.warning(
                    (PLURALS[kind], name),
                    f"{kind} '{name}' is defined but never used",
                    key=True,
                )


def check_workflow(
    definition: Definition,
    *,
    known_kinds: Iterable[str] | None = None,
    declarations: Mapping[str, ChannelSettings] | None = None,
    roots: PathRoots | None = None,
    render: bool = False,
) -> list[Problem]:
    """Check a schema-valid plan as a whole; returns errors and warnings, sorted by position.

    `known_kinds` are the channel kinds installed (built-ins plus plug-ins) and `declarations`
    their settings; when None, kinds (and settings beyond the basics) are not checked, because
    the definition layer must not import the channels package. `roots` are where path settings
    may point. `render` renders every template against sample data in the engine's sandbox
    (what `validate` does; loading a plan skips it to stay fast).
    """
    ctx = Context(
        definition,
        frozenset(known_kinds) if known_kinds is not None else None,
        declarations=declarations,
        roots=roots,
    )
    checks_refs.check_references(ctx)
    checks_graph.check_graph(ctx)
    check_timing(ctx)
    check_meetings(ctx)
    _check_channels(ctx)
    _check_languages(ctx)
    _check_template_requires(ctx)
    template_reads = _check_templates(ctx)
    if render:
        check_rendering(ctx)
    _check_unused(ctx, template_reads)
    unique = {(p.line, p.column, p.severity, p.message): p for p in ctx.problems}
    return sorted(unique.values(), key=lambda p: (p.line, p.column, p.severity, p.message))
