"""How the plan's names read to people: state, action and role titles, and local times.

Commands and JSON speak in the plan's ids (`outage`, `post_update`, `council_chair`); people
reading a table want "Avbrott i IT-tjänsten", "Lägesuppdatering" and "Ordförande", with the id
beside it where they need it to type the next command. Times are stored in UTC and shown in
the plan's timezone (DESIGN.md §4). A request's status reads as people expect it: a
per-sub-region request that some sub-regions approved is "partly approved" (`request_status`;
the words are in `engine.texts.approvals`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from engine.definition.schema import Workflow, localized


class Titled(Protocol):
    """A plan entry with a title (a role, a sub-region)."""

    @property
    def title(self) -> dict[str, str] | None: ...


@dataclass(frozen=True)
class Labels:
    """The titles of one plan in one language."""

    workflow: Workflow
    language: str
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_zone", ZoneInfo(self.workflow.document.timezone))

    def state(self, name: str | None) -> str:
        """`Avbrott i IT-tjänsten (outage)`; the bare id when the plan has no such state."""
        title = self.state_title(name)
        return f"{title} ({name})" if name and title != name else title

    def state_title(self, name: str | None) -> str:
        """Just the title (for narrow columns such as the log's `from → to`)."""
        if not name:
            return ""
        state = self.workflow.states.get(name)
        return (localized(state.title, self.language) if state else "") or name

    def trigger(self, name: str | None) -> str:
        """`Lägesuppdatering (post_update)`: the id is what `incident fire` takes."""
        if not name:
            return ""
        titles = [t.title for t in self.workflow.transitions if t.trigger == name and t.title]
        title = localized(titles[0], self.language) if titles else ""
        return f"{title} ({name})" if title and title != name else name

    def roles(self, names: Iterable[str]) -> str:
        """Role titles joined for reading: `Ordförande / Vice ordförande` (a title may itself
        hold a comma)."""
        return " / ".join(self._titles(self.workflow.roles, names))

    def subregions(self, names: Iterable[str]) -> str:
        """Sub-region titles joined for reading: `Fyrbodal, Södra Älvsborg`."""
        return ", ".join(self._titles(self.workflow.subregions, names))

    def _titles(self, defined: Mapping[str, Titled], names: Iterable[str]) -> list[str]:
        """The title of each name in `defined`, or the name itself when it has none."""
        return [
            (localized(defined[name].title, self.language) if name in defined else "") or name
            for name in names
        ]

    def time(self, value: datetime | str | None, *, seconds: bool = False) -> str:
        """`2026-11-26 15:50` (or `15:50:07`) in the plan's timezone: a table's short form."""
        if value is None or value == "":
            return ""
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        shape = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
        return moment.astimezone(self._zone).strftime(shape)

    def request_status(self, trigger: str, status: str, decisions: Sequence[str | None]) -> str:
        """`request_status` of this plan, for callers holding a request as JSON."""
        return request_status(self.workflow, trigger, status, decisions)


PARTLY_APPROVED = "partly_approved"


def request_status(
    workflow: Workflow, trigger: str, status: str, decisions: Sequence[str | None]
) -> str:
    """A request's status as people read it: `status` as stored, except that a per-sub-region
    request (gate `apply: per_slot`) where some slots are approved and others are not (still
    open, rejected, or left when it expired) is "partly_approved": its approved parts are in
    effect. `decisions` are its slots' decisions (None while open)."""
    gates = [t.gate for t in workflow.transitions if t.trigger == trigger and t.gate]
    if gates and gates[0].apply == "per_slot":
        approved = [d == "approved" for d in decisions]
        if any(approved) and not all(approved):
            return PARTLY_APPROVED
    return status
