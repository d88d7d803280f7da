"""Turn what the evaluator decided into rows: outbox messages and timers.

Runs inside the command's transaction: messages are rendered here (so a message missing its
grundmall content refuses the whole command before anything commits) and written to the outbox
together with the state change; timers are written with the epoch of the state that owns them.

One copy per address: a notify naming several audiences reaches everyone in any of them once
per channel, and notifies of one command that send the same template on the same channel (three
lists told the same lessons learned) do not mail an address twice either.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from engine.definition.definition import Definition
from engine.definition.schema import Notify, TimerDef, localized
from engine.domain.model import Incident, Message, MessageStatus, StoredRecipient, Timer
from engine.domain.outcome import NotifyIntent, Slot
from engine.service.addressing import (
    Addressing,
    address_key,
    audience_label,
    audiences_of,
    dedupe,
)
from engine.service.messages import build_context, render_message


def build_messages(
    definition: Definition,
    incident: Incident,
    intents: Iterable[NotifyIntent],
    *,
    addressing: Addressing,
    now: datetime,
    cause: str,
    approval: Mapping[str, Any] | None = None,
    approver_slots: Sequence[Slot] = (),
    public_url: str = "",
    only_recipient: StoredRecipient | None = None,
    decision: Mapping[str, Any] | None = None,
) -> list[Message]:
    """Render every notification into one outbox row per channel.

    `only_recipient` addresses a `to_approvers` notification to that one approver (whose
    rendering carries their own decision link) instead of everyone who may decide. `decision`
    says who decided what the messages announce (`approval_view.decision_context`).
    """
    language = definition.language
    messages: list[Message] = []
    stamp = f"{now:%Y%m%d%H%M%S%f}"  # strftime once, not once per channel
    # (template, channel) -> addresses this command already gives that message: the same
    # rendered text on the same channel reaches a person once however many notifies name them.
    told: dict[tuple[str, str], set[str]] = {}
    for intent in intents:
        notify = intent.notify
        context = build_context(
            definition,
            incident_id=incident.id,
            state=incident.state,
            data=incident.data,
            language=language,
            now=now,
            exercise=incident.exercise,
            approval=dict(approval) if approval else None,
            decision=decision,
            timer=_timer_facts(definition, incident.state, intent.origin),
            extra={"url": f"{public_url.rstrip('/')}/incidents/{incident.id}"}
            if public_url
            else None,
        )
        rendered = render_message(definition, notify.template, language=language, context=context)
        for channel_name in notify.channels:
            channel = definition.workflow.channels[channel_name]
            audiences = audiences_of(notify, channel.audience)
            recipients = (
                [only_recipient]
                if only_recipient is not None and notify.to_approvers
                else _recipients(definition, notify, audiences, addressing, approver_slots)
            )
            if recipients:
                seen = told.setdefault((notify.template, channel_name), set())
                recipients = [r for r in recipients if address_key(r) not in seen]
                if not recipients:
                    continue  # everyone here already gets this message from this command
                seen.update(address_key(r) for r in recipients)
            # `to_requester` adds the person who asked on the channels that address people
            # (engine.service.approval_requests), and only for messages about a request.
            requester = (
                notify.to_requester
                and approval is not None
                and (bool(recipients) or channel.kind == "email")
                and _has_mailbox(addressing, approval)
            )
            messages.append(
                Message(
                    # Sortable by time, then by the plan's order: the dispatcher claims in id
                    # order, so the login-page banner named first goes out first even when a
                    # large e-mail comes from the same command.
                    id=f"{stamp}-{len(messages):03d}-{uuid.uuid4().hex[:8]}",
                    incident_id=incident.id,
                    channel=channel_name,
                    kind=channel.kind,
                    audience=audience_label(notify, audiences, requester=requester),
                    language=rendered.language,
                    subject=rendered.subject,
                    body_text=rendered.body_text,
                    body_html=rendered.body_html,
                    recipients=recipients,
                    status=MessageStatus.PENDING,
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                    cause=f"{cause} ({intent.origin})",
                    clear=notify.clear,
                    exercise=incident.exercise,
                    meeting=_meeting(notify, now, language, incident.data),
                    extra=_extra(severity_of(definition, notify, incident.state)),
                )
            )
    return messages


def _recipients(
    definition: Definition,
    notify: Notify,
    audiences: Sequence[str],
    addressing: Addressing,
    approver_slots: Sequence[Slot],
) -> list[StoredRecipient]:
    if notify.to_approvers:
        return dedupe(addressing.for_slots(approver_slots))
    if notify.roles:
        return dedupe(addressing.with_roles(notify.roles))
    # Everyone in any of the audiences, each address once: a person on two lists, one copy.
    return dedupe(r for a in audiences for r in addressing.for_audience(definition.workflow, a))


def _has_mailbox(addressing: Addressing, approval: Mapping[str, Any]) -> bool:
    """Whether the person who made this request can be mailed (not an automatic rule)."""
    asked = approval.get("requested_by_id")
    return any(p.id == asked and p.email for p in addressing.people)


def _timer_facts(definition: Definition, state: str, origin: str) -> dict[str, Any] | None:
    """The `timer` variables of a message a state timer sends (origin "timer:ID")."""
    if not origin.startswith("timer:"):
        return None
    state_def = definition.workflow.states.get(state)
    timer_id = origin.removeprefix("timer:")
    spec = next((t for t in state_def.timers if t.id == timer_id), None) if state_def else None
    if spec is None:
        return None
    return {
        "id": spec.id,
        "title": localized(spec.title, definition.language) if spec.title else spec.id,
        "every": spec.every or "",
        "after": spec.after or "",
    }


def severity_of(definition: Definition, notify: Notify, state: str) -> str:
    """How prominent a notice is: the notify's own `severity`, else the state's, else ""
    (the channel's default). `state` is the one the incident is in once the trigger happened,
    so an update sent from a stage is as severe as the stage."""
    if notify.severity:
        return notify.severity
    state_def = definition.workflow.states.get(state)
    return (state_def.severity or "") if state_def else ""


def _extra(severity: str) -> dict[str, str]:
    return {"severity": severity} if severity else {}


_QUARTER = timedelta(minutes=15)


def meeting_start(moment: datetime) -> datetime:
    """`moment` rounded up to the next quarter hour (12:47:26 -> 13:00, 13:00:00 stays): people
    are invited to a time they can write down. Every real timezone is offset from UTC by whole
    quarter hours, so rounding in UTC rounds the local time too."""
    since = moment - datetime.min.replace(tzinfo=moment.tzinfo)
    rest = since % _QUARTER
    return moment if not rest else moment + (_QUARTER - rest)


def _meeting(
    notify: Notify, now: datetime, language: str, data: Mapping[str, Any]
) -> dict[str, Any] | None:
    spec = notify.meeting
    if spec is None:
        return None
    # The incident's own start and place (fields the plan names) win over the plan's defaults;
    # a start typed by a person is kept as given, not rounded.
    given = data.get(spec.starts_at) if spec.starts_at else None
    if isinstance(given, str) and given not in ("", "unknown"):
        starts_at = datetime.fromisoformat(given)
    else:
        starts_at = meeting_start(now + spec.starts_in)
    meeting: dict[str, Any] = {
        "title": localized(spec.title, language),
        "starts_at": starts_at.isoformat(),
        "duration_seconds": int(spec.duration.total_seconds()),
    }
    location = data.get(spec.location) if spec.location else None
    if isinstance(location, str) and location.strip():
        meeting["location"] = location.strip()
    return meeting


def timer_due(timer: TimerDef, data: Mapping[str, Any], now: datetime) -> datetime | None:
    """When a state timer falls due from `now`; None when its `at` field has no time."""
    if timer.after is not None:
        return now + timer.after
    if timer.every is not None:
        return now + timer.every
    value = data.get(timer.at or "")
    if not isinstance(value, str) or value in ("", "unknown"):
        return None
    return datetime.fromisoformat(value)


def state_timers(incident: Incident, timers: Iterable[TimerDef], now: datetime) -> list[Timer]:
    """Timer rows for the state the incident is now in (its current epoch)."""
    rows = []
    for timer in timers:
        due = timer_due(timer, incident.data, now)
        if due is None:
            continue
        rows.append(
            Timer(
                id=uuid.uuid4().hex,
                incident_id=incident.id,
                key=f"state:{incident.state}:{timer.id}",
                due_at=due,
                state_epoch=incident.state_epoch,
                payload={"kind": "state", "state": incident.state, "timer": timer.id},
            )
        )
    return rows


def approval_timers(
    incident: Incident,
    approval_id: str,
    reminders: Sequence[timedelta],
    expires: timedelta | None,
    requested_at: datetime,
    escalate: timedelta | None = None,
) -> list[Timer]:
    """Reminder and expiry timers of a pending approval request, and with `escalate` (the
    gate's `escalate_to_deputy_after`) the moment its deputies are asked too."""

    def timer(name: str, after: timedelta, kind: str, **extra: int) -> Timer:
        return Timer(
            id=uuid.uuid4().hex,
            incident_id=incident.id,
            key=f"approval:{approval_id}:{name}",
            due_at=requested_at + after,
            state_epoch=incident.state_epoch,
            payload={"kind": kind, "approval": approval_id, **extra},
        )

    rows = [
        timer(f"remind:{i}", after, "approval_reminder", index=i)
        for i, after in enumerate(reminders)
    ]
    if expires is not None:
        rows.append(timer("expire", expires, "approval_expire"))
    if escalate is not None:
        rows.append(timer("escalate", escalate, "approval_escalate"))
    return rows
