"""The channel port: a rendered message for one channel, what delivery reports per recipient,
and how channel kinds are built, declared and resolved (implemented under channels/)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from engine.definition.channel_settings import ChannelSettings
from engine.domain.model import RecipientStatus


@dataclass(frozen=True)
class Recipient:
    """One addressee of a message: a person, a list member or a subscriber."""

    address: str  # e-mail address (or other channel-specific address)
    name: str = ""
    person_id: str | None = None
    # For newsletter subscribers: the signed one-click unsubscribe URL of this recipient.
    unsubscribe_url: str | None = None


@dataclass(frozen=True)
class Meeting:
    """A meeting invitation carried by a message (crisis meeting, evaluation meeting)."""

    title: str
    starts_at: datetime
    duration: timedelta
    location: str = ""  # meeting link or telephone-conference details
    organizer: str = ""


@dataclass(frozen=True)
class Withdrawn:
    """An earlier message of the incident on the same channel, which a `clear` message takes
    back: who it went to and the meeting it invited to, if any."""

    message_id: str  # as the earlier OutgoingMessage had it (its Message-ID, its UID source)
    created_at: datetime
    recipients: Sequence[Recipient] = ()
    meeting: Meeting | None = None


@dataclass(frozen=True)
class OutgoingMessage:
    """A rendered message, ready for one channel. Built by the service, sent by the dispatcher.

    `message_id` is stable across retries so that receivers can drop duplicates; `key` is the
    idempotency key for non-mail channels (webhooks, published files).

    `clear` means: take back what this channel published for `incident_id` (see `Channel`);
    `withdrawn` then lists the incident's earlier messages on this channel, oldest first, for
    kinds that must name what they take back (a calendar cancels each meeting by its UID).
    """

    message_id: str  # RFC 5322 Message-ID without angle brackets, e.g. "abc@driftplan"
    incident_id: str
    channel: str  # the plan's channel name, e.g. "support_email"
    kind: str  # the channel kind, e.g. "email"
    audience: str
    subject: str
    body_text: str
    body_html: str
    language: str
    created_at: datetime
    settings: Mapping[str, str] = field(default_factory=dict)  # resolved channel settings
    recipients: Sequence[Recipient] = ()
    reply_to: str = ""  # the plan's inbound mailbox: communication is two-way
    clear: bool = False  # take back what this channel published for the incident
    exercise: bool = False
    meeting: Meeting | None = None
    incident_state: str = ""
    incident_title: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)
    withdrawn: Sequence[Withdrawn] = ()  # with `clear`: the earlier messages taken back
    # For a channel that `reports_each_copy`: the dispatcher's hooks between copies.
    gate: CopyGate | None = field(default=None, compare=False)


class CopyGate(Protocol):
    """How a channel that sends one copy per recipient lets the dispatcher record each copy
    before the next one goes, so that a dispatcher killed mid-list resends at most one copy.

    A channel that calls these says so with a class attribute `reports_each_copy = True`; the
    dispatcher then hands it the whole list at once instead of one recipient per call (the
    per-call bookkeeping cost a large fan-out a fifth of its time).
    """

    def before_copy(self) -> None:
        """Called just before a copy can no longer be held back (for SMTP: before DATA). May
        raise (the dispatcher lost its lease): the channel then sends nothing more, leaves its
        connection usable for the next message, and lets the exception through."""
        ...

    def copied(self, result: RecipientResult) -> None:
        """Called with each copy's result as soon as it is known."""
        ...


@dataclass(frozen=True)
class RecipientResult:
    """What happened to one recipient in one delivery attempt."""

    address: str
    status: RecipientStatus
    detail: str = ""


@dataclass(frozen=True)
class DeliveryReport:
    """The result of delivering one message: per recipient, plus where it went."""

    results: Sequence[RecipientResult] = ()
    target: str = ""  # e.g. "smtp://host:25", "file:/path", "https://..."
    live: bool = True  # False when delivered to the file outbox instead of the real channel


@runtime_checkable
class Channel(Protocol):
    """A delivery mechanism of one kind (email, banner, news, webhook, ...).

    `deliver` sends to every recipient it can and reports per recipient. It raises
    `TemporaryDeliveryError` or `PermanentDeliveryError` only when the message as a whole failed
    (e.g. the server is unreachable); recipients that failed individually go in the report.
    Delivering the same `message_id` twice must be harmless where the medium allows it.

    A message with `clear` takes back what the channel published for its incident, each kind
    as its medium allows, and says why with the message's own text where the medium has room:
    the banner withdraws the notice (and shows nothing); news removes the incident's items from
    the index and the feed and publishes the message as the correction; a calendar cancels the
    meetings in `withdrawn` (METHOD:CANCEL, same UID, higher SEQUENCE); e-mail cannot unsend,
    so it sends the message as an ordinary correction. A clear never touches another incident.
    """

    kind: str

    def deliver(self, message: OutgoingMessage) -> DeliveryReport: ...

    def close(self) -> None:
        """Release connections; called when the dispatcher stops."""
        ...


@dataclass(frozen=True)
class ChannelStatus:
    """Whether a configured channel is live or falls back to the file outbox, and why."""

    live: bool
    target: str
    missing: Sequence[str] = ()
    refused: str = ""  # why the channel can never work (then every message fails for good)


class ChannelFactory(Protocol):
    """Builds a channel for one plan channel from its resolved settings. Declares what settings
    it reads as `settings_spec: ChannelSettings` (a plugin without one: all public text)."""

    kind: str

    def __call__(self, settings: Mapping[str, str], *, data_dir: str) -> Channel: ...

    def status(self, settings: Mapping[str, str], *, data_dir: str) -> ChannelStatus: ...


class ChannelKinds(Protocol):
    """The channel kinds an installation knows (built-ins and plugins), and how a plan channel's
    settings resolve against the environment. Implemented by `channels.registry.ChannelRegistry`
    and injected by `engine.bootstrap`, so the service layer never imports a channel."""

    def factories(self) -> Mapping[str, ChannelFactory]:
        """Every kind by name; loading a broken plugin raises `ConfigurationError`."""
        ...

    def names(self) -> list[str]:
        """Every kind a plan may name, without importing any channel."""
        ...

    def declarations(self) -> Mapping[str, ChannelSettings]:
        """Each kind's settings by class, for the plan checker (a plugin that declares none:
        every setting public); built-ins without importing a channel."""
        ...

    def resolve(
        self, kind: str, plan_settings: Mapping[str, str], environ: Mapping[str, str]
    ) -> dict[str, str]:
        """The effective settings of one plan channel of `kind` (`${NAME}` substituted)."""
        ...

    def unset(self, plan_settings: Mapping[str, str], environ: Mapping[str, str]) -> list[str]:
        """The `${NAME}` variables the settings refer to that the environment does not set."""
        ...
