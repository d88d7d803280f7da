"""The outbox dispatcher: delivers committed messages, retries, and keeps dead letters.

Side effects happen only after the command that caused them has committed. The dispatcher
claims due outbox rows under a lease (a crashed dispatcher's rows come back when the lease runs
out), delivers outside any transaction, then records the result per recipient on the message and
in the incident's event log. Temporary failures retry with exponential backoff and jitter up to
`max_attempts`, and only for the recipients that did not get the message yet; permanent failures
become dead letters. Every attempt reuses the message's Message-ID / idempotency key, so a
receiver can drop a duplicate after a crash between sending and recording.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from engine.domain.model import Message, MessageStatus
from engine.errors import Conflict, DeliveryError, PermanentDeliveryError, TemporaryDeliveryError
from engine.ports import (
    Channel,
    ChannelKinds,
    Clock,
    DeliveryReport,
    Meeting,
    OutgoingMessage,
    Recipient,
    Store,
)
from engine.service.plans import PlanLibrary
from engine.service.subscriptions import unsubscribe_url

log = logging.getLogger(__name__)


@dataclass
class DispatchPolicy:
    """How hard to try: attempts, backoff, lease."""

    max_attempts: int = 8
    base_delay: timedelta = timedelta(seconds=30)
    max_delay: timedelta = timedelta(hours=1)
    lease: timedelta = timedelta(minutes=5)
    batch: int = 50


@dataclass
class DispatchSummary:
    """What one `deliver_due` call did."""

    sent: int = 0
    retrying: int = 0
    dead: int = 0
    messages: list[str] = field(default_factory=list)

    @property
    def handled(self) -> int:
        return self.sent + self.retrying + self.dead


class Dispatcher:
    """Delivers due outbox messages through the channels of each incident's plan."""

    def __init__(
        self,
        *,
        database: Store,
        plans: PlanLibrary,
        clock: Clock,
        channels: ChannelKinds,
        data_dir: str,
        environ: Mapping[str, str],
        public_url: str = "",
        policy: DispatchPolicy | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.db = database
        self.plans = plans
        self.clock = clock
        self.channels = channels
        self.data_dir = data_dir
        self.environ = dict(environ)
        self.public_url = public_url.rstrip("/")
        self.policy = policy or DispatchPolicy()
        self.owner = f"dispatcher-{uuid.uuid4().hex[:8]}"
        self._rng = rng or random.Random()  # noqa: S311  (jitter, not security)
        self._channels: dict[tuple[str, str], Channel] = {}

    # --------------------------------------------------------------- channels
    def channel_for(
        self, definition_sha: str, snapshot: Mapping[str, Any] | None, channel_name: str
    ) -> tuple[Channel, dict[str, str]]:
        """The (reused) channel instance for a plan channel; connections stay open."""
        definition = self.plans.pinned(definition_sha, snapshot)
        spec = definition.workflow.channels[channel_name]
        settings = self.channels.resolve(spec.kind, spec.settings, self.environ)
        settings.setdefault("channel", channel_name)
        settings.setdefault("timezone", definition.workflow.document.timezone)
        key = (definition_sha, channel_name)
        found = self._channels.get(key)
        if found is None:
            found = self.channels.factories()[spec.kind](settings, data_dir=self.data_dir)
            self._channels[key] = found
        return found, settings

    def close(self) -> None:
        for channel in self._channels.values():
            try:
                channel.close()
            except Exception:
                log.exception("closing a channel failed")
        self._channels.clear()

    # --------------------------------------------------------------- delivery
    def deliver_due(self) -> DispatchSummary:
        """Claim and deliver every due message (in batches) once; returns what happened."""
        summary = DispatchSummary()
        while True:
            now = self.clock.now()
            with self.db.unit_of_work() as uow:
                claimed = uow.messages.claim_due(
                    now, self.owner, self.policy.lease.total_seconds(), self.policy.batch
                )
                uow.commit()
            if not claimed:
                return summary
            for message in claimed:
                # A batch is leased once, but delivering a large list takes time: renew the
                # lease before each message, and leave it if it expired and was taken over,
                # so that no message goes out twice.
                if self._renew(message):
                    self._deliver_one(message, summary)
            if len(claimed) < self.policy.batch:
                return summary

    def _renew(self, message: Message) -> bool:
        until = self.clock.now() + self.policy.lease
        with self.db.unit_of_work() as uow:
            held = bool(uow.messages.renew_lease(message.id, self.owner, until))
            uow.commit()
        if not held:
            log.warning("message %s was taken over by another dispatcher; leaving it", message.id)
        return held

    def _deliver_one(self, message: Message, summary: DispatchSummary) -> None:
        with self.db.unit_of_work(read_only=True) as uow:
            incident = uow.incidents.get(message.incident_id)
            snapshot = uow.definitions.get(incident.definition_sha256)
        report: DeliveryReport | None = None
        error: DeliveryError | None = None
        addressed = False
        try:
            channel, settings = self.channel_for(
                incident.definition_sha256, snapshot, message.channel
            )
            inbound = self.plans.pinned(incident.definition_sha256, snapshot).workflow.service
            outgoing = self._outgoing(
                message, settings, incident.state, inbound.inbound_mailbox or ""
            )
            # Only channels that address people report per recipient; a published file or a
            # webhook does not, so its subscribers are not "outstanding" after a success.
            addressed = bool(getattr(channel, "needs_recipients", False))
            if addressed and not message.recipients:
                # Nobody is in the audience (e.g. no newsletter subscribers yet): nothing to
                # send, which is not a failure; the event log records it as such.
                report = DeliveryReport(results=(), target="(no recipients)", live=False)
            else:
                report = channel.deliver(outgoing)
        except DeliveryError as exc:
            error = exc
        except Exception as exc:
            log.exception("channel %s failed on message %s", message.channel, message.id)
            error = TemporaryDeliveryError(f"{type(exc).__name__}: {exc}")
        self._record(message, report, error, summary, addressed=addressed)

    def _outgoing(
        self, message: Message, settings: Mapping[str, str], state: str, reply_to: str
    ) -> OutgoingMessage:
        # Recipients already served, or refused for good, are not tried again; `requeue`
        # drops the permanent results when an operator decides to retry them.
        done = {r["address"] for r in message.results if r.get("status") in ("sent", "permanent")}
        recipients = [
            Recipient(
                address=r["address"],
                name=r.get("name", ""),
                person_id=r.get("person_id"),
                unsubscribe_url=self._unsubscribe_url(r),
            )
            for r in message.recipients
            if r["address"] not in done
        ]
        meeting = None
        if message.meeting:
            meeting = Meeting(
                title=message.meeting["title"],
                starts_at=datetime.fromisoformat(message.meeting["starts_at"]),
                duration=timedelta(seconds=message.meeting["duration_seconds"]),
                location=settings.get("meeting_location", ""),
            )
        return OutgoingMessage(
            message_id=f"{message.id}@driftplan",
            incident_id=message.incident_id,
            channel=message.channel,
            kind=message.kind,
            audience=message.audience,
            subject=message.subject,
            body_text=message.body_text,
            body_html=message.body_html,
            language=message.language,
            created_at=message.created_at,
            settings=settings,
            recipients=recipients,
            reply_to=reply_to,
            clear=message.clear,
            exercise=message.exercise,
            meeting=meeting,
            incident_state=state,
        )

    def _unsubscribe_url(self, recipient: Mapping[str, Any]) -> str | None:
        token = recipient.get("unsubscribe_token")
        return unsubscribe_url(self.public_url, str(token)) if token else None

    def _record(
        self,
        message: Message,
        report: DeliveryReport | None,
        error: DeliveryError | None,
        summary: DispatchSummary,
        *,
        addressed: bool,
    ) -> None:
        now = self.clock.now()
        message.attempts += 1
        results = {r["address"]: r for r in message.results}
        attempt: list[dict[str, Any]] = []
        if report is not None:
            for r in report.results:
                entry = {
                    "address": r.address,
                    "status": r.status,
                    "detail": r.detail,
                    "at": now.isoformat(),
                    "attempt": message.attempts,
                }
                results[r.address] = entry
                attempt.append(entry)
        message.results = list(results.values())
        sent = {a for a, r in results.items() if r["status"] == "sent"}
        permanent = {a for a, r in results.items() if r["status"] == "permanent"}
        outstanding = (
            [r for r in message.recipients if r["address"] not in sent | permanent]
            if addressed
            else []
        )
        if isinstance(error, PermanentDeliveryError):
            message.status = MessageStatus.DEAD
            message.last_error = str(error)
        elif error is not None or (report is not None and outstanding and message.recipients):
            message.last_error = str(error) if error else "some recipients failed temporarily"
            if message.attempts >= self.policy.max_attempts:
                message.status = MessageStatus.DEAD
                message.last_error += f" (gave up after {message.attempts} attempts)"
            else:
                message.status = MessageStatus.RETRYING
                message.next_attempt_at = now + self._backoff(message.attempts)
        elif permanent:
            message.status = MessageStatus.DEAD
            message.last_error = f"{len(permanent)} recipient(s) refused permanently"
        else:
            message.status = MessageStatus.SENT
            nobody = addressed and not message.recipients
            message.last_error = "no recipients in the audience" if nobody else ""
        target = report.target if report is not None else ""
        live = report.live if report is not None else None
        try:
            with self.db.unit_of_work() as uow:
                uow.messages.update(message, owner=self.owner)
                incident = uow.incidents.get(message.incident_id)
                uow.events.append(
                    incident,
                    actor="dispatcher",
                    kind="delivery",
                    trigger=None,
                    from_state=incident.state,
                    to_state=incident.state,
                    at=now,
                    data={
                        "message_id": message.id,
                        "channel": message.channel,
                        "status": message.status,
                        "attempt": message.attempts,
                        "target": target,
                        "live": live,
                        "results": attempt,
                        "error": message.last_error,
                    },
                )
                uow.commit()
        except Conflict:
            log.warning("message %s was taken over by another dispatcher", message.id)
            return
        summary.messages.append(message.id)
        if message.status == MessageStatus.SENT:
            summary.sent += 1
        elif message.status == MessageStatus.DEAD:
            summary.dead += 1
        else:
            summary.retrying += 1

    def _backoff(self, attempts: int) -> timedelta:
        """Exponential backoff with full jitter between half and all of the step."""
        step = min(
            self.policy.max_delay.total_seconds(),
            self.policy.base_delay.total_seconds() * 2 ** (attempts - 1),
        )
        return timedelta(seconds=step * (0.5 + self._rng.random() / 2))
