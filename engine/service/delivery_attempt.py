"""The pieces of one delivery attempt: its results, the message as its channel gets it, the
chunks of a list, and the lease's heartbeat.

A channel that reports each copy (`reports_each_copy`, e-mail) gets the whole list at once and
the dispatcher records each copy before the next goes (`engine.service.delivery_journal`);
any other channel that addresses people gets the list one chunk at a time (by default one
recipient: `DispatchPolicy.chunk`), each chunk's results recorded before the next. Either way a
dispatcher that dies leaves behind exactly who was served, and its successor sends to the
others only: at most the copies in flight at the crash go out twice, with the message's
Message-ID.

While the dispatcher sends, a `Heartbeat` thread renews the message's short lease, so a slow
server never lets a second dispatcher take over a message that is still being sent, while a
dead dispatcher's message is taken over as soon as its lease runs out. A renewal that finds
another owner sets `lost`, and the dispatcher sends nothing more of that message.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import TracebackType

from engine.domain.model import DeliveryResult, Message, RecipientStatus, StoredRecipient
from engine.errors import DeliveryError, TemporaryDeliveryError
from engine.ports import (
    Channel,
    DeliveryReport,
    Meeting,
    OutgoingMessage,
    Recipient,
    RecipientResult,
)
from engine.ports.channels import Withdrawn
from engine.service.subscriptions import unsubscribe_url

log = logging.getLogger(__name__)


def chunks(recipients: Sequence[Recipient], size: int) -> Iterator[list[Recipient]]:
    """The recipients in groups of at most `size` mailboxes, in order.

    Recipients that share a mailbox (the same address in another case, a person on two lists)
    stay in one group: a channel sends one copy per mailbox of what it is handed, so splitting
    them would send two.
    """
    mailboxes: dict[str, list[Recipient]] = {}
    for recipient in recipients:
        mailboxes.setdefault(recipient.address.strip().lower(), []).append(recipient)
    group: list[Recipient] = []
    for count, same in enumerate(mailboxes.values(), start=1):
        group.extend(same)
        if count % max(1, size) == 0:
            yield group
            group = []
    if group:
        yield group


class Heartbeat:
    """Renews a lease every `every` seconds on a thread, for as long as the `with` block runs.

    `renew` returns False when another dispatcher holds the lease now: then `lost` is set and
    the heartbeat stops. A renewal that fails for another reason (the database briefly away) is
    logged and tried again at the next beat; if that goes on past the lease, whoever takes over
    makes the next renewal (and the dispatcher's next commit) fail.
    """

    def __init__(self, renew: Callable[[], bool], every: float) -> None:
        self._renew = renew
        self._every = every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.lost = threading.Event()

    def __enter__(self) -> Heartbeat:
        self._thread = threading.Thread(target=self._beat, name="lease-heartbeat", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _beat(self) -> None:
        while not self._stop.wait(self._every):
            try:
                held = self._renew()
            except Exception:
                log.warning("renewing a delivery lease failed; trying again", exc_info=True)
                continue
            if not held:
                self.lost.set()
                return


def outgoing_message(
    message: Message,
    settings: Mapping[str, str],
    state: str,
    reply_to: str,
    public_url: str,
    *,
    earlier: Sequence[Message] = (),
) -> OutgoingMessage:
    """The message for its channel, addressed to the recipients not served yet; a `clear`
    message also names the incident's `earlier` messages on its channel that it takes back."""
    # Recipients already served, or refused for good, are not tried again; `requeue`
    # drops the permanent results when an operator decides to retry them.
    finished = (RecipientStatus.SENT, RecipientStatus.PERMANENT)
    done = {r.address for r in message.results if r.status in finished}
    recipients = [
        Recipient(
            address=r.address,
            name=r.name,
            person_id=r.person_id,
            unsubscribe_url=_unsubscribe_url(r, public_url),
        )
        for r in message.recipients
        if r.address not in done
    ]
    withdrawn = [
        Withdrawn(
            message_id=f"{m.id}@driftplan",
            created_at=m.created_at,
            recipients=[Recipient(r.address, r.name, r.person_id) for r in m.recipients],
            meeting=_meeting(m, settings),
        )
        for m in earlier
        if message.clear and m.channel == message.channel and not m.clear and m.id != message.id
    ]
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
        meeting=_meeting(message, settings),
        incident_state=state,
        extra=dict(message.extra),
        withdrawn=withdrawn,
    )


def _meeting(message: Message, settings: Mapping[str, str]) -> Meeting | None:
    if not message.meeting:
        return None
    return Meeting(
        title=message.meeting["title"],
        starts_at=datetime.fromisoformat(message.meeting["starts_at"]),
        duration=timedelta(seconds=message.meeting["duration_seconds"]),
        # The incident's own location (a link, a phone conference) wins over the channel's.
        location=message.meeting.get("location") or settings.get("meeting_location", ""),
    )


def _unsubscribe_url(recipient: StoredRecipient, public_url: str) -> str | None:
    token = recipient.unsubscribe_token
    return unsubscribe_url(public_url, token) if token else None


def unfinished_attempt(message: Message) -> bool:
    """Whether the message's latest attempt began and never ended (its dispatcher died)."""
    return message.attempts > 0 and message.next_attempt_at is None


class LeaseLost(Exception):
    """Another dispatcher holds the message now: send and record nothing more of it."""


def deliver_piece(
    channel: Channel, piece: OutgoingMessage, message: Message, attempt: Attempt
) -> DeliveryReport | None:
    """The channel's report, or None with `attempt.error` set (`LeaseLost` goes through)."""
    try:
        return channel.deliver(piece)
    except LeaseLost:
        raise
    except DeliveryError as exc:
        attempt.error = exc
    except Exception as exc:
        log.exception("channel %s failed on message %s", message.channel, message.id)
        attempt.error = TemporaryDeliveryError(f"{type(exc).__name__}: {exc}")
    return None


@dataclass
class Attempt:
    """What one attempt did so far: its results, where it went, and the error that ended it.

    The results go onto the message row when the attempt ends; meanwhile each is in the
    message's journal (`engine.service.delivery_journal`), and `journaled` says the journal
    holds entries the row does not.
    """

    addressed: bool = False
    error: DeliveryError | None = None
    target: str = ""
    live: bool | None = None
    results: list[DeliveryResult] = field(default_factory=list)
    journaled: bool = False
    _latest: dict[str, DeliveryResult] = field(default_factory=dict)

    def start(self, message: Message, journal: list[DeliveryResult]) -> None:
        """Take the message's results and those an unfinished attempt left in the journal."""
        self._latest = {r.address: r for r in message.results}
        if journal:
            self._latest.update((entry.address, entry) for entry in journal)
            message.results = list(self._latest.values())
            self.journaled = True

    def entry(self, message: Message, result: RecipientResult, at: str) -> DeliveryResult:
        """A channel's result for one recipient as this attempt records it."""
        return DeliveryResult(result.address, result.status, result.detail, at, message.attempts)

    def add(self, message: Message, results: Sequence[RecipientResult], at: str) -> None:
        """Note a report's results (the latest per address counts)."""
        for r in results:
            entry = self.entry(message, r, at)
            self._latest[entry.address] = entry
            self.results.append(entry)

    def settle(self, message: Message) -> None:
        """Put the results so far on the message (to be written with it)."""
        if self.results:
            message.results = list(self._latest.values())
