"""Parse and format incident data by the plan's field types.

Input comes as text (`--set started_at=now`, `expected_resolution=14:00` for today at 14:00 in
the plan's timezone, `+2h` for two hours from now) or JSON (the web API); "now" is always the
command's clock, passed in. Stored data is JSON-native:
datetimes as ISO 8601 UTC strings (or "unknown" where the field allows it), lists for
multichoice fields. Display formats times the way Swedish readers expect:
"28 juni 2022 kl. 14.30", in the plan's timezone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from engine.definition.durations import DURATION_HELP, format_duration, parse_duration
from engine.definition.schema import FieldDef, Workflow, localized
from engine.errors import InvalidField

UNKNOWN = "unknown"
_UNKNOWN_WORDS = {"unknown", "okänd", "okand", "okänt", "?"}
_TRUE = {"true", "yes", "ja", "1", "on"}
_FALSE = {"false", "no", "nej", "0", "off"}
_MONTHS_SV = [
    "januari",
    "februari",
    "mars",
    "april",
    "maj",
    "juni",
    "juli",
    "augusti",
    "september",
    "oktober",
    "november",
    "december",
]
_MONTHS_EN = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
MAX_TEXT = 10_000


def choices_of(workflow: Workflow, field: FieldDef) -> list[str]:
    """The valid values of a choice or multichoice field."""
    if field.choices_from == "subregions":
        return list(workflow.subregions)
    return list(field.choices or [])


# A time of day as people type it: 14:00, 9:30, or the Swedish 14.30 (optionally "kl." first).
_CLOCK = re.compile(r"^(?:kl\.?\s*)?(\d{1,2})[:.](\d{2})$", re.IGNORECASE)
# What every refusal of a time names after the ISO example (the one form that always works).
SHORT_FORMS = "14:30 (today, in the plan's timezone) or +2h, +90m, +1d (from now)"
SHORT_FORMS_SV = "14:30 (i dag, i planens tidszon) eller +2h, +90m, +1d (från nu)"


def _time_of_day(text: str, now: datetime, tz: ZoneInfo) -> datetime | None:
    """`14:00` is today at 14:00 in the plan's timezone, where "today" is `now`'s local date.

    A time already past today stays today (it may be when something started, not only when
    something is expected): whether a past time is acceptable for a field is for the plan's
    checks to say, not for this parse to guess. On a daylight-saving day the wall-clock time is
    taken as written; a time that does not exist (02:30 when clocks go forward) lands an hour
    later, and one that occurs twice (02:30 when they go back) is its first occurrence.
    """
    match = _CLOCK.match(text)
    if match is None:
        return None
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        return None
    today = now.astimezone(tz).date()
    local = datetime(today.year, today.month, today.day, hour, minute, tzinfo=tz)
    # Round-trip through UTC so a non-existent wall time becomes the real instant after the gap.
    return local.astimezone(UTC)


def _from_now(text: str, now: datetime) -> datetime | None:
    """`+2h`, `+90m`, `+1d` (or ISO 8601 such as `+PT2H`): `now` plus that elapsed time."""
    if not text.startswith("+"):
        return None
    try:
        return now + parse_duration(text[1:].strip())
    except ValueError:
        return None


def _time_error(name: str, raw: object, field: FieldDef) -> InvalidField:
    hint = " or unknown" if field.unknown_allowed else ""
    hint_sv = " eller okänd" if field.unknown_allowed else ""
    return InvalidField(
        name,
        f"expected an ISO 8601 time such as 2022-06-28T14:30, now{hint}; got {raw!r}. "
        f"Also accepted: {SHORT_FORMS}",
        detail_sv=f"ange en tidpunkt som 2022-06-28T14:30, now{hint_sv}; fick {raw!r}. "
        f"Det går också: {SHORT_FORMS_SV}",
    )


def _parse_time(name: str, raw: Any, field: FieldDef, now: datetime, tz: ZoneInfo) -> str:
    """A datetime field's input as stored (ISO 8601 UTC, or "unknown").

    `now` is the command's clock (a scaled one in an exercise) and `tz` the plan's timezone:
    both come from the caller, so this stays a pure function.
    """
    if isinstance(raw, str) and raw.strip().lower() in _UNKNOWN_WORDS:
        if field.unknown_allowed:
            return UNKNOWN
        raise InvalidField(
            name,
            "must be a time; 'unknown' is not allowed for this field",
            detail_sv="måste vara en tidpunkt; 'okänd' går inte för den här uppgiften",
        )
    if isinstance(raw, datetime):
        moment = raw
    elif isinstance(raw, str):
        text = raw.strip()
        found = (
            now
            if text.lower() == "now"
            else _time_of_day(text, now, tz) or _from_now(text, now) or _iso(text)
        )
        if found is None:
            raise _time_error(name, raw, field)
        moment = found
    else:
        raise InvalidField(name, f"expected a time, got {raw!r}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)  # a bare time is the plan's local time
    return moment.astimezone(UTC).isoformat()


def _iso(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace(" ", "T", 1))
    except ValueError:
        return None


def parse_value(workflow: Workflow, name: str, raw: Any, *, now: datetime) -> Any:
    """Turn one raw input value into the stored value of field `name`, or raise InvalidField."""
    field = workflow.fields.get(name)
    if field is None:
        known = ", ".join(sorted(workflow.fields))
        raise InvalidField(
            name,
            f"unknown field. Known fields: {known}",
            detail_sv=f"okänd uppgift. Kända uppgifter: {known}",
        )
    tz = ZoneInfo(workflow.document.timezone)
    kind = field.type
    if kind == "text":
        if not isinstance(raw, str):
            raise InvalidField(name, f"expected text, got {raw!r}")
        if len(raw) > MAX_TEXT:
            raise InvalidField(name, f"text is longer than {MAX_TEXT} characters")
        if any(c in _CONTROL for c in raw):
            raise InvalidField(
                name,
                "text holds a control character (only tab and line breaks are allowed)",
                detail_sv="texten innehåller ett styrtecken (bara tabb och radbrytning går)",
            )
        return raw.strip()
    if kind == "datetime":
        return _parse_time(name, raw, field, now, tz)
    if kind == "duration":
        try:
            return format_duration(parse_duration(raw))
        except ValueError:
            raise InvalidField(name, f"expected {DURATION_HELP}; got {raw!r}") from None
    if kind == "bool":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise InvalidField(
            name,
            f"expected true or false (ja/nej), got {raw!r}",
            detail_sv=f"ange ja eller nej (true/false), fick {raw!r}",
        )
    if kind == "int":
        if isinstance(raw, bool):
            raise InvalidField(name, f"expected a whole number, got {raw!r}")
        try:
            return int(str(raw).strip())
        except ValueError:
            raise InvalidField(name, f"expected a whole number, got {raw!r}") from None
    valid = choices_of(workflow, field)
    if kind == "choice":
        value = str(raw).strip()
        if value not in valid:
            raise InvalidField(
                name,
                f"{value!r} is not a choice. Choices: {', '.join(valid)}",
                detail_sv=f"{value!r} är inget av valen. Val: {', '.join(valid)}",
            )
        return value
    # multichoice: a list, or comma-separated text; order kept, duplicates dropped.
    items = raw if isinstance(raw, list) else str(raw).split(",")
    values: list[str] = []
    for item in items:
        value = str(item).strip()
        if not value:
            continue
        if value not in valid:
            raise InvalidField(
                name,
                f"{value!r} is not a choice. Choices: {', '.join(valid)}",
                detail_sv=f"{value!r} är inget av valen. Val: {', '.join(valid)}",
            )
        if value not in values:
            values.append(value)
    return values


# Control characters other than tab and line breaks: invisible in messages, a NUL cannot even be
# stored in PostgreSQL, and terminal escapes must not reach an operator's screen.
_CONTROL = frozenset(chr(c) for c in [*range(0x20), *range(0x7F, 0xA0)] if chr(c) not in "\t\n\r")


def parse_payload(workflow: Workflow, raw: Mapping[str, Any], *, now: datetime) -> dict[str, Any]:
    """Parse every key of a trigger's input; unknown keys and bad values are refused."""
    return {name: parse_value(workflow, name, value, now=now) for name, value in raw.items()}


