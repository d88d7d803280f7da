"""Checking the installation's chain: the first bad link, or the links of one incident.

Each link is checked keyless first (its hash recomputes from its fields and it follows the
previous link), then its MAC, then that the event it links exists with the linked hash. The
keyless checks come first so that, below an anchor, a break is found without relying on the
key (see `engine.store.audit`).
"""

from __future__ import annotations

import hmac
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from engine.store.findings import LinkFinding
from engine.store.hashing import head_mac, link_hash, link_mac

Links = Sequence[Mapping[str, Any]]  # chain_links rows, by seq
Stored = Mapping[tuple[str, int], str]  # (incident id, event seq) -> the event row's hash
Events = Collection[tuple[str, int]]  # (incident id, event seq) of events


def _bad_link(
    key: bytes,
    link: Mapping[str, Any],
    stored: Stored,
    incidents: Collection[str],
    altered: Events,
) -> LinkFinding | None:
    """What is wrong with one link on its own (not its place in the chain), or None."""

    def found(code: str) -> LinkFinding:
        return LinkFinding(code, {}, link["seq"], link["incident_id"], link["event_seq"])

    recomputed = link_hash(
        link["seq"], link["incident_id"], link["event_seq"], link["event_hash"], link["prev_hash"]
    )
    if not hmac.compare_digest(recomputed, str(link["hash"])):
        return found("chain_edited")
    if not hmac.compare_digest(link_mac(key, recomputed), str(link["mac"])):
        return found("chain_unsigned")
    event = stored.get((link["incident_id"], link["event_seq"]))
    if event is None:
        gone = link["incident_id"] not in incidents
        return found("chain_incident_gone" if gone else "chain_event_gone")
    if not hmac.compare_digest(event, str(link["event_hash"])):
        return found("chain_event_differs")
    if (link["incident_id"], link["event_seq"]) in altered:
        return found("chain_event_edited")  # its content no longer gives its hash
    return None


def _unlinked(stored: Stored, linked: set[tuple[str, int]]) -> LinkFinding | None:
    """An event no link covers: added outside driftplan, or its link deleted."""
    missing = sorted(set(stored) - linked)
    if not missing:
        return None
    incident, seq = missing[0]
    return LinkFinding("chain_not_linked", {}, None, incident, seq)


def first_bad_link(
    key: bytes,
    links: Links,
    head: Mapping[str, Any] | None,
    stored: Stored,
    incidents: Collection[str],
    altered: Events = (),
) -> LinkFinding | None:
    """The first link of the whole chain that is missing, edited, re-signed or points at an
    event that is gone, different or edited (`altered`: events whose content no longer gives
    their hash); else a head that does not match the last link; else an
    event that no link covers."""
    expected, prev = 1, ""
    linked: set[tuple[str, int]] = set()
    for link in links:
        seq = link["seq"]
        if seq != expected:
            return LinkFinding("chain_gap", {}, expected)
        if link["prev_hash"] != prev:
            where = (link["incident_id"], link["event_seq"])
            return LinkFinding("chain_prev", {"prev": expected - 1}, seq, *where)
        bad = _bad_link(key, link, stored, incidents, altered)
        if bad is not None:
            return bad
        linked.add((link["incident_id"], link["event_seq"]))
        expected, prev = seq + 1, str(link["hash"])
    last = expected - 1
    if head is None:
        return LinkFinding("chain_head_gone", {}, None)
    recorded = int(head["seq"])
    if recorded > last:
        return LinkFinding("chain_truncated", {"last": last, "recorded": recorded}, last + 1)
    if recorded < last:
        return LinkFinding("chain_added", {"recorded": recorded}, recorded + 1)
    if last and (
        head["hash"] != prev or not hmac.compare_digest(head_mac(key, last, prev), str(head["mac"]))
    ):
        return LinkFinding("chain_head_edited", {}, last)
    return _unlinked(stored, linked)


def incident_links(
    key: bytes, links: Links, stored: Stored, incident_id: str, altered: Events = ()
) -> LinkFinding | None:
    """One incident's links (`links` and `stored` hold only that incident): each sound on its
    own, and every event of the incident linked once."""
    linked: set[tuple[str, int]] = set()
    for link in links:
        bad = _bad_link(key, link, stored, (incident_id,), altered)
        if bad is not None:
            return bad
        linked.add((link["incident_id"], link["event_seq"]))
    return _unlinked(stored, linked)
