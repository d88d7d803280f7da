"""One contract, every built-in channel kind: what the dispatcher may rely on, whatever the kind.

Each kind of `channels.registry` is set up for real, as in its own tests: the mail kinds (email,
newsletter, calendar) against an aiosmtpd server on loopback, the webhook against a real HTTP
receiver that checks signatures, the published kinds (banner, news) and the file outbox in a
temporary folder. `CONTRACTS` says, per kind, how to configure it and what it documents; a kind
added to the registry without an entry there fails `test_every_builtin_kind_has_a_contract`.

The contract: the factory has `kind` and `status()`; what it builds satisfies
`engine.ports.Channel` with the same `kind`; `deliver` returns a `DeliveryReport` (one result per
recipient for addressed kinds) whose `live` and `target` are what `status()` said; delivering the
same message id twice is harmless (published and outbox files are the same files, not new ones;
mail and webhook requests carry the same identity, so receivers drop the repeat); `close()` may be
called twice; a required setting left out is named in `status().missing` and the channel then
delivers to the file outbox; kinds without required settings behave as they document.
"""

from __future__ import annotations

import email.message
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest
from icalendar import Calendar

from channels.declarations import BUILTIN_SETTINGS
from channels.registry import builtin_kinds
from engine.ports import (
    Channel,
    ChannelFactory,
    ChannelStatus,
    DeliveryReport,
    OutgoingMessage,
    Recipient,
    RecipientResult,
)
from tests.channel_helpers import SmtpServer, WebhookReceiver, make_meeting, make_message

SECRET = "contract-secret"
PUBLIC_URL = "https://status.example.se/"
PEOPLE = (
    Recipient("anna@example.se", "Anna Andersson", unsubscribe_url=f"{PUBLIC_URL}u/anna"),
    Recipient("bo@example.se", "Bo Berg", unsubscribe_url=f"{PUBLIC_URL}u/bo"),
)


@dataclass
class World:
    """The real surroundings of one test: a temp folder and, when the kind needs it, a server."""

    tmp_path: Path
    smtp: SmtpServer | None = None
    receiver: WebhookReceiver | None = None

    @property
    def data_dir(self) -> str:
        return str(self.tmp_path / "data")

    def outbox(self, channel: str) -> str:
        """The status/report target of a plan channel that writes to the file outbox."""
        return f"file:{Path(self.data_dir) / 'outbox' / channel}"


def _mail_settings(world: World) -> dict[str, str]:
    assert world.smtp is not None
    return world.smtp.settings()


def _webhook_settings(world: World) -> dict[str, str]:
    assert world.receiver is not None
    return {"url": f"{world.receiver.url}/contract", "secret": SECRET, "timeout": "3"}


def _published_settings(world: World) -> dict[str, str]:
    # Outside the data folder, so allowed only under the publish root, which the registry hands
    # the publishing kinds from DRIFTPLAN_PUBLISH_ROOT.
    www = str(world.tmp_path / "www")
    return {"publish_dir": www, "base_url": PUBLIC_URL, "publish_root": www}