def format_time(iso: str, workflow: Workflow, language: str) -> str:
    """`28 juni 2022 kl. 14.30` (sv) / `28 June 2022 at 14:30` (en), in the plan's timezone."""
    if iso == UNKNOWN:
        return "okänd" if language == "sv" else "unknown"
    local = datetime.fromisoformat(iso).astimezone(ZoneInfo(workflow.document.timezone))
    if language == "sv":
        return f"{local.day} {_MONTHS_SV[local.month - 1]} {local.year} kl. {local:%H.%M}"
    return f"{local.day} {_MONTHS_EN[local.month - 1]} {local.year} at {local:%H:%M}"


def display_value(workflow: Workflow, name: str, value: Any, language: str) -> str:
    """A stored value as a reader sees it: times formatted, choices by their titles."""
    field = workflow.fields.get(name)
    if value is None or field is None:
        return "" if value is None else str(value)
    if field.type == "datetime" and isinstance(value, str):
        return format_time(value, workflow, language)
    if field.type == "bool":
        yes, no = ("ja", "nej") if language == "sv" else ("yes", "no")
        return yes if value else no
    if field.type in ("choice", "multichoice") and field.choices_from == "subregions":
        items = value if isinstance(value, list) else [value]
        return ", ".join(
            localized(workflow.subregions[i].title, language) if i in workflow.subregions else i
            for i in items
        )
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)
