"""Pages of the incident list: what a page asks for, what it holds, and its cursor.

Every listing (`driftplan incident list`, `GET /api/v1/incidents`) reads incidents in one order:
open ones before closed ones, then the most recently updated first, then by id (descending,
so that one index on (closed, updated_at, id) serves the whole order read backwards). A page
continues after the position a cursor names, so a page costs the same on 10 or 10,000 stored
incidents, and rows updated meanwhile neither repeat nor shift the page boundary as an offset
would (an incident updated meanwhile moves to the top and is seen on the next fresh listing).

The cursor is opaque to clients: url-safe base64 of the position's JSON. `parse_since` reads
the times people type after `--since` (`-2h`, `14:00`, `2026-11-01`), always in the past.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from engine.errors import InvalidField

if TYPE_CHECKING:  # only named in annotations: the CLI imports paging without the domain model
    from engine.domain.model import Incident

# Rows per page unless the caller says otherwise, and the most a caller may ask for at once
# (a page is rendered whole: the cap keeps one request's cost bounded).
DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
# The default listing shows closed incidents too, but only this many of the most recently
# updated: what just ended is still of interest, the archive is not (`--all` shows it).
RECENT_CLOSED = 20


@dataclass(frozen=True)
class PageKey:
    """A position in the listing order: the last row a page showed."""

    closed: bool
    updated_at: datetime
    id: str

    @classmethod
    def of(cls, incident: Incident) -> PageKey:
        """The position of `incident` in the listing order."""
        return cls(incident.closed, incident.updated_at, incident.id)

    def before(self, other: PageKey) -> bool:
        """Whether this position comes before `other` in the listing order."""
        if self.closed != other.closed:
            return other.closed
        if self.updated_at != other.updated_at:
            return self.updated_at > other.updated_at
        return self.id > other.id


@dataclass(frozen=True)
class IncidentQuery:
    """What a page asks for.

    `closed` caps how many closed incidents the whole listing holds: 0 for open ones only,
    None for all of them, N for the N most recently updated. `since` keeps incidents updated
    at or after it, `state` those in that state, `after` the rows past a previous page's last.
    """

    limit: int = DEFAULT_LIMIT
    closed: int | None = 0
    since: datetime | None = None
    state: str | None = None
    after: PageKey | None = None


@dataclass(frozen=True)
class IncidentPage:
    """One page: its rows, how many more rows the listing has after them, and how many closed
    incidents the listing left out because of its cap (what `--all` would add)."""

    items: list[Incident]
    remaining: int = 0
    closed_left_out: int = 0
    next: PageKey | None = field(init=False)

    def __post_init__(self) -> None:
        last = PageKey.of(self.items[-1]) if self.items and self.remaining else None
        object.__setattr__(self, "next", last)


def encode_cursor(key: PageKey) -> str:
    """The opaque text a client sends back for the next page."""
    raw = json.dumps([int(key.closed), key.updated_at.astimezone(UTC).isoformat(), key.id])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(text: str) -> PageKey:
    """The position a cursor names; InvalidField for anything this code did not make."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        closed, updated_at, incident_id = json.loads(raw)
        moment = datetime.fromisoformat(updated_at)
        # No stored id holds a NUL (and PostgreSQL refuses one in a parameter).
        if closed not in (0, 1) or not isinstance(incident_id, str) or "\x00" in incident_id:
            raise ValueError(text)
        if moment.tzinfo is None:
            raise ValueError(text)
        moment = moment.astimezone(UTC)
    except (ValueError, TypeError, OverflowError, binascii.Error) as error:
        raise InvalidField(
            "cursor",
            "not a cursor from this listing; start again without it",
            detail_sv="ingen markör från den här listan; börja om utan den",
        ) from error
    return PageKey(bool(closed), moment, incident_id)


def check_limit(limit: int) -> int:
    """`limit` if it is a page size this service serves, else InvalidField naming the range."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidField(
            "limit",
            f"must be between 1 and {MAX_LIMIT}, got {limit}",
            detail_sv=f"måste vara mellan 1 och {MAX_LIMIT}, fick {limit}",
        )
    return limit


SINCE_FORMS = "-2h, -30m, -7d (ago), 14:00 (the latest 14:00, plan's timezone), 2026-11-01"
SINCE_FORMS_SV = "-2h, -30m, -7d (sedan), 14:00 (senaste 14:00, planens tidszon), 2026-11-01"


def parse_since(text: str, *, now: datetime, zone: ZoneInfo) -> datetime:
    """The moment `--since` names, in UTC: always in the past of `now` (or at it).

    `-2h` (or `2h`) is that long ago; `14:00` is the latest 14:00 in the plan's timezone (today,
    or yesterday when it is not yet 14:00); a date is its local midnight; an ISO time without
    an offset is local time, as everywhere a person types a time.
    """
    try:
        moment = _since(text.strip(), now, zone)
    except OverflowError:  # a year beyond what datetime holds, e.g. -99999999d
        moment = None
    if moment is None:
        raise InvalidField(
            "since",
            f"expected a time in the past such as {SINCE_FORMS}; got {text!r}",
            detail_sv=f"ange en tidpunkt bakåt i tiden som {SINCE_FORMS_SV}; fick {text!r}",
        )
    return moment


def _since(typed: str, now: datetime, zone: ZoneInfo) -> datetime | None:
    # The field parser's forms, so that 14:00 and ISO times read as in `--set`; imported here
    # because they load the plan schema, which `--help` (reading this module's defaults for
    # the options) must not pay for.
    from engine.definition.durations import parse_duration  # noqa: PLC0415
    from engine.domain.fields import _iso, _time_of_day  # noqa: PLC0415

    ago = typed.removeprefix("-")
    if ago and (ago[0].isdigit() or ago.upper().startswith("P")):
        try:
            return (now - parse_duration(ago)).astimezone(UTC)
        except ValueError:
            pass  # not a duration: 14:00 and dates start with a digit too
    if typed.startswith("+"):
        return None  # the future: "since" looks back
    clock = _time_of_day(typed, now, zone)
    if clock is not None:
        return clock if clock <= now else _time_of_day(typed, now - timedelta(days=1), zone)
    found = None if typed.startswith("-") else _iso(typed)
    if found is None:
        return None
    return (found if found.tzinfo else found.replace(tzinfo=zone)).astimezone(UTC)
