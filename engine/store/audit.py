"""The tamper-evident event log, and `verify`, which names what was changed behind its back.

Three things are chained or signed (the hashes are defined in `engine.store.hashing`):

* **Each incident's own chain.** Every event row carries `hash = HMAC-SHA256(key, canonical
  JSON of its content + prev_hash)`, so an incident's events form a chain; the incident row
  keeps the chain's head, so that cutting off the newest events shows too. (Unchanged since the
  first release: `driftplan incident log` and every stored hash stay as they were.)
* **One chain across the installation** (`chain_links`, head in `chain_head`). Every event, in
  commit order and in the transaction that appends it, declarations included, is also a link:
  `hash = SHA-256(seq, incident id, event seq, event hash, previous link's hash)` and
  `mac = HMAC(key, hash)`. The head row holds the newest (seq, hash) with its own MAC; every
  append locks it, so two transactions never claim one seq. A whole incident deleted (events,
  messages, timers, row) leaves links that point at nothing, or, if the links go too, a gap or
  a head that no longer matches; without the key nobody can re-chain or re-sign the head.
* **A seal on every incident row** (`incident_seals`): an HMAC over its state, data, flags,
  closed, chain head and the other columns but the row version, written by every writer of
  the row. And independently of the key, the row's state must be the state its log ends in:
  the `to_state` of its last event that moved the incident (`from_state != to_state`; events
  that move nothing repeat the state, and a process that read the incident without the row
  lock, like the dispatcher, may repeat one that was current a moment before).

**Anchors.** The key sits on the same machine as the data, so whoever holds it could rewrite
an event and recompute every HMAC. The installation chain's link hash is therefore a plain
SHA-256: it needs no key to check and cannot be re-signed to the same value. The head (seq and
hash) is sent off the machine (`engine.service.anchors`), and `verify(anchor=...)` proves the
chain up to that link unchanged without trusting the key's secrecy: the stored hash at the
anchor's seq must be the anchored one, and every link up to it must recompute (keyless) from
the previous link and the stored event hash, which must itself recompute from the event's
content. A forger who changes an earlier event, even with the key, changes that event's hash
(finding another content with the same HMAC is finding a SHA-256 collision), hence every link
hash after it, hence the hash at the anchored seq.

`verify` names the first bad event of each incident's chain, the first bad link of the
installation's chain (with its incident and event), every incident whose row disagrees with
its log, and an anchor that does not match. Findings carry a text code for `engine.texts`, so
that the command line speaks Swedish and English; `str()` is English.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import sqlalchemy as sa

from engine.errors import NotFound
from engine.store import tables as t
from engine.store.chain import ChainHead
from engine.store.chain_check import Links, first_bad_link, incident_links
from engine.store.findings import AnchorFinding, AuditFinding, Finding, RowFinding
from engine.store.hashing import event_hash, incident_seal
from engine.store.keys import KEY_ENV, KEY_FILE, KEY_FILE_ENV, audit_key, key_source

if TYPE_CHECKING:
    from engine.store.unit_of_work import UnitOfWork

__all__ = [
    "KEY_ENV",
    "KEY_FILE",
    "KEY_FILE_ENV",
    "Anchor",
    "AuditFinding",
    "AuditReport",
    "Finding",
    "audit_key",
    "key_source",
    "verify",
]

_ANCHOR = re.compile(r"^\s*(\d+):([0-9a-f]{64})\s*$")


@dataclass(frozen=True)
class Anchor:
    """A link of the installation's chain as it was sent off the machine: `SEQ:HASH`."""

    seq: int
    hash: str

    @classmethod
    def parse(cls, value: str) -> Anchor:
        """`SEQ:HASH` (the hash in lowercase hex, as an anchor message states it)."""
        found = _ANCHOR.match(value.lower())
        if found is None or int(found.group(1)) < 1:
            raise ValueError(f"expected SEQ:HASH (e.g. 42:{'0' * 64}), got {value!r}")
        return cls(int(found.group(1)), found.group(2))

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"


