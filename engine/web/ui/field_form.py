"""Forms generated from the plan's fields: which inputs a trigger shows, reading what was posted,
and field-level messages.

A trigger shows the fields it accepts (its `accepts` plus `requires`; every field when it names
none), in the plan's order. Posted values are read back into the raw text the service parses
(`engine.domain.fields.parse_value`, the same parser as the CLI's `--set`), after two
conveniences of a browser form: a bare time such as "14:00" means today in the plan's timezone,
and "nu"/"now" is fixed to the minute it was typed, so a preview and its confirmation declare
the same time. Input fields are named `f_<field>` so no plan field can collide with the form's
own (`csrf`, `steg`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from starlette.datastructures import FormData

from engine.definition.schema import TransitionDef, Workflow, localized
from engine.domain.fields import UNKNOWN, choices_of, display_value, parse_value
from engine.errors import DriftplanError, InvalidField, MissingField
from engine.web.ui.words import Words

PREFIX = "f_"
_BARE_TIME = re.compile(r"^\s*([01]?\d|2[0-3])[:.]([0-5]\d)\s*$")
_NOW_WORDS = {"nu", "now"}
_UNKNOWN_WORDS = {"okänd", "okänt", "okand", "unknown", "?"}
_FIELD_PREFIX = re.compile(r"^(Uppgiften|Field) '[^']*': ")
# Few enough choices read best as radio buttons; more fit a select.
RADIO_LIMIT = 5


@dataclass
class Input:
    """One field of a generated form, as the template draws it."""

    name: str
    title: str
    help: str
    kind: str  # text, datetime, choice, multichoice, bool, int, duration
    required: bool
    unknown_allowed: bool
    options: list[tuple[str, str]] = field(default_factory=list)  # (value, title)
    value: str = ""
    values: list[str] = field(default_factory=list)  # a multichoice field's checked values
    checked: bool = False  # a bool field, or "okänd" of a datetime field
    current: str = ""  # the incident's value as people read it (action forms)
    error: str = ""

    @property
    def id(self) -> str:
        return f"{PREFIX}{self.name}"

    @property
    def radios(self) -> bool:
        return len(self.options) <= RADIO_LIMIT


def shown_fields(workflow: Workflow, t: TransitionDef) -> list[str]:
    """The fields a trigger's form shows, in the plan's order."""
    if t.accepts is None:
        return list(workflow.fields)
    wanted = {*t.accepts, *t.requires}
    return [name for name in workflow.fields if name in wanted]


def needed_fields(workflow: Workflow, t: TransitionDef) -> set[str]:
    """The fields the trigger needs filled (declaring also needs the plan's required ones)."""
    needed = set(t.requires)
    if t.initial:
        needed |= {n for n, f in workflow.fields.items() if f.required}
    return needed


def local_now(workflow: Workflow, now: datetime) -> datetime:
    return now.astimezone(ZoneInfo(workflow.document.timezone))


def prefilled(
    workflow: Workflow, t: TransitionDef, now: datetime, current: Mapping[str, Any]
) -> dict[str, str]:
    """A new form starts the times it needs that cannot be unknown and are not yet set (when
    it started, when it was resolved) at now: the usual answer, one field less in a hurry."""
    local = f"{local_now(workflow, now):%Y-%m-%dT%H:%M}"
    return {
        name: local
        for name in sorted(needed_fields(workflow, t))
        if workflow.fields[name].type == "datetime"
        and not workflow.fields[name].unknown_allowed
        and current.get(name) in (None, "")
    }


def normalize_time(raw: str, workflow: Workflow, now: datetime) -> str:
    """ "14:00" -> today's date at 14:00 and "nu" -> this minute, in the plan's timezone; any
    other text is left for the service's parser to accept or refuse."""
    text = raw.strip()
    local = local_now(workflow, now)
    bare = _BARE_TIME.match(text)
    if bare:
        return f"{local:%Y-%m-%d}T{int(bare.group(1)):02d}:{bare.group(2)}"
    if text.lower() in _NOW_WORDS:
        return f"{local:%Y-%m-%dT%H:%M}"
    return text


def read_form(
    workflow: Workflow,
    names: list[str],
    form: FormData,
    now: datetime,
    current: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The raw values posted for `names`: empty inputs are left out (on an action: unchanged),
    a checkbox counts only when it differs from the incident's value."""
    current = current or {}
    raw: dict[str, Any] = {}
    for name in names:
        f = workflow.fields[name]
        key = PREFIX + name
        if f.type == "multichoice":
            picked = [str(v) for v in form.getlist(key) if str(v).strip()]
            if picked:
                raw[name] = picked
        elif f.type == "bool":
            checked = str(form.get(key, "")) == "ja"
            if checked != bool(current.get(name)):
                raw[name] = "true" if checked else "false"
        elif f.type == "datetime":
            if f.unknown_allowed and str(form.get(key + "_okand", "")) == "ja":
                raw[name] = "okänd"
                continue
            text = str(form.get(key, "")).strip()
            if text:
                raw[name] = normalize_time(text, workflow, now)
        else:
            text = str(form.get(key, ""))
            if text.strip():
                raw[name] = text.strip() if f.type != "text" else text
    return raw


def _message(err: DriftplanError, words: Words) -> str:
    """An error's text without the "Field 'x':" prefix: the page shows it beside the field."""
    return _FIELD_PREFIX.sub("", err.text(words.language))


def check(
    workflow: Workflow,
    t: TransitionDef,
    raw: Mapping[str, Any],
    now: datetime,
    words: Words,
    current: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Every field's problem at once (the service stops at the first): (parsed values, errors
    by field). The service checks again when the command runs; this is for the messages."""
    current = current or {}
    parsed: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, value in raw.items():
        try:
            parsed[name] = parse_value(workflow, name, value, now=now)
        except InvalidField as err:
            errors[name] = _message(err, words)
    for name in needed_fields(workflow, t):
        appended = name in t.append
        if name not in raw and (appended or current.get(name) in (None, "", [])):
            errors.setdefault(name, words.fill_in)
    return parsed, errors


def errors_of(err: DriftplanError, words: Words) -> dict[str, str]:
    """Field-level messages from a refusal of the service ({} when it is about no field)."""
    if isinstance(err, InvalidField):
        return {err.field: _message(err, words)}
    if isinstance(err, MissingField):
        return dict.fromkeys(err.fields, words.fill_in)
    return {}


def inputs(
    workflow: Workflow,
    names: list[str],
    language: str,
    raw: Mapping[str, Any] | None = None,
    errors: Mapping[str, str] | None = None,
    current: Mapping[str, Any] | None = None,
    required: set[str] | None = None,
) -> list[Input]:
    """The inputs of a form, holding what was posted (`raw`) and each field's message."""
    raw = raw or {}
    errors = errors or {}
    current = current or {}
    required = required or set()
    out = []
    for name in names:
        f = workflow.fields[name]
        options: list[tuple[str, str]] = []
        if f.type in ("choice", "multichoice"):
            for value in choices_of(workflow, f):
                title = display_value(workflow, name, value, language) if f.choices_from else value
                options.append((value, title))
        posted = raw.get(name)
        item = Input(
            name=name,
            title=localized(f.title, language) or name,
            help=localized(f.help, language) if f.help else "",
            kind=f.type,
            required=name in required,
            unknown_allowed=f.unknown_allowed,
            options=options,
            error=errors.get(name, ""),
        )
        now_value = current.get(name)
        if now_value not in (None, "", []):
            item.current = display_value(workflow, name, now_value, language)
        if f.type == "multichoice":
            item.values = [str(v) for v in posted] if isinstance(posted, list) else []
        elif f.type == "bool":
            item.checked = str(posted).lower() == "true" if posted is not None else bool(now_value)
        elif f.type == "datetime" and isinstance(posted, str):
            if posted.strip().lower() in _UNKNOWN_WORDS or posted == UNKNOWN:
                item.checked = True
            else:
                item.value = posted
        elif posted is not None:
            item.value = str(posted)
        out.append(item)
    return out


def hidden_pairs(raw: Mapping[str, Any], workflow: Workflow) -> list[tuple[str, str]]:
    """The posted values as hidden form fields, so the confirmation posts them again as the
    form did (and they are checked again)."""
    pairs: list[tuple[str, str]] = []
    for name, value in raw.items():
        f = workflow.fields[name]
        if isinstance(value, list):
            pairs += [(PREFIX + name, str(v)) for v in value]
        elif f.type == "bool":
            if value == "true":
                pairs.append((PREFIX + name, "ja"))
        elif f.type == "datetime" and value == "okänd":
            pairs.append((PREFIX + name + "_okand", "ja"))
        else:
            pairs.append((PREFIX + name, str(value)))
    return pairs


def shown_values(
    workflow: Workflow, parsed: Mapping[str, Any], language: str
) -> list[tuple[str, str]]:
    """The parsed values as (title, value for readers), in the plan's order."""
    return [
        (
            localized(f.title, language) or name,
            display_value(workflow, name, parsed[name], language),
        )
        for name, f in workflow.fields.items()
        if name in parsed
    ]
