"""Exercise scores: how long after the declaration each audience was informed, in plan time.

An exercise runs on a clock N times faster, but delivery is real work that takes real time.
Read naively, a 0.1 s delivery at ×3000 would count as five minutes of the plan's time, so the
score would measure the test machine, not the plan. Here a message counts as delivered at the
virtual instant it was queued plus the *real* seconds its delivery took (unscaled, from the run's
speed log): what a real incident at speed 1 would have shown.

Messages addressed to a decision's approvers (`to_approvers` in a gate's `notify` or `remind`)
carry the channel's audience in the outbox (the crisis e-mail's "council"), but only the
approvers got them: here they are scored as "approvers of <trigger>", never as informing the
channel's audience.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from engine.definition.schema import Notify, Workflow
from engine.domain.model import Approval, Message

__all__ = ["Informed", "approvers_of", "informing", "real_seconds"]

# The causes the service writes on gate messages (engine.service.recorder / timers).
_GATE_CAUSE = re.compile(
    r"^(?:approval_requested|approval_carried|timer:approval):(?P<id>[^\s:]+)"
    r"(?::remind:(?P<remind>\d+))?"
)


@dataclass(frozen=True)
class Informed:
    """When one audience (or one decision's approvers) first got a message."""

    audience: str  # the plan's audience id; "" for messages to approvers
    approvers_of: str  # the gated trigger whose approvers got it; "" otherwise
    channel: str
    after: timedelta | None  # from the declaration, in plan time; None: never informed
    at: datetime | None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def real_seconds(start: datetime, end: datetime, speeds: Sequence[tuple[datetime, float]]) -> float:
    """Real seconds the run took to go from virtual `start` to virtual `end`.

    `speeds` is the speed log: (virtual instant, speed from then on), oldest first.
    """
    start, end = _aware(start), _aware(end)
    if end <= start or not speeds:
        return 0.0
    total = 0.0
    for index, (since, speed) in enumerate(speeds):
        until = _aware(speeds[index + 1][0]) if index + 1 < len(speeds) else end
        lo, hi = max(start, _aware(since)), min(end, until)
        if hi > lo:
            total += (hi - lo).total_seconds() / speed
    first, speed = speeds[0]
    if start < _aware(first):  # before the log starts: its first speed
        total += (min(end, _aware(first)) - start).total_seconds() / speed
    return total


def _gate_notify(workflow: Workflow, trigger: str, remind: str | None) -> Notify | None:
    transition = next((t for t in workflow.transitions if t.trigger == trigger), None)
    if transition is None or transition.gate is None:
        return None
    gate = transition.gate
    if remind is None:
        return gate.notify
    index = int(remind)
    return gate.remind[index].notify if index < len(gate.remind) else None


def approvers_of(message: Message, approvals: Mapping[str, Approval], workflow: Workflow) -> str:
    """The gated trigger whose approvers `message` was addressed to, or "" for any other."""
    found = _GATE_CAUSE.match(message.cause)
    if found is None or found["id"] not in approvals:
        return ""
    trigger = approvals[found["id"]].trigger
    notify = _gate_notify(workflow, trigger, found["remind"])
    return trigger if notify is not None and notify.to_approvers else ""


def informing(
    *,
    events: Sequence[Mapping[str, Any]],
    messages: Sequence[Message],
    approvals: Sequence[Approval],
    workflow: Workflow,
    declared_at: datetime,
    speeds: Sequence[tuple[datetime, float]],
) -> list[Informed]:
    """The first delivery to each audience and to each decision's approvers, sorted by key."""
    by_id = {m.id: m for m in messages}
    requests = {a.id: a for a in approvals}
    first: dict[tuple[str, str], Informed] = {}
    keys: set[tuple[str, str]] = set()
    for message in messages:
        trigger = approvers_of(message, requests, workflow)
        keys.add(("", trigger) if trigger else (message.audience, ""))
    for event in events:
        data = event["data"]
        if event["kind"] != "delivery" or data.get("status") != "sent" or not data.get("results"):
            continue
        delivered_message = by_id.get(data["message_id"])
        if delivered_message is None:
            continue
        trigger = approvers_of(delivered_message, requests, workflow)
        key = ("", trigger) if trigger else (delivered_message.audience, "")
        queued = _aware(delivered_message.created_at)
        delivered = datetime.fromisoformat(event["at"])
        at = queued + timedelta(seconds=real_seconds(queued, delivered, speeds))
        if key not in first or at < (first[key].at or at):
            first[key] = Informed(
                key[0], key[1], delivered_message.channel, at - _aware(declared_at), at
            )
    return [first.get(key) or Informed(key[0], key[1], "", None, None) for key in sorted(keys)]
