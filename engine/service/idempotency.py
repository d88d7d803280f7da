"""`Idempotency-Key`: a POST repeated with the same key and body gets the first response.

The key is claimed before the command runs (a row with status 0), so two concurrent repeats
cannot both run it: the second sees the claim and is told to retry. The first response is kept
with the key; a failure without a response (a crash, a 5xx) releases the key, so the client's
retry runs the command again. A claim left by a process that died is taken over after
`STALE_AFTER`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from engine.domain.accounts import StoredResponse
from engine.errors import CommandError, Conflict
from engine.service.workspace import Workspace

STALE_AFTER = timedelta(seconds=60)
MAX_KEY_LENGTH = 200


@dataclass(frozen=True)
class Replay:
    """The stored first response of a repeated request."""

    status: int
    body: str


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    """What must match for a repeat to count as the same request."""
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


class Idempotency:
    """Claims, finishes and releases idempotency keys, each in its own transaction."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    def claim(self, person_id: str, key: str, fingerprint: str) -> Replay | None:
        """Claim `key` for this request; the first response when it was already answered."""
        if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
            raise CommandError(
                f"The Idempotency-Key header must be 1-{MAX_KEY_LENGTH} printable characters "
                "(a UUID is a good key).",
                sv=f"Rubriken Idempotency-Key ska vara 1-{MAX_KEY_LENGTH} skrivbara tecken "
                "(ett UUID är en bra nyckel).",
            )
        now = self.workspace.clock.now()
        with self.workspace.store.unit_of_work() as uow:
            row = StoredResponse(person_id, key, fingerprint, 0, "", now)
            existing = uow.accounts.claim_key(row)
            if (
                existing is not None
                and existing.status == 0
                and existing.created_at <= (now - STALE_AFTER)
            ):
                uow.accounts.release_key(person_id, key)
                existing = uow.accounts.claim_key(row)
            uow.commit()
        if existing is None:
            return None
        if existing.request_hash != fingerprint:
            raise CommandError(
                "This Idempotency-Key was used for a different request; use a new key for a "
                "new request.",
                sv="Den här Idempotency-Key användes för ett annat anrop; använd en ny nyckel "
                "för ett nytt anrop.",
            )
        if existing.status == 0:
            raise Conflict(
                "A request with this Idempotency-Key is still being processed; retry shortly.",
                sv="Ett anrop med den här Idempotency-Key pågår fortfarande; försök igen strax.",
            )
        return Replay(existing.status, existing.body)

    def finish(self, person_id: str, key: str, status: int, body: str) -> None:
        with self.workspace.store.unit_of_work() as uow:
            uow.accounts.finish_key(person_id, key, status, body)
            uow.commit()

    def release(self, person_id: str, key: str) -> None:
        with self.workspace.store.unit_of_work() as uow:
            uow.accounts.release_key(person_id, key)
            uow.commit()
