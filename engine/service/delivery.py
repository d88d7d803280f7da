"""The outbox dispatcher: delivers committed messages, retries, and keeps dead letters.

Side effects happen only after the command that caused them has committed. The dispatcher
claims due outbox rows under a short lease and delivers outside any transaction. Each attempt
is logged when it begins (`delivery_attempt`, saying so when the previous attempt never
finished) and when it ends (`delivery`, with its per-recipient results). In between, each
recipient served is recorded in the message's journal before the next copy goes
(`engine.service.delivery_journal`), in a statement that also checks the lease, while a
heartbeat thread renews the lease: a dispatcher killed mid-list is taken over within the lease
(20 s) by one that sends only to the recipients not yet served, and a dispatcher that lost its
lease sends nothing more. Those records commit without waiting for the disk but every
`DispatchPolicy.durable_every` recipients: safe against a killed process, while a power cut may
resend up to that many copies. Temporary failures retry with exponential backoff and
jitter up to `max_attempts` (an attempt cut off by a crash counts), only for the recipients that
did not get the message yet; permanent failures become dead letters. Every attempt reuses the
message's Message-ID / idempotency key, so a receiver can drop the one copy that was in flight
at a crash.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from engine.domain.model import Message, MessageStatus, RecipientStatus
from engine.errors import Conflict, DeliveryError, PermanentDeliveryError, TemporaryDeliveryError
from engine.ports import (
    Channel,
    ChannelKinds,
    Clock,
    OutgoingMessage,
    Recipient,
    Store,
)
from engine.service.delivery_attempt import (
    Attempt,
    Heartbeat,
    LeaseLost,
    chunks,
    deliver_piece,
    outgoing_message,
    unfinished_attempt,
)
from engine.service.delivery_journal import AttemptJournal, CopyJournal
from engine.service.dispatch_policy import DispatchPolicy, DispatchSummary
from engine.service.plans import PlanLibrary
from engine.service.recorder import note_event

log = logging.getLogger(__name__)

__all__ = ["DispatchPolicy", "DispatchSummary", "Dispatcher"]


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
            # Messages without recipients (the banner, the news page, a webhook) first: each
            # is one write, while an e-mail to a list of 5,000 takes seconds, and the public
            # notices should not wait behind it. (A stable sort: otherwise claim order.)
            claimed.sort(key=lambda message: len(message.recipients))
            for message in claimed:
                # A batch is leased once, but delivering a large list takes time: the leases of
                # the messages further down may run out meanwhile, and another dispatcher may
                # take them over. `_begin` renews the lease and leaves the message if so.
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
            journal = uow.messages.journal(message.id)
            # A clear takes back what the channel carried for the incident (Channel's contract).
            earlier = uow.messages.list(message.incident_id) if message.clear else []
        attempt = Attempt()
        attempt.start(message, journal)  # before choosing whom to send to
        channel: Channel | None = None
        outgoing: OutgoingMessage | None = None
        try:
            channel, settings = self.channel_for(
                incident.definition_sha256, snapshot, message.channel
            )
            inbound = self.plans.pinned(incident.definition_sha256, snapshot).workflow.service
            outgoing = outgoing_message(
                message,
                settings,
                incident.state,
                inbound.inbound_mailbox or "",
                self.public_url,
                earlier=earlier,
            )
            # Only channels that address people report per recipient; a published file or a
            # webhook does not, so its subscribers are not "outstanding" after a success.
            attempt.addressed = bool(getattr(channel, "needs_recipients", False))
        except DeliveryError as exc:
            attempt.error = exc
        except Exception as exc:
            log.exception("channel %s failed on message %s", message.channel, message.id)
            attempt.error = TemporaryDeliveryError(f"{type(exc).__name__}: {exc}")
        to_serve = len(outgoing.recipients) if outgoing is not None else 0
        if not self._begin(message, attempt, to_serve):
            return
        if attempt.error is None and channel is not None and outgoing is not None:
            with Heartbeat(lambda: self._renew(message), self.policy.beat_seconds) as beat:
                try:
                    self._send(channel, outgoing, message, attempt, beat)
                except LeaseLost:
                    log.warning(
                        "message %s: lease lost to another dispatcher; sending no more of it",
                        message.id,
                    )
                    return
        self._record(message, attempt, summary)

    def _begin(self, message: Message, attempt: Attempt, to_serve: int) -> bool:
        """Count and log the attempt before anything is sent; False when the lease is gone.

        While an attempt runs, the message has no next attempt time (`next_attempt_at` None):
        a claim that finds it so, with attempts made, finds an attempt that never finished.
        """
        now = self.clock.now()
        unfinished = message.attempts if unfinished_attempt(message) else None
        message.attempts += 1
        message.next_attempt_at = None
        data = {
            "message_id": message.id,
            "channel": message.channel,
            "attempt": message.attempts,
            "recipients": to_serve,
            "dispatcher": self.owner,
            "unfinished_attempt": unfinished,
        }
        if not self._save(message, attempt, "delivery_attempt", data, at=now, keep_lease=True):
            return False
        attempt.journaled = False
        if unfinished is not None:
            log.warning(
                "message %s: attempt %d never finished (its dispatcher stopped); attempt %d "
                "sends to the %d recipient(s) not yet served",
                message.id,
                unfinished,
                message.attempts,
                to_serve,
            )
        return True

    def _send(
        self,
        channel: Channel,
        outgoing: OutgoingMessage,
        message: Message,
        attempt: Attempt,
        beat: Heartbeat,
    ) -> None:
        """Hand the message to the channel, recording who was served as it goes (the whole
        list to a channel that reports each copy, else a chunk at a time); raises `LeaseLost`."""
        if attempt.addressed and not message.recipients:
            # Nobody is in the audience (e.g. no newsletter subscribers yet): nothing to
            # send, which is not a failure; the event log records it as such.
            attempt.target, attempt.live = "(no recipients)", False
            return
        gated = attempt.addressed and getattr(channel, "reports_each_copy", False)
        journal = AttemptJournal(self.db, message.id, self.owner, self.policy.durable_every)
        try:
            if gated:
                self._send_copies(channel, outgoing, message, attempt, beat, journal)
            else:
                self._send_chunks(channel, outgoing, message, attempt, beat, journal)
        finally:
            journal.close()
            attempt.journaled = attempt.journaled or journal.count > 0

    def _send_copies(
        self,
        channel: Channel,
        outgoing: OutgoingMessage,
        message: Message,
        attempt: Attempt,
        beat: Heartbeat,
        journal: AttemptJournal,
    ) -> None:
        """The whole list in one call; the channel has each copy recorded before the next."""
        gate = CopyJournal(
            journal,
            lease_lost=beat.lost.is_set,
            entry=lambda result: attempt.entry(message, result, self.clock.now().isoformat()),
        )
        report = deliver_piece(channel, replace(outgoing, gate=gate), message, attempt)
        at = self.clock.now().isoformat()
        if report is None:  # failed midway: the copies reported so far were served all the same
            attempt.add(message, gate.results, at)
            return
        attempt.target, attempt.live = report.target, report.live
        attempt.add(message, report.results, at)

    def _send_chunks(
        self,
        channel: Channel,
        outgoing: OutgoingMessage,
        message: Message,
        attempt: Attempt,
        beat: Heartbeat,
        journal: AttemptJournal,
    ) -> None:
        """A chunk of recipients per call (one call for a channel without recipients), each
        chunk's results recorded before the next chunk goes."""
        parts: list[list[Recipient] | None] = [None]
        if attempt.addressed:
            parts = list(chunks(outgoing.recipients, self.policy.chunk))
        for index, part in enumerate(parts, start=1):
            if beat.lost.is_set():
                raise LeaseLost
            piece = outgoing if part is None else replace(outgoing, recipients=part)
            report = deliver_piece(channel, piece, message, attempt)
            if report is None:
                return
            attempt.target, attempt.live = report.target, report.live
            at = self.clock.now().isoformat()
            attempt.add(message, report.results, at)
            if index < len(parts):  # the last chunk's results are recorded with the attempt
                journal.record([attempt.entry(message, r, at) for r in report.results])

    def _record(self, message: Message, attempt: Attempt, summary: DispatchSummary) -> None:
        """End the attempt: the message's status, the `delivery` event, the lease released."""
        now = self.clock.now()
        error = attempt.error
        attempt.settle(message)
        results = {r.address: r for r in message.results}
        sent = {a for a, r in results.items() if r.status == RecipientStatus.SENT}
        permanent = {a for a, r in results.items() if r.status == RecipientStatus.PERMANENT}
        finished = sent | permanent  # once: per recipient it made this quadratic
        outstanding = (
            [r for r in message.recipients if r.address not in finished]
            if attempt.addressed
            else []
        )
        if isinstance(error, PermanentDeliveryError):
            message.status = MessageStatus.DEAD
            message.last_error = str(error)
        elif error is not None or (outstanding and message.recipients):
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
            nobody = attempt.addressed and not message.recipients
            message.last_error = "no recipients in the audience" if nobody else ""
        if message.next_attempt_at is None:
            message.next_attempt_at = now  # the attempt is over (see `_begin`)
        data = {
            "message_id": message.id,
            "channel": message.channel,
            "status": message.status,
            "attempt": message.attempts,
            "target": attempt.target,
            "live": attempt.live,
            "results": [entry.to_dict() for entry in attempt.results],
            "error": message.last_error,
        }
        if not self._save(message, attempt, "delivery", data, at=now):
            return
        summary.messages.append(message.id)
        if message.status == MessageStatus.SENT:
            summary.sent += 1
        elif message.status == MessageStatus.DEAD:
            summary.dead += 1
        else:
            summary.retrying += 1

    def _save(
        self,
        message: Message,
        attempt: Attempt,
        kind: str,
        data: Mapping[str, Any],
        *,
        at: datetime,
        keep_lease: bool = False,
    ) -> bool:
        """Save the message (extending the lease from `at`, or releasing it), fold a journal
        into it, and log `kind` at `at`; False when another dispatcher has taken it over."""
        try:
            with self.db.unit_of_work() as uow:
                if keep_lease:
                    until = at + self.policy.lease
                    uow.messages.update(message, owner=self.owner, lease_until=until)
                else:
                    uow.messages.update(message, owner=self.owner)
                if attempt.journaled:  # now on the message row
                    uow.messages.journal_clear(message.id)
                incident = uow.incidents.get(message.incident_id)
                note_event(uow, incident, actor="dispatcher", kind=kind, at=at, data=data)
                uow.commit()
        except Conflict:
            log.warning("message %s was taken over by another dispatcher", message.id)
            return False
        return True

    def _backoff(self, attempts: int) -> timedelta:
        """Exponential backoff with full jitter between half and all of the step."""
        step = min(
            self.policy.max_delay.total_seconds(),
            self.policy.base_delay.total_seconds() * 2 ** (attempts - 1),
        )
        return timedelta(seconds=step * (0.5 + self._rng.random() / 2))
