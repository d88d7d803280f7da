"""Exercise scores: how long after the declaration each audience was informed, in plan time.

An exercise runs on a clock N times faster, but delivery is real work that takes real time.
Read naively, a 0.1 s delivery at ×3000 would count as five minutes of the plan's time, so the
score would measure the test machine, not the plan. Here a message counts as delivered at the
virtual instant it was queued plus the *real* seconds its delivery took (unscaled, from the run's
speed log): what a real incident at speed 1 would have shown.

Each message is scored for whom the outbox says it was for (its audience label, recorded when
it was queued: engine.service.addressing.audience_label). A message to several audiences informs
each of them; the decision request to the approvers (`to_approvers`, on the crisis e-mail whose
default audience is the council) counts as "approvers of <trigger>", never as informing the
council; the requester and roles are scored under their own labels.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from engine.definition.schema import Workflow, localized
from engine.domain.model import Approval, Message
from engine.service.addressing import APPROVERS, describe_audience, label_parts
from engine.texts import t

__all__ = ["Informed", "approvers_of", "informing", "real_seconds"]

# The causes the service writes on gate messages (engine.service.recorder / timers).
_GATE_CAUSE = re.compile(r"^(?:approval_requested|approval_carried|timer:approval):(?P<id>[^\s:]+)")


@dataclass(frozen=True)
class Informed:
    """When one audience (or one decision's approvers) first got a message."""

    audience: str  # an audience label part (plan audience, "requester", "role:x"); "" for approvers
    approvers_of: str  # the gated trigger whose approvers got it; "" otherwise
    channel: str
    after: timedelta | None  # from the declaration, in plan time; None: never informed
    at: datetime | None
    title: str = ""  # in people's words: the audience's title, "Beslutsfattare (...)", ...


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


def approvers_of(message: Message, approvals: Mapping[str, Approval]) -> str:
    """The gated trigger whose approvers `message` was addressed to, or "" for any other."""
    if APPROVERS not in label_parts(message.audience):
        return ""
    found = _GATE_CAUSE.match(message.cause)
    request = approvals.get(found["id"]) if found else None
    return request.trigger if request is not None else ""


def _keys(message: Message, approvals: Mapping[str, Approval]) -> list[tuple[str, str]]:
    """(audience, approvers_of) for each part of whom `message` was for."""
    trigger = approvers_of(message, approvals)
    return [
        ("", trigger) if part == APPROVERS else (part, "") for part in label_parts(message.audience)
    ]


def _title(key: tuple[str, str], workflow: Workflow, language: str) -> str:
    """A score's row in people's words; approvers are named with the decision they make."""
    audience, trigger = key
    if audience:
        return describe_audience(audience, workflow, language)
    found = next((x for x in workflow.transitions if x.trigger == trigger), None)
    about = trigger
    if found is not None:
        about = localized(found.gate.title if found.gate else None, language) or (
            localized(found.title, language) or trigger
        )
    who = t("audience_approvers", language)
    return f"{who} ({about})" if about else who


def informing(
    *,
    events: Sequence[Mapping[str, Any]],
    messages: Sequence[Message],
    approvals: Sequence[Approval],
    workflow: Workflow,
    declared_at: datetime,
    speeds: Sequence[tuple[datetime, float]],
    language: str | None = None,
) -> list[Informed]:
    """The first delivery to each audience and to each decision's approvers, sorted by key.

    Titles are in `language` (default: the plan's)."""
    language = language or workflow.document.language
    by_id = {m.id: m for m in messages}
    requests = {a.id: a for a in approvals}
    first: dict[tuple[str, str], Informed] = {}
    keys: set[tuple[str, str]] = set()
    for message in messages:
        keys.update(_keys(message, requests))
    for event in events:
        data = event["data"]
        if event["kind"] != "delivery" or data.get("status") != "sent" or not data.get("results"):
            continue
        delivered_message = by_id.get(data["message_id"])
        if delivered_message is None:
            continue
        queued = _aware(delivered_message.created_at)
        delivered = datetime.fromisoformat(event["at"])
        at = queued + timedelta(seconds=real_seconds(queued, delivered, speeds))
        for key in _keys(delivered_message, requests):
            if key not in first or at < (first[key].at or at):
                first[key] = Informed(
                    key[0], key[1], delivered_message.channel, at - _aware(declared_at), at
                )
    return [
        replace(
            first.get(key) or Informed(key[0], key[1], "", None, None),
            title=_title(key, workflow, language),
        )
        for key in sorted(keys)
    ]
