"""The hash of an event: the one JSON spelling of a value, and the HMAC over an event's fields.

This module owns what an event's `hash` column means and nothing else: it is pure (no database,
no key handling), so that the repositories that sign events on append and the audit verifier
(`engine.store.audit`) that recomputes them share one definition without depending on each
other. `json_default` is also how JSON columns spell datetimes (`engine.store.database`), so
that a datetime inside event data hashes as it is stored.
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
