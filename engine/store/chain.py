"""Writing the installation's chain and the incident seals, in the appending transaction.

`link` adds one event to the chain across the installation (see `engine.store.audit` for what
the chain proves); `seal` signs an incident row as it is written; `chain_head` reads the newest
link for an anchor. The repositories call these inside their unit of work's transaction, so a
link, a seal and the event or row they cover commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa

from engine.errors import ConfigurationError
from engine.store import tables as t
from engine.store.hashing import head_mac, incident_seal, link_hash, link_mac

# The head row is locked by every append (FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE
# already serializes writers): two transactions never claim the same seq, and seqs follow the
# order in which transactions commit.
_HEAD = sa.select(t.chain_head.c.seq, t.chain_head.c.hash).where(t.chain_head.c.id == 1)
_HEAD_LOCKED = _HEAD.with_for_update()
_INSERT_LINK = sa.insert(t.chain_links)
_MOVE_HEAD = sa.update(t.chain_head).where(t.chain_head.c.id == 1)
_INSERT_SEAL = sa.insert(t.incident_seals)
_UPDATE_SEAL = sa.update(t.incident_seals).where(
    t.incident_seals.c.incident_id == sa.bindparam("b_id")
)


class Signing(Protocol):
    """What these functions need of a unit of work (`engine.store.unit_of_work.UnitOfWork`)."""

    @property
    def audit_key(self) -> bytes | None:
        """The key that signs links and seals, if any."""
        ...

    def execute(
        self, statement: sa.Executable, params: Mapping[str, Any] | None = None
    ) -> sa.CursorResult[Any]:
        """Run one statement in the transaction."""
        ...


@dataclass(frozen=True)
class ChainHead:
    """The newest link of the installation's chain: what an anchor sends off the machine."""

    seq: int
    hash: str

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"


def link(uow: Signing, key: bytes, incident_id: str, event_seq: int, event_hash: str) -> None:
    """Append one event to the installation's chain and move the chain's head to it."""
    head = uow.execute(_HEAD_LOCKED).one_or_none()
    if head is None:
        raise ConfigurationError(
            "The head of the installation's audit chain is missing: the database was changed "
            "outside driftplan. Run `driftplan audit verify`.",
            sv="Huvudet för installationens granskningskedja saknas: databasen har ändrats "
            "utanför driftplan. Kör `driftplan audit verify`.",
        )
    seq, prev = int(head.seq) + 1, str(head.hash)
    hash_ = link_hash(seq, incident_id, event_seq, event_hash, prev)
    uow.execute(
        _INSERT_LINK,
        {
            "seq": seq,
            "incident_id": incident_id,
            "event_seq": event_seq,
            "event_hash": event_hash,
            "prev_hash": prev,
            "hash": hash_,
            "mac": link_mac(key, hash_),
        },
    )
    uow.execute(_MOVE_HEAD, {"seq": seq, "hash": hash_, "mac": head_mac(key, seq, hash_)})


def seal(uow: Signing, row: Mapping[str, Any], *, new: bool = False) -> None:
    """Write the seal of an incident row as it is being stored (nothing without a key).

    Every writer of an incident row calls this in the same transaction, so a row changed
    behind driftplan's back no longer matches its seal.
    """
    key = uow.audit_key
    if key is None:
        return
    mac = incident_seal(key, row)
    if new or uow.execute(_UPDATE_SEAL, {"b_id": row["id"], "mac": mac}).rowcount == 0:
        uow.execute(_INSERT_SEAL, {"incident_id": row["id"], "mac": mac})


def chain_head(uow: Signing) -> ChainHead:
    """The newest link (seq 0 and an empty hash before the first event)."""
    head = uow.execute(_HEAD).one_or_none()
    return ChainHead(0, "") if head is None else ChainHead(int(head.seq), str(head.hash))
