"""What `engine.store.audit.verify` finds, as values that print in Swedish or English.

Each finding is a text code of `engine.texts` (`audit_<code>`) with its values, and knows where
it is: an event of an incident's chain, a link of the installation's chain, an incident row,
or an anchor. `str()` is English; `text(language)` is what `driftplan audit verify` prints.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.texts import t


@dataclass(frozen=True)
class Finding:
    """Something `verify` found: a text code (`audit_<code>`) and its values."""

    code: str
    params: Mapping[str, Any]

    @property
    def reason(self) -> str:
        """What is wrong, in English."""
        return self.reason_in("en")

    def reason_in(self, language: str) -> str:
        """What is wrong, in `language`."""
        return t(f"audit_{self.code}", language, **self.params)

    def text(self, language: str) -> str:
        """The whole line, in `language`."""
        return self.reason_in(language)

    def __str__(self) -> str:
        return self.text("en")


@dataclass(frozen=True)
class AuditFinding(Finding):
    """The first bad event of one incident's own chain."""

    incident_id: str
    seq: int

    def text(self, language: str) -> str:
        reason = self.reason_in(language)
        return t("audit_line_incident", language, id=self.incident_id, reason=reason)


@dataclass(frozen=True)
class RowFinding(Finding):
    """An incident row that disagrees with its log, or with its seal."""

    incident_id: str

    def text(self, language: str) -> str:
        reason = self.reason_in(language)
        return t("audit_line_incident", language, id=self.incident_id, reason=reason)


@dataclass(frozen=True)
class LinkFinding(Finding):
    """The first bad link of the installation's chain: its seq, and the event it links when
    known (`link` is None for an event that no link covers)."""

    link: int | None
    incident_id: str | None = None
    event_seq: int | None = None

    def text(self, language: str) -> str:
        reason = self.reason_in(language)
        if self.incident_id is None:
            if self.link is None:
                return t("audit_line_chain", language, reason=reason)
            return t("audit_line_link", language, link=self.link, reason=reason)
        where = {"id": self.incident_id, "event": self.event_seq, "reason": reason}
        if self.link is None:
            return t("audit_line_unlinked", language, **where)
        return t("audit_line_link_event", language, link=self.link, **where)


@dataclass(frozen=True)
class AnchorFinding(Finding):
    """An anchor that the stored chain does not reach, or does not match."""

    seq: int

    def text(self, language: str) -> str:
        reason = self.reason_in(language)
        return t("audit_line_anchor", language, seq=self.seq, reason=reason)