def _files(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def _mail_identities(world: World) -> set[tuple[str, ...]]:
    """(recipient, Message-ID, calendar UIDs) of every copy received: what mail clients key on."""
    assert world.smtp is not None
    identities: set[tuple[str, ...]] = set()
    for got in world.smtp.received:
        mail = got.message
        uids = sorted(
            str(Calendar.from_ical(part.get_content()).walk("VEVENT")[0]["UID"])
            for part in mail.walk()
            if isinstance(part, email.message.EmailMessage)
            and part.get_content_type() == "text/calendar"
        )
        identities.add((*got.rcpt_tos, str(mail["Message-ID"]), *uids))
    return identities


def _webhook_identities(world: World) -> set[tuple[object, ...]]:
    """(Idempotency-Key, body, signature valid) of every request: what a receiver keys on."""
    assert world.receiver is not None
    return {
        (hook.headers["Idempotency-Key"], hook.body, hook.valid) for hook in world.receiver.requests
    }


def _published_files(world: World) -> dict[str, bytes]:
    return _files(world.tmp_path / "www")


def _outbox_files(world: World) -> dict[str, bytes]:
    return _files(Path(world.data_dir) / "outbox")


@dataclass(frozen=True)
class Contract:
    """How one kind is set up for real, and what it documents about itself."""

    needs: Literal["smtp", "webhook", "files"]
    settings: Callable[[World], dict[str, str]]  # complete and reachable
    observe: Callable[[World], object]  # what the medium now holds, or received, by identity
    addressed: bool = False  # one result per recipient (else one for the medium)
    required: tuple[str, ...] = ()  # left out: named in status().missing, file outbox instead
    # Without any setting: (live, target given data dir and channel); None for required kinds.
    bare: Callable[[World, str], tuple[bool, str]] | None = None
    message: dict[str, object] = field(default_factory=dict)  # kind-specific message fields


MAIL = ("host", "mail_from")
CONTRACTS: dict[str, Contract] = {
    "email": Contract("smtp", _mail_settings, _mail_identities, addressed=True, required=MAIL),
    "newsletter": Contract("smtp", _mail_settings, _mail_identities, addressed=True, required=MAIL),
    "calendar": Contract(
        "smtp",
        _mail_settings,
        _mail_identities,
        addressed=True,
        required=MAIL,
        message={"meeting": make_meeting()},
    ),
    "webhook": Contract(
        "webhook", _webhook_settings, _webhook_identities, required=("url", "secret")
    ),
    # Always live: publish_dir defaults to <data_dir>/public.
    "banner": Contract(
        "files",
        _published_settings,
        _published_files,
        bare=lambda w, _: (True, f"file:{Path(w.data_dir) / 'public'}"),
    ),
    "news": Contract(
        "files",
        _published_settings,
        _published_files,
        bare=lambda w, _: (True, f"file:{Path(w.data_dir) / 'public' / 'news'}"),
    ),
    # Never live: the file outbox is the fallback by definition.
    "file_outbox": Contract(
        "files", lambda _: {}, _outbox_files, bare=lambda w, name: (False, w.outbox(name))
    ),
}
KINDS = sorted(builtin_kinds())
REQUIRED = [(kind, name) for kind in KINDS for name in getattr(CONTRACTS.get(kind), "required", ())]


# ---------------------------------------------------------------------------------- fixtures


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    """Each built-in kind of the registry."""
    name: str = request.param
    return name


@pytest.fixture
def contract(kind: str) -> Contract:
    """The kind's contract entry; a kind without one fails here, by name."""
    if kind not in CONTRACTS:
        pytest.fail(f"channel kind {kind!r} has no entry in CONTRACTS: add how to set it up")
    return CONTRACTS[kind]


@pytest.fixture
def world(contract: Contract, tmp_path: Path) -> Iterator[World]:
    """A temp folder and the real server the kind talks to, stopped afterwards."""
    if contract.needs == "smtp":
        server = SmtpServer().start()
        try:
            yield World(tmp_path, smtp=server)
        finally:
            server.stop()
    elif contract.needs == "webhook":
        with WebhookReceiver(SECRET) as receiver:
            yield World(tmp_path, receiver=receiver)
    else:
        yield World(tmp_path)


def factory_of(kind: str) -> ChannelFactory:
    """The registry's factory of `kind`."""
    return builtin_kinds()[kind]


def channel_name(kind: str) -> str:
    """The plan channel name the tests use for `kind`."""
    return f"contract_{kind}"


def settings_of(kind: str, contract: Contract, world: World) -> dict[str, str]:
    """The kind's complete settings, named for their plan channel as `driftplan channels` does."""
    return {**contract.settings(world), "channel": channel_name(kind)}


def message_for(kind: str, contract: Contract, **overrides: object) -> OutgoingMessage:
    """A SAMSA message to two people on the kind's plan channel."""
    fields = {
        "message_id": f"contract-{kind}@driftplan.test",
        "channel": channel_name(kind),
        "kind": kind,
        "recipients": PEOPLE,
        **contract.message,
        **overrides,
    }
    return make_message(**fields)


def build(kind: str, settings: dict[str, str], world: World) -> Channel:
    """The channel the registry's factory builds from `settings`."""
    channel = factory_of(kind)(settings, data_dir=world.data_dir)
    assert isinstance(channel, Channel)
    return channel


def assert_report(
    report: DeliveryReport, message: OutgoingMessage, contract: Contract, status: ChannelStatus
) -> None:
    """Every result is sent, one per recipient where addressed; live and target are status's."""
    assert isinstance(report, DeliveryReport)
    assert all(isinstance(result, RecipientResult) for result in report.results)
    assert [result.status for result in report.results] == ["sent"] * len(report.results)
    if contract.addressed:
        assert [r.address for r in report.results] == [r.address for r in message.recipients]
    else:
        assert len(report.results) == 1
    assert (report.live, report.target) == (status.live, status.target)


# ---------------------------------------------------------------------------- the contract


def test_every_builtin_kind_has_a_contract() -> None:
    """A kind added to (or removed from) the registry without a contract entry fails here."""
    kinds = set(builtin_kinds())
    assert kinds, "the registry lists no built-in kind"
    assert not kinds - set(CONTRACTS), f"kinds without a contract: {sorted(kinds - set(CONTRACTS))}"
    assert not set(CONTRACTS) - kinds, f"contracts of no kind: {sorted(set(CONTRACTS) - kinds)}"


def test_every_builtin_kind_declares_the_settings_it_reads(
    kind: str, contract: Contract, world: World
) -> None:
    """The class declares its settings (the registry's declaration, which the plan checker uses
    without importing the channel), and every setting its contract configures is declared."""
    spec = factory_of(kind).settings_spec  # type: ignore[attr-defined]
    assert spec is BUILTIN_SETTINGS[kind] and spec.declared
    configured = set(contract.settings(world)) - {"publish_root"}  # the registry's, not a plan's
    assert configured <= set(spec.names())


def test_the_factory_has_its_kind_and_a_status(kind: str, contract: Contract, world: World) -> None:
    """The registered class names its kind and, fully configured, reports a status, missing none."""
    factory = factory_of(kind)
    assert factory.kind == kind
    status = factory.status(settings_of(kind, contract, world), data_dir=world.data_dir)
    assert isinstance(status, ChannelStatus)
    assert status.target and list(status.missing) == []
    assert status.live is (contract.bare is None or contract.bare(world, channel_name(kind))[0])


def test_what_the_factory_builds_is_a_channel_of_its_kind(
    kind: str, contract: Contract, world: World
) -> None:
    """The built object satisfies the `engine.ports.Channel` protocol and carries the same kind."""
    channel = factory_of(kind)(settings_of(kind, contract, world), data_dir=world.data_dir)
    try:
        assert isinstance(channel, Channel)
        assert channel.kind == kind
        assert getattr(channel, "needs_recipients", False) is contract.addressed
    finally:
        channel.close()


def test_deliver_reports_what_happened(kind: str, contract: Contract, world: World) -> None:
    """A delivery returns a report of sent results, where `status()` said it would deliver."""
    settings = settings_of(kind, contract, world)
    status = factory_of(kind).status(settings, data_dir=world.data_dir)
    channel = build(kind, settings, world)
    message = message_for(kind, contract)
    try:
        report = channel.deliver(message)
    finally:
        channel.close()
    assert_report(report, message, contract, status)
    assert contract.observe(world), "the medium shows nothing of the delivery"


def test_delivering_the_same_message_twice_is_harmless(
    kind: str, contract: Contract, world: World
) -> None:
    """A retried message id leaves the medium as the first delivery did: nothing new to show."""
    channel = build(kind, settings_of(kind, contract, world), world)
    message = message_for(kind, contract)
    try:
        first = channel.deliver(message)
        once = contract.observe(world)
        second = channel.deliver(message)
        twice = contract.observe(world)
    finally:
        channel.close()
    assert once and twice == once
    assert [r.status for r in second.results] == [r.status for r in first.results]
    assert (second.live, second.target) == (first.live, first.target)


def test_close_may_be_called_twice(kind: str, contract: Contract, world: World) -> None:
    """Closing a channel that has delivered, then closing it again, raises nothing."""
    channel = build(kind, settings_of(kind, contract, world), world)
    channel.deliver(message_for(kind, contract))
    channel.close()
    channel.close()


@pytest.mark.parametrize(("kind", "setting"), REQUIRED, ids=[f"{k}-{s}" for k, s in REQUIRED])
def test_a_missing_required_setting_is_named_and_the_outbox_takes_over(
    kind: str, setting: str, contract: Contract, world: World
) -> None:
    """Without one required setting, status() names it and the channel writes to its outbox."""
    settings = settings_of(kind, contract, world)
    del settings[setting]
    status = factory_of(kind).status(settings, data_dir=world.data_dir)
    assert (status.live, list(status.missing)) == (False, [setting])
    assert status.target == world.outbox(channel_name(kind))

    channel = build(kind, settings, world)
    message = message_for(kind, contract)
    try:
        report = channel.deliver(message)
        written = sorted(_outbox_files(world))
        channel.deliver(message)
        # The same files, rewritten: .eml bytes differ only in their random MIME boundaries.
        assert sorted(_outbox_files(world)) == written, "a retry added outbox files"
    finally:
        channel.close()
    assert_report(report, message, contract, status)
    assert written
    assert not contract.observe(world), "delivered to the real medium despite the missing setting"


def test_without_any_setting_the_kind_does_what_it_documents(
    kind: str, contract: Contract, world: World
) -> None:
    """With no settings, required ones are all missing (outbox); the others keep their default."""
    name = channel_name(kind)
    status = factory_of(kind).status({"channel": name}, data_dir=world.data_dir)
    if contract.bare is None:
        expected = (False, world.outbox(name), list(contract.required))
    else:
        live, target = contract.bare(world, name)
        expected = (live, target, [])
    assert (status.live, status.target, list(status.missing)) == expected

    channel = build(kind, {"channel": name}, world)
    message = message_for(kind, contract)
    try:
        report = channel.deliver(message)
    finally:
        channel.close()
    assert_report(report, message, contract, status)