@dataclass(frozen=True)
class AuditReport:
    """The result of `verify`: intact when nothing was found."""

    findings: list[AuditFinding] = field(default_factory=list)  # per incident chain
    incidents_checked: int = 0
    events_checked: int = 0
    chain: Finding | None = None  # the first bad link of the installation's chain
    rows: list[RowFinding] = field(default_factory=list)
    anchor: AnchorFinding | None = None
    head: ChainHead = field(default_factory=lambda: ChainHead(0, ""))

    @property
    def intact(self) -> bool:
        nothing = self.chain is None and self.anchor is None
        return nothing and not self.findings and not self.rows

    def all_findings(self) -> list[Finding]:
        """Every finding: the anchor, the installation's chain, then incident by incident."""
        out: list[Finding] = [f for f in (self.anchor, self.chain) if f is not None]
        by_incident: list[AuditFinding | RowFinding] = [*self.findings, *self.rows]
        return out + sorted(by_incident, key=lambda f: f.incident_id)

    def lines(self, language: str) -> list[str]:
        """One line per finding, in `language`."""
        return [finding.text(language) for finding in self.all_findings()]

    def __str__(self) -> str:
        if self.intact:
            return (
                f"The event log is intact: {self.events_checked} events in "
                f"{self.incidents_checked} incidents verify."
            )
        return "The event log has been tampered with:\n" + "\n".join(
            f"  {line}" for line in self.lines("en")
        )


def _chain_finding(
    key: bytes, incident: Mapping[str, Any], rows: list[dict[str, Any]]
) -> AuditFinding | None:
    """The first break in one incident's chain, or None."""

    def found(seq: int, code: str, **params: Any) -> AuditFinding:
        return AuditFinding(code, {"seq": seq, **params}, incident["id"], seq)

    recorded = int(incident["last_event_seq"])
    expected_seq, prev_hash = 1, ""
    for row in rows:
        seq = row["seq"]
        if seq != expected_seq:
            return found(expected_seq, "missing")
        if not hmac.compare_digest(event_hash(key, row), row["hash"]):
            # A row whose content is intact but signed for another position has been moved.
            for other in range(1, max(len(rows), recorded) + 2):
                if other != seq and hmac.compare_digest(
                    event_hash(key, {**row, "seq": other}), row["hash"]
                ):
                    return found(seq, "out_of_order", other=other)
            return found(seq, "edited")
        if row["prev_hash"] != prev_hash:
            return found(seq, "unlinked", prev=seq - 1)
        expected_seq, prev_hash = seq + 1, row["hash"]
    last_seq = expected_seq - 1
    if recorded > last_seq:
        return found(last_seq + 1, "truncated", last=last_seq, recorded=recorded)
    if recorded < last_seq:
        return found(recorded + 1, "added")
    if last_seq and incident["last_event_hash"] != prev_hash:
        return found(last_seq, "replaced")
    return None


def _row_finding(
    key: bytes,
    incident: Mapping[str, Any],
    rows: list[dict[str, Any]],
    seal: str | None,
    *,
    chain_intact: bool,
) -> RowFinding | None:
    """Whether the incident row disagrees with its log (state) or with its seal."""

    def found(code: str, **params: Any) -> RowFinding:
        return RowFinding(code, params, incident["id"])

    if chain_intact:
        # Compared only with an intact log: a broken one is reported as such already.
        moved = [r["to_state"] for r in rows if r["to_state"] and r["from_state"] != r["to_state"]]
        if moved and moved[-1] != incident["state"]:
            return found("row_state", state=incident["state"], logged=moved[-1])
    if seal is None:
        return found("row_unsealed")
    if not hmac.compare_digest(incident_seal(key, incident), seal):
        return found("row_seal")
    return None


class Opens(Protocol):
    """Where `verify` reads the log: an `engine.store.database.Database`, which imports this
    module for the audit key, so this module names only what it uses of it."""

    def unit_of_work(self, *, read_only: bool = False) -> UnitOfWork:
        """A transaction with repositories."""
        ...


