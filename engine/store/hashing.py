"""The hashes of the event log: the one JSON spelling of a value, the HMAC over an event's
fields, the links of the installation's chain, its head, and the seal of an incident row.

This module owns what the `hash` and `mac` columns mean and nothing else: it is pure (no
database, no key handling), so that the repositories that sign on append, migration 0002 that
links old events, and the audit verifier (`engine.store.audit`) that recomputes them share one
definition without depending on each other. The formats never change: a stored chain must
verify forever. `json_default` is also how JSON columns spell datetimes
(`engine.store.database`), so that a datetime inside event data hashes as it is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

# The event fields the hash covers, in the order they are documented (the JSON is sorted anyway).
HASHED_FIELDS = (
    "incident_id",
    "seq",
    "at",
    "actor",
    "kind",
    "trigger",
    "from_state",
    "to_state",
    "data",
    "prev_hash",
)


def json_default(value: object) -> str:
    """`json.dumps` fallback: datetimes (in UTC) and dates as ISO 8601."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def canonical_json(value: Any) -> str:
    """The one JSON spelling of a value: sorted keys, no spaces, UTF-8, datetimes as ISO 8601."""
    return json.dumps(
        value,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=json_default,
    )


def event_hash(key: bytes, event: Mapping[str, Any]) -> str:
    """HMAC-SHA256 (hex) over the canonical JSON of an event's hashed fields."""
    content = {name: event[name] for name in HASHED_FIELDS}
    return hmac.new(key, canonical_json(content).encode("utf-8"), hashlib.sha256).hexdigest()


# ------------------------------------------------------------------ the installation's chain
# Prefixes keep the three kinds of signed text apart: a link's MAC can never be replayed as the
# head's, nor an incident's seal as either (and an event's HMAC input is a JSON object).
_LINK_MAC = b"driftplan:link:"
_HEAD = "head"
_SEAL = "incident"

# The incident columns an incident's seal covers: all but the row version (a lock counter).
SEALED_FIELDS = (
    "id",
    "workflow",
    "workflow_version",
    "definition_sha256",
    "state",
    "state_epoch",
    "data",
    "flags",
    "fired_rules",
    "created_at",
    "updated_at",
    "created_by",
    "exercise",
    "closed",
    "last_event_seq",
    "last_event_hash",
)


def link_hash(seq: int, incident_id: str, event_seq: int, event_hash: str, prev_hash: str) -> str:
    """SHA-256 (hex) of one link of the installation's chain: keyless on purpose.

    Anyone can recompute it, and nobody (not even a holder of the audit key) can make a
    different history hash to the same value: that is what lets an anchor sent off the machine
    prove the chain up to it (see `engine.store.audit`).
    """
    content = [seq, incident_id, event_seq, event_hash, prev_hash]
    return hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()


def link_mac(key: bytes, hash_: str) -> str:
    """HMAC-SHA256 (hex) of a link's hash: without the key nobody can re-chain after a change."""
    return hmac.new(key, _LINK_MAC + hash_.encode("ascii"), hashlib.sha256).hexdigest()


def head_mac(key: bytes, seq: int, hash_: str) -> str:
    """HMAC-SHA256 (hex) of the chain's head (newest seq and hash): cutting off the newest links
    needs a head for an older seq, which only the key can sign."""
    text = canonical_json([_HEAD, seq, hash_])
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def _utc(value: Any) -> Any:
    # SQLite hands back naive timestamps (UTC by driftplan's rule); the seal hashes UTC always.
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def incident_seal(key: bytes, incident: Mapping[str, Any]) -> str:
    """HMAC-SHA256 (hex) over an incident row's `SEALED_FIELDS`: the row as driftplan wrote it."""
    content = {name: _utc(incident[name]) for name in SEALED_FIELDS}
    text = canonical_json([_SEAL, content])
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()
