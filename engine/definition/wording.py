"""How messages word lists, durations and times, in Swedish and English.

The template filters `and_list`, `duration` and `time` (registered in the sandbox,
`engine.definition.sandbox`) and the context that fills templates (`engine.service.messages`)
both word values here, so "Fyrbodal och Skaraborg", "1 timme och 30 minuter" and
"28 juni 2022 kl. 14.30" read the same wherever a plan prints them. Any language other than
Swedish gets English: a plan's languages are checked elsewhere, and English is the fallback
readers of another language understand best.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import pass_context
from jinja2.runtime import Context

from engine.definition.durations import parse_duration

__all__ = ["FieldList", "and_list", "clock_time", "spell_duration", "template_filters"]

_AND = {"sv": "och", "en": "and"}
_OR = {"sv": "eller", "en": "or"}
# (seconds, Swedish singular, Swedish plural, English singular, English plural)
_UNITS = (
    (86400, "dag", "dagar", "day", "days"),
    (3600, "timme", "timmar", "hour", "hours"),
    (60, "minut", "minuter", "minute", "minutes"),
    (1, "sekund", "sekunder", "second", "seconds"),
)
_MONTHS_SV = (
    "januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti", "september",
    "oktober", "november", "december",
)  # fmt: skip
_MONTHS_EN = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip


def _sv(language: str) -> bool:
    return language == "sv"


def and_list(items: Iterable[object], language: str, *, word: str = "and") -> str:
    """`A`, `A och B`, `A, B och C` (sv) / `A and B`, `A, B and C` (en); `word="or"` for "eller".

    No serial comma in English either: the plan's own texts (the seed) are written that way.
    """
    words = _OR if word == "or" else _AND
    texts = [str(item) for item in items if str(item).strip()]
    if len(texts) <= 1:
        return texts[0] if texts else ""
    joiner = words["sv" if _sv(language) else "en"]
    return f"{', '.join(texts[:-1])} {joiner} {texts[-1]}"


class FieldList(str):
    """A list field's display text ("Fyrbodal och Skaraborg") that still knows its items.

    Printing it gives the worded list; `and_list` (e.g. `| and_list("or")`) words the items
    again. It stays a plain string otherwise (length, tests, the required-content check).
    """

    items: tuple[str, ...]

    def __new__(cls, items: Iterable[object], language: str) -> FieldList:
        values = tuple(str(item) for item in items)
        obj = super().__new__(cls, and_list(values, language))
        obj.items = values
        return obj


def _as_timedelta(value: object) -> timedelta | None:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return timedelta(seconds=value)
    if isinstance(value, str) and value.strip():
        try:
            return parse_duration(value)
        except ValueError:
            return None
    return None


def spell_duration(value: object, language: str) -> str:
    """`1 timme`, `30 minuter`, `1 timme och 30 minuter`, `2 dagar` (sv) / `1 hour and 30
    minutes` (en). Takes a timedelta, seconds, or a plan duration (`90m`, `PT1H30M`); any other
    value comes back as its text, so a template never fails on an odd value."""
    span = _as_timedelta(value)
    if span is None:
        return "" if value is None else str(value)
    remaining = int(abs(span.total_seconds()))
    parts = []
    for size, sv_one, sv_many, en_one, en_many in _UNITS:
        count, remaining = divmod(remaining, size)
        if count:
            one, many = (sv_one, sv_many) if _sv(language) else (en_one, en_many)
            parts.append(f"{count} {one if count == 1 else many}")
    if not parts:
        return "0 minuter" if _sv(language) else "0 minutes"
    return and_list(parts, language)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def clock_time(value: object, language: str, timezone: str, style: str = "full") -> str:
    """A moment in the plan's timezone, without seconds.

    `full`: `28 juni 2022 kl. 14.30` / `28 June 2022 at 14:30`; `clock`: `14.30` / `14:30`;
    `date`: `28 juni 2022` / `28 June 2022`. Takes a datetime or ISO 8601 text (naive means
    UTC, as stored); other text (already worded, or "okänd") comes back unchanged.
    """
    moment: datetime | None = value if isinstance(value, datetime) else None
    if moment is None and isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            moment = None
    if moment is None:
        return "" if value is None else str(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(_zone(timezone))
    if _sv(language):
        date = f"{local.day} {_MONTHS_SV[local.month - 1]} {local.year}"
        clock, joiner = f"{local:%H.%M}", " kl. "
    else:
        date = f"{local.day} {_MONTHS_EN[local.month - 1]} {local.year}"
        clock, joiner = f"{local:%H:%M}", " at "
    if style == "clock":
        return clock
    if style == "date":
        return date
    return f"{date}{joiner}{clock}"


def _language(context: Context) -> str:
    return str(context.get("language") or "sv")


@pass_context
def _and_list_filter(context: Context, items: object, word: str = "and") -> str:
    if isinstance(items, FieldList):
        values: Iterable[object] = items.items
    elif isinstance(items, list | tuple | set | frozenset):
        values = items
    else:
        values = [items]
    return and_list(values, _language(context), word=word)


@pass_context
def _duration_filter(context: Context, value: object) -> str:
    return spell_duration(value, _language(context))


@pass_context
def _time_filter(context: Context, value: object, style: str = "full") -> str:
    document = context.get("document")
    timezone = str(document.get("timezone", "")) if isinstance(document, Mapping) else ""
    return clock_time(value, _language(context), timezone, style)


def template_filters() -> dict[str, Callable[..., str]]:
    """The filters plan templates use, by name; each words its value in the message's language
    (the template context's `language`) and, for times, the plan's timezone."""
    return {"and_list": _and_list_filter, "duration": _duration_filter, "time": _time_filter}
