"""The tamper-evident event log: the audit key, and verification of the event chains.

Every event row carries `hash = HMAC-SHA256(key, canonical JSON of its content + prev_hash)`
(computed by `engine.store.hashing`), so the rows of one incident form a chain; the incident row
remembers the chain's head, so that cutting off the newest events shows too. `verify` recomputes
every chain and names the first bad event of each incident. The key lives outside the database
(environment or a 0600 file), so that someone who can edit the database cannot simply re-sign
what they changed.
"""

from __future__ import annotations

import contextlib
import hmac
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import sqlalchemy as sa

from engine.errors import ConfigurationError, NotFound
from engine.store import tables as t
from engine.store.hashing import event_hash

if TYPE_CHECKING:
    from engine.store.unit_of_work import UnitOfWork

KEY_ENV = "DRIFTPLAN_AUDIT_KEY"
KEY_FILE = "audit.key"
_MIN_KEY_BYTES = 16
_HEX = re.compile(r"[0-9a-fA-F]+")


def audit_key(data_dir: str | os.PathLike[str], environ: Mapping[str, str]) -> bytes:
    """The key that signs event chains: `DRIFTPLAN_AUDIT_KEY` (hex or text) or `audit.key`.

    The file is generated on first use (32 random bytes, mode 0600) and reused afterwards.
    Creation is atomic: the key is written to a private temporary file and hard-linked into
    place, so two processes starting together agree on one key and nobody reads half a file.
    """
    configured = environ.get(KEY_ENV)
    if configured is not None:
        value = configured.strip()
        key = (
            bytes.fromhex(value)
            if _HEX.fullmatch(value) and len(value) % 2 == 0
            else value.encode("utf-8")
        )
        if len(key) < _MIN_KEY_BYTES:
            raise ConfigurationError(
                f"{KEY_ENV} is too short ({len(key)} bytes); use at least {_MIN_KEY_BYTES} "
                "bytes, e.g. `python -c 'import secrets; print(secrets.token_hex())'`."
            )
        return key
    directory = Path(data_dir)
    path = directory / KEY_FILE
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        temporary = directory / f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "w", encoding="ascii") as handle:
                handle.write(secrets.token_hex(32) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            # Another process may have won the race; then its key is the key.
            with contextlib.suppress(FileExistsError):
                path.hardlink_to(temporary)
        finally:
            temporary.unlink(missing_ok=True)
    text = path.read_text(encoding="ascii").strip()
    if not _HEX.fullmatch(text) or len(text) % 2 or len(text) < 2 * _MIN_KEY_BYTES:
        raise ConfigurationError(
            f"The audit key file {path} is damaged. Restore it from backup; without it the "
            "event log cannot be verified."
        )
    return bytes.fromhex(text)


@dataclass(frozen=True)
class AuditFinding:
    """The first bad event of one incident's log, and what is wrong with it."""

    incident_id: str
    seq: int
    reason: str

    def __str__(self) -> str:
        return f"Incident {self.incident_id}: {self.reason}."


@dataclass(frozen=True)
class AuditReport:
    """The result of `verify`: intact when there are no findings."""

    findings: list[AuditFinding] = field(default_factory=list)
    incidents_checked: int = 0
    events_checked: int = 0

    @property
    def intact(self) -> bool:
        return not self.findings

    def __str__(self) -> str:
        if self.intact:
            return (
                f"The event log is intact: {self.events_checked} events in "
                f"{self.incidents_checked} incidents verify."
            )
        return "The event log has been tampered with:\n" + "\n".join(
            f"  {finding}" for finding in self.findings
        )


def _chain_finding(
    key: bytes, incident: sa.Row[Any], rows: list[dict[str, Any]]
) -> AuditFinding | None:
    """The first break in one incident's chain, or None."""

    def found(seq: int, reason: str) -> AuditFinding:
        return AuditFinding(incident.id, seq, reason)

    expected_seq, prev_hash = 1, ""
    for row in rows:
        seq = row["seq"]
        if seq != expected_seq:
            return found(expected_seq, f"event {expected_seq} is missing")
        if not hmac.compare_digest(event_hash(key, row), row["hash"]):
            # A row whose content is intact but signed for another position has been moved.
            last = max(len(rows), incident.last_event_seq) + 1
            for other in range(1, last + 1):
                if other != seq and hmac.compare_digest(
                    event_hash(key, {**row, "seq": other}), row["hash"]
                ):
                    return found(seq, f"events {seq} and {other} are out of order")
            return found(seq, f"event {seq} was edited")
        if row["prev_hash"] != prev_hash:
            return found(seq, f"events {seq - 1} and {seq} do not link (prev_hash mismatch)")
        expected_seq, prev_hash = seq + 1, row["hash"]
    last_seq = expected_seq - 1
    if incident.last_event_seq > last_seq:
        return found(
            last_seq + 1,
            f"the log was truncated after event {last_seq} "
            f"(the incident records {incident.last_event_seq} events)",
        )
    if incident.last_event_seq < last_seq:
        return found(
            incident.last_event_seq + 1,
            f"event {incident.last_event_seq + 1} was added outside driftplan",
        )
    if last_seq and incident.last_event_hash != prev_hash:
        return found(last_seq, f"event {last_seq} was replaced")
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


def verify(db: Opens, key: bytes, incident_id: str | None = None) -> AuditReport:
    """Recompute the hash chain of every incident (or one) and report the first bad event."""
    query = sa.select(t.incidents.c.id, t.incidents.c.last_event_seq, t.incidents.c.last_event_hash)
    if incident_id is not None:
        query = query.where(t.incidents.c.id == incident_id)
    findings: list[AuditFinding] = []
    events_checked = 0
    with db.unit_of_work(read_only=True) as uow:
        incidents = uow.execute(query.order_by(t.incidents.c.id)).all()
        if incident_id is not None and not incidents:
            raise NotFound(f"Incident '{incident_id}' does not exist.")
        for incident in incidents:
            result = uow.execute(_EVENTS_OF, {"b_incident": incident.id})
            rows = [dict(row) for row in result.mappings()]
            events_checked += len(rows)
            finding = _chain_finding(key, incident, rows)
            if finding is not None:
                findings.append(finding)
    return AuditReport(findings, len(incidents), events_checked)
