"""The plan language's building blocks: names, durations, texts in several languages, and the
strict base model every plan key is checked with. `schema.py` builds the plan's shape from these."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from engine.definition.durations import parse_duration

NAME_RE = r"^[a-z][a-z0-9_]*$"
NAME_HELP = "lowercase letters, digits and _ , starting with a letter"


def _duration(value: object) -> timedelta:
    return value if isinstance(value, timedelta) else parse_duration(value)


def _text(value: object) -> dict[str, str]:
    """A user-facing text: either one string, or one string per language ({sv: .., en: ..})."""
    if isinstance(value, str):
        return {"": value}
    if (
        isinstance(value, dict)
        and value
        and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
    ):
        return dict(value)
    raise ValueError("expected a text, or a mapping of language to text such as {sv: ..., en: ...}")


def _names(value: object) -> list[str]:
    """One name or a list of names (pydantic checks the list's items next)."""
    return [value] if isinstance(value, str) else value  # type: ignore[return-value]


Duration = Annotated[timedelta, BeforeValidator(_duration)]
Text = Annotated[dict[str, str], BeforeValidator(_text)]
Name = Annotated[str, Field(pattern=NAME_RE)]
Names = Annotated[list[Name], BeforeValidator(_names)]
# A transition's source: names, or the single wildcard "*" (every non-final state).
Sources = Annotated[
    list[Annotated[str, Field(pattern=r"^(\*|[a-z][a-z0-9_]*)$")]], BeforeValidator(_names)
]


# Default factories for the empty list and mapping. Pydantic reads every default factory's
# signature when it builds a model, and the signature of the builtin `list` or `dict` must be
# parsed from text: about 0.25 ms each, 6 ms of every command that loads a plan (issue #13).
def empty_list() -> list[Any]:
    """A new empty list (`Field(default_factory=empty_list)`)."""
    return []


def empty_dict() -> dict[Any, Any]:
    """A new empty mapping (`Field(default_factory=empty_dict)`)."""
    return {}


def localized(text: dict[str, str] | None, language: str, fallback: str = "sv") -> str:
    """Pick the text for `language`, else the fallback language, else any text there is."""
    if not text:
        return ""
    for key in (language, fallback, ""):
        if key in text:
            return text[key]
    return next(iter(text.values()))


class Strict(BaseModel):
    """Base: unknown keys are errors, values are immutable once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True)