_EVENTS_OF = (
    sa.select(t.events)
    .where(t.events.c.incident_id == sa.bindparam("b_incident"))
    .order_by(t.events.c.seq)
)
_SEALS = sa.select(t.incident_seals.c.incident_id, t.incident_seals.c.mac)
_LINKS = sa.select(t.chain_links).order_by(t.chain_links.c.seq)
_HEAD = sa.select(t.chain_head).where(t.chain_head.c.id == 1)


def verify(
    db: Opens,
    key: bytes,
    incident_id: str | None = None,
    *,
    anchor: Anchor | None = None,
) -> AuditReport:
    """Check every incident's chain and row, the installation's chain, and an anchor.

    With `incident_id`, only that incident: its chain, its row, and its own links (whether
    each event is linked once, as it is); the chain as a whole is checked without it.
    """
    if anchor is not None and incident_id is not None:
        raise ValueError("an anchor proves the whole chain; verify it without an incident id")
    query = sa.select(t.incidents).order_by(t.incidents.c.id)
    links_query = _LINKS
    if incident_id is not None:
        query = query.where(t.incidents.c.id == incident_id)
        links_query = links_query.where(t.chain_links.c.incident_id == incident_id)
    findings: list[AuditFinding] = []
    rows_found: list[RowFinding] = []
    stored: dict[tuple[str, int], str] = {}  # (incident, event seq) -> the event's hash
    altered: set[tuple[str, int]] = set()  # events whose content no longer gives their hash
    with db.unit_of_work(read_only=True) as uow:
        incidents = [dict(row) for row in uow.execute(query).mappings()]
        if incident_id is not None and not incidents:
            raise NotFound(f"Incident '{incident_id}' does not exist.")
        seals = {row.incident_id: row.mac for row in uow.execute(_SEALS)}
        for incident in incidents:
            result = uow.execute(_EVENTS_OF, {"b_incident": incident["id"]})
            rows = [dict(row) for row in result.mappings()]
            for row in rows:
                stored[incident["id"], row["seq"]] = row["hash"]
                if not hmac.compare_digest(event_hash(key, row), row["hash"]):
                    altered.add((incident["id"], row["seq"]))
            finding = _chain_finding(key, incident, rows)
            if finding is not None:
                findings.append(finding)
            row_finding = _row_finding(
                key, incident, rows, seals.get(incident["id"]), chain_intact=finding is None
            )
            if row_finding is not None:
                rows_found.append(row_finding)
        links: Links = [dict(row) for row in uow.execute(links_query).mappings()]
        found_head = uow.execute(_HEAD).mappings().one_or_none()
        head = dict(found_head) if found_head is not None else None
    if incident_id is None:
        chain = first_bad_link(key, links, head, stored, {i["id"] for i in incidents}, altered)
    else:
        chain = incident_links(key, links, stored, incident_id, altered)
    newest = ChainHead(int(head["seq"]), str(head["hash"])) if head else ChainHead(0, "")
    return AuditReport(
        findings,
        len(incidents),
        len(stored),
        chain=chain,
        rows=rows_found,
        anchor=_anchor_finding(links, anchor) if anchor is not None else None,
        head=newest,
    )


def _anchor_finding(links: Sequence[Mapping[str, Any]], anchor: Anchor) -> AnchorFinding | None:
    """Whether the stored chain reaches the anchor's seq with the anchored hash.

    That the links up to it chain (keyless) is `first_bad_link`'s part: a break there is
    reported as the chain's first bad link.
    """
    at = next((link for link in links if link["seq"] == anchor.seq), None)
    if at is None:
        return AnchorFinding("anchor_missing", {"seq": anchor.seq}, anchor.seq)
    if not hmac.compare_digest(str(at["hash"]), anchor.hash):
        return AnchorFinding("anchor_mismatch", {"seq": anchor.seq}, anchor.seq)
    return None
